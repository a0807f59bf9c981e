#include "till/store/identity.hpp"

#include <algorithm>
#include <array>

#include "store_access.hpp"
#include "till/base/log.hpp"

namespace till::store {

using detail::StoreAccess;

Status validate_register_id(std::string_view id) {
  const bool ok_chars = std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
  if (id.empty() || id.size() > 64 || !ok_chars) {
    return fail(ErrorKind::InvalidArgument,
                "a register id is 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' and '-'");
  }
  return ok();
}

Status validate_register_name(std::string_view name) {
  const bool printable = std::none_of(name.begin(), name.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (name.empty() || name.size() > 64 || !printable) {
    return fail(ErrorKind::InvalidArgument, "a register name is 1 to 64 characters with no control characters");
  }
  return ok();
}

namespace {

Result<std::optional<RegisterIdentity>> stored(detail::Db& db) {
  auto st = db.prepare("SELECT id, name, created_at FROM register_identity WHERE singleton = 1");
  if (!st) return fail(st.error());
  auto row = st->step("reading the register's identity");
  if (!row) return fail(row.error());
  if (!*row) return std::optional<RegisterIdentity>();
  return std::optional<RegisterIdentity>(RegisterIdentity{st->text(0), st->text(1), st->time(2)});
}

std::string generated_id(Random& random) {
  std::array<std::uint8_t, 8> bytes{};
  random.fill(bytes);
  return "reg_" + to_hex(bytes);
}

}  // namespace

Result<RegisterIdentity> read_register_identity(Store& store) {
  auto found = stored(StoreAccess::db(store));
  if (!found) return fail(found.error());
  if (!*found) {
    return fail(ErrorKind::NotFound, "database " + store.path() +
                                         " has no register identity yet (the kiosk claims one when it opens the "
                                         "database)");
  }
  return std::move(**found);
}

Result<RegisterIdentity> claim_register_identity(Store& store, const IdentityRequest& request, Random& random) {
  if (!request.id.empty()) {
    if (auto s = validate_register_id(request.id); !s) return fail(s.error());
  }
  if (!request.name.empty()) {
    if (auto s = validate_register_name(request.name); !s) return fail(s.error());
  }
  if (store.read_only()) return fail(ErrorKind::FailedPrecondition, "the store is open read-only");
  detail::Db& db = StoreAccess::db(store);
  const Timestamp now = StoreAccess::clock(store).now();
  RegisterIdentity identity;
  // One transaction: the row and its audit entry, or neither.
  Status written = store.write([&](WriteTx& tx) -> Status {
    auto found = stored(db);
    if (!found) return fail(found.error());
    if (!*found) {
      identity = {request.id.empty() ? generated_id(random) : request.id,
                  request.name.empty() ? std::string(kDefaultRegisterName) : request.name, now};
      auto st = db.prepare(
          "INSERT INTO register_identity (singleton, id, name, created_at, updated_at) VALUES (1, ?, ?, ?, ?)");
      if (!st) return fail(st.error());
      if (auto r = st->bind_all(identity.id, identity.name, now, now).run("storing the register's identity"); !r) return r;
      auto a = tx.journal().append_audit({0, {}, "till", "register.identity_created", identity.id, identity.name});
      if (!a) return fail(a.error());
      log::info("store.register_identity_created", {{"register", identity.id}, {"name", identity.name}});
      return ok();
    }
    identity = std::move(**found);
    if (!request.id.empty() && request.id != identity.id) {
      return fail(ErrorKind::FailedPrecondition,
                  "this register's database belongs to register " + identity.id + ", and the configuration says " +
                      request.id + ": a register's id never changes once its payments carry it (use a fresh data "
                      "folder for a new register)");
    }
    if (!request.name.empty() && request.name != identity.name) {
      auto st = db.prepare("UPDATE register_identity SET name = ?, updated_at = ? WHERE singleton = 1");
      if (!st) return fail(st.error());
      if (auto r = st->bind_all(request.name, now).run("renaming the register"); !r) return r;
      auto a = tx.journal().append_audit({0, {}, "till", "register.renamed", identity.id, identity.name + " -> " + request.name});
      if (!a) return fail(a.error());
      identity.name = request.name;
    }
    return ok();
  });
  if (!written) return fail(written.error());
  return identity;
}

}  // namespace till::store
