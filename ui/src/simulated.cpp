#include "till/ui/simulated.hpp"

#include <algorithm>
#include <cstdlib>

namespace till::ui {

pos::Catalog demo_catalog() {
  std::vector<pos::TaxClass> taxes{{"standard", "Sales tax 8.875%", 88'750}, {"zero", "No tax", 0}};
  std::vector<pos::Category> categories{{"coffee", "Coffee"}, {"tea", "Tea"}, {"bakery", "Bakery"}, {"retail", "Retail"}};
  std::vector<pos::Product> products{
      {"espresso", "Espresso", "ESP", "0012345000010", 300, "standard", "coffee", false},
      {"latte", "Latte", "LAT", "0012345000027", 450, "standard", "coffee", false},
      {"cappuccino", "Cappuccino", "CAP", "0012345000034", 425, "standard", "coffee", false},
      {"flat-white", "Flat white", "FLW", "0012345000041", 440, "standard", "coffee", false},
      {"mocha", "Mocha", "MOC", "0012345000058", 495, "standard", "coffee", false},
      {"green-tea", "Green tea", "GRT", "0012345000102", 325, "standard", "tea", false},
      {"chai", "Chai latte", "CHA", "0012345000119", 475, "standard", "tea", false},
      {"croissant", "Croissant", "CRO", "0012345000065", 350, "zero", "bakery", false},
      {"muffin", "Blueberry muffin", "MUF", "0012345000072", 395, "zero", "bakery", false},
      {"bagel", "Bagel", "BAG", "0012345000089", 275, "zero", "bakery", false},
      {"beans", "House beans 250g", "BEA", "0012345000096", 1650, "standard", "retail", false},
      {"mug", "Till mug", "MUG", "0012345000126", 1400, "standard", "retail", false},
      {"espresso-machine", "Home espresso machine", "EXM", "0012345000133", 18900, "standard", "retail", false},
  };
  auto catalog = pos::Catalog::create(pos::Currency::of("usd"), std::move(taxes), std::move(categories),
                                      std::move(products));
  if (!catalog) std::abort();  // a literal catalog that does not validate is a bug
  return std::move(*catalog);
}

KioskConfig demo_config() {
  KioskConfig c;
  c.register_id = "reg_demo_1";
  c.account_id = "acct_demo";
  c.catalog = demo_catalog();
  c.merchant = pos::Merchant{"Till Demo Cafe", {"1 Example Street", "Springfield"}, "+1 555 0100"};
  c.manager_pin = "1234";
  c.application_fee_ppm = 10'000;  // 1 %
  c.location_id = "tml_demo";
  c.mode = "SIMULATED reader and Stripe";
  // A placeholder in the shape of a test key, so the settings screen shows how a key is masked.
  // The simulator never uses it.
  c.api_key = Secret("sk_test_" "00000000000000000000demo");
  c.readers = {{"SIM-001", "Simulated reader SIM-001", "online"}};
  return c;
}

SimulatedEffects::SimulatedEffects(std::function<void(pos::Action)> post, const Clock& clock)
    : post_(std::move(post)), clock_(clock) {}

std::string SimulatedEffects::next_id(const char* prefix) {
  return std::string(prefix) + "sim_" + std::to_string(++counter_);
}

void SimulatedEffects::run(std::vector<pos::Effect> effects) {
  std::optional<std::string> saved_sale;
  for (pos::Effect& effect : effects) {
    effects_.push_back(effect);
    std::visit(
        [&](auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, pos::PersistSale>) {
            sales_[e.sale.id] = e.sale;
            saved_sale = e.sale.id;
          } else if constexpr (std::is_same_v<T, pos::UpdateSaleState>) {
            if (auto it = sales_.find(e.sale_id); it != sales_.end()) it->second.state = e.state;
          } else if constexpr (std::is_same_v<T, pos::CreateAttempt> || std::is_same_v<T, pos::UpdateAttempt>) {
            attempts_[e.attempt.id] = e.attempt;
          } else if constexpr (std::is_same_v<T, pos::StartCollect>) {
            collecting_ = e;
            if (reader_) {
              post_(pos::ReaderPrompt{e.attempt_id, pos::ReaderPromptKind::PresentCard,
                                      "Present card: " + pos::Money(e.amount, pos::Currency::of(e.currency)).format()});
            } else {
              post_(pos::CollectFailed{e.attempt_id, "no reader connected"});
              collecting_.reset();
            }
          } else if constexpr (std::is_same_v<T, pos::CancelCollect>) {
            if (collecting_ && collecting_->attempt_id == e.attempt_id) {
              collecting_.reset();
              post_(pos::CollectCanceled{e.attempt_id});
            }
          } else if constexpr (std::is_same_v<T, pos::EnqueueOperation>) {
            enqueue(e.operation);
          } else if constexpr (std::is_same_v<T, pos::ResolveInDoubt>) {
            in_doubt_.push_back(e.attempt_id);
          } else if constexpr (std::is_same_v<T, pos::PrintReceipt>) {
            receipts_.push_back(e.text);
          } else if constexpr (std::is_same_v<T, pos::LoadBackOffice>) {
            post_back_office();
          } else if constexpr (std::is_same_v<T, pos::RequeueOperation>) {
            for (auto& op : operations_) {
              if (op.id == e.operation_id && op.state == pos::OutboxState::Dead) op.state = pos::OutboxState::Pending;
            }
          } else if constexpr (std::is_same_v<T, pos::MarkOperationHandled>) {
            for (auto& op : operations_) {
              if (op.id == e.operation_id) {
                op.state = pos::OutboxState::Done;
                op.last_error = "handled: " + e.note;
              }
            }
          } else if constexpr (std::is_same_v<T, pos::Audit>) {
            audit_.push_back(e);
          } else if constexpr (std::is_same_v<T, pos::OpenCashDrawer>) {
            // A simulated drawer has nothing to open.
          }
        },
        effect);
  }
  if (saved_sale) post_(pos::SaleSaved{*saved_sale});
}

void SimulatedEffects::enqueue(pos::OutboxOperation op) {
  op.id = static_cast<std::int64_t>(operations_.size()) + 1;
  op.state = pos::OutboxState::Pending;
  op.created_at = clock_.now();
  operations_.push_back(std::move(op));
  pos::OutboxOperation& stored = operations_.back();
  const auto attempt = attempts_.find(stored.attempt_id);
  const bool stored_offline = attempt != attempts_.end() && attempt->second.state == pos::AttemptState::StoredOffline;
  if (stored_offline) {
    post_offline_status();
    if (!online_) return;  // forwarded when the connection returns
  }
  if (online_) send(stored);
}

void SimulatedEffects::send(pos::OutboxOperation& op) {
  op.attempts += 1;
  op.first_sent_at = op.first_sent_at.value_or(clock_.now());
  op.last_request_id = next_id("req_");
  if (op.kind == pos::OperationKind::Refund) {
    op.state = pos::OutboxState::Done;
    op.stripe_object_id = next_id("re_");
    const auto pos = op.body.find("amount=");
    if (pos != std::string::npos) refunds_total_ += std::atoll(op.body.c_str() + pos + 7);
    return;
  }
  if (op.kind != pos::OperationKind::CreatePaymentIntent) {
    op.state = pos::OutboxState::Done;
    return;
  }
  auto it = attempts_.find(op.attempt_id);
  const bool forwarded = it != attempts_.end() && it->second.state == pos::AttemptState::StoredOffline;
  const Outcome outcome = forwarded ? Outcome{} : next_outcome_;
  next_outcome_ = Outcome{};  // one scripted answer per payment
  const std::string pi = next_id("pi_");
  switch (outcome.kind) {
    case Outcome::Kind::Approve: {
      op.state = pos::OutboxState::Done;
      op.stripe_object_id = pi;
      pos::CardDetails card;
      card.authorization_code = "SIM" + std::to_string(counter_);
      if (forwarded) {
        it->second.state = pos::AttemptState::Approved;  // the store would record it
        it->second.payment_intent_id = pi;
      }
      post_(pos::PaymentApproved{op.attempt_id, pi, card});
      break;
    }
    case Outcome::Kind::Decline:
      op.state = pos::OutboxState::Done;
      op.stripe_object_id = pi;
      op.last_error = "card_error: " + outcome.decline_code;
      post_(pos::PaymentDeclined{op.attempt_id, outcome.decline_code, "Your card was declined.", pi});
      break;
    case Outcome::Kind::Unknown:
      // The request left; the answer never came. The operation stays in flight with its key.
      op.state = pos::OutboxState::InFlight;
      op.last_error = "timeout: no response from Stripe (simulated)";
      post_(pos::PaymentOutcomeUnknown{op.attempt_id, "no response from Stripe within 30 s (simulated)"});
      break;
  }
}

void SimulatedEffects::connect_reader(bool connected) {
  reader_ = connected;
  post_(pos::ReaderStatusChanged{connected, connected ? "Simulated reader SIM-001" : "", connected ? "firmware 2.1 (simulated)" : ""});
  if (!connected) collecting_.reset();
}

void SimulatedEffects::set_online(bool online) {
  online_ = online;
  post_(pos::ConnectivityChanged{online});
  if (!online) return;
  for (auto& op : operations_) {
    if (op.state == pos::OutboxState::Pending) send(op);
  }
  post_offline_status();
}

Status SimulatedEffects::present_card(const std::string& brand, const std::string& last4, const std::string& read_method) {
  if (!collecting_) return fail(ErrorKind::FailedPrecondition, "the simulated reader is not collecting");
  pos::CardDetails card;
  card.brand = brand;
  card.last4 = last4;
  card.exp_month_year = "12/29";
  card.read_method = read_method;
  card.application_label = brand == "visa" ? "VISA CREDIT" : brand == "mastercard" ? "MASTERCARD" : brand;
  const std::string attempt = collecting_->attempt_id;
  const std::string token = next_id("pm_");
  collecting_.reset();
  post_(pos::ReaderPrompt{attempt, pos::ReaderPromptKind::Processing, "Processing: do not remove card"});
  if (online_) {
    post_(pos::CardCollected{attempt, token, card, false});
  } else {
    post_(pos::PaymentStoredOffline{attempt, token, card, false});
  }
  return ok();
}

Status SimulatedEffects::fail_collect(const std::string& reason) {
  if (!collecting_) return fail(ErrorKind::FailedPrecondition, "the simulated reader is not collecting");
  post_(pos::CollectFailed{collecting_->attempt_id, reason});
  collecting_.reset();
  return ok();
}

void SimulatedEffects::resolve_in_doubt(bool approved, const std::string& decline_code) {
  for (const std::string& attempt : in_doubt_) {
    pos::InDoubtResolved r;
    r.attempt_id = attempt;
    r.approved = approved;
    for (auto& op : operations_) {
      if (op.attempt_id == attempt && op.state == pos::OutboxState::InFlight) {
        op.state = pos::OutboxState::Done;
        r.payment_intent_id = op.stripe_object_id.empty() ? next_id("pi_") : op.stripe_object_id;
        op.stripe_object_id = r.payment_intent_id;
      }
    }
    if (!approved) {
      r.decline_code = decline_code.empty() ? "card_declined" : decline_code;
      r.message = "Your card was declined.";
    }
    post_(r);
  }
  in_doubt_.clear();
}

void SimulatedEffects::seed_dead_operation(const std::string& sale_id, std::int64_t amount, const std::string& error,
                                           const std::string& request_id) {
  pos::OutboxOperation op;
  op.id = static_cast<std::int64_t>(operations_.size()) + 1;
  op.kind = pos::OperationKind::CreatePaymentIntent;
  op.sale_id = sale_id;
  op.attempt_id = next_id("att_");
  op.path = "/v1/payment_intents";
  op.body = "amount=" + std::to_string(amount) + "&currency=usd";
  op.state = pos::OutboxState::Dead;
  op.attempts = 8;
  op.last_error = error;
  op.last_request_id = request_id;
  op.created_at = clock_.now() - std::chrono::hours(3);
  op.updated_at = clock_.now();
  operations_.push_back(std::move(op));
}

void SimulatedEffects::post_offline_status() {
  pos::StoredTotals totals;
  for (const auto& op : operations_) {
    if (op.state != pos::OutboxState::Pending) continue;
    auto it = attempts_.find(op.attempt_id);
    if (it == attempts_.end() || it->second.state != pos::AttemptState::StoredOffline) continue;
    auto& cur = totals.by_currency[it->second.currency];
    cur.count += 1;
    cur.amount += it->second.amount;
    totals.count += 1;
    if (!totals.oldest || it->second.created_at < *totals.oldest) totals.oldest = it->second.created_at;
  }
  post_(pos::OfflineStatusUpdated{totals});
}

void SimulatedEffects::post_back_office() {
  pos::BackOfficeLoaded loaded;
  for (const auto& op : operations_) {
    switch (op.state) {
      case pos::OutboxState::Pending: ++loaded.counts.pending; break;
      case pos::OutboxState::InFlight: ++loaded.counts.in_flight; break;
      case pos::OutboxState::FailedRetryable: ++loaded.counts.failed_retryable; break;
      case pos::OutboxState::Dead: ++loaded.counts.dead; break;
      case pos::OutboxState::Done: ++loaded.counts.done; break;
    }
    if (op.state == pos::OutboxState::Dead) {
      pos::AttentionItem item;
      item.kind = pos::AttentionItem::Kind::Dead;
      item.operation_id = op.id;
      item.sale_id = op.sale_id;
      item.attempt_id = op.attempt_id;
      const auto pos = op.body.find("amount=");
      item.amount = pos == std::string::npos ? 0 : std::atoll(op.body.c_str() + pos + 7);
      item.currency = "usd";
      item.last_error = op.last_error;
      item.last_request_id = op.last_request_id;
      item.since = op.created_at;
      loaded.attention.push_back(std::move(item));
    }
  }
  for (const auto& [id, a] : attempts_) {
    if (a.state == pos::AttemptState::StoredOffline) ++loaded.counts.stored_offline;
    if (a.state != pos::AttemptState::InDoubt) continue;
    ++loaded.counts.in_doubt;
    pos::AttentionItem item;
    item.kind = pos::AttentionItem::Kind::InDoubt;
    item.sale_id = a.sale_id;
    item.attempt_id = a.id;
    item.amount = a.amount;
    item.currency = a.currency;
    item.last_error = a.failure_message;
    item.since = a.updated_at;
    for (const auto& op : operations_) {
      if (op.attempt_id == a.id) {
        item.operation_id = op.id;
        item.last_request_id = op.last_request_id;
      }
    }
    loaded.attention.push_back(std::move(item));
  }
  post_(loaded);
}

DayReport SimulatedEffects::day_report() const {
  DayReport d;
  d.source = "this session (SIMULATED demo, not the store ledger)";
  for (const auto& [id, s] : sales_) {
    if (s.state == pos::SaleState::Paid) {
      ++d.sales_count;
      d.tax_total += s.tax_total;
      d.tips_total += s.tip;
    }
    if (s.state == pos::SaleState::Voided) ++d.voided_count;
  }
  for (const auto& [id, a] : attempts_) {
    const bool money = a.state == pos::AttemptState::Approved || a.state == pos::AttemptState::StoredOffline;
    if (a.tender == pos::TenderKind::Cash && money) d.cash_total += a.amount;
    if (a.tender == pos::TenderKind::Card && money) d.card_total += a.amount;
    if (a.state == pos::AttemptState::StoredOffline) d.offline_total += a.amount;
    if (a.state == pos::AttemptState::Declined) ++d.declined_count;
  }
  d.refunds_total = refunds_total_;
  return d;
}

std::vector<std::string> SimulatedEffects::sync_summary() const {
  std::vector<std::string> out;
  for (const auto& op : operations_) {
    std::string line = std::string(pos::to_string(op.kind)) + " sale=" + op.sale_id + " " +
                       std::string(pos::to_string(op.state));
    if (!op.stripe_object_id.empty()) line += " " + op.stripe_object_id;
    if (!op.last_error.empty()) line += " (" + op.last_error + ")";
    line += " [simulated Stripe]";
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace till::ui
