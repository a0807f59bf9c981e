#pragma once
// Internal: what every repository shares. The one SQLite connection with its clock and data
// key, the write discipline (one BEGIN IMMEDIATE transaction per Store-level write, or the
// caller's transaction inside WriteTx), sealing of secrets and two query helpers. Never included
// by a public header.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sqlite_db.hpp"
#include "writer_lock.hpp"
#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/store/store.hpp"

namespace till::store::detail {

inline constexpr std::string_view kNoKeyMessage =
    "offline payment tokens are encrypted at rest and no data key is configured "
    "(set TILL_DATA_KEY to 64 hex characters, or TILL_DATA_KEY_FILE to a 0600 key file)";

inline Error data_loss(std::string message) { return Error{ErrorKind::DataLoss, std::move(message), std::nullopt}; }

// Concatenates SQL fragments (column lists are shared constants).
std::string sql(std::string_view a, std::string_view b, std::string_view c = {});

struct Connection {
  std::string path;
  const Clock* clock = nullptr;
  OpenOptions options;
  WriterLock lock;  // Writer only; declared before db, so released after the database is closed
  Db db;
  int version = 0;
  bool in_write = false;  // inside Store::write() (or a Store-level repository write)

  Timestamp now() const { return clock->now(); }
  bool read_only() const { return options.mode == OpenMode::ReadOnly; }

  // Runs `fn` as one write. `joined` (a WriteTx's repository): inside the caller's transaction;
  // otherwise in a BEGIN IMMEDIATE transaction of its own, committed when fn returned ok.
  // Exceptions become Internal and roll back.
  Status write(bool joined, const std::function<Status()>& fn);

  template <class T, class F>
  Result<T> write_value(bool joined, F&& f) {
    std::optional<T> value;
    auto s = write(joined, [&]() -> Status {
      auto r = f();
      if (!r) return fail(r.error());
      value = std::move(*r);
      return ok();
    });
    if (!s) return fail(s.error());
    return std::move(*value);
  }

  // ---- sealing (AES-256-GCM with the data key; plain TEXT without one) -----------------------

  struct Sealed {
    bool sealed = false;
    std::string plain;
    Blob blob;
  };
  Result<Sealed> seal(const std::string& value, const std::string& aad) const;
  static void bind_sealed(Stmt& st, const Sealed& s);
  // A TEXT column as it is, a BLOB column opened with the key (FailedPrecondition without one).
  Result<std::string> unseal(const Stmt& st, int col, const std::string& aad, std::string_view what) const;

  // ---- queries -------------------------------------------------------------------------------

  // Runs `q` with `args` and maps every row with `map`.
  template <class T, class Map, class... A>
  Result<std::vector<T>> query(std::string_view q, std::string_view what, Map&& map, const A&... args) {
    auto st = db.prepare(q);
    if (!st) return fail(st.error());
    st->bind_all(args...);
    std::vector<T> out;
    for (;;) {
      auto row = st->step(what);
      if (!row) return fail(row.error());
      if (!*row) break;
      auto v = map(*st);
      if (!v) return fail(v.error());
      out.push_back(std::move(*v));
    }
    return out;
  }

  template <class... A>
  Status run(std::string_view q, std::string_view what, const A&... args) {
    auto st = db.prepare(q);
    if (!st) return fail(st.error());
    st->bind_all(args...);
    return st->run(what);
  }
};

}  // namespace till::store::detail
