#include "till/terminal/reader.hpp"

namespace till::terminal {

std::string_view to_string(ConnectionState s) noexcept {
  switch (s) {
    case ConnectionState::Disconnected: return "disconnected";
    case ConnectionState::Connecting: return "connecting";
    case ConnectionState::Connected: return "connected";
    case ConnectionState::Reconnecting: return "reconnecting";
  }
  return "unknown";
}

std::string_view to_string(ReaderEventKind k) noexcept {
  switch (k) {
    case ReaderEventKind::CardInserted: return "card_inserted";
    case ReaderEventKind::CardTapped: return "card_tapped";
    case ReaderEventKind::CardSwiped: return "card_swiped";
    case ReaderEventKind::CardRemoved: return "card_removed";
    case ReaderEventKind::PromptRemoveCard: return "prompt_remove_card";
    case ReaderEventKind::PromptEnterPin: return "prompt_enter_pin";
    case ReaderEventKind::PromptTryAnotherCard: return "prompt_try_another_card";
    case ReaderEventKind::PinEntered: return "pin_entered";
    case ReaderEventKind::Authorizing: return "authorizing";
    case ReaderEventKind::UpdateRequired: return "update_required";
    case ReaderEventKind::FirmwareProgress: return "firmware_progress";
    case ReaderEventKind::BatteryLow: return "battery_low";
    case ReaderEventKind::StatusChanged: return "status_changed";
    case ReaderEventKind::Disconnected: return "disconnected";
    case ReaderEventKind::ReconnectAttempt: return "reconnect_attempt";
    case ReaderEventKind::Reconnected: return "reconnected";
    case ReaderEventKind::ReconnectFailed: return "reconnect_failed";
    case ReaderEventKind::ProtocolError: return "protocol_error";
  }
  return "unknown";
}

std::string describe(const CollectOutcome& o) {
  struct V {
    std::string operator()(const ApprovedToForward& a) const {
      return std::string(a.stored_offline ? "approved_offline " : "approved ") + a.card.brand + " " + a.card.last4;
    }
    std::string operator()(const Declined& d) const { return "declined " + d.decline_code; }
    std::string operator()(const Cancelled& c) const { return "cancelled " + c.reason; }
    std::string operator()(const OutcomeUnknown& u) const { return "outcome_unknown: " + u.reason; }
  };
  return std::visit(V{}, o);
}

}  // namespace till::terminal
