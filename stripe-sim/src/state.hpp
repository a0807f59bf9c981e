#pragma once
// Internal: the simulator's books (accounts, PaymentIntents, charges, refunds, Terminal
// objects, events, idempotency records) and the request pipeline's context. Everything here is
// guarded by Api::Impl::mutex.
//
// Every table that is persisted is a Table<T>: reading is const, and the only ways to change a
// row (edit, insert, edit_each) mark it dirty, so the journal (journal.hpp) cannot miss a change
// the compiler would let through.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "till/base/random.hpp"
#include "till/stripesim/api.hpp"
#include "till/stripesim/form.hpp"

namespace till::stripesim {

using Json = nlohmann::json;

class Journal;  // journal.hpp

// A Stripe error answer. `store` is false for errors that Stripe does not keep under an
// idempotency key (parameter validation): the same key may then be retried.
struct ApiError {
  int status = 400;
  std::string type = "invalid_request_error";
  std::string code;
  std::string decline_code;
  std::string message;
  std::string param;
  bool store = false;
  Json extra = Json::object();  // e.g. "payment_intent" on card errors
};

template <class T>
using Out = tl::expected<T, ApiError>;

inline tl::unexpected<ApiError> invalid(std::string message, std::string param = {}, std::string code = {}) {
  ApiError e;
  e.message = std::move(message);
  e.param = std::move(param);
  e.code = std::move(code);
  return tl::unexpected<ApiError>(std::move(e));
}
// An error raised once the endpoint has started (state conflicts): stored under the key.
inline tl::unexpected<ApiError> state_error(std::string message, std::string code, int status = 400) {
  ApiError e;
  e.status = status;
  e.message = std::move(message);
  e.code = std::move(code);
  e.store = true;
  return tl::unexpected<ApiError>(std::move(e));
}
inline tl::unexpected<ApiError> missing(std::string what, std::string id, std::string param = {}) {
  ApiError e;
  e.status = 404;
  e.code = "resource_missing";
  e.message = "No such " + what + ": '" + id + "'";
  e.param = std::move(param);
  e.store = true;
  return tl::unexpected<ApiError>(std::move(e));
}

// A JSON answer with Content-Type and Request-Id (pipeline.cpp).
Response json_response(int status, const Json& body, const std::string& request_id);

// Decoded request params (form.hpp pairs) with the lookups the endpoints need (params.cpp).
class Params {
 public:
  Params() = default;
  explicit Params(form::Pairs pairs) : pairs_(std::move(pairs)) {}
  const form::Pairs& pairs() const { return pairs_; }
  // By the decoded key as sent: "amount", "metadata[sale_id]".
  const std::string* get(std::string_view key) const;
  bool has(std::string_view key) const { return get(key) != nullptr; }
  // Top-level names ("metadata" for "metadata[a]").
  std::set<std::string> top_level() const;
  // Direct children of an object param: "metadata" -> {"sale_id": "s1"}; deeper keys are
  // reported through `nested` so the caller can refuse them.
  std::map<std::string, std::string> children(std::string_view name, bool* nested = nullptr) const;
  // Values of an array param: indexed "expand[0]", "expand[1]" (exactly 0..n-1) or appended
  // "expand[]". Anything else under the name (a gap, a named child, a deeper key) is a 400.
  Out<std::vector<std::string>> array(std::string_view name) const;
  // Sorted canonical form: what idempotency compares.
  std::string fingerprint() const;

 private:
  form::Pairs pairs_;
};

struct CardInfo {
  std::string brand;  // visa, mastercard, amex, discover, interac
  std::string last4;
  std::string code;          // empty = approve; else card_declined, expired_card, ...
  std::string decline_code;  // insufficient_funds, ...
  bool interac = false;
};

struct PaymentIntent {
  std::string id, account;
  bool livemode = false;
  std::int64_t amount = 0;
  std::string currency;
  std::string capture_method = "automatic";
  std::string status = "requires_payment_method";
  std::optional<std::int64_t> application_fee_amount;
  std::map<std::string, std::string> metadata;
  std::string description, statement_descriptor_suffix, receipt_email;
  std::string payment_method;
  std::vector<std::string> allowed_types{"card_present"};
  Json method_options = Json::object();  // payment_method_options as given: {"card_present": {...}}
  std::int64_t amount_capturable = 0, amount_received = 0, tip = 0;
  std::string latest_charge;
  Json last_payment_error;  // null or object
  std::optional<std::int64_t> canceled_at;
  std::string cancellation_reason;
  std::int64_t created = 0;
  std::uint64_t seq = 0;
  std::string client_secret;
};

struct Charge {
  std::string id, account, payment_intent, currency, status, payment_method;
  bool livemode = false;
  std::int64_t amount = 0, amount_captured = 0, amount_refunded = 0;
  // Released, not refunded: the uncaptured rest of a partial capture or a canceled
  // authorization. Stripe shows it inside the charge's amount_refunded; the ledger does not.
  std::int64_t amount_released = 0;
  bool captured = false;
  std::optional<std::int64_t> application_fee_amount;
  std::int64_t application_fee_refunded = 0;
  CardInfo card;
  std::string failure_code, failure_message;
  std::vector<std::string> refunds;
  std::int64_t created = 0;
  std::uint64_t seq = 0;
};

struct Refund {
  std::string id, account, charge, payment_intent, currency, reason, status = "succeeded";
  bool livemode = false;
  std::int64_t amount = 0, application_fee_refunded = 0;
  std::map<std::string, std::string> metadata;
  std::int64_t created = 0;
  std::uint64_t seq = 0;
};

struct Location {
  std::string id, account, display_name;
  bool livemode = false;
  Json address = Json::object();
  std::map<std::string, std::string> metadata;
  std::uint64_t seq = 0;
};

struct ReaderAction {
  std::string type;    // process_payment_intent, set_reader_display, refund_payment
  std::string status;  // in_progress, succeeded, failed
  std::string failure_code, failure_message;
  Json detail = Json::object();  // the type-specific sub-object
  std::string payment_intent;    // process / refund target
  std::optional<std::int64_t> refund_amount;
  bool refund_application_fee = false;
  std::map<std::string, std::string> refund_metadata;
  bool complete_soon = false;  // set_reader_display: finishes on the next deferred run
};

struct Reader {
  std::string id, account, label, location, serial_number;
  bool livemode = false;
  std::string status = "online";
  // Simulated: Stripe cannot reach the reader in time. Actions are still delivered (started) but
  // the POST answers terminal_reader_timeout; cancel_action does not get through.
  bool unreachable = false;
  std::optional<ReaderAction> action;
  std::map<std::string, std::string> metadata;
  std::uint64_t seq = 0;
};

struct Event {
  std::string id, account, type, request_id, idempotency_key;
  bool livemode = false;
  // Endpoints that have not yet acknowledged it (2xx); counted down by record_delivery.
  int pending_webhooks = 0;
  std::int64_t created = 0;
  Json object;
  std::uint64_t seq = 0;
};

struct IdempotencyRecord {
  std::string method_path;
  std::string fingerprint;
  bool in_flight = true;
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string request_id;
  Timestamp created{};
};

// Rows by id with change tracking for the journal. Not thread-safe (the Impl mutex guards it).
template <class T>
class Table {
 public:
  using Rows = std::map<std::string, T>;
  const T* find(const std::string& id) const {
    auto it = rows_.find(id);
    return it == rows_.end() ? nullptr : &it->second;
  }
  bool contains(const std::string& id) const { return rows_.contains(id); }
  // Mutable access marks the row for the journal.
  T* edit(const std::string& id) {
    auto it = rows_.find(id);
    if (it == rows_.end()) return nullptr;
    dirty_.insert(id);
    return &it->second;
  }
  T& insert(const std::string& id, T row) {
    dirty_.insert(id);
    return rows_.insert_or_assign(id, std::move(row)).first->second;
  }
  // A row keyed by its own id (copied before the row is moved).
  T& insert(T row) {
    const std::string id = row.id;
    return insert(id, std::move(row));
  }
  // f(T&) returns true when it changed the row.
  template <class F>
  void edit_each(F&& f) {
    for (auto& [id, row] : rows_) {
      if (f(row)) dirty_.insert(id);
    }
  }
  // Replay from the journal: not dirty.
  void load(const std::string& id, T row) { rows_.insert_or_assign(id, std::move(row)); }
  typename Rows::const_iterator begin() const { return rows_.begin(); }
  typename Rows::const_iterator end() const { return rows_.end(); }
  std::size_t size() const { return rows_.size(); }
  // The ids changed since the last call.
  std::set<std::string> take_dirty() { return std::exchange(dirty_, {}); }

 private:
  Rows rows_;
  std::set<std::string> dirty_;
};

// Everything execute() needs about the request being run.
struct Ctx {
  std::string method, path;
  std::vector<std::string> segments;  // path split on '/', without the leading "v1"
  Params params;
  std::vector<std::string> expand;  // expand[...] of the request
  std::string account;              // the account the request acts for (platform or connected)
  bool connected = false;
  bool livemode = false;
  std::string key_scope;  // a fingerprint of the API key (never the key itself: it is journaled)
  std::string api_version;
  std::string request_id;
  std::string idempotency_key;
  std::string idem_scope;  // map key in Impl::idempotency, empty when the request has none
  Transport transport = Transport::Answer;
  bool server_error = false;  // injected 500 at execution start
};

struct Api::Impl {
  explicit Impl(SimConfig c);
  ~Impl();

  SimConfig config;
  mutable std::mutex mutex;
  mutable std::condition_variable in_flight_changed;
  // Object ids: the kernel CSPRNG unless config.id_seed fixes them (tests). Never the fault
  // seed, so that two runs with the same --seed never hand out the same ids.
  std::optional<SeededRandom> fixed_ids;
  SeededRandom faults;  // fault dice, reproducible from config.seed
  std::unordered_set<std::string> issued_ids;  // every object id ever handed out (incl. replayed)
  std::chrono::milliseconds clock_offset{0};
  Timestamp last_prune{};
  Timestamp last_expiry_sweep{};
  std::uint64_t request_count = 0;
  std::uint64_t seq = 0;
  std::uint64_t next_ticket = 1;
  std::map<std::uint64_t, Ctx> tickets;
  std::map<std::string, IdempotencyRecord> idempotency;              // scope -> record
  std::set<std::string> idempotency_dirty;                           // stored since last commit
  std::map<std::string, std::pair<std::int64_t, int>> rate_windows;  // (acct,mode) -> (second, n)
  std::set<std::string> accounts;                                    // connected accounts

  Table<PaymentIntent> payment_intents;
  Table<Charge> charges;
  Table<Refund> refunds;
  Table<Location> locations;
  Table<Reader> readers;
  Table<CardInfo> minted_methods;  // pm_ ids minted by present_payment_method
  std::vector<Event> events;
  std::size_t events_committed = 0;  // events[0..n) are in the journal
  bool clock_dirty = false;
  std::deque<Delivery> outbox;
  std::vector<DeliveryRecord> delivery_log;
  std::set<std::string> settled_deliveries;  // "event id\nurl" answered 2xx at least once

  // Persistence (persist.cpp). `broken` holds why the books can no longer be trusted to
  // reach disk (the journal failed to open or to write); every API request then gets a 503.
  std::unique_ptr<Journal> journal;
  std::optional<std::string> broken;
  ErrorKind broken_kind = ErrorKind::DataLoss;  // FailedPrecondition: the folder is in use
  void open_state();
  // Writes what changed since the last commit to the journal and makes it durable. Returns
  // false (and sets `broken`) when that failed.
  bool commit();

  Timestamp now() const;
  std::int64_t unix_now() const;
  // Random characters from the id source; request ids, secrets, serial numbers.
  std::string new_id(std::string_view prefix, std::size_t length = 24);
  // An object id never handed out before by this simulator's books (across restarts too).
  std::string new_object_id(std::string_view prefix);

  // Request pipeline (pipeline.cpp).
  Prepared prepare(const Request& request);
  Response execute(std::uint64_t ticket);
  Response error_response(const ApiError& e, const std::string& request_id) const;
  void finish_idempotency(const Ctx& ctx, const Response& response, bool store);
  // Control endpoints (control.cpp).
  Response control(const Request& request);

  // Endpoints (routes.cpp and the files it names). Success is the JSON body with status 200.
  Out<Json> route(Ctx& ctx);
  bool run_deferred();
  // Cancels authorizations left uncaptured for 7 days, as Stripe does (reason "automatic").
  void expire_uncaptured();
  void emit(const Ctx* ctx, const std::string& account, bool livemode, std::string type, Json object);

  // Rendering as the API answers (render.cpp).
  Json render(const PaymentIntent& pi, const std::vector<std::string>& expand = {}) const;
  Json render(const Charge& ch, const std::vector<std::string>& expand = {}) const;
  Json render(const Refund& r) const;
  Json render(const Location& l) const;
  Json render(const Reader& r) const;
  Json render(const Event& e) const;
};

// Every PaymentIntent of `account` (all when empty) in creation order (api.cpp).
std::vector<LedgerEntry> ledger_of(const Api::Impl& s, const std::string& account);

}  // namespace till::stripesim
