// PaymentIntents (stripe.md section 4): create, update, confirm, capture, cancel, and the
// confirmation that turns a test card into an approval or a decline.

#include <set>

#include "handlers.hpp"

namespace till::stripesim {

Out<PaymentIntent*> Handlers::find_pi(const std::string& id, std::string param) {
  const PaymentIntent* pi = s.payment_intents.find(id);
  if (!pi || pi->account != ctx.account) return missing("payment_intent", id, std::move(param));
  return s.payment_intents.edit(id);
}

Out<const PaymentIntent*> Handlers::view_pi(const std::string& id, std::string param) const {
  const PaymentIntent* pi = s.payment_intents.find(id);
  if (!pi || pi->account != ctx.account) return missing("payment_intent", id, std::move(param));
  return pi;
}

void Handlers::emit_pi(const std::string& type, const PaymentIntent& pi) {
  s.emit(&ctx, pi.account, pi.livemode, type, s.render(pi));
}

Out<CardInfo> Handlers::resolve_method(const std::string& pm) const {
  if (const CardInfo* minted = s.minted_methods.find(pm)) return *minted;
  if (auto c = card_for_token(pm)) return *c;
  return missing("PaymentMethod", pm, "payment_method");
}

bool Handlers::known_method(const std::string& pm) const {
  return s.minted_methods.contains(pm) || card_for_token(pm).has_value();
}

// A decline: the charge fails, the PI goes back to requires_payment_method with
// last_payment_error, and the answer is the 402 card_error Stripe stores under the key.
ApiError Handlers::record_decline(PaymentIntent& pi, Charge ch, const std::string& type, const std::string& code,
                                  const std::string& decline_code) {
  ch.status = "failed";
  ch.failure_code = code;
  ch.failure_message = std::string(decline_message(decline_code));
  pi.status = "requires_payment_method";
  Json pm = {{"id", pi.payment_method}, {"object", "payment_method"}, {"type", type}};
  pi.last_payment_error = {{"type", "card_error"},
                           {"code", code},
                           {"decline_code", decline_code},
                           {"message", ch.failure_message},
                           {"charge", ch.id},
                           {"payment_method", pm},
                           {"doc_url", "https://stripe.com/docs/error-codes/" + code}};
  const Json charge_json = s.render(ch);
  s.charges.insert(std::move(ch));
  s.emit(&ctx, pi.account, pi.livemode, "charge.failed", charge_json);
  emit_pi("payment_intent.payment_failed", pi);
  ApiError e;
  e.status = 402;
  e.type = "card_error";
  e.code = code;
  e.decline_code = decline_code;
  e.message = std::string(decline_message(decline_code));
  e.store = true;
  e.extra = {{"charge", pi.latest_charge}, {"payment_intent", s.render(pi)}, {"payment_method", pm}};
  return e;
}

// Confirms with the PI's payment method: approve, or decline with a stored 402.
Out<void> Handlers::confirm(PaymentIntent& pi) {
  if (pi.status != "requires_payment_method" && pi.status != "requires_confirmation") {
    return state_error("This PaymentIntent's status is " + pi.status +
                           ", but it must be requires_payment_method or requires_confirmation "
                           "to be confirmed.",
                       "payment_intent_unexpected_state");
  }
  if (pi.payment_method.empty()) {
    return state_error(
        "You cannot confirm this PaymentIntent because it's missing a payment "
        "method.",
        "payment_intent_unexpected_state");
  }
  auto card = resolve_method(pi.payment_method);
  if (!card) return tl::unexpected(card.error());
  const std::string type = card->interac ? "interac_present" : "card_present";
  if (std::find(pi.allowed_types.begin(), pi.allowed_types.end(), type) == pi.allowed_types.end()) {
    return state_error("The PaymentMethod provided (" + type + ") is not allowed for this PaymentIntent.",
                       "payment_intent_incompatible_payment_method");
  }
  if (card->interac && pi.currency != "cad") {
    return state_error("interac_present payments must be in cad.",
                       "payment_intent_incompatible_payment_method");
  }
  Charge ch;
  ch.id = s.new_object_id("ch_");
  ch.seq = ++s.seq;
  ch.account = pi.account;
  ch.livemode = pi.livemode;
  ch.payment_intent = pi.id;
  ch.payment_method = pi.payment_method;
  ch.currency = pi.currency;
  ch.amount = pi.amount;
  ch.application_fee_amount = pi.application_fee_amount;
  ch.card = *card;
  ch.created = s.unix_now();
  pi.latest_charge = ch.id;

  std::string code = card->code;
  std::string decline_code = card->decline_code;
  if (code.empty()) {
    decline_code = std::string(amount_decline(pi.amount));
    if (!decline_code.empty()) code = "card_declined";
  }
  if (!code.empty()) return tl::unexpected(record_decline(pi, std::move(ch), type, code, decline_code));
  ch.status = "succeeded";
  pi.last_payment_error = nullptr;
  if (pi.capture_method == "manual") {
    pi.status = "requires_capture";
    pi.amount_capturable = pi.amount;
  } else {
    pi.status = "succeeded";
    pi.amount_received = pi.amount;
    ch.captured = true;
    ch.amount_captured = pi.amount;
  }
  const Json charge_json = s.render(ch);
  s.charges.insert(std::move(ch));
  s.emit(&ctx, pi.account, pi.livemode, "charge.succeeded", charge_json);
  emit_pi(
      pi.status == "succeeded" ? "payment_intent.succeeded" : "payment_intent.amount_capturable_updated",
      pi);
  return {};
}

Out<void> Handlers::apply_common(PaymentIntent& pi, bool creating) {
  const Params& p = ctx.params;
  if (const std::string* cm = p.get("capture_method")) {
    if (*cm != "automatic" && *cm != "automatic_async" && *cm != "manual") {
      return invalid(
          "Invalid capture_method: must be one of automatic, automatic_async, or "
          "manual",
          "capture_method");
    }
    pi.capture_method = *cm;
  }
  if (p.has("application_fee_amount")) {
    if (!ctx.connected) {
      return invalid(
          "Can only apply an application_fee_amount when the PaymentIntent is "
          "attempting a direct payment (using an OAuth key or Stripe-Account header) "
          "or destination payment (using `transfer_data[destination]`).",
          "application_fee_amount");
    }
    if (p.get("application_fee_amount")->empty()) {
      pi.application_fee_amount.reset();
    } else {
      auto fee = parse_int(p, "application_fee_amount");
      if (!fee) return tl::unexpected(fee.error());
      if (*fee < 0 || *fee > pi.amount) {
        return invalid("application_fee_amount must be between 0 and the amount.",
                       "application_fee_amount");
      }
      pi.application_fee_amount = *fee;
    }
  }
  if (auto m = apply_metadata(p, pi.metadata); !m) return tl::unexpected(m.error());
  if (const std::string* d = p.get("description")) pi.description = *d;
  if (const std::string* d = p.get("receipt_email")) pi.receipt_email = *d;
  if (const std::string* d = p.get("statement_descriptor_suffix")) {
    if (d->size() > 22) {
      return invalid("statement_descriptor_suffix must be at most 22 characters",
                     "statement_descriptor_suffix");
    }
    pi.statement_descriptor_suffix = *d;
  }
  if (p.top_level().contains("allowed_payment_method_types")) {
    // "allowed_payment_method_types=" (empty: unset) reads as no types, which is refused.
    auto listed = p.has("allowed_payment_method_types") ? Out<std::vector<std::string>>()
                                                         : p.array("allowed_payment_method_types");
    if (!listed) return tl::unexpected(listed.error());
    const std::vector<std::string>& types = *listed;
    if (types.empty()) {
      return invalid("allowed_payment_method_types must list at least one type",
                     "allowed_payment_method_types");
    }
    for (const std::string& t : types) {
      if (t != "card_present" && t != "interac_present" && t != "card") {
        return invalid("The payment method type \"" + t + "\" is invalid.", "allowed_payment_method_types");
      }
    }
    pi.allowed_types = types;
  } else if (creating) {
    pi.allowed_types = {"card_present"};
  }
  if (const std::string* pm = p.get("payment_method")) {
    if (!pm->empty() && !known_method(*pm)) {
      return missing("PaymentMethod", *pm, "payment_method");
    }
    pi.payment_method = *pm;
    if (!creating && !pm->empty() && pi.status == "requires_payment_method") {
      pi.status = "requires_confirmation";
    }
  }
  return {};
}

Out<Json> Handlers::create_pi() {
  const Params& p = ctx.params;
  if (auto a =
          allow_only(p, {"amount", "currency", "allowed_payment_method_types", "capture_method",
                         "application_fee_amount", "metadata", "description", "statement_descriptor_suffix",
                         "receipt_email", "payment_method", "confirm", "payment_method_options"});
      !a) {
    return tl::unexpected(a.error());
  }
  if (p.has("statement_descriptor")) {
    return invalid(
        "statement_descriptor is not supported for card payments; use "
        "statement_descriptor_suffix.",
        "statement_descriptor");
  }
  auto amount = parse_int(p, "amount");
  if (!amount) return tl::unexpected(amount.error());
  const std::string* currency = p.get("currency");
  if (!currency || currency->empty()) {
    return invalid("Missing required param: currency.", "currency", "parameter_missing");
  }
  if (auto v = validate_amount(*amount, *currency); !v) return tl::unexpected(v.error());
  auto confirm_now = parse_bool(p, "confirm");
  if (!confirm_now) return tl::unexpected(confirm_now.error());

  PaymentIntent pi;
  pi.account = ctx.account;
  pi.livemode = ctx.livemode;
  pi.amount = *amount;
  pi.currency = *currency;
  if (auto c = apply_common(pi, true); !c) return tl::unexpected(c.error());
  if (const std::string* cm = p.get("payment_method_options[card_present][capture_method]")) {
    if (*cm == "manual" || *cm == "manual_preferred") pi.capture_method = "manual";
  }
  if (*confirm_now && pi.payment_method.empty()) {
    return invalid("You must provide a payment_method when confirm=true.", "payment_method",
                   "parameter_missing");
  }
  pi.id = s.new_object_id("pi_");
  pi.client_secret = pi.id + "_secret_" + s.new_id("", 25);
  pi.created = s.unix_now();
  pi.seq = ++s.seq;
  pi.status = pi.payment_method.empty() ? "requires_payment_method" : "requires_confirmation";
  const std::string id = pi.id;
  PaymentIntent& stored = s.payment_intents.insert(id, std::move(pi));
  emit_pi("payment_intent.created", stored);
  if (*confirm_now) {
    if (auto c = confirm(stored); !c) return tl::unexpected(c.error());
  }
  return s.render(stored, expand());
}

Out<Json> Handlers::update_pi(PaymentIntent& pi) {
  const Params& p = ctx.params;
  if (auto a =
          allow_only(p, {"amount", "currency", "allowed_payment_method_types", "capture_method",
                         "application_fee_amount", "metadata", "description", "statement_descriptor_suffix",
                         "receipt_email", "payment_method", "payment_method_options"});
      !a) {
    return tl::unexpected(a.error());
  }
  const bool final_state = pi.status == "succeeded" || pi.status == "canceled";
  const bool money_change = p.has("amount") || p.has("currency") || p.has("capture_method") ||
                            p.has("payment_method") || p.has("application_fee_amount");
  if (money_change && pi.status != "requires_payment_method" && pi.status != "requires_confirmation") {
    return state_error(
        "You cannot update amount, currency, capture_method, payment_method or "
        "application_fee_amount of a PaymentIntent with status " +
            pi.status + ".",
        "payment_intent_unexpected_state");
  }
  (void)final_state;
  PaymentIntent copy = pi;
  if (p.has("amount")) {
    auto amount = parse_int(p, "amount");
    if (!amount) return tl::unexpected(amount.error());
    copy.amount = *amount;
  }
  if (const std::string* c = p.get("currency")) copy.currency = *c;
  if (p.has("amount") || p.has("currency")) {
    if (auto v = validate_amount(copy.amount, copy.currency); !v) return tl::unexpected(v.error());
  }
  if (auto c = apply_common(copy, false); !c) return tl::unexpected(c.error());
  pi = std::move(copy);
  return s.render(pi, expand());
}

Out<Json> Handlers::confirm_pi(PaymentIntent& pi) {
  if (auto a = allow_only(ctx.params, {"payment_method", "payment_method_options", "capture_method"}); !a) {
    return tl::unexpected(a.error());
  }
  if (const std::string* cm = ctx.params.get("capture_method")) {
    if (*cm != "automatic" && *cm != "automatic_async" && *cm != "manual") {
      return invalid("Invalid capture_method", "capture_method");
    }
    if (pi.status == "requires_payment_method" || pi.status == "requires_confirmation") {
      pi.capture_method = *cm;
    }
  }
  if (const std::string* pm = ctx.params.get("payment_method")) {
    if (pi.status != "requires_payment_method" && pi.status != "requires_confirmation") {
      return state_error("This PaymentIntent's status is " + pi.status + " and it cannot be confirmed.",
                         "payment_intent_unexpected_state");
    }
    if (!known_method(*pm)) {
      return missing("PaymentMethod", *pm, "payment_method");
    }
    pi.payment_method = *pm;
  }
  if (auto c = confirm(pi); !c) return tl::unexpected(c.error());
  return s.render(pi, expand());
}

Out<Json> Handlers::capture_pi(PaymentIntent& pi) {
  if (auto a = allow_only(ctx.params,
                          {"amount_to_capture", "application_fee_amount", "metadata", "final_capture"});
      !a) {
    return tl::unexpected(a.error());
  }
  std::int64_t amount = pi.amount_capturable;
  if (ctx.params.has("amount_to_capture")) {
    auto a = parse_int(ctx.params, "amount_to_capture");
    if (!a) return tl::unexpected(a.error());
    amount = *a;
  }
  std::optional<std::int64_t> fee = pi.application_fee_amount;
  if (ctx.params.has("application_fee_amount")) {
    if (!ctx.connected) {
      return invalid("Can only apply an application_fee_amount on a direct payment.",
                     "application_fee_amount");
    }
    auto f = parse_int(ctx.params, "application_fee_amount");
    if (!f) return tl::unexpected(f.error());
    fee = *f;
  }
  if (pi.status != "requires_capture") {
    return state_error("This PaymentIntent could not be captured because it has a status of " + pi.status +
                           ". Only a PaymentIntent with one of the following "
                           "statuses may be captured: requires_capture.",
                       "payment_intent_unexpected_state");
  }
  if (amount <= 0 || amount > pi.amount_capturable) {
    return invalid("amount_to_capture must be greater than 0 and at most the amount_capturable (" +
                       std::to_string(pi.amount_capturable) + ").",
                   "amount_to_capture", "amount_too_large");
  }
  if (fee && (*fee < 0 || *fee > amount)) {
    return invalid("application_fee_amount cannot exceed the captured amount.", "application_fee_amount");
  }
  if (auto m = apply_metadata(ctx.params, pi.metadata); !m) return tl::unexpected(m.error());
  pi.application_fee_amount = fee;
  pi.amount_received = amount;
  pi.amount_capturable = 0;
  pi.status = "succeeded";
  Charge& ch = *s.charges.edit(pi.latest_charge);
  ch.captured = true;
  ch.amount_captured = amount;
  ch.application_fee_amount = fee;
  // The uncaptured remainder of a partial capture is released (shown as refunded).
  ch.amount_released = pi.amount - amount;
  s.emit(&ctx, pi.account, pi.livemode, "charge.captured", s.render(ch));
  emit_pi("payment_intent.succeeded", pi);
  return s.render(pi, expand());
}

Out<Json> Handlers::cancel_pi(PaymentIntent& pi) {
  if (auto a = allow_only(ctx.params, {"cancellation_reason"}); !a) return tl::unexpected(a.error());
  std::string reason;
  if (const std::string* r = ctx.params.get("cancellation_reason")) {
    static const std::set<std::string> kReasons = {"duplicate", "fraudulent", "requested_by_customer",
                                                   "abandoned"};
    if (!kReasons.contains(*r)) {
      return invalid(
          "Invalid cancellation_reason: must be one of duplicate, fraudulent, "
          "requested_by_customer, or abandoned",
          "cancellation_reason");
    }
    reason = *r;
  }
  if (pi.status == "succeeded" || pi.status == "canceled") {
    return state_error("You cannot cancel this PaymentIntent because it has a status of " + pi.status +
                           ". Only a PaymentIntent with one of the following "
                           "statuses may be canceled: requires_payment_method, "
                           "requires_capture, requires_confirmation, requires_action, "
                           "processing.",
                       "payment_intent_unexpected_state");
  }
  if (pi.status == "requires_capture") {
    Charge& ch = *s.charges.edit(pi.latest_charge);
    ch.amount_released = ch.amount;  // the authorization is released
  }
  pi.status = "canceled";
  pi.cancellation_reason = reason;
  pi.canceled_at = s.unix_now();
  pi.amount_capturable = 0;
  emit_pi("payment_intent.canceled", pi);
  return s.render(pi, expand());
}

}  // namespace till::stripesim
