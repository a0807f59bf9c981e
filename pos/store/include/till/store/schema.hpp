#pragma once
// The numbered migrations that build the store's schema. Migration N takes a database at
// version N-1 to version N (PRAGMA user_version) in one transaction and records itself in
// schema_migrations. Never edit a published migration: append a new one.
//
// Exposed so the migration tests can build a database exactly as an older build left it, and
// so tools can print the schema history. Pure data; any thread.

#include <span>
#include <string_view>

namespace till::store {

struct Migration {
  int version;  // 1, 2, ...
  std::string_view description;
  std::string_view sql;  // one or more statements, run inside the migration's transaction
};

std::span<const Migration> migrations();
int current_schema_version();

}  // namespace till::store
