#pragma once
// The read side across table families: what `till-sync status` and the kiosk's banners show,
// and the refund screen's view of a past sale. Reads only; works on a read-only Store.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/pos/records.hpp"
#include "till/pos/states.hpp"
#include "till/store/journal.hpp"
#include "till/store/repository.hpp"

namespace till::store {

struct CurrencyTotal {
  std::string currency;
  std::int64_t count = 0;
  std::int64_t amount = 0;  // minor units
  Timestamp oldest{};
  bool operator==(const CurrencyTotal&) const = default;
};

// What `till-sync status` shows. Lists carry no secrets: attempts without payment_method,
// operations without body.
struct StatusSnapshot {
  std::map<pos::OutboxState, std::int64_t> operations;         // every state, zero included
  std::map<pos::AttemptState, std::int64_t> attempts;          // every state, zero included
  std::optional<Timestamp> oldest_unsent_created_at;           // pending / failed_retryable / in_flight
  std::optional<std::chrono::milliseconds> oldest_unsent_age;  // clock.now() - the above
  // Per currency: payments taken offline that Stripe has not answered yet (stored_offline, or
  // submitting / in_doubt while being forwarded): what counts against the offline risk caps.
  std::vector<CurrencyTotal> offline_stored;
  std::vector<pos::PaymentAttempt> in_doubt;
  std::vector<pos::OutboxOperation> dead;
  std::vector<AttentionItem> attention;  // unresolved only
};

// Refunds of one payment attempt, as far as this register knows (its outbox).
struct PaymentRefunds {
  pos::PaymentAttempt attempt;      // payment_method left out
  std::int64_t captured = 0;        // an approved card attempt's amount; 0 for anything else
  std::int64_t refunded = 0;        // refund operations Stripe confirmed (done)
  std::int64_t refund_pending = 0;  // refund operations not done: pending, in flight, retrying or
                                    // dead (a dead one may have happened: it still counts)
  std::int64_t refundable() const noexcept {
    const std::int64_t left = captured - refunded - refund_pending;
    return left > 0 ? left : 0;
  }
  bool operator==(const PaymentRefunds&) const = default;
};

// A past sale as the refund screen needs it: found by sale id or by the receipt number printed on
// the receipt (the sale id, or its first 8 or more characters).
struct SaleRefunds {
  pos::Sale sale;
  std::vector<PaymentRefunds> payments;       // every attempt, in order (cash and declined capture 0)
  std::vector<pos::OutboxOperation> refunds;  // the sale's refund operations, bodies left out
  std::int64_t captured = 0;                  // sums over `payments`
  std::int64_t refunded = 0;
  std::int64_t refund_pending = 0;
  std::int64_t refundable = 0;
  bool operator==(const SaleRefunds&) const = default;
};

class ReportQueries : public Repository {
 public:
  using Repository::Repository;

  // Counts, offline exposure and the lists that need a person. Never decrypts (needs no key).
  Result<StatusSnapshot> status();

  // The sale a receipt number names: the full sale id, or a unique prefix of at least 8 characters
  // (the first group of the printed id), case and surrounding spaces ignored. NotFound when none
  // matches, FailedPrecondition when the prefix matches several sales (type more of it),
  // InvalidArgument when shorter than 8 characters.
  Result<std::string> sale_id_for_receipt_number(std::string_view receipt_number);
  // The sale with its attempts and what is already refunded, so a refund cannot exceed what was
  // captured. Refund amounts are read from the operations' bodies (decrypted: FailedPrecondition
  // when sealed and no data key is configured); a refund without an amount (a full refund) counts
  // as everything that was left. OutboxRepository::enqueue enforces the same limit.
  Result<SaleRefunds> sale_for_refund(std::string_view sale_id_or_receipt_number);
};

}  // namespace till::store
