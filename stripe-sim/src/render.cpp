// Objects rendered as the API answers them (API version 2026-10-28.endive).

#include "listing.hpp"

namespace till::stripesim {

Json Api::Impl::render(const PaymentIntent& pi, const std::vector<std::string>& expand) const {
  Json j = {
      {"id", pi.id},
      {"object", "payment_intent"},
      {"amount", pi.amount},
      {"amount_capturable", pi.amount_capturable},
      {"amount_received", pi.amount_received},
      {"application_fee_amount", optional_int(pi.application_fee_amount)},
      {"canceled_at", optional_int(pi.canceled_at)},
      {"cancellation_reason", string_or_null(pi.cancellation_reason)},
      {"capture_method", pi.capture_method},
      {"client_secret", pi.client_secret},
      {"confirmation_method", "automatic"},
      {"created", pi.created},
      {"currency", pi.currency},
      {"description", string_or_null(pi.description)},
      {"last_payment_error", pi.last_payment_error},
      {"latest_charge", string_or_null(pi.latest_charge)},
      {"livemode", pi.livemode},
      {"metadata", pi.metadata},
      {"payment_method", string_or_null(pi.payment_method)},
      {"payment_method_types", pi.allowed_types},
      {"receipt_email", string_or_null(pi.receipt_email)},
      {"statement_descriptor_suffix", string_or_null(pi.statement_descriptor_suffix)},
      {"status", pi.status},
  };
  if (pi.tip > 0) j["amount_details"] = {{"tip", {{"amount", pi.tip}}}};
  const bool expand_charge = std::find(expand.begin(), expand.end(), "latest_charge") != expand.end();
  if (expand_charge) {
    if (const Charge* ch = charges.find(pi.latest_charge)) j["latest_charge"] = render(*ch);
  }
  return j;
}

Json Api::Impl::render(const Charge& ch) const {
  Json refunds_data = Json::array();
  for (const std::string& id : ch.refunds) {
    if (const Refund* r = refunds.find(id)) refunds_data.push_back(render(*r));
  }
  Json card = {{"brand", ch.card.brand}, {"last4", ch.card.last4}, {"read_method", "contactless_emv"}};
  const std::string type = ch.card.interac ? "interac_present" : "card_present";
  return {
      {"id", ch.id},
      {"object", "charge"},
      {"amount", ch.amount},
      {"amount_captured", ch.amount_captured},
      {"amount_refunded", ch.amount_refunded + ch.amount_released},
      {"application_fee_amount", optional_int(ch.application_fee_amount)},
      {"captured", ch.captured},
      {"created", ch.created},
      {"currency", ch.currency},
      {"failure_code", string_or_null(ch.failure_code)},
      {"failure_message", string_or_null(ch.failure_message)},
      {"livemode", ch.livemode},
      {"paid", ch.status == "succeeded"},
      {"payment_intent", ch.payment_intent},
      {"payment_method", ch.payment_method},
      {"payment_method_details", {{"type", type}, {type, card}}},
      {"refunded", ch.amount_refunded + ch.amount_released >= ch.amount},
      {"refunds", {{"object", "list"}, {"data", refunds_data}, {"has_more", false}}},
      {"status", ch.status},
  };
}

Json Api::Impl::render(const Refund& r) const {
  return {{"id", r.id},
          {"object", "refund"},
          {"amount", r.amount},
          {"charge", r.charge},
          {"created", r.created},
          {"currency", r.currency},
          {"metadata", r.metadata},
          {"payment_intent", r.payment_intent},
          {"reason", string_or_null(r.reason)},
          {"status", r.status}};
}

Json Api::Impl::render(const Location& l) const {
  return {{"id", l.id},
          {"object", "terminal.location"},
          {"address", l.address},
          {"display_name", l.display_name},
          {"livemode", l.livemode},
          {"metadata", l.metadata}};
}

Json Api::Impl::render(const Reader& r) const {
  Json action = nullptr;
  if (r.action) {
    action = {{"type", r.action->type},
              {"status", r.action->status},
              {"failure_code", string_or_null(r.action->failure_code)},
              {"failure_message", string_or_null(r.action->failure_message)},
              {r.action->type, r.action->detail}};
  }
  return {{"id", r.id},
          {"object", "terminal.reader"},
          {"action", action},
          {"device_sw_version", "2.37.2.0"},
          {"device_type", "simulated_wisepos_e"},
          {"ip_address", "0.0.0.0"},
          {"label", r.label},
          {"livemode", r.livemode},
          {"location", r.location},
          {"metadata", r.metadata},
          {"serial_number", r.serial_number},
          {"status", r.status}};
}

Json Api::Impl::render(const Event& e) const {
  Json j = {{"id", e.id},
            {"object", "event"},
            {"api_version", std::string(kNewestApiVersion)},
            {"created", e.created},
            {"data", {{"object", e.object}}},
            {"livemode", e.livemode},
            {"pending_webhooks", 0},
            {"request",
             {{"id", string_or_null(e.request_id)}, {"idempotency_key", string_or_null(e.idempotency_key)}}},
            {"type", e.type}};
  if (!e.account.empty()) j["account"] = e.account;
  return j;
}

}  // namespace till::stripesim
