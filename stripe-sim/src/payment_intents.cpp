// PaymentIntents (stripe.md section 4): create, update, confirm, capture, cancel, and the
// confirmation that turns a test card into an approval or a decline.

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
  // A card_present capture_method option decides for card_present payments; manual_preferred
  // is manual here (every simulated reader supports manual capture).
  const Json& option = pi.method_options.value("card_present", Json::object());
  const bool manual = (type == "card_present" && option.contains("capture_method")) || pi.capture_method == "manual";
  if (manual) {
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

// payment_method_options[card_present][...]: only the in-person options Stripe takes; a
// card_present capture_method overrides the PaymentIntent's own for card_present payments.
Out<void> Handlers::apply_method_options(PaymentIntent& pi) {
  const Params& p = ctx.params;
  if (auto a = allow_nested(p, "payment_method_options",
                            {"[card_present][capture_method]", "[card_present][request_extended_authorization]",
                             "[card_present][request_incremental_authorization_support]"});
      !a) {
    return a;
  }
  auto cm = parse_enum(p, "payment_method_options[card_present][capture_method]", {"manual", "manual_preferred"});
  if (!cm) return tl::unexpected(cm.error());
  if (*cm) pi.method_options["card_present"]["capture_method"] = **cm;
  for (const char* flag : {"request_extended_authorization", "request_incremental_authorization_support"}) {
    const std::string key = std::string("payment_method_options[card_present][") + flag + "]";
    if (!p.has(key)) continue;
    auto b = parse_bool(p, key);
    if (!b) return tl::unexpected(b.error());
    pi.method_options["card_present"][flag] = *b;
  }
  return {};
}

Out<void> Handlers::apply_fee(PaymentIntent& pi) {
  const Params& p = ctx.params;
  const std::string* given = p.get("application_fee_amount");
  if (!given) return {};
  if (!ctx.connected) {
    return invalid(
        "Can only apply an application_fee_amount when the PaymentIntent is attempting a direct payment "
        "(using an OAuth key or Stripe-Account header) or destination payment (using "
        "`transfer_data[destination]`).",
        "application_fee_amount");
  }
  if (given->empty()) {
    pi.application_fee_amount.reset();
    return {};
  }
  auto fee = parse_int(p, "application_fee_amount");
  if (!fee) return tl::unexpected(fee.error());
  if (*fee < 0) {
    return invalid("This value must be greater than or equal to 0.", "application_fee_amount",
                   "parameter_invalid_integer");
  }
  if (*fee > pi.amount) {
    return invalid("The application fee (" + std::to_string(*fee) + ") cannot be greater than the amount (" +
                       std::to_string(pi.amount) + ").",
                   "application_fee_amount");
  }
  pi.application_fee_amount = *fee;
  return {};
}

Out<void> Handlers::apply_types(PaymentIntent& pi, bool creating) {
  const Params& p = ctx.params;
  if (!p.top_level().contains("allowed_payment_method_types")) {
    if (creating) pi.allowed_types = {"card_present"};
    return {};
  }
  if (p.has("allowed_payment_method_types")) {
    return invalid("Invalid array", "allowed_payment_method_types");  // a scalar, empty or not
  }
  auto types = p.array("allowed_payment_method_types");
  if (!types) return tl::unexpected(types.error());
  for (const std::string& t : *types) {
    if (t != "card_present" && t != "interac_present" && t != "card") {
      return invalid("The payment method type provided: " + t + " is invalid. Please ensure the provided type "
                     "is activated in your dashboard.",
                     "allowed_payment_method_types", "payment_method_invalid_parameter");
    }
  }
  pi.allowed_types = *types;
  return {};
}

// What create and update share. The receipt email is checked the way Stripe checks an email
// (one '@' with text either side, no spaces).
Out<void> Handlers::apply_common(PaymentIntent& pi, bool creating) {
  const Params& p = ctx.params;
  auto cm = parse_enum(p, "capture_method", {"automatic", "automatic_async", "manual"});
  if (!cm) return tl::unexpected(cm.error());
  if (*cm) pi.capture_method = **cm;
  if (auto f = apply_fee(pi); !f) return f;
  if (auto m = apply_metadata(p, pi.metadata); !m) return m;
  if (auto o = apply_method_options(pi); !o) return o;
  if (auto t = apply_types(pi, creating); !t) return t;
  if (const std::string* d = p.get("description")) pi.description = *d;
  if (const std::string* e = p.get("receipt_email")) {
    const auto at = e->find('@');
    const bool ok = e->empty() || (at != std::string::npos && at > 0 && at + 1 < e->size() &&
                                   e->find('@', at + 1) == std::string::npos && e->find(' ') == std::string::npos);
    if (!ok) return invalid("Invalid email address: " + *e, "receipt_email", "email_invalid");
    pi.receipt_email = *e;
  }
  if (const std::string* d = p.get("statement_descriptor_suffix")) {
    if (d->size() > 22) {
      return invalid("statement_descriptor_suffix must be at most 22 characters", "statement_descriptor_suffix");
    }
    pi.statement_descriptor_suffix = *d;
  }
  if (const std::string* pm = p.get("payment_method")) {
    if (!pm->empty() && !known_method(*pm)) return missing("PaymentMethod", *pm, "payment_method");
    pi.payment_method = *pm;
    if (!creating && !pm->empty() && pi.status == "requires_payment_method") pi.status = "requires_confirmation";
  }
  return {};
}

Out<Json> Handlers::create_pi() {
  const Params& p = ctx.params;
  if (p.has("statement_descriptor")) {
    return invalid(
        "The `statement_descriptor` parameter is not supported for card payments; use "
        "`statement_descriptor_suffix` instead.",
        "statement_descriptor");
  }
  if (auto a = allow_only(p, {"amount", "currency", "allowed_payment_method_types", "capture_method",
                              "application_fee_amount", "metadata", "description", "statement_descriptor_suffix",
                              "receipt_email", "payment_method", "confirm", "payment_method_options"});
      !a) {
    return tl::unexpected(a.error());
  }
  if (auto x = allow_expand(expand(), false, kPiExpandable); !x) return tl::unexpected(x.error());
  auto amount = parse_int(p, "amount");
  if (!amount) return tl::unexpected(amount.error());
  auto currency = required(p, "currency");
  if (!currency) return tl::unexpected(currency.error());
  const std::string code = lower(*currency);  // Stripe takes ISO codes in either case
  if (auto v = validate_amount(*amount, code); !v) return tl::unexpected(v.error());
  auto confirm_now = parse_bool(p, "confirm");
  if (!confirm_now) return tl::unexpected(confirm_now.error());

  PaymentIntent pi;
  pi.account = ctx.account;
  pi.livemode = ctx.livemode;
  pi.amount = *amount;
  pi.currency = code;
  if (auto c = apply_common(pi, true); !c) return tl::unexpected(c.error());
  if (*confirm_now && pi.payment_method.empty()) {
    return invalid("You must provide a payment_method when confirm=true.", "payment_method", "parameter_missing");
  }
  pi.id = s.new_object_id("pi_");
  pi.client_secret = pi.id + "_secret_" + s.new_id("", 25);
  pi.created = s.unix_now();
  pi.seq = ++s.seq;
  pi.status = pi.payment_method.empty() ? "requires_payment_method" : "requires_confirmation";
  PaymentIntent& stored = s.payment_intents.insert(std::move(pi));
  emit_pi("payment_intent.created", stored);
  if (*confirm_now) {
    if (auto c = confirm(stored); !c) return tl::unexpected(c.error());
  }
  return s.render(stored, expand());
}

Out<Json> Handlers::update_pi(PaymentIntent& pi) {
  const Params& p = ctx.params;
  if (auto a = allow_only(p, {"amount", "currency", "allowed_payment_method_types", "capture_method",
                              "application_fee_amount", "metadata", "description", "statement_descriptor_suffix",
                              "receipt_email", "payment_method", "payment_method_options"});
      !a) {
    return tl::unexpected(a.error());
  }
  if (auto x = allow_expand(expand(), false, kPiExpandable); !x) return tl::unexpected(x.error());
  PaymentIntent copy = pi;
  if (p.has("amount")) {
    auto amount = parse_int(p, "amount");
    if (!amount) return tl::unexpected(amount.error());
    copy.amount = *amount;
  }
  if (p.has("currency")) {
    auto currency = required(p, "currency");
    if (!currency) return tl::unexpected(currency.error());
    copy.currency = lower(*currency);
  }
  if (p.has("amount") || p.has("currency")) {
    if (auto v = validate_amount(copy.amount, copy.currency); !v) return tl::unexpected(v.error());
  }
  if (auto c = apply_common(copy, false); !c) return tl::unexpected(c.error());
  const bool money_change = p.has("amount") || p.has("currency") || p.has("capture_method") ||
                            p.has("payment_method") || p.has("application_fee_amount") ||
                            p.top_level().contains("payment_method_options") ||
                            p.top_level().contains("allowed_payment_method_types");
  if (money_change && pi.status != "requires_payment_method" && pi.status != "requires_confirmation") {
    return state_error(
        "You cannot update amount, currency, capture_method, payment_method, payment_method_options, "
        "allowed_payment_method_types or application_fee_amount of a PaymentIntent with status " +
            pi.status + ".",
        "payment_intent_unexpected_state");
  }
  pi = std::move(copy);
  return s.render(pi, expand());
}

Out<Json> Handlers::confirm_pi(PaymentIntent& pi) {
  if (auto a = allow_only(ctx.params, {"payment_method", "payment_method_options", "capture_method"}); !a) {
    return tl::unexpected(a.error());
  }
  if (auto x = allow_expand(expand(), false, kPiExpandable); !x) return tl::unexpected(x.error());
  PaymentIntent copy = pi;
  auto cm = parse_enum(ctx.params, "capture_method", {"automatic", "automatic_async", "manual"});
  if (!cm) return tl::unexpected(cm.error());
  if (auto o = apply_method_options(copy); !o) return tl::unexpected(o.error());
  if (*cm) copy.capture_method = **cm;
  if (const std::string* pm = ctx.params.get("payment_method")) {
    if (!known_method(*pm)) return missing("PaymentMethod", *pm, "payment_method");
    copy.payment_method = *pm;
  }
  if (pi.status != "requires_payment_method" && pi.status != "requires_confirmation") {
    return state_error("This PaymentIntent's status is " + pi.status +
                           ", but it must be requires_payment_method or requires_confirmation to be confirmed.",
                       "payment_intent_unexpected_state");
  }
  pi = std::move(copy);
  if (auto c = confirm(pi); !c) return tl::unexpected(c.error());
  return s.render(pi, expand());
}

Out<Json> Handlers::capture_pi(PaymentIntent& pi) {
  if (auto a = allow_only(ctx.params,
                          {"amount_to_capture", "application_fee_amount", "metadata", "final_capture"});
      !a) {
    return tl::unexpected(a.error());
  }
  if (auto x = allow_expand(expand(), false, kPiExpandable); !x) return tl::unexpected(x.error());
  if (auto f = parse_bool(ctx.params, "final_capture"); !f) return tl::unexpected(f.error());
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
  if (amount < 1) {
    return invalid("This value must be greater than or equal to 1.", "amount_to_capture", "amount_too_small");
  }
  if (amount > pi.amount_capturable) {
    return invalid("The amount to capture (" + std::to_string(amount) + ") is greater than the amount_capturable (" +
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
  if (auto x = allow_expand(expand(), false, kPiExpandable); !x) return tl::unexpected(x.error());
  // "automatic" and "failed_invoice" are reasons Stripe sets itself, never a caller's.
  auto given = parse_enum(ctx.params, "cancellation_reason",
                          {"duplicate", "fraudulent", "requested_by_customer", "abandoned"});
  if (!given) return tl::unexpected(given.error());
  const std::string reason = given->value_or("");
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
