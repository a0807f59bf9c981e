#pragma once
// The register's SQLite store as the sync engine's Ledger (ledger.hpp): each call is the store
// repository call of the same meaning, and commit() is one Store::write() (BEGIN IMMEDIATE,
// fsynced at COMMIT). Target till_sync_engine (which links till_store); the engine itself is in
// till_sync_engine_core and names no database.
//
// Threading: the Store's thread (the core thread). The store must be the Writer for claims and
// commits; reads work on a read-only Store too.

#include "till/store/store.hpp"
#include "till/sync/ledger.hpp"

namespace till::sync {

class StoreLedger final : public Ledger {
 public:
  explicit StoreLedger(store::Store& store) : store_(store) {}

  Result<std::vector<pos::OutboxOperation>> claim_due(Timestamp now, int limit) override;
  Status release_claimed(const std::vector<std::int64_t>& operation_ids) override;
  Result<pos::Sale> sale(std::string_view sale_id) override;
  Result<pos::PaymentAttempt> attempt(std::string_view attempt_id) override;
  Result<std::optional<pos::PaymentAttempt>> attempt_by_payment_intent(std::string_view pi_id) override;
  Result<std::vector<pos::PaymentAttempt>> attempts_for_sale(std::string_view sale_id) override;
  Result<std::vector<pos::OutboxOperation>> operations_for_sale(std::string_view sale_id) override;
  Result<bool> webhook_seen(std::string_view event_id) override;
  Result<Committed> commit(const LedgerChange& change) override;

 private:
  store::Store& store_;
};

}  // namespace till::sync
