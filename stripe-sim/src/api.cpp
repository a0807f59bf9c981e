// The public Api (api.hpp): each call takes the one mutex and hands over to Api::Impl, whose
// pipeline, endpoints and journal live in the other files of this folder (see state.hpp).

#include "till/stripesim/api.hpp"

#include <algorithm>
#include <cctype>

#include "journal.hpp"
#include "state.hpp"

namespace till::stripesim {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

const std::string* find_header(const std::vector<std::pair<std::string, std::string>>& headers,
                               std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return &v;
  }
  return nullptr;
}

}  // namespace

const std::string* Request::header(std::string_view name) const { return find_header(headers, name); }
const std::string* Response::header(std::string_view name) const { return find_header(headers, name); }

// ---------------------------------------------------------------------------------------------
// Impl: clock, ids

Api::Impl::Impl(SimConfig c) : config(std::move(c)), faults(config.seed ^ 0x9e3779b97f4a7c15ULL) {
  if (config.id_seed) fixed_ids.emplace(*config.id_seed);
  accounts.insert(config.connected_accounts.begin(), config.connected_accounts.end());
  if (!config.state_dir.empty()) open_state();
}

Api::Impl::~Impl() = default;

Timestamp Api::Impl::now() const {
  const Clock& clock = config.clock ? *config.clock : SystemClock::instance();
  return clock.now() + clock_offset;
}

std::int64_t Api::Impl::unix_now() const { return to_unix_ms(now()) / 1000; }

std::string Api::Impl::new_id(std::string_view prefix, std::size_t length) {
  static constexpr std::string_view kChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  Random& source = fixed_ids ? static_cast<Random&>(*fixed_ids) : SystemRandom::instance();
  std::string id(prefix);
  for (std::size_t i = 0; i < length; ++i) id.push_back(kChars[source.uniform(kChars.size())]);
  return id;
}

std::string Api::Impl::new_object_id(std::string_view prefix) {
  // 24 characters of 62 carry ~143 random bits, so a repeat is never expected; the check makes
  // it impossible, also with fixed ids (id_seed) replayed from a journal.
  while (true) {
    std::string id = new_id(prefix);
    if (issued_ids.insert(id).second) return id;
  }
}

std::vector<LedgerEntry> ledger_of(const Api::Impl& s, const std::string& account) {
  std::vector<const PaymentIntent*> pis;
  for (const auto& [id, pi] : s.payment_intents) {
    if (account.empty() || pi.account == account) pis.push_back(&pi);
  }
  std::sort(pis.begin(), pis.end(), [](auto* a, auto* b) { return a->seq < b->seq; });
  std::vector<LedgerEntry> out;
  out.reserve(pis.size());
  for (const PaymentIntent* pi : pis) {
    LedgerEntry e;
    e.account = pi->account;
    e.id = pi->id;
    e.amount = pi->amount;
    e.currency = pi->currency;
    e.application_fee_amount = pi->application_fee_amount;
    e.status = pi->status;
    e.capture_method = pi->capture_method;
    e.amount_capturable = pi->amount_capturable;
    e.amount_received = pi->amount_received;
    if (const Charge* c = s.charges.find(pi->latest_charge)) {
      e.amount_refunded = c->amount_refunded;
      e.application_fee_refunded = c->application_fee_refunded;
    }
    e.metadata = pi->metadata;
    e.created = pi->created;
    out.push_back(std::move(e));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Api

Api::Api(SimConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Api::~Api() = default;

Prepared Api::prepare(const Request& request) {
  std::lock_guard lock(impl_->mutex);
  return impl_->prepare(request);
}

Response Api::execute(std::uint64_t ticket) {
  std::lock_guard lock(impl_->mutex);
  return impl_->execute(ticket);
}

void Api::abandon(std::uint64_t ticket) {
  std::lock_guard lock(impl_->mutex);
  auto node = impl_->tickets.extract(ticket);
  if (!node.empty()) impl_->finish_idempotency(node.mapped(), Response{}, false);
}

Status Api::state_status() const {
  std::lock_guard lock(impl_->mutex);
  if (impl_->broken) return fail(impl_->broken_kind, "till-stripe-sim state: " + *impl_->broken);
  return ok();
}

Response Api::handle(const Request& request) {
  std::lock_guard lock(impl_->mutex);
  Prepared p = impl_->prepare(request);
  if (p.immediate) return std::move(*p.immediate);
  return impl_->execute(p.ticket);
}

bool Api::run_deferred() {
  std::lock_guard lock(impl_->mutex);
  const bool changed = impl_->run_deferred();
  if (changed) impl_->commit();
  return changed;
}

std::vector<Delivery> Api::take_deliveries() {
  std::lock_guard lock(impl_->mutex);
  std::vector<Delivery> out(impl_->outbox.begin(), impl_->outbox.end());
  impl_->outbox.clear();
  return out;
}

void Api::record_delivery(DeliveryRecord record) {
  {
    std::lock_guard lock(impl_->mutex);
    // The first 2xx from an endpoint for an event settles it there (a duplicate delivery's
    // second 2xx does not count twice).
    const bool ok = record.http_status >= 200 && record.http_status < 300;
    const bool first_ok = ok && impl_->settled_deliveries.insert(record.event_id + "\n" + record.url).second;
    if (first_ok) {
      for (auto it = impl_->events.rbegin(); it != impl_->events.rend(); ++it) {
        if (it->id == record.event_id) {
          it->pending_webhooks = std::max(0, it->pending_webhooks - 1);
          break;
        }
      }
    }
    impl_->delivery_log.push_back(std::move(record));
  }
  impl_->in_flight_changed.notify_all();
}

std::vector<DeliveryRecord> Api::wait_for_deliveries(std::size_t count,
                                                     std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  impl_->in_flight_changed.wait_for(lock, timeout, [&] { return impl_->delivery_log.size() >= count; });
  return impl_->delivery_log;
}

std::vector<DeliveryRecord> Api::deliveries() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->delivery_log;
}

std::vector<LedgerEntry> Api::ledger() const { return ledger({}); }

std::vector<LedgerEntry> Api::ledger(std::string_view account) const {
  std::lock_guard lock(impl_->mutex);
  return ledger_of(*impl_, std::string(account));
}

void Api::set_faults(std::vector<FaultSpec> faults) {
  std::lock_guard lock(impl_->mutex);
  impl_->config.faults = std::move(faults);
}

std::vector<FaultSpec> Api::faults() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->config.faults;
}

void Api::set_rate_limits(int live, int test) {
  std::lock_guard lock(impl_->mutex);
  impl_->config.rate_limit_live = live;
  impl_->config.rate_limit_test = test;
}

void Api::add_webhook(WebhookEndpoint endpoint) {
  std::lock_guard lock(impl_->mutex);
  impl_->config.webhooks.push_back(std::move(endpoint));
}

std::size_t Api::in_flight() const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<std::size_t>(std::count_if(impl_->idempotency.begin(), impl_->idempotency.end(),
                                                [](const auto& kv) { return kv.second.in_flight; }));
}

std::size_t Api::wait_in_flight(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  auto counted = [&] {
    return static_cast<std::size_t>(std::count_if(impl_->idempotency.begin(), impl_->idempotency.end(),
                                                  [](const auto& kv) { return kv.second.in_flight; }));
  };
  impl_->in_flight_changed.wait_for(lock, timeout, [&] { return counted() >= count; });
  return counted();
}

void Api::advance_clock(std::chrono::milliseconds by) {
  std::lock_guard lock(impl_->mutex);
  impl_->clock_offset += by;
  impl_->clock_dirty = true;
  impl_->commit();
}

Timestamp Api::now() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->now();
}

const WebhookOptions& Api::webhook_options() const { return impl_->config.webhook_options; }

std::uint64_t Api::requests_seen() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->request_count;
}

}  // namespace till::stripesim
