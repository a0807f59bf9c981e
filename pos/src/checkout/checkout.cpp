// The reducer's public face (checkout.hpp): update() hands each action to its handler in the
// file of its concern (reducer.hpp lists them), plus the model's helpers and stable names.
#include "till/pos/checkout.hpp"

#include <chrono>
#include <cstdio>

#include "reducer.hpp"

namespace till::pos {

Update update(Model model, const Action& action, const Context& context) {
  detail::Reducer r(std::move(model), context);
  std::visit(r, action);
  return r.finish();
}

Model initial_model(const Context& context) { return update(Model{}, OfflineStatusUpdated{}, context).model; }

const PaymentAttempt* find_attempt(const Model& model, const std::string& attempt_id) {
  for (const auto& a : model.attempts) {
    if (a.id == attempt_id) return &a;
  }
  return nullptr;
}

std::string decline_reason(const std::string& code) { return decline_advice(code); }

std::string_view to_string(Screen s) noexcept {
  switch (s) {
    case Screen::Sell: return "sell";
    case Screen::Payment: return "payment";
    case Screen::Receipt: return "receipt";
    case Screen::BackOffice: return "back_office";
  }
  return "unknown";
}

std::string_view to_string(PaymentPhase p) noexcept {
  switch (p) {
    case PaymentPhase::None: return "none";
    case PaymentPhase::Collecting: return "collecting";
    case PaymentPhase::Canceling: return "canceling";
    case PaymentPhase::Authorizing: return "authorizing";
    case PaymentPhase::InDoubt: return "in_doubt";
    case PaymentPhase::Declined: return "declined";
    case PaymentPhase::Refused: return "refused";
    case PaymentPhase::Failed: return "failed";
  }
  return "unknown";
}

std::string_view to_string(ReaderCommandKind k) noexcept {
  switch (k) {
    case ReaderCommandKind::Connect: return "connect";
    case ReaderCommandKind::Disconnect: return "disconnect";
    case ReaderCommandKind::InstallUpdate: return "install_update";
    case ReaderCommandKind::RefreshStatus: return "refresh_status";
  }
  return "unknown";
}

std::string utc_day(Timestamp t) {
  using namespace std::chrono;
  const year_month_day ymd{floor<days>(t)};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

}  // namespace till::pos
