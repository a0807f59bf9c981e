#pragma once
// Versioned schema migrations: the numbered SQL files of office/sql/, embedded in the binary,
// applied in order in ONE transaction under a PostgreSQL advisory lock, so two office
// processes starting together are safe (the second waits, then finds nothing to do). Applied
// versions are recorded in `schema_migrations` with the SHA-256 of their SQL; a database whose
// recorded SQL differs from this binary's, or that is newer than this binary knows, is refused.
//
// Threading: any thread, with a connection of its own.

#include <span>
#include <string_view>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/office/pg.hpp"

namespace till::office {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// The migrations built into this binary, by version (generated from office/sql/*.sql).
std::span<const Migration> embedded_migrations();

// The advisory lock key every office process takes before migrating ("tillmigr").
inline constexpr std::int64_t kMigrationLockKey = 0x74696c6c6d696772;

struct MigrationReport {
  int from_version = 0;
  int to_version = 0;
  std::vector<int> applied;
};

// Applies what is missing. FailedPrecondition when the database is newer than `migrations` or
// an applied version's SQL differs (DataLoss would be wrong: nothing is damaged, the binary is
// the wrong one); otherwise as pg::Connection. On failure nothing is applied.
Result<MigrationReport> migrate(pg::Connection& conn, const Clock& clock,
                                std::span<const Migration> migrations = embedded_migrations());

// The highest applied version (0 for an empty database).
Result<int> schema_version(pg::Connection& conn);

// ok() when the database is exactly at the newest embedded version (serve checks this when it
// was told not to migrate); FailedPrecondition saying what to run otherwise.
Status check_schema(pg::Connection& conn, std::span<const Migration> migrations = embedded_migrations());

}  // namespace till::office
