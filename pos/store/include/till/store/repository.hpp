#pragma once
// What every repository of the store is: a small view of the Store's one SQLite connection for
// one table family (sales, attempts, outbox, journal, email receipts, reports).
//
// A repository comes from the Store or from a WriteTx and is cheap to copy:
//   - store.sales().persist(sale)          the write is its own BEGIN IMMEDIATE transaction;
//   - store.write([&](WriteTx& tx) {       every write joins the caller's transaction, which
//       tx.attempts().update(...);         commits when the callback returns ok and COMMIT
//       return tx.outbox().enqueue(op); }) succeeds, and rolls back otherwise.
// A Store repository's write called inside write() is FailedPrecondition (use the WriteTx you were
// given); a WriteTx repository used after its transaction ended is FailedPrecondition too. Reads
// work on both and, inside a write, see the transaction's own changes.
//
// Threading: like the Store, the thread that owns it. A repository must not outlive its Store.

namespace till::store {

namespace detail {
struct Connection;   // internal: pos/store/src/connection.hpp
struct StoreAccess;  // internal: pos/store/src/store_access.hpp (identity.cpp)
}

class Repository {
 public:
  Repository(detail::Connection& connection, bool in_transaction) noexcept
      : connection_(&connection), in_transaction_(in_transaction) {}

 protected:
  detail::Connection& c() const noexcept { return *connection_; }
  bool in_transaction() const noexcept { return in_transaction_; }

 private:
  detail::Connection* connection_;
  bool in_transaction_;
};

}  // namespace till::store
