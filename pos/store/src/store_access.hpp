#pragma once
// Internal: how the store's smaller files (identity.cpp) reach the one connection a Store owns,
// without widening Store's public interface. Defined in store.cpp, next to Store::Impl.

#include "sqlite_db.hpp"
#include "till/store/store.hpp"

namespace till::store::detail {

struct StoreAccess {
  static Db& db(Store& store);
  static const Clock& clock(Store& store);
};

}  // namespace till::store::detail
