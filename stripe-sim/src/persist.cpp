// The books on disk (journal.hpp): each row as one JSON line `{"k": kind, "v": row}`, written
// when a request changed it and replayed at start (the last line for an id wins). Kinds:
// pi, ch, re, tml, tmr, pm (minted payment methods), evt, idem (completed idempotency records,
// keyed by a scope holding a fingerprint of the API key, never the key), clock (the /_sim/clock
// offset), format (first line).
//
// This is the simulator's own storage form, not the API's rendering: it holds what rendering
// needs (e.g. a charge's released amount) and nothing derived.

#include <algorithm>

#include "journal.hpp"
#include "state.hpp"

namespace till::stripesim {

namespace {

constexpr int kFormat = 1;

Json opt(const std::optional<std::int64_t>& v) { return v ? Json(*v) : Json(nullptr); }
std::optional<std::int64_t> opt_int(const Json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return j.at(key).get<std::int64_t>();
}
template <class T>
void get(const Json& j, const char* key, T& out) {
  if (j.contains(key)) j.at(key).get_to(out);
}

Json card_json(const CardInfo& c) {
  return {{"brand", c.brand}, {"last4", c.last4}, {"code", c.code}, {"decline_code", c.decline_code},
          {"interac", c.interac}};
}
CardInfo card_from(const Json& j) {
  CardInfo c;
  get(j, "brand", c.brand), get(j, "last4", c.last4), get(j, "code", c.code);
  get(j, "decline_code", c.decline_code), get(j, "interac", c.interac);
  return c;
}

Json row(const PaymentIntent& p) {
  return {{"id", p.id}, {"account", p.account}, {"livemode", p.livemode}, {"amount", p.amount},
          {"currency", p.currency}, {"capture_method", p.capture_method}, {"status", p.status},
          {"application_fee_amount", opt(p.application_fee_amount)}, {"metadata", p.metadata},
          {"description", p.description}, {"statement_descriptor_suffix", p.statement_descriptor_suffix},
          {"receipt_email", p.receipt_email}, {"payment_method", p.payment_method},
          {"allowed_types", p.allowed_types}, {"method_options", p.method_options}, {"amount_capturable", p.amount_capturable},
          {"amount_received", p.amount_received}, {"tip", p.tip}, {"latest_charge", p.latest_charge},
          {"last_payment_error", p.last_payment_error}, {"canceled_at", opt(p.canceled_at)},
          {"cancellation_reason", p.cancellation_reason}, {"created", p.created}, {"seq", p.seq},
          {"client_secret", p.client_secret}};
}
void from(const Json& j, PaymentIntent& p) {
  get(j, "id", p.id), get(j, "account", p.account), get(j, "livemode", p.livemode), get(j, "amount", p.amount);
  get(j, "currency", p.currency), get(j, "capture_method", p.capture_method), get(j, "status", p.status);
  p.application_fee_amount = opt_int(j, "application_fee_amount");
  get(j, "metadata", p.metadata), get(j, "description", p.description);
  get(j, "statement_descriptor_suffix", p.statement_descriptor_suffix), get(j, "receipt_email", p.receipt_email);
  get(j, "payment_method", p.payment_method), get(j, "allowed_types", p.allowed_types);
  p.method_options = j.value("method_options", Json::object());
  get(j, "amount_capturable", p.amount_capturable), get(j, "amount_received", p.amount_received);
  get(j, "tip", p.tip), get(j, "latest_charge", p.latest_charge);
  p.last_payment_error = j.value("last_payment_error", Json());
  p.canceled_at = opt_int(j, "canceled_at");
  get(j, "cancellation_reason", p.cancellation_reason), get(j, "created", p.created), get(j, "seq", p.seq);
  get(j, "client_secret", p.client_secret);
}

Json row(const Charge& c) {
  return {{"id", c.id}, {"account", c.account}, {"payment_intent", c.payment_intent}, {"currency", c.currency},
          {"status", c.status}, {"payment_method", c.payment_method}, {"livemode", c.livemode},
          {"amount", c.amount}, {"amount_captured", c.amount_captured}, {"amount_refunded", c.amount_refunded},
          {"amount_released", c.amount_released}, {"captured", c.captured},
          {"application_fee_amount", opt(c.application_fee_amount)},
          {"application_fee_refunded", c.application_fee_refunded}, {"card", card_json(c.card)},
          {"failure_code", c.failure_code}, {"failure_message", c.failure_message}, {"refunds", c.refunds},
          {"created", c.created}, {"seq", c.seq}};
}
void from(const Json& j, Charge& c) {
  get(j, "id", c.id), get(j, "account", c.account), get(j, "payment_intent", c.payment_intent);
  get(j, "currency", c.currency), get(j, "status", c.status), get(j, "payment_method", c.payment_method);
  get(j, "livemode", c.livemode), get(j, "amount", c.amount), get(j, "amount_captured", c.amount_captured);
  get(j, "amount_refunded", c.amount_refunded), get(j, "amount_released", c.amount_released);
  get(j, "captured", c.captured);
  c.application_fee_amount = opt_int(j, "application_fee_amount");
  get(j, "application_fee_refunded", c.application_fee_refunded);
  if (j.contains("card")) c.card = card_from(j.at("card"));
  get(j, "failure_code", c.failure_code), get(j, "failure_message", c.failure_message);
  get(j, "refunds", c.refunds), get(j, "created", c.created), get(j, "seq", c.seq);
}

Json row(const Refund& r) {
  return {{"id", r.id}, {"account", r.account}, {"charge", r.charge}, {"payment_intent", r.payment_intent},
          {"currency", r.currency}, {"reason", r.reason}, {"status", r.status}, {"livemode", r.livemode},
          {"amount", r.amount}, {"application_fee_refunded", r.application_fee_refunded},
          {"metadata", r.metadata}, {"created", r.created}, {"seq", r.seq}};
}
void from(const Json& j, Refund& r) {
  get(j, "id", r.id), get(j, "account", r.account), get(j, "charge", r.charge);
  get(j, "payment_intent", r.payment_intent), get(j, "currency", r.currency), get(j, "reason", r.reason);
  get(j, "status", r.status), get(j, "livemode", r.livemode), get(j, "amount", r.amount);
  get(j, "application_fee_refunded", r.application_fee_refunded), get(j, "metadata", r.metadata);
  get(j, "created", r.created), get(j, "seq", r.seq);
}

Json row(const Location& l) {
  return {{"id", l.id}, {"account", l.account}, {"display_name", l.display_name}, {"livemode", l.livemode},
          {"address", l.address}, {"metadata", l.metadata}, {"seq", l.seq}};
}
void from(const Json& j, Location& l) {
  get(j, "id", l.id), get(j, "account", l.account), get(j, "display_name", l.display_name);
  get(j, "livemode", l.livemode), get(j, "metadata", l.metadata), get(j, "seq", l.seq);
  l.address = j.value("address", Json::object());
}

Json action_json(const ReaderAction& a) {
  return {{"type", a.type}, {"status", a.status}, {"failure_code", a.failure_code},
          {"failure_message", a.failure_message}, {"detail", a.detail}, {"payment_intent", a.payment_intent},
          {"refund_amount", opt(a.refund_amount)}, {"refund_application_fee", a.refund_application_fee},
          {"refund_metadata", a.refund_metadata}, {"complete_soon", a.complete_soon}};
}
ReaderAction action_from(const Json& j) {
  ReaderAction a;
  get(j, "type", a.type), get(j, "status", a.status), get(j, "failure_code", a.failure_code);
  get(j, "failure_message", a.failure_message), get(j, "payment_intent", a.payment_intent);
  a.detail = j.value("detail", Json::object());
  a.refund_amount = opt_int(j, "refund_amount");
  get(j, "refund_application_fee", a.refund_application_fee), get(j, "refund_metadata", a.refund_metadata);
  get(j, "complete_soon", a.complete_soon);
  return a;
}

Json row(const Reader& r) {
  return {{"id", r.id}, {"account", r.account}, {"label", r.label}, {"location", r.location},
          {"serial_number", r.serial_number}, {"livemode", r.livemode}, {"status", r.status},
          {"unreachable", r.unreachable}, {"action", r.action ? action_json(*r.action) : Json(nullptr)},
          {"metadata", r.metadata}, {"seq", r.seq}};
}
void from(const Json& j, Reader& r) {
  get(j, "id", r.id), get(j, "account", r.account), get(j, "label", r.label), get(j, "location", r.location);
  get(j, "serial_number", r.serial_number), get(j, "livemode", r.livemode), get(j, "status", r.status);
  get(j, "unreachable", r.unreachable), get(j, "metadata", r.metadata), get(j, "seq", r.seq);
  if (j.contains("action") && !j.at("action").is_null()) r.action = action_from(j.at("action"));
}

Json row(const Event& e) {
  return {{"id", e.id}, {"account", e.account}, {"type", e.type}, {"request_id", e.request_id},
          {"idempotency_key", e.idempotency_key}, {"livemode", e.livemode}, {"created", e.created},
          {"object", e.object}, {"seq", e.seq}, {"pending_webhooks", e.pending_webhooks}};
}
void from(const Json& j, Event& e) {
  get(j, "id", e.id), get(j, "account", e.account), get(j, "type", e.type), get(j, "request_id", e.request_id);
  get(j, "idempotency_key", e.idempotency_key), get(j, "livemode", e.livemode), get(j, "created", e.created);
  e.object = j.value("object", Json());
  get(j, "seq", e.seq), get(j, "pending_webhooks", e.pending_webhooks);
}

Json idem_json(const std::string& scope, const IdempotencyRecord& r) {
  return {{"scope", scope}, {"method_path", r.method_path}, {"fingerprint", r.fingerprint}, {"status", r.status},
          {"headers", r.headers}, {"body", r.body}, {"request_id", r.request_id},
          {"created_ms", to_unix_ms(r.created)}};
}

std::string line(std::string_view kind, Json value) {
  return Json{{"k", kind}, {"v", std::move(value)}}.dump() + "\n";
}

template <class T>
void take_rows(Table<T>& table, std::string_view kind, std::string& out) {
  for (const std::string& id : table.take_dirty()) {
    if (const T* r = table.find(id)) out += line(kind, row(*r));
  }
}

template <class T>
void load_row(Table<T>& table, const Json& v, std::unordered_set<std::string>& ids, std::uint64_t& seq) {
  T r;
  from(v, r);
  ids.insert(r.id);
  seq = std::max(seq, r.seq);
  const std::string id = r.id;
  table.load(id, std::move(r));
}

}  // namespace

// Replays one journal line into the books. Throws (nlohmann) on a malformed row; the caller
// turns that into DataLoss.
static void replay_line(Api::Impl& s, const Json& j) {
  const std::string kind = j.at("k").get<std::string>();
  const Json& v = j.at("v");
  if (kind == "format") {
    if (v.get<int>() != kFormat) throw std::runtime_error("unknown journal format " + v.dump());
  } else if (kind == "pi") {
    load_row(s.payment_intents, v, s.issued_ids, s.seq);
  } else if (kind == "ch") {
    load_row(s.charges, v, s.issued_ids, s.seq);
  } else if (kind == "re") {
    load_row(s.refunds, v, s.issued_ids, s.seq);
  } else if (kind == "tml") {
    load_row(s.locations, v, s.issued_ids, s.seq);
  } else if (kind == "tmr") {
    load_row(s.readers, v, s.issued_ids, s.seq);
  } else if (kind == "pm") {
    const std::string id = v.at("id").get<std::string>();
    s.issued_ids.insert(id);
    s.minted_methods.load(id, card_from(v.at("card")));
  } else if (kind == "evt") {
    Event e;
    from(v, e);
    s.issued_ids.insert(e.id);
    s.seq = std::max(s.seq, e.seq);
    s.events.push_back(std::move(e));
  } else if (kind == "idem") {
    IdempotencyRecord r;
    r.in_flight = false;
    get(v, "method_path", r.method_path), get(v, "fingerprint", r.fingerprint), get(v, "status", r.status);
    get(v, "headers", r.headers), get(v, "body", r.body), get(v, "request_id", r.request_id);
    r.created = from_unix_ms(v.at("created_ms").get<std::int64_t>());
    s.idempotency.insert_or_assign(v.at("scope").get<std::string>(), std::move(r));
  } else if (kind == "clock") {
    s.clock_offset = std::chrono::milliseconds(v.at("offset_ms").get<std::int64_t>());
  } else {
    throw std::runtime_error("unknown journal record '" + kind + "'");
  }
}

// Everything live, one line per row, in an order that replays to the same books.
static std::vector<std::string> snapshot(const Api::Impl& s) {
  std::vector<std::string> out;
  auto add = [&](std::string_view kind, Json v) {
    std::string l = line(kind, std::move(v));
    l.pop_back();
    out.push_back(std::move(l));
  };
  add("format", kFormat);
  add("clock", Json{{"offset_ms", s.clock_offset.count()}});
  for (const auto& [id, c] : s.minted_methods) add("pm", Json{{"id", id}, {"card", card_json(c)}});
  for (const auto& [id, r] : s.locations) add("tml", row(r));
  for (const auto& [id, r] : s.readers) add("tmr", row(r));
  for (const auto& [id, r] : s.payment_intents) add("pi", row(r));
  for (const auto& [id, r] : s.charges) add("ch", row(r));
  for (const auto& [id, r] : s.refunds) add("re", row(r));
  for (const Event& e : s.events) add("evt", row(e));
  const Timestamp cutoff = s.now() - s.config.idempotency_retention;
  for (const auto& [scope, r] : s.idempotency) {
    if (!r.in_flight && r.created >= cutoff) add("idem", idem_json(scope, r));
  }
  return out;
}

void Api::Impl::open_state() {
  std::vector<std::string> lines;
  auto opened = Journal::open(config.state_dir, lines);
  if (!opened) {
    broken = opened.error().message;
    if (opened.error().kind == ErrorKind::FailedPrecondition) broken_kind = ErrorKind::FailedPrecondition;
    return;
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    try {
      replay_line(*this, Json::parse(lines[i]));
    } catch (const std::exception& e) {
      broken = config.state_dir + "/journal.jsonl line " + std::to_string(i + 1) + " is unreadable (" + e.what() +
               "); refusing to guess";
      return;
    }
  }
  events_committed = events.size();
  if (auto written = (*opened)->rewrite(snapshot(*this)); !written) {
    broken = written.error().message;
    return;
  }
  journal = std::move(*opened);
}

bool Api::Impl::commit() {
  if (broken && journal) return false;
  std::string chunk;
  const bool persist = journal != nullptr;
  for (const std::string& id : minted_methods.take_dirty()) {
    if (const CardInfo* c = minted_methods.find(id); c && persist) {
      chunk += line("pm", Json{{"id", id}, {"card", card_json(*c)}});
    }
  }
  if (!persist) {
    // In memory only: forget what changed, so that the change sets do not grow.
    payment_intents.take_dirty(), charges.take_dirty(), refunds.take_dirty();
    locations.take_dirty(), readers.take_dirty();
    idempotency_dirty.clear();
    events_committed = events.size();
    clock_dirty = false;
    return true;
  }
  take_rows(locations, "tml", chunk);
  take_rows(readers, "tmr", chunk);
  take_rows(payment_intents, "pi", chunk);
  take_rows(charges, "ch", chunk);
  take_rows(refunds, "re", chunk);
  for (; events_committed < events.size(); ++events_committed) chunk += line("evt", row(events[events_committed]));
  for (const std::string& scope : std::exchange(idempotency_dirty, {})) {
    auto it = idempotency.find(scope);
    if (it != idempotency.end() && !it->second.in_flight) chunk += line("idem", idem_json(scope, it->second));
  }
  if (std::exchange(clock_dirty, false)) chunk += line("clock", Json{{"offset_ms", clock_offset.count()}});
  if (chunk.empty()) return true;
  if (auto written = journal->append(chunk); !written) {
    broken = written.error().message;
    return false;
  }
  return true;
}

}  // namespace till::stripesim
