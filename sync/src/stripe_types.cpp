#include "till/sync/stripe_types.hpp"

#include <nlohmann/json.hpp>

#include "json_view.hpp"

namespace till::sync {

// Answers are read through json_view (one checking pass, then only the members Till uses are
// decoded) rather than a nlohmann::json tree: on the client's path the tree cost more than the
// rest of the call. nlohmann remains for Event::object_json, which must be re-serialized.
using json = json_view::Object;
using json_view::Value;

namespace {

// Tolerant accessors: a missing field, null, or the wrong JSON type reads as empty.
std::string str(const json& j, const char* key) {
  const auto v = j.find(key);
  if (!v || !v->is_string()) return {};
  return v->string();
}

std::int64_t num(const json& j, const char* key) {
  const auto v = j.find(key);
  if (!v || !v->is_integer()) return 0;
  return v->integer();
}

std::optional<std::int64_t> opt_num(const json& j, const char* key) {
  const auto v = j.find(key);
  if (!v || !v->is_integer()) return std::nullopt;
  return v->integer();
}

bool boolean(const json& j, const char* key) {
  const auto v = j.find(key);
  return v && v->boolean();
}

std::optional<json> obj(const json& j, const char* key) {
  const auto v = j.find(key);
  if (!v || !v->is_object()) return std::nullopt;
  return json(*v);
}

// An expandable field: either "id" or {"id": ...}.
std::string id_of(const json& j, const char* key) {
  const auto v = j.find(key);
  if (!v) return {};
  if (v->is_string()) return v->string();
  if (v->is_object()) return str(json(*v), "id");
  return {};
}

// In key order, as nlohmann::json's std::map gave them.
Metadata metadata_of(const json& j) {
  Metadata out;
  if (const auto m = obj(j, "metadata")) {
    for (auto& [k, v] : m->members()) {
      if (v.is_string()) out.emplace_back(std::move(k), v.string());
    }
  }
  return out;
}

StripeApiError api_error_of(const json& e) {
  StripeApiError out;
  out.type = str(e, "type");
  out.code = str(e, "code");
  out.decline_code = str(e, "decline_code");
  out.message = str(e, "message");
  out.param = str(e, "param");
  out.doc_url = str(e, "doc_url");
  out.request_log_url = str(e, "request_log_url");
  out.payment_intent_id = id_of(e, "payment_intent");
  return out;
}

void merge_card_present(const json& cp, CardPresentDetails& out) {
  auto set = [](std::string& field, std::string value) {
    if (!value.empty()) field = std::move(value);
  };
  set(out.brand, str(cp, "brand"));
  set(out.last4, str(cp, "last4"));
  set(out.read_method, str(cp, "read_method"));
  if (auto m = num(cp, "exp_month")) out.exp_month = m;
  if (auto y = num(cp, "exp_year")) out.exp_year = y;
  if (const auto r = obj(cp, "receipt")) {
    set(out.application_preferred_name, str(*r, "application_preferred_name"));
    set(out.dedicated_file_name, str(*r, "dedicated_file_name"));
    set(out.authorization_code, str(*r, "authorization_code"));
    set(out.authorization_response_code, str(*r, "authorization_response_code"));
    set(out.application_cryptogram, str(*r, "application_cryptogram"));
    set(out.cardholder_verification_method, str(*r, "cardholder_verification_method"));
    set(out.terminal_verification_results, str(*r, "terminal_verification_results"));
    set(out.transaction_status_information, str(*r, "transaction_status_information"));
    set(out.account_type, str(*r, "account_type"));
  }
}

Result<json> parse_json(std::string_view text) {
  if (auto o = json_view::Object::parse(text)) return std::move(*o);
  if (!json_view::parse(text)) return fail(ErrorKind::Internal, "response is not valid JSON");
  return fail(ErrorKind::Internal, "response is not a JSON object");
}

Status expect_object(const json& j, std::string_view object) {
  const auto actual = str(j, "object");
  // Tolerate a missing `object` (older fixtures), but not a different one.
  if (!actual.empty() && actual != object) {
    return fail(ErrorKind::Internal, "expected a " + std::string(object) + " object, got " + actual);
  }
  if (str(j, "id").empty()) return fail(ErrorKind::Internal, std::string(object) + " without an id");
  return ok();
}

PaymentIntent payment_intent_of(const json& j) {
  PaymentIntent pi;
  pi.id = str(j, "id");
  pi.status_text = str(j, "status");
  pi.status = payment_intent_status_from(pi.status_text);
  pi.amount = num(j, "amount");
  pi.amount_capturable = num(j, "amount_capturable");
  pi.amount_received = num(j, "amount_received");
  pi.currency = str(j, "currency");
  pi.capture_method = str(j, "capture_method");
  pi.application_fee_amount = opt_num(j, "application_fee_amount");
  pi.latest_charge = id_of(j, "latest_charge");
  pi.payment_method = id_of(j, "payment_method");
  pi.description = str(j, "description");
  pi.cancellation_reason = str(j, "cancellation_reason");
  pi.created = num(j, "created");
  pi.livemode = boolean(j, "livemode");
  pi.metadata = metadata_of(j);
  if (const auto e = obj(j, "last_payment_error")) pi.last_payment_error = api_error_of(*e);
  CardPresentDetails card;
  bool have_card = false;
  if (const auto pm = obj(j, "payment_method")) {
    if (const auto cp = obj(*pm, "card_present")) {
      merge_card_present(*cp, card);
      have_card = true;
    }
  }
  if (const auto ch = obj(j, "latest_charge")) {
    if (const auto pmd = obj(*ch, "payment_method_details")) {
      if (const auto cp = obj(*pmd, "card_present")) {
        merge_card_present(*cp, card);
        have_card = true;
      }
    }
  }
  if (have_card) pi.card_present = std::move(card);
  return pi;
}

Refund refund_of(const json& j) {
  Refund r;
  r.id = str(j, "id");
  r.status = str(j, "status");
  r.amount = num(j, "amount");
  r.currency = str(j, "currency");
  r.payment_intent = id_of(j, "payment_intent");
  r.charge = id_of(j, "charge");
  r.reason = str(j, "reason");
  r.failure_reason = str(j, "failure_reason");
  r.created = num(j, "created");
  r.metadata = metadata_of(j);
  return r;
}

Reader reader_of(const json& j) {
  Reader r;
  r.id = str(j, "id");
  r.label = str(j, "label");
  r.device_type = str(j, "device_type");
  r.status = str(j, "status");
  r.location = id_of(j, "location");
  r.serial_number = str(j, "serial_number");
  r.device_sw_version = str(j, "device_sw_version");
  r.ip_address = str(j, "ip_address");
  r.livemode = boolean(j, "livemode");
  r.metadata = metadata_of(j);
  if (const auto a = obj(j, "action")) {
    ReaderAction action;
    action.type = str(*a, "type");
    action.status = str(*a, "status");
    action.failure_code = str(*a, "failure_code");
    action.failure_message = str(*a, "failure_message");
    if (!action.type.empty()) {
      if (const auto detail = obj(*a, action.type.c_str())) action.payment_intent = id_of(*detail, "payment_intent");
    }
    r.action = std::move(action);
  }
  return r;
}

Location location_of(const json& j) {
  Location l;
  l.id = str(j, "id");
  l.display_name = str(j, "display_name");
  if (const auto a = obj(j, "address")) {
    l.line1 = str(*a, "line1");
    l.city = str(*a, "city");
    l.state = str(*a, "state");
    l.postal_code = str(*a, "postal_code");
    l.country = str(*a, "country");
  }
  l.metadata = metadata_of(j);
  return l;
}

Event event_of(const json& j) {
  Event e;
  e.id = str(j, "id");
  e.type = str(j, "type");
  e.account = str(j, "account");
  e.api_version = str(j, "api_version");
  e.created = num(j, "created");
  e.livemode = boolean(j, "livemode");
  if (const auto d = obj(j, "data")) {
    if (const auto raw = d->find("object"); raw && raw->is_object()) {
      const json o(*raw);
      e.object_type = str(o, "object");
      e.object_id = str(o, "id");
      // Re-serialized as before (compact, keys in order), for parse_payment_intent() etc.
      const auto tree = nlohmann::json::parse(raw->raw(), nullptr, /*allow_exceptions=*/false);
      if (!tree.is_discarded()) e.object_json = tree.dump();
    }
  }
  return e;
}

Account account_of(const json& j) {
  Account a;
  a.id = str(j, "id");
  a.country = str(j, "country");
  a.default_currency = str(j, "default_currency");
  a.charges_enabled = boolean(j, "charges_enabled");
  a.payouts_enabled = boolean(j, "payouts_enabled");
  a.details_submitted = boolean(j, "details_submitted");
  if (const auto bp = obj(j, "business_profile")) a.business_name = str(*bp, "name");
  return a;
}

template <class T>
struct Traits;
template <>
struct Traits<PaymentIntent> {
  static constexpr const char* kObject = "payment_intent";
  static PaymentIntent of(const json& j) { return payment_intent_of(j); }
};
template <>
struct Traits<Refund> {
  static constexpr const char* kObject = "refund";
  static Refund of(const json& j) { return refund_of(j); }
};
template <>
struct Traits<Reader> {
  static constexpr const char* kObject = "terminal.reader";
  static Reader of(const json& j) { return reader_of(j); }
};
template <>
struct Traits<Location> {
  static constexpr const char* kObject = "terminal.location";
  static Location of(const json& j) { return location_of(j); }
};
template <>
struct Traits<Event> {
  static constexpr const char* kObject = "event";
  static Event of(const json& j) { return event_of(j); }
};
template <>
struct Traits<Account> {
  static constexpr const char* kObject = "account";
  static Account of(const json& j) { return account_of(j); }
};

template <class T>
Result<T> parse_one(std::string_view text) {
  auto j = parse_json(text);
  if (!j) return fail(j.error());
  if (auto st = expect_object(*j, Traits<T>::kObject); !st) return fail(st.error());
  return Traits<T>::of(*j);
}

}  // namespace

std::string_view to_string(PaymentIntentStatus s) noexcept {
  switch (s) {
    case PaymentIntentStatus::RequiresPaymentMethod: return "requires_payment_method";
    case PaymentIntentStatus::RequiresConfirmation: return "requires_confirmation";
    case PaymentIntentStatus::RequiresAction: return "requires_action";
    case PaymentIntentStatus::Processing: return "processing";
    case PaymentIntentStatus::RequiresCapture: return "requires_capture";
    case PaymentIntentStatus::Succeeded: return "succeeded";
    case PaymentIntentStatus::Canceled: return "canceled";
    case PaymentIntentStatus::Unknown: return "unknown";
  }
  return "unknown";
}

PaymentIntentStatus payment_intent_status_from(std::string_view s) noexcept {
  for (auto st : {PaymentIntentStatus::RequiresPaymentMethod, PaymentIntentStatus::RequiresConfirmation,
                  PaymentIntentStatus::RequiresAction, PaymentIntentStatus::Processing,
                  PaymentIntentStatus::RequiresCapture, PaymentIntentStatus::Succeeded,
                  PaymentIntentStatus::Canceled}) {
    if (to_string(st) == s) return st;
  }
  return PaymentIntentStatus::Unknown;
}

const std::string* PaymentIntent::metadata_value(std::string_view key) const {
  for (const auto& [k, v] : metadata) {
    if (k == key) return &v;
  }
  return nullptr;
}

Result<PaymentIntent> parse_payment_intent(std::string_view json) { return parse_one<PaymentIntent>(json); }
Result<Refund> parse_refund(std::string_view json) { return parse_one<Refund>(json); }
Result<Reader> parse_reader(std::string_view json) { return parse_one<Reader>(json); }
Result<Location> parse_location(std::string_view json) { return parse_one<Location>(json); }
Result<Event> parse_event(std::string_view json) { return parse_one<Event>(json); }
Result<Account> parse_account(std::string_view json) { return parse_one<Account>(json); }

template <class T>
Result<ListPage<T>> parse_page(std::string_view text) {
  auto j = parse_json(text);
  if (!j) return fail(j.error());
  const auto object = str(*j, "object");
  if (object != "list" && object != "search_result") {
    return fail(ErrorKind::Internal, "expected a list or search_result, got '" + object + "'");
  }
  const auto data = j->find("data");
  if (!data || !data->is_array()) return fail(ErrorKind::Internal, "list without data");
  ListPage<T> page;
  for (const Value& value : data->items()) {
    if (!value.is_object()) continue;
    const json item(value);
    if (auto st = expect_object(item, Traits<T>::kObject); !st) return fail(st.error());
    page.data.push_back(Traits<T>::of(item));
  }
  page.has_more = boolean(*j, "has_more");
  page.next_page = str(*j, "next_page");
  return page;
}

template Result<ListPage<PaymentIntent>> parse_page<PaymentIntent>(std::string_view);
template Result<ListPage<Refund>> parse_page<Refund>(std::string_view);
template Result<ListPage<Reader>> parse_page<Reader>(std::string_view);
template Result<ListPage<Location>> parse_page<Location>(std::string_view);
template Result<ListPage<Event>> parse_page<Event>(std::string_view);

std::optional<StripeApiError> parse_error_body(std::string_view text) {
  auto j = parse_json(text);
  if (!j) return std::nullopt;
  const auto e = obj(*j, "error");
  if (!e) return std::nullopt;
  return api_error_of(*e);
}

}  // namespace till::sync
