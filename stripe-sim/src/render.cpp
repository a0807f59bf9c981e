// Objects rendered as the API answers them (API version 2026-10-28.endive).

#include "catalog.hpp"
#include "listing.hpp"

namespace till::stripesim {

namespace {

bool wants(const std::vector<std::string>& expand, std::string_view field) {
  return std::find(expand.begin(), expand.end(), field) != expand.end();
}

}  // namespace

// The PaymentIntent object as API version 2026-10-28.endive returns it: every field, null
// where the simulator has nothing to say (customer, shipping, transfers, ...). The allowed types
// are under allowed_payment_method_types, the name this version gives the request param (the
// older payment_method_types is gone from it; see README "Differences").
Json Api::Impl::render(const PaymentIntent& pi, const std::vector<std::string>& expand) const {
  Json card_present = {{"request_extended_authorization", false},
                       {"request_incremental_authorization_support", false}};
  const Json given = pi.method_options.value("card_present", Json::object());
  for (auto it = given.begin(); it != given.end(); ++it) card_present[it.key()] = it.value();
  Json j = {
      {"id", pi.id},
      {"object", "payment_intent"},
      {"allowed_payment_method_types", pi.allowed_types},
      {"amount", pi.amount},
      {"amount_capturable", pi.amount_capturable},
      {"amount_details", {{"tip", pi.tip > 0 ? Json{{"amount", pi.tip}} : Json::object()}}},
      {"amount_received", pi.amount_received},
      {"application", nullptr},
      {"application_fee_amount", optional_int(pi.application_fee_amount)},
      {"automatic_payment_methods", nullptr},
      {"canceled_at", optional_int(pi.canceled_at)},
      {"cancellation_reason", string_or_null(pi.cancellation_reason)},
      {"capture_method", pi.capture_method},
      {"client_secret", pi.client_secret},
      {"confirmation_method", "automatic"},
      {"created", pi.created},
      {"currency", pi.currency},
      {"customer", nullptr},
      {"description", string_or_null(pi.description)},
      {"last_payment_error", pi.last_payment_error},
      {"latest_charge", string_or_null(pi.latest_charge)},
      {"livemode", pi.livemode},
      {"metadata", pi.metadata},
      {"next_action", nullptr},
      {"on_behalf_of", nullptr},
      {"payment_method", string_or_null(pi.payment_method)},
      {"payment_method_configuration_details", nullptr},
      {"payment_method_options", {{"card_present", card_present}}},
      {"processing", nullptr},
      {"receipt_email", string_or_null(pi.receipt_email)},
      {"review", nullptr},
      {"setup_future_usage", nullptr},
      {"shipping", nullptr},
      {"statement_descriptor", nullptr},
      {"statement_descriptor_suffix", string_or_null(pi.statement_descriptor_suffix)},
      {"status", pi.status},
      {"transfer_data", nullptr},
      {"transfer_group", nullptr},
  };
  if (wants(expand, "latest_charge")) {
    if (const Charge* ch = charges.find(pi.latest_charge)) j["latest_charge"] = render(*ch);
  }
  if (wants(expand, "payment_method") && !pi.payment_method.empty()) {
    const CardInfo* minted = minted_methods.find(pi.payment_method);
    const std::optional<CardInfo> card = minted ? std::optional<CardInfo>(*minted) : card_for_token(pi.payment_method);
    if (card) {
      const std::string type = card->interac ? "interac_present" : "card_present";
      j["payment_method"] = {{"id", pi.payment_method},
                             {"object", "payment_method"},
                             {"created", pi.created},
                             {"customer", nullptr},
                             {"livemode", pi.livemode},
                             {"metadata", Json::object()},
                             {"type", type},
                             {type, {{"brand", card->brand}, {"last4", card->last4}}}};
    }
  }
  return j;
}

// The charge; since API version 2022-11-15 `refunds` is only there when expanded.
Json Api::Impl::render(const Charge& ch, const std::vector<std::string>& expand) const {
  Json card = {{"brand", ch.card.brand}, {"last4", ch.card.last4}, {"read_method", "contactless_emv"}};
  const std::string type = ch.card.interac ? "interac_present" : "card_present";
  const bool succeeded = ch.status == "succeeded";
  Json j = {
      {"id", ch.id},
      {"object", "charge"},
      {"amount", ch.amount},
      {"amount_captured", ch.amount_captured},
      {"amount_refunded", ch.amount_refunded + ch.amount_released},
      {"application", nullptr},
      {"application_fee", nullptr},
      {"application_fee_amount", optional_int(ch.application_fee_amount)},
      {"balance_transaction", nullptr},
      {"billing_details", {{"address", nullptr}, {"email", nullptr}, {"name", nullptr}, {"phone", nullptr}}},
      {"calculated_statement_descriptor", nullptr},
      {"captured", ch.captured},
      {"created", ch.created},
      {"currency", ch.currency},
      {"customer", nullptr},
      {"description", nullptr},
      {"disputed", false},
      {"failure_balance_transaction", nullptr},
      {"failure_code", string_or_null(ch.failure_code)},
      {"failure_message", string_or_null(ch.failure_message)},
      {"fraud_details", Json::object()},
      {"livemode", ch.livemode},
      {"metadata", Json::object()},
      {"on_behalf_of", nullptr},
      {"outcome",
       {{"network_status", succeeded ? "approved_by_network" : "declined_by_network"},
        {"reason", succeeded ? Json(nullptr) : Json(ch.failure_code)},
        {"risk_level", "normal"},
        {"seller_message", succeeded ? "Payment complete." : "The bank did not return any further details."},
        {"type", succeeded ? "authorized" : "issuer_declined"}}},
      {"paid", succeeded},
      {"payment_intent", ch.payment_intent},
      {"payment_method", ch.payment_method},
      {"payment_method_details", {{"type", type}, {type, card}}},
      {"receipt_email", nullptr},
      {"receipt_number", nullptr},
      {"receipt_url", nullptr},
      {"refunded", ch.amount_refunded + ch.amount_released >= ch.amount},
      {"review", nullptr},
      {"shipping", nullptr},
      {"source_transfer", nullptr},
      {"statement_descriptor", nullptr},
      {"statement_descriptor_suffix", nullptr},
      {"status", ch.status},
      {"transfer_data", nullptr},
      {"transfer_group", nullptr},
  };
  if (wants(expand, "refunds")) {
    Json refunds_data = Json::array();
    for (const std::string& id : ch.refunds) {
      if (const Refund* r = refunds.find(id)) refunds_data.push_back(render(*r));
    }
    j["refunds"] = {{"object", "list"},
                    {"data", refunds_data},
                    {"has_more", false},
                    {"url", "/v1/charges/" + ch.id + "/refunds"}};
  }
  return j;
}

Json Api::Impl::render(const Refund& r) const {
  return {{"id", r.id},
          {"object", "refund"},
          {"amount", r.amount},
          {"balance_transaction", nullptr},
          {"charge", r.charge},
          {"created", r.created},
          {"currency", r.currency},
          {"destination_details", nullptr},
          {"metadata", r.metadata},
          {"payment_intent", r.payment_intent},
          {"reason", string_or_null(r.reason)},
          {"receipt_number", nullptr},
          {"source_transfer_reversal", nullptr},
          {"status", r.status},
          {"transfer_reversal", nullptr}};
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
          {"last_seen_at", r.status == "online" ? Json(to_unix_ms(now())) : Json(nullptr)},
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
            {"pending_webhooks", e.pending_webhooks},
            {"request",
             {{"id", string_or_null(e.request_id)}, {"idempotency_key", string_or_null(e.idempotency_key)}}},
            {"type", e.type}};
  if (!e.account.empty()) j["account"] = e.account;
  return j;
}

}  // namespace till::stripesim
