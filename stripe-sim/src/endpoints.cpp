// The simulated endpoints: PaymentIntents, charges, refunds, Terminal locations and readers
// with their actions and test helpers, events (shared/design/stripe.md sections 4-7, 9).

#include <algorithm>
#include <charconv>
#include <set>

#include "state.hpp"

namespace till::stripesim {

namespace {

struct CurrencyRule {
  std::string_view code;
  int exponent;
  std::int64_t minimum;  // minor units, ~0.50 USD (Stripe's published minimums where known)
};

// Currencies the simulator accepts. Zero- and three-decimal lists from stripe.md section 4.
constexpr CurrencyRule kCurrencies[] = {
    {"usd", 2, 50},   {"cad", 2, 50},   {"eur", 2, 50},  {"gbp", 2, 30},   {"aud", 2, 50},
    {"nzd", 2, 50},   {"chf", 2, 50},   {"sgd", 2, 50},  {"hkd", 2, 400},  {"dkk", 2, 250},
    {"sek", 2, 300},  {"nok", 2, 300},  {"pln", 2, 200}, {"czk", 2, 1500}, {"huf", 2, 17500},
    {"mxn", 2, 1000}, {"brl", 2, 50},   {"inr", 2, 50},  {"myr", 2, 200},  {"thb", 2, 1000},
    {"aed", 2, 200},  {"ron", 2, 200},  {"bgn", 2, 100}, {"bif", 0, 1500}, {"clp", 0, 500},
    {"djf", 0, 100},  {"gnf", 0, 5000}, {"jpy", 0, 50},  {"kmf", 0, 250},  {"krw", 0, 700},
    {"mga", 0, 2500}, {"pyg", 0, 4000}, {"rwf", 0, 700}, {"ugx", 0, 2000}, {"vnd", 0, 13000},
    {"vuv", 0, 60},   {"xaf", 0, 300},  {"xof", 0, 300}, {"xpf", 0, 60},   {"bhd", 3, 200},
    {"jod", 3, 360},  {"kwd", 3, 160},  {"omr", 3, 200}, {"tnd", 3, 1500},
};

const CurrencyRule* find_currency(std::string_view code) {
  for (const CurrencyRule& c : kCurrencies) {
    if (c.code == code) return &c;
  }
  return nullptr;
}

// Test payment methods (README "Token scheme"). pm_test_<name>[_<anything>] and Stripe's
// pm_card_* aliases.
struct TestCard {
  std::string_view name;
  std::string_view alias;  // pm_card_... spelling, empty if none
  CardInfo info;
};

const std::vector<TestCard>& test_cards() {
  static const std::vector<TestCard> cards = {
      {"visa", "pm_card_visa", {"visa", "4242", "", "", false}},
      {"mastercard", "pm_card_mastercard", {"mastercard", "4444", "", "", false}},
      {"amex", "pm_card_amex", {"amex", "0005", "", "", false}},
      {"discover", "pm_card_discover", {"discover", "1117", "", "", false}},
      {"interac", "pm_card_interac", {"interac", "1933", "", "", true}},
      {"chargeDeclined",
       "pm_card_chargeDeclined",
       {"visa", "0002", "card_declined", "generic_decline", false}},
      {"insufficientFunds",
       "pm_card_chargeDeclinedInsufficientFunds",
       {"visa", "9995", "card_declined", "insufficient_funds", false}},
      {"lostCard", "pm_card_chargeDeclinedLostCard", {"visa", "9987", "card_declined", "lost_card", false}},
      {"stolenCard",
       "pm_card_chargeDeclinedStolenCard",
       {"visa", "9979", "card_declined", "stolen_card", false}},
      {"expiredCard",
       "pm_card_chargeDeclinedExpiredCard",
       {"visa", "0069", "expired_card", "expired_card", false}},
      {"processingError",
       "pm_card_chargeDeclinedProcessingError",
       {"visa", "0119", "processing_error", "processing_error", false}},
      {"offlinePin", "pm_card_offlinePin", {"visa", "0002", "", "", false}},
      {"onlinePin", "pm_card_onlinePin", {"visa", "0005", "", "", false}},
  };
  return cards;
}

// Card numbers accepted by present_payment_method (stripe.md section 7).
std::optional<CardInfo> card_for_number(std::string_view number) {
  static const std::map<std::string_view, std::string_view> kByNumber = {
      {"4242424242424242", "visa"},
      {"5555555555554444", "mastercard"},
      {"378282246310005", "amex"},
      {"6011111111111117", "discover"},
      {"4506445006931933", "interac"},
      {"4000000000000002", "chargeDeclined"},
      {"4000000000009995", "insufficientFunds"},
      {"4000000000009987", "lostCard"},
      {"4000000000009979", "stolenCard"},
      {"4000000000000069", "expiredCard"},
      {"4000000000000119", "processingError"},
      {"4001007020000002", "offlinePin"},
      {"4001000360000005", "onlinePin"},
  };
  auto it = kByNumber.find(number);
  if (it == kByNumber.end()) return std::nullopt;
  for (const TestCard& c : test_cards()) {
    if (c.name == it->second) return c.info;
  }
  return std::nullopt;
}

std::optional<CardInfo> card_for_token(std::string_view token) {
  for (const TestCard& c : test_cards()) {
    if (token == c.alias) return c.info;
  }
  // Tokens minted by till-reader-sim (hardware-sim) carry no outcome: an approving Visa,
  // subject to the test amounts like every other card.
  if (token.starts_with("pm_sim_") && token.size() > 7) return test_cards().front().info;
  if (token.starts_with("pm_test_")) {
    std::string_view name = token.substr(8);
    name = name.substr(0, name.find('_'));
    for (const TestCard& c : test_cards()) {
      if (name == c.name) return c.info;
    }
  }
  return std::nullopt;
}

std::string_view decline_message(std::string_view decline_code) {
  if (decline_code == "insufficient_funds") return "Your card has insufficient funds.";
  if (decline_code == "lost_card" || decline_code == "stolen_card") return "Your card was declined.";
  if (decline_code == "expired_card") return "Your card has expired.";
  if (decline_code == "processing_error")
    return "An error occurred while processing your card. Try again in a little bit.";
  if (decline_code == "incorrect_pin") return "The PIN entered is incorrect.";
  if (decline_code == "pin_try_exceeded") return "The allowable number of PIN tries was exceeded.";
  return "Your card was declined.";
}

// Test amounts (stripe.md section 7): the last two digits in minor units.
std::string_view amount_decline(std::int64_t amount) {
  switch (amount % 100) {
    case 1:
      return "call_issuer";
    case 5:
      return "generic_decline";
    case 55:
      return "incorrect_pin";
    case 65:
      return "withdrawal_count_limit_exceeded";
    case 75:
      return "pin_try_exceeded";
    default:
      return "";
  }
}

Out<std::int64_t> parse_int(const Params& p, std::string_view key) {
  const std::string* s = p.get(key);
  std::int64_t v = 0;
  if (!s || s->empty())
    return invalid("Missing required param: " + std::string(key) + ".", std::string(key),
                   "parameter_missing");
  const auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc{} || ptr != s->data() + s->size()) {
    return invalid("Invalid integer: " + *s, std::string(key), "parameter_invalid_integer");
  }
  return v;
}

Out<bool> parse_bool(const Params& p, std::string_view key) {
  const std::string* s = p.get(key);
  if (!s) return false;
  if (*s == "true") return true;
  if (*s == "false" || s->empty()) return false;
  return invalid("Invalid boolean: " + *s, std::string(key));
}

// Refuses any top-level param not in `allowed` the way Stripe does for unknown params.
Out<void> allow_only(const Params& p, std::initializer_list<std::string_view> allowed) {
  for (const std::string& name : p.top_level()) {
    if (name == "expand") continue;
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return invalid("Received unknown parameter: " + name, name, "parameter_unknown");
    }
  }
  return {};
}

// Metadata update semantics: keys merge, an empty value deletes a key, `metadata=` clears all.
Out<void> apply_metadata(const Params& p, std::map<std::string, std::string>& metadata) {
  if (const std::string* whole = p.get("metadata")) {
    if (!whole->empty()) return invalid("Invalid metadata: must be an object", "metadata");
    metadata.clear();
  }
  bool nested = false;
  auto children = p.children("metadata", &nested);
  if (nested) return invalid("Metadata values must be strings, not objects.", "metadata");
  auto updated = metadata;
  for (auto& [k, v] : children) {
    if (k.empty() || k.size() > 40) {
      return invalid("Metadata keys can have up to 40 characters. Found key '" + k + "'.",
                     "metadata[" + k + "]");
    }
    if (v.size() > 500) {
      return invalid(
          "Metadata values can have up to 500 characters, but you passed in a value "
          "that is " +
              std::to_string(v.size()) + " characters.",
          "metadata[" + k + "]");
    }
    if (v.empty()) {
      updated.erase(k);
    } else {
      updated[k] = v;
    }
  }
  if (updated.size() > 50) {
    return invalid(
        "You can have up to 50 metadata keys, but you specified " + std::to_string(updated.size()) + ".",
        "metadata");
  }
  metadata = std::move(updated);
  return {};
}

Out<void> validate_amount(std::int64_t amount, const std::string& currency,
                          std::string_view param = "amount") {
  const CurrencyRule* rule = find_currency(currency);
  if (!rule) return invalid("Invalid currency: " + currency + ".", "currency");
  if (amount < rule->minimum) {
    return invalid("Amount must be at least " + std::to_string(rule->minimum) + " " + currency +
                       " (minor units), about 0.50 usd.",
                   std::string(param), "amount_too_small");
  }
  if (amount > 99'999'999) {
    return invalid("Amount must be no more than 99999999 (8 digits).", std::string(param),
                   "amount_too_large");
  }
  if (rule->exponent == 3 && amount % 10 != 0) {
    return invalid("Amounts in " + currency + " must be a multiple of 10 (the last digit is 0).",
                   std::string(param), "invalid_amount");
  }
  return {};
}

template <class Map>
std::vector<const typename Map::mapped_type*> newest_first(const Map& m, const std::string& account) {
  std::vector<const typename Map::mapped_type*> out;
  for (const auto& [id, obj] : m) {
    if (obj.account == account) out.push_back(&obj);
  }
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->seq > b->seq; });
  return out;
}

// A list page: limit (1..100, default 10), starting_after, and created[gt|gte|lt|lte] (or
// created=N) for objects that have a creation time.
template <class T, class Render>
Out<Json> list_page(const Ctx& ctx, std::vector<const T*> items, Render render) {
  if constexpr (requires(const T& x) { x.created; }) {
    static constexpr std::pair<std::string_view, int> kOps[] = {
        {"created", 0}, {"created[gt]", 1}, {"created[gte]", 2}, {"created[lt]", 3}, {"created[lte]", 4}};
    for (const auto& [name, op] : kOps) {
      if (!ctx.params.has(name)) continue;
      auto bound = parse_int(ctx.params, name);
      if (!bound) return tl::unexpected(bound.error());
      const std::int64_t b = *bound;
      std::erase_if(items, [&, op = op](const T* x) {
        switch (op) {
          case 0:
            return x->created != b;
          case 1:
            return x->created <= b;
          case 2:
            return x->created < b;
          case 3:
            return x->created >= b;
          default:
            return x->created > b;
        }
      });
    }
  }
  std::int64_t limit = 10;
  if (ctx.params.has("limit")) {
    auto l = parse_int(ctx.params, "limit");
    if (!l) return tl::unexpected(l.error());
    if (*l < 1 || *l > 100) return invalid("limit must be between 1 and 100", "limit");
    limit = *l;
  }
  std::size_t start = 0;
  if (const std::string* after = ctx.params.get("starting_after")) {
    auto it = std::find_if(items.begin(), items.end(), [&](const T* x) { return x->id == *after; });
    if (it == items.end()) return invalid("No such object: '" + *after + "'", "starting_after");
    start = static_cast<std::size_t>(it - items.begin()) + 1;
  }
  Json data = Json::array();
  std::size_t i = start;
  for (; i < items.size() && data.size() < static_cast<std::size_t>(limit); ++i) {
    data.push_back(render(*items[i]));
  }
  return Json{
      {"object", "list"},
      {"data", data},
      {"has_more", i < items.size()},
      {"url",
       "/v1/" + ctx.segments.front() +
           (ctx.segments.size() > 1 && ctx.segments.front() == "terminal" ? "/" + ctx.segments[1] : "")}};
}

Json optional_int(const std::optional<std::int64_t>& v) { return v ? Json(*v) : Json(nullptr); }
Json string_or_null(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Rendering

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
    if (auto it = charges.find(pi.latest_charge); it != charges.end()) {
      j["latest_charge"] = render(it->second);
    }
  }
  return j;
}

Json Api::Impl::render(const Charge& ch) const {
  Json refunds_data = Json::array();
  for (const std::string& id : ch.refunds) {
    if (auto it = refunds.find(id); it != refunds.end()) refunds_data.push_back(render(it->second));
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

void Api::Impl::emit(const Ctx* ctx, const std::string& account, bool livemode, std::string type,
                     Json object) {
  Event e;
  e.id = new_id("evt_");
  e.account = account == config.platform_account ? std::string() : account;
  e.type = std::move(type);
  e.livemode = livemode;
  e.created = unix_now();
  e.object = std::move(object);
  e.seq = ++seq;
  if (ctx) {
    e.request_id = ctx->request_id;
    e.idempotency_key = ctx->idempotency_key;
  }
  const std::string payload = render(e).dump(2);
  for (const WebhookEndpoint& ep : config.webhooks) {
    if (ep.connect != !e.account.empty()) continue;
    outbox.push_back(Delivery{ep.url, ep.secret, e.id, payload});
  }
  events.push_back(std::move(e));
}

// ---------------------------------------------------------------------------------------------
// PaymentIntents

namespace {

struct Handlers {
  Api::Impl& s;
  Ctx& ctx;

  std::vector<std::string> expand() const { return ctx.params.array("expand"); }

  Out<PaymentIntent*> find_pi(const std::string& id, std::string param = {}) {
    auto it = s.payment_intents.find(id);
    if (it == s.payment_intents.end() || it->second.account != ctx.account) {
      return missing("payment_intent", id, std::move(param));
    }
    return &it->second;
  }

  void emit_pi(const std::string& type, const PaymentIntent& pi) {
    s.emit(&ctx, pi.account, pi.livemode, type, s.render(pi));
  }

  Out<CardInfo> resolve_method(const std::string& pm) {
    if (auto it = s.minted_methods.find(pm); it != s.minted_methods.end()) return it->second;
    if (auto c = card_for_token(pm)) return *c;
    return missing("PaymentMethod", pm, "payment_method");
  }

  // Confirms with the PI's payment method: approve, or decline with a stored 402.
  Out<void> confirm(PaymentIntent& pi) {
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
    ch.id = s.new_id("ch_");
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
    if (!code.empty()) {
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
      s.charges.emplace(ch.id, std::move(ch));
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
      return tl::unexpected(std::move(e));
    }
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
    s.charges.emplace(ch.id, std::move(ch));
    s.emit(&ctx, pi.account, pi.livemode, "charge.succeeded", charge_json);
    emit_pi(
        pi.status == "succeeded" ? "payment_intent.succeeded" : "payment_intent.amount_capturable_updated",
        pi);
    return {};
  }

  Out<void> apply_common(PaymentIntent& pi, bool creating) {
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
    if (p.has("allowed_payment_method_types") || p.has("allowed_payment_method_types[0]") ||
        !p.array("allowed_payment_method_types").empty()) {
      auto types = p.array("allowed_payment_method_types");
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
      if (!pm->empty() && !s.minted_methods.contains(*pm) && !card_for_token(*pm)) {
        return missing("PaymentMethod", *pm, "payment_method");
      }
      pi.payment_method = *pm;
      if (!creating && !pm->empty() && pi.status == "requires_payment_method") {
        pi.status = "requires_confirmation";
      }
    }
    return {};
  }

  Out<Json> create_pi() {
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
    pi.id = s.new_id("pi_");
    pi.client_secret = pi.id + "_secret_" + s.new_id("", 25);
    pi.created = s.unix_now();
    pi.seq = ++s.seq;
    pi.status = pi.payment_method.empty() ? "requires_payment_method" : "requires_confirmation";
    auto [it, inserted] = s.payment_intents.emplace(pi.id, std::move(pi));
    PaymentIntent& stored = it->second;
    emit_pi("payment_intent.created", stored);
    if (*confirm_now) {
      if (auto c = confirm(stored); !c) return tl::unexpected(c.error());
    }
    return s.render(stored, expand());
  }

  Out<Json> update_pi(PaymentIntent& pi) {
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

  Out<Json> confirm_pi(PaymentIntent& pi) {
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
      if (!s.minted_methods.contains(*pm) && !card_for_token(*pm)) {
        return missing("PaymentMethod", *pm, "payment_method");
      }
      pi.payment_method = *pm;
    }
    if (auto c = confirm(pi); !c) return tl::unexpected(c.error());
    return s.render(pi, expand());
  }

  Out<Json> capture_pi(PaymentIntent& pi) {
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
    Charge& ch = s.charges.at(pi.latest_charge);
    ch.captured = true;
    ch.amount_captured = amount;
    ch.application_fee_amount = fee;
    // The uncaptured remainder of a partial capture is released (shown as refunded).
    ch.amount_released = pi.amount - amount;
    s.emit(&ctx, pi.account, pi.livemode, "charge.captured", s.render(ch));
    emit_pi("payment_intent.succeeded", pi);
    return s.render(pi, expand());
  }

  Out<Json> cancel_pi(PaymentIntent& pi) {
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
      Charge& ch = s.charges.at(pi.latest_charge);
      ch.amount_released = ch.amount;  // the authorization is released
    }
    pi.status = "canceled";
    pi.cancellation_reason = reason;
    pi.canceled_at = s.unix_now();
    pi.amount_capturable = 0;
    emit_pi("payment_intent.canceled", pi);
    return s.render(pi, expand());
  }

  Out<Json> list_pis() {
    auto items = newest_first(s.payment_intents, ctx.account);
    return list_page(ctx, items, [&](const PaymentIntent& pi) { return s.render(pi); });
  }

  // query=metadata['k']:'v' [AND status:'x'] [AND amount:1234]
  Out<Json> search_pis() {
    const std::string* q = ctx.params.get("query");
    if (!q || q->empty()) return invalid("Missing required param: query.", "query", "parameter_missing");
    struct Clause {
      std::string field, key, value;
    };
    std::vector<Clause> clauses;
    std::string_view rest = *q;
    while (!rest.empty()) {
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      Clause c;
      if (rest.starts_with("metadata[")) {
        rest.remove_prefix(9);
        const char quote = rest.empty() ? '\0' : rest.front();
        if (quote != '\'' && quote != '"') return invalid("Invalid search query: " + *q, "query");
        const auto end = rest.find(quote, 1);
        if (end == std::string_view::npos || rest.substr(end + 1, 2) != "]:") {
          return invalid("Invalid search query: " + *q, "query");
        }
        c.field = "metadata";
        c.key = std::string(rest.substr(1, end - 1));
        rest.remove_prefix(end + 3);
      } else {
        const auto colon = rest.find(':');
        if (colon == std::string_view::npos) return invalid("Invalid search query: " + *q, "query");
        c.field = std::string(rest.substr(0, colon));
        if (c.field != "status" && c.field != "amount" && c.field != "currency") {
          return invalid("Field '" + c.field + "' is not supported by this simulator's search.", "query");
        }
        rest.remove_prefix(colon + 1);
      }
      if (!rest.empty() && (rest.front() == '\'' || rest.front() == '"')) {
        // A quoted value; a backslash escapes the quote, as in Stripe's query language.
        const char quote = rest.front();
        std::size_t i = 1;
        bool closed = false;
        for (; i < rest.size(); ++i) {
          if (rest[i] == '\\' && i + 1 < rest.size()) {
            c.value.push_back(rest[++i]);
          } else if (rest[i] == quote) {
            closed = true;
            break;
          } else {
            c.value.push_back(rest[i]);
          }
        }
        if (!closed) return invalid("Invalid search query: " + *q, "query");
        rest.remove_prefix(i + 1);
      } else {
        const auto sp = rest.find(' ');
        c.value = std::string(rest.substr(0, sp));
        rest.remove_prefix(sp == std::string_view::npos ? rest.size() : sp);
      }
      clauses.push_back(std::move(c));
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      if (rest.empty()) break;
      if (!rest.starts_with("AND ")) {
        return invalid("Only AND is supported between search clauses by this simulator.", "query");
      }
      rest.remove_prefix(4);
    }
    std::vector<const PaymentIntent*> hits;
    for (const PaymentIntent* pi : newest_first(s.payment_intents, ctx.account)) {
      const bool all = std::all_of(clauses.begin(), clauses.end(), [&](const Clause& c) {
        if (c.field == "metadata") {
          auto it = pi->metadata.find(c.key);
          return it != pi->metadata.end() && it->second == c.value;
        }
        if (c.field == "status") return pi->status == c.value;
        if (c.field == "currency") return pi->currency == c.value;
        return std::to_string(pi->amount) == c.value;
      });
      if (all) hits.push_back(pi);
    }
    auto page = list_page(ctx, hits, [&](const PaymentIntent& pi) { return s.render(pi); });
    if (!page) return page;
    (*page)["object"] = "search_result";
    (*page)["next_page"] = nullptr;
    (*page)["url"] = "/v1/payment_intents/search";
    return page;
  }

  // -------------------------------------------------------------------------------------------
  // Refunds

  Out<Json> do_refund(PaymentIntent& pi, std::optional<std::int64_t> amount, bool refund_fee,
                      const std::string& reason, const std::map<std::string, std::string>& md) {
    if (pi.status == "requires_capture") {
      return state_error(
          "This PaymentIntent has not been captured: cancel it instead of "
          "refunding.",
          "charge_not_captured");
    }
    if (pi.status != "succeeded") {
      return state_error("This PaymentIntent has no successful charge to refund (status " + pi.status + ").",
                         "payment_intent_unexpected_state");
    }
    Charge& ch = s.charges.at(pi.latest_charge);
    const std::int64_t remaining = ch.amount_captured - ch.amount_refunded;
    if (remaining <= 0) {
      return state_error("Charge " + ch.id + " has already been refunded.", "charge_already_refunded");
    }
    const std::int64_t value = amount.value_or(remaining);
    if (value <= 0) return invalid("Refund amount must be positive.", "amount");
    if (value > remaining) {
      return state_error("Refund amount (" + std::to_string(value) +
                             ") is greater than unrefunded amount on charge (" + std::to_string(remaining) +
                             ")",
                         "amount_too_large");
    }
    Refund r;
    r.id = s.new_id("re_");
    r.account = pi.account;
    r.livemode = pi.livemode;
    r.charge = ch.id;
    r.payment_intent = pi.id;
    r.currency = pi.currency;
    r.amount = value;
    r.reason = reason;
    r.metadata = md;
    r.created = s.unix_now();
    r.seq = ++s.seq;
    if (refund_fee && ch.application_fee_amount) {
      // Proportional, as Stripe does for partial refunds; the last refund takes the rest.
      const std::int64_t fee = *ch.application_fee_amount;
      std::int64_t part = ch.amount_captured > 0 ? fee * value / ch.amount_captured : 0;
      if (ch.amount_refunded + value >= ch.amount_captured) part = fee - ch.application_fee_refunded;
      part = std::min(part, fee - ch.application_fee_refunded);
      r.application_fee_refunded = part;
      ch.application_fee_refunded += part;
    }
    ch.amount_refunded += value;
    ch.refunds.push_back(r.id);
    const Json refund_json = s.render(r);
    s.refunds.emplace(r.id, std::move(r));
    s.emit(&ctx, pi.account, pi.livemode, "refund.created", refund_json);
    s.emit(&ctx, pi.account, pi.livemode, "charge.refunded", s.render(ch));
    return refund_json;
  }

  Out<Json> create_refund() {
    const Params& p = ctx.params;
    if (auto a = allow_only(
            p, {"payment_intent", "charge", "amount", "reason", "refund_application_fee", "metadata"});
        !a) {
      return tl::unexpected(a.error());
    }
    std::string pi_id;
    if (const std::string* id = p.get("payment_intent")) {
      pi_id = *id;
    } else if (const std::string* cid = p.get("charge")) {
      auto it = s.charges.find(*cid);
      if (it == s.charges.end() || it->second.account != ctx.account) {
        return missing("charge", *cid, "charge");
      }
      pi_id = it->second.payment_intent;
    } else {
      return invalid(
          "One of the following params should be provided for this request: "
          "payment_intent or charge.",
          "payment_intent", "parameter_missing");
    }
    std::optional<std::int64_t> amount;
    if (p.has("amount")) {
      auto a = parse_int(p, "amount");
      if (!a) return tl::unexpected(a.error());
      amount = *a;
    }
    std::string reason;
    if (const std::string* r = p.get("reason")) {
      if (*r != "duplicate" && *r != "fraudulent" && *r != "requested_by_customer") {
        return invalid(
            "Invalid reason: must be one of duplicate, fraudulent, or "
            "requested_by_customer",
            "reason");
      }
      reason = *r;
    }
    auto fee = parse_bool(p, "refund_application_fee");
    if (!fee) return tl::unexpected(fee.error());
    std::map<std::string, std::string> md;
    if (auto m = apply_metadata(p, md); !m) return tl::unexpected(m.error());
    auto pi = find_pi(pi_id, "payment_intent");
    if (!pi) return tl::unexpected(pi.error());
    if ((*pi)->latest_charge.empty() == false && s.charges.at((*pi)->latest_charge).card.interac) {
      return state_error(
          "Interac refunds must be made in person on a reader "
          "(POST /v1/terminal/readers/{id}/refund_payment).",
          "refund_requires_card_present");
    }
    return do_refund(**pi, amount, *fee, reason, md);
  }

  // -------------------------------------------------------------------------------------------
  // Terminal

  Out<Reader*> find_reader(const std::string& id) {
    auto it = s.readers.find(id);
    if (it == s.readers.end() || it->second.account != ctx.account) {
      return missing("terminal.reader", id);
    }
    return &it->second;
  }

  Out<void> reader_available(const Reader& r) {
    if (r.status != "online") {
      return state_error(
          "Reader is currently offline, please ensure the reader is powered on and "
          "connected to the internet before retrying your request.",
          "terminal_reader_offline");
    }
    if (r.action && r.action->status == "in_progress") {
      return state_error(
          "Reader is currently busy processing another request. Please reference "
          "the docs for more information on how to handle this error.",
          "terminal_reader_busy");
    }
    return {};
  }

  // The answer to an action POST once the action was handed to the reader: the reader, or, for
  // an unreachable reader, terminal_reader_timeout (stored under the key like every state error;
  // the action did start, which is exactly why a client must treat this answer as unknown).
  Out<Json> action_started(Reader& r) {
    if (r.unreachable) {
      return state_error(
          "The request to the reader timed out. The reader may or may not have received it; "
          "retrieve the reader to see its current action.",
          "terminal_reader_timeout");
    }
    return s.render(r);
  }

  Out<Json> create_location() {
    const Params& p = ctx.params;
    if (auto a = allow_only(p, {"display_name", "address", "metadata", "configuration_overrides"}); !a) {
      return tl::unexpected(a.error());
    }
    const std::string* name = p.get("display_name");
    if (!name || name->empty()) {
      return invalid("Missing required param: display_name.", "display_name", "parameter_missing");
    }
    bool nested = false;
    auto address = p.children("address", &nested);
    if (!address.contains("country")) {
      return invalid("Missing required param: address[country].", "address[country]", "parameter_missing");
    }
    Location l;
    l.id = s.new_id("tml_");
    l.account = ctx.account;
    l.livemode = ctx.livemode;
    l.display_name = *name;
    for (auto& [k, v] : address) l.address[k] = v;
    if (auto m = apply_metadata(p, l.metadata); !m) return tl::unexpected(m.error());
    l.seq = ++s.seq;
    const Json j = s.render(l);
    s.locations.emplace(l.id, std::move(l));
    return j;
  }

  Out<Json> create_reader() {
    const Params& p = ctx.params;
    if (auto a = allow_only(p, {"registration_code", "label", "location", "metadata"}); !a) {
      return tl::unexpected(a.error());
    }
    const std::string* code = p.get("registration_code");
    if (!code || code->empty()) {
      return invalid("Missing required param: registration_code.", "registration_code", "parameter_missing");
    }
    if (*code != "simulated-wpe") {
      return invalid("The registration code '" + *code +
                         "' is invalid. In test mode, use "
                         "simulated-wpe to register a simulated WisePOS E.",
                     "registration_code", "invalid_registration_code");
    }
    const std::string* loc = p.get("location");
    if (!loc || loc->empty()) {
      return invalid("Missing required param: location.", "location", "parameter_missing");
    }
    auto it = s.locations.find(*loc);
    if (it == s.locations.end() || it->second.account != ctx.account) {
      return missing("terminal.location", *loc, "location");
    }
    Reader r;
    r.id = s.new_id("tmr_");
    r.account = ctx.account;
    r.livemode = ctx.livemode;
    r.location = *loc;
    r.serial_number = s.new_id("WSC513", 9);
    if (const std::string* label = p.get("label")) r.label = *label;
    if (auto m = apply_metadata(p, r.metadata); !m) return tl::unexpected(m.error());
    r.seq = ++s.seq;
    const Json j = s.render(r);
    s.readers.emplace(r.id, std::move(r));
    return j;
  }

  Out<Json> process_payment_intent(Reader& r) {
    if (auto a = allow_only(ctx.params, {"payment_intent", "process_config"}); !a) {
      return tl::unexpected(a.error());
    }
    const std::string* id = ctx.params.get("payment_intent");
    if (!id || id->empty()) {
      return invalid("Missing required param: payment_intent.", "payment_intent", "parameter_missing");
    }
    auto pi = find_pi(*id, "payment_intent");
    if (!pi) return tl::unexpected(pi.error());
    if (auto av = reader_available(r); !av) return tl::unexpected(av.error());
    if ((*pi)->status != "requires_payment_method" && (*pi)->status != "requires_confirmation") {
      return state_error(
          "PaymentIntent " + *id + " has status " + (*pi)->status + " and cannot be processed.",
          "payment_intent_unexpected_state");
    }
    ReaderAction a;
    a.type = "process_payment_intent";
    a.status = "in_progress";
    a.payment_intent = *id;
    a.detail = {{"payment_intent", *id}};
    bool nested = false;
    auto config = ctx.params.children("process_config", &nested);
    if (!config.empty()) a.detail["process_config"] = config;
    r.action = std::move(a);
    return action_started(r);
  }

  Out<Json> set_reader_display(Reader& r) {
    const Params& p = ctx.params;
    if (auto a = allow_only(p, {"type", "cart"}); !a) return tl::unexpected(a.error());
    const std::string* type = p.get("type");
    if (!type || *type != "cart") return invalid("type must be cart", "type", "parameter_missing");
    if (auto av = reader_available(r); !av) return tl::unexpected(av.error());
    Json cart = Json::object();
    Json items = Json::array();
    for (int i = 0;; ++i) {
      const std::string base = "cart[line_items][" + std::to_string(i) + "]";
      if (!p.has(base + "[amount]") && !p.has(base + "[description]")) break;
      Json item = Json::object();
      for (const char* f : {"amount", "quantity"}) {
        if (p.has(base + "[" + f + "]")) {
          auto v = parse_int(p, base + "[" + f + "]");
          if (!v) return tl::unexpected(v.error());
          item[f] = *v;
        }
      }
      if (const std::string* d = p.get(base + "[description]")) item["description"] = *d;
      items.push_back(item);
    }
    cart["line_items"] = items;
    if (const std::string* c = p.get("cart[currency]")) cart["currency"] = *c;
    for (const char* f : {"tax", "total"}) {
      if (p.has(std::string("cart[") + f + "]")) {
        auto v = parse_int(p, std::string("cart[") + f + "]");
        if (!v) return tl::unexpected(v.error());
        cart[f] = *v;
      }
    }
    if (!cart.contains("currency") || !cart.contains("total")) {
      return invalid("cart[currency] and cart[total] are required.", "cart", "parameter_missing");
    }
    ReaderAction a;
    a.type = "set_reader_display";
    a.status = "in_progress";
    a.detail = {{"type", "cart"}, {"cart", cart}};
    a.complete_soon = true;
    r.action = std::move(a);
    return action_started(r);
  }

  Out<Json> refund_payment(Reader& r) {
    const Params& p = ctx.params;
    if (auto a = allow_only(p, {"payment_intent", "charge", "amount", "refund_application_fee", "metadata",
                                "reverse_transfer"});
        !a) {
      return tl::unexpected(a.error());
    }
    std::string pi_id;
    if (const std::string* id = p.get("payment_intent")) {
      pi_id = *id;
    } else if (const std::string* cid = p.get("charge")) {
      auto it = s.charges.find(*cid);
      if (it == s.charges.end() || it->second.account != ctx.account) {
        return missing("charge", *cid, "charge");
      }
      pi_id = it->second.payment_intent;
    } else {
      return invalid("payment_intent or charge is required.", "payment_intent", "parameter_missing");
    }
    auto pi = find_pi(pi_id, "payment_intent");
    if (!pi) return tl::unexpected(pi.error());
    ReaderAction a;
    a.type = "refund_payment";
    a.status = "in_progress";
    a.payment_intent = pi_id;
    if (p.has("amount")) {
      auto v = parse_int(p, "amount");
      if (!v) return tl::unexpected(v.error());
      a.refund_amount = *v;
    }
    auto fee = parse_bool(p, "refund_application_fee");
    if (!fee) return tl::unexpected(fee.error());
    a.refund_application_fee = *fee;
    if (auto m = apply_metadata(p, a.refund_metadata); !m) return tl::unexpected(m.error());
    if (auto av = reader_available(r); !av) return tl::unexpected(av.error());
    a.detail = {{"payment_intent", pi_id},
                {"charge", (*pi)->latest_charge},
                {"amount", optional_int(a.refund_amount)},
                {"refund_application_fee", a.refund_application_fee}};
    r.action = std::move(a);
    return action_started(r);
  }

  Out<Json> cancel_action(Reader& r) {
    if (auto a = allow_only(ctx.params, {}); !a) return tl::unexpected(a.error());
    if (r.status != "online") return tl::unexpected(reader_available(r).error());
    if (!r.action || r.action->status != "in_progress") {
      return state_error("This reader has no in-progress action to cancel.",
                         "terminal_reader_action_not_cancelable");
    }
    if (r.unreachable) {
      // The cancel never reached the reader: its action carries on.
      return action_started(r);
    }
    // As Stripe answers: the reader comes back with no action. The interrupted action is
    // reported as failed (canceled) to webhooks so a waiting client learns of it.
    ReaderAction failed = *r.action;
    failed.status = "failed";
    failed.failure_code = "canceled";
    failed.failure_message = "The action was canceled.";
    r.action = failed;
    s.emit(&ctx, r.account, r.livemode, "terminal.reader.action_failed", s.render(r));
    r.action.reset();
    return s.render(r);
  }

  // Test helper: a customer taps a card on the reader; finishes the in-progress action.
  Out<Json> present_payment_method(Reader& r) {
    const Params& p = ctx.params;
    if (auto a = allow_only(p, {"type", "card_present", "interac_present", "amount_tip", "card"}); !a) {
      return tl::unexpected(a.error());
    }
    if (!r.action || r.action->status != "in_progress" ||
        (r.action->type != "process_payment_intent" && r.action->type != "refund_payment")) {
      return state_error("The reader has no in-progress action that accepts a payment method.",
                         "terminal_reader_no_action");
    }
    if (r.status != "online") {
      // An offline reader cannot reach Stripe to authorize: the card tap goes nowhere.
      return tl::unexpected(reader_available(r).error());
    }
    std::string number = "4242424242424242";
    const std::string* type = p.get("type");
    if (type && *type == "interac_present") number = "4506445006931933";
    if (const std::string* n = p.get("card_present[number]")) number = *n;
    if (const std::string* n = p.get("interac_present[number]")) number = *n;
    auto card = card_for_number(number);
    if (!card) {
      return invalid("The card number is not one of the test cards this simulator knows.",
                     "card_present[number]");
    }
    std::int64_t tip = 0;
    if (p.has("amount_tip")) {
      auto t = parse_int(p, "amount_tip");
      if (!t) return tl::unexpected(t.error());
      tip = *t;
    }
    ReaderAction& a = *r.action;
    auto pi = find_pi(a.payment_intent);
    if (!pi) return tl::unexpected(pi.error());
    bool ok = true;
    if (a.type == "process_payment_intent") {
      const std::string pm = s.new_id("pm_");
      s.minted_methods.emplace(pm, *card);
      (*pi)->payment_method = pm;
      (*pi)->amount += tip;
      (*pi)->tip += tip;
      auto c = confirm(**pi);
      if (!c) {
        (*pi)->amount -= tip;  // a declined payment keeps no tip
        (*pi)->tip -= tip;
        ok = false;
        a.failure_code = c.error().code;
        a.failure_message = c.error().message;
      }
    } else {
      if (!card->interac && s.charges.count((*pi)->latest_charge) &&
          s.charges.at((*pi)->latest_charge).card.interac) {
        ok = false;
        a.failure_code = "card_declined";
        a.failure_message = "The card presented does not match the payment being refunded.";
      } else {
        auto refunded = do_refund(**pi, a.refund_amount, a.refund_application_fee, "", a.refund_metadata);
        if (!refunded) {
          ok = false;
          a.failure_code = refunded.error().code;
          a.failure_message = refunded.error().message;
        } else {
          a.detail["refund"] = (*refunded)["id"];
        }
      }
    }
    a.status = ok ? "succeeded" : "failed";
    s.emit(&ctx, r.account, r.livemode,
           ok ? "terminal.reader.action_succeeded" : "terminal.reader.action_failed", s.render(r));
    return s.render(r);
  }
};

}  // namespace

void Api::Impl::expire_uncaptured() {
  if (now() - last_expiry_sweep < std::chrono::minutes(1)) return;
  last_expiry_sweep = now();
  const std::int64_t cutoff = unix_now() - 7 * 24 * 3600;
  for (auto& [id, pi] : payment_intents) {
    if (pi.status != "requires_capture" || pi.created > cutoff) continue;
    pi.status = "canceled";
    pi.cancellation_reason = "automatic";
    pi.canceled_at = unix_now();
    pi.amount_capturable = 0;
    if (auto ch = charges.find(pi.latest_charge); ch != charges.end()) {
      ch->second.amount_released = ch->second.amount;
    }
    emit(nullptr, pi.account, pi.livemode, "payment_intent.canceled", render(pi));
  }
}

bool Api::Impl::run_deferred() {
  bool changed = false;
  for (auto& [id, r] : readers) {
    if (r.action && r.action->complete_soon && r.action->status == "in_progress") {
      r.action->status = "succeeded";
      r.action->complete_soon = false;
      emit(nullptr, r.account, r.livemode, "terminal.reader.action_succeeded", render(r));
      changed = true;
    }
  }
  return changed;
}

Out<Json> Api::Impl::route(Ctx& ctx) {
  Handlers h{*this, ctx};
  const auto& seg = ctx.segments;
  const std::string& m = ctx.method;
  const std::size_t n = seg.size();
  auto is = [&](std::size_t i, std::string_view v) { return n > i && seg[i] == v; };

  if (is(0, "payment_intents")) {
    if (n == 1 && m == "POST") return h.create_pi();
    if (n == 1 && m == "GET") return h.list_pis();
    if (n == 2 && seg[1] == "search" && m == "GET") return h.search_pis();
    if (n >= 2) {
      auto pi = h.find_pi(seg[1]);
      if (!pi) return tl::unexpected(pi.error());
      if (n == 2 && m == "GET") return render(**pi, h.expand());
      if (n == 2 && m == "POST") return h.update_pi(**pi);
      if (n == 3 && m == "POST" && seg[2] == "confirm") return h.confirm_pi(**pi);
      if (n == 3 && m == "POST" && seg[2] == "capture") return h.capture_pi(**pi);
      if (n == 3 && m == "POST" && seg[2] == "cancel") return h.cancel_pi(**pi);
    }
  } else if (is(0, "refunds")) {
    if (n == 1 && m == "POST") return h.create_refund();
    if (n == 1 && m == "GET") {
      auto items = newest_first(refunds, ctx.account);
      if (const std::string* pi = ctx.params.get("payment_intent")) {
        std::erase_if(items, [&](const Refund* r) { return r->payment_intent != *pi; });
      }
      return list_page(ctx, items, [&](const Refund& r) { return render(r); });
    }
    if (n == 2 && m == "GET") {
      auto it = refunds.find(seg[1]);
      if (it == refunds.end() || it->second.account != ctx.account) return missing("refund", seg[1]);
      return render(it->second);
    }
  } else if (is(0, "charges")) {
    if (n == 2 && m == "GET") {
      auto it = charges.find(seg[1]);
      if (it == charges.end() || it->second.account != ctx.account) return missing("charge", seg[1]);
      return render(it->second);
    }
  } else if (is(0, "events")) {
    if (n == 1 && m == "GET") {
      std::vector<const Event*> items;
      const std::string* type = ctx.params.get("type");
      const std::string scope = ctx.connected ? ctx.account : std::string();
      for (auto it = events.rbegin(); it != events.rend(); ++it) {
        if (it->account == scope && (!type || it->type == *type)) items.push_back(&*it);
      }
      return list_page(ctx, items, [&](const Event& e) { return render(e); });
    }
    if (n == 2 && m == "GET") {
      const std::string scope = ctx.connected ? ctx.account : std::string();
      for (const Event& e : events) {
        if (e.id == seg[1] && e.account == scope) return render(e);
      }
      return missing("event", seg[1]);
    }
  } else if (is(0, "account") && n == 1 && m == "GET") {
    return Json{{"id", ctx.account},         {"object", "account"},
                {"charges_enabled", true},   {"payouts_enabled", true},
                {"details_submitted", true}, {"type", ctx.connected ? "standard" : "platform"}};
  } else if (is(0, "terminal") && is(1, "locations")) {
    if (n == 2 && m == "POST") return h.create_location();
    if (n == 2 && m == "GET") {
      auto items = newest_first(locations, ctx.account);
      return list_page(ctx, items, [&](const Location& l) { return render(l); });
    }
    if (n == 3 && m == "GET") {
      auto it = locations.find(seg[2]);
      if (it == locations.end() || it->second.account != ctx.account) {
        return missing("terminal.location", seg[2]);
      }
      return render(it->second);
    }
  } else if (is(0, "terminal") && is(1, "readers")) {
    if (n == 2 && m == "POST") return h.create_reader();
    if (n == 2 && m == "GET") {
      auto items = newest_first(readers, ctx.account);
      if (const std::string* loc = ctx.params.get("location")) {
        std::erase_if(items, [&](const Reader* r) { return r->location != *loc; });
      }
      return list_page(ctx, items, [&](const Reader& r) { return render(r); });
    }
    if (n >= 3) {
      auto r = h.find_reader(seg[2]);
      if (!r) return tl::unexpected(r.error());
      if (n == 3 && m == "GET") return render(**r);
      if (n == 4 && m == "POST") {
        if (seg[3] == "process_payment_intent") return h.process_payment_intent(**r);
        if (seg[3] == "set_reader_display") return h.set_reader_display(**r);
        if (seg[3] == "refund_payment") return h.refund_payment(**r);
        if (seg[3] == "cancel_action") return h.cancel_action(**r);
      }
    }
  } else if (is(0, "test_helpers") && is(1, "terminal") && is(2, "readers") && n == 5 &&
             seg[4] == "present_payment_method" && m == "POST") {
    if (ctx.livemode) return invalid("Test helpers are only available in test mode.");
    auto r = h.find_reader(seg[3]);
    if (!r) return tl::unexpected(r.error());
    return h.present_payment_method(**r);
  }
  ApiError e;
  e.status = 404;
  e.message = "Unrecognized request URL (" + m + ": " + ctx.path + ").";
  return tl::unexpected(e);
}

}  // namespace till::stripesim
