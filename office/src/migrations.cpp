#include "till/office/migrations.hpp"

#include <map>

#include "till/base/log.hpp"
#include "till/office/crypto.hpp"

namespace till::office {

namespace {

constexpr std::string_view kCreateTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version     integer PRIMARY KEY,
  name        text NOT NULL,
  sql_sha256  text NOT NULL,
  applied_at  timestamptz NOT NULL
))sql";

// version -> sql_sha256 of what the database says it has applied.
Result<std::map<int, std::string>> applied_versions(pg::Transaction& tx) {
  auto rows = tx.exec("SELECT version, sql_sha256 FROM schema_migrations ORDER BY version");
  if (!rows) return fail(rows.error());
  std::map<int, std::string> out;
  for (int i = 0; i < rows->size(); ++i) out[static_cast<int>((*rows)[i].i64(0))] = (*rows)[i].text(1);
  return out;
}

// Why this database cannot be served by this binary, if it cannot.
Status compare(const std::map<int, std::string>& applied, std::span<const Migration> migrations) {
  std::map<int, const Migration*> known;
  for (const auto& m : migrations) known[m.version] = &m;
  for (const auto& [version, hash] : applied) {
    auto it = known.find(version);
    if (it == known.end()) {
      return fail(ErrorKind::FailedPrecondition,
                  "the database has schema version " + std::to_string(version) +
                      ", newer than this till-office knows; run a newer till-office");
    }
    if (sha256_hex(it->second->sql) != hash) {
      return fail(ErrorKind::FailedPrecondition, "schema migration " + std::to_string(version) +
                                                     " in the database differs from this till-office's; "
                                                     "the database was migrated by another build");
    }
  }
  return ok();
}

}  // namespace

Result<MigrationReport> migrate(pg::Connection& conn, const Clock& clock, std::span<const Migration> migrations) {
  // A transaction-scoped advisory lock: released by COMMIT or ROLLBACK, and by the server if
  // this process dies, so a crashed migrator never leaves the lock held.
  auto report = pg::with_transaction(conn, pg::Isolation::ReadCommitted, [&](pg::Transaction& tx) -> Result<MigrationReport> {
    if (auto r = tx.exec("SELECT pg_advisory_xact_lock($1::bigint)", {kMigrationLockKey}); !r) return fail(r.error());
    // Quietly: IF NOT EXISTS would otherwise send a NOTICE on every start.
    if (auto r = tx.exec("SET LOCAL client_min_messages = warning"); !r) return fail(r.error());
    if (auto r = tx.exec(kCreateTable); !r) return fail(r.error());
    auto applied = applied_versions(tx);
    if (!applied) return fail(applied.error());
    if (auto st = compare(*applied, migrations); !st) return fail(st.error());
    MigrationReport out;
    out.from_version = applied->empty() ? 0 : applied->rbegin()->first;
    out.to_version = out.from_version;
    for (const auto& m : migrations) {
      if (applied->count(m.version)) continue;
      if (m.version < out.to_version) {
        return fail(ErrorKind::FailedPrecondition, "schema migration " + std::to_string(m.version) +
                                                       " is older than the database's version and was never applied");
      }
      if (auto st = tx.connection().exec_script(m.sql); !st) {
        return fail(st.error().kind, "schema migration " + std::to_string(m.version) + " (" + std::string(m.name) +
                                         ") failed: " + st.error().message);
      }
      auto rec = tx.exec("INSERT INTO schema_migrations (version, name, sql_sha256, applied_at) VALUES ($1, $2, $3, $4)",
                         {m.version, m.name, sha256_hex(m.sql), pg::Param::time(clock.now())});
      if (!rec) return fail(rec.error());
      out.applied.push_back(m.version);
      out.to_version = m.version;
    }
    return out;
  });
  if (report && !report->applied.empty()) {
    log::info("office.migrated", {{"from", report->from_version}, {"to", report->to_version}});
  }
  return report;
}

Result<int> schema_version(pg::Connection& conn) {
  auto exists = conn.exec("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists) return fail(exists.error());
  if (!(*exists)[0].boolean(0)) return 0;
  auto rows = conn.exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!rows) return fail(rows.error());
  return static_cast<int>((*rows)[0].i64(0));
}

Status check_schema(pg::Connection& conn, std::span<const Migration> migrations) {
  auto version = schema_version(conn);
  if (!version) return fail(version.error());
  const int newest = migrations.empty() ? 0 : migrations.back().version;
  if (*version < newest) {
    return fail(ErrorKind::FailedPrecondition, "the database is at schema version " + std::to_string(*version) +
                                                   ", this till-office needs " + std::to_string(newest) +
                                                   ": run `till-office migrate`");
  }
  auto tx = pg::Transaction::begin(conn, pg::Isolation::RepeatableRead);
  if (!tx) return fail(tx.error());
  auto applied = applied_versions(*tx);
  if (!applied) return fail(applied.error());
  return compare(*applied, migrations);
}

}  // namespace till::office
