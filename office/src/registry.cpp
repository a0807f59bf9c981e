#include "till/office/registry.hpp"

#include <array>
#include <regex>

#include <nlohmann/json.hpp>

#include "till/base/log.hpp"
#include "till/office/crypto.hpp"

namespace till::office {

namespace {

using nlohmann::json;

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::size_t kCodeChars = 16;

bool valid_account(std::string_view a) { return std::regex_match(std::string(a), std::regex("acct_[A-Za-z0-9]+")); }
bool valid_currency(std::string_view c) { return std::regex_match(std::string(c), std::regex("[a-z]{3}")); }

// Integrity errors from PostgreSQL's own checks are the caller's input being wrong.
Error input_error(const Error& e, std::string what) {
  if (e.kind == ErrorKind::InvalidArgument) return Error{ErrorKind::InvalidArgument, std::move(what), std::nullopt};
  return e;
}

Status insert_audit(pg::Transaction& tx, Timestamp at, std::string_view actor, std::string_view action,
                    std::string_view subject, std::string_view detail) {
  auto r = tx.exec("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5::jsonb)",
                   {pg::Param::time(at), actor, action, subject, detail.empty() ? std::string_view("{}") : detail});
  if (!r) return fail(r.error());
  return ok();
}

Store store_from(const pg::Row& row) {
  Store s;
  s.id = row.text(0);
  s.merchant_id = row.text(1);
  s.name = row.text(2);
  s.currency = row.text(3);
  s.locale = row.text(4);
  s.caps.max_per_payment = row.optional_i64(5);
  s.caps.max_total = row.optional_i64(6);
  s.caps.max_count = row.optional_i64(7);
  s.caps.max_age_seconds = row.optional_i64(8);
  return s;
}
constexpr const char* kStoreColumns =
    "s.id, s.merchant_id, s.name, s.currency, s.locale, s.offline_max_per_payment, s.offline_max_total, "
    "s.offline_max_count, s.offline_max_age_seconds";

Merchant merchant_from(const pg::Row& row) {
  return Merchant{row.text(0), row.text(1), row.text(2), row.i64(3), static_cast<int>(row.i64(4)), row.text(5)};
}

std::vector<std::uint8_t> hash_bytes(std::string_view secret) { return to_bytes(sha256(secret)); }

}  // namespace

std::string normalize_enrolment_code(std::string_view typed) {
  std::string out;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == 'O') c = '0';
    if (c == 'I' || c == 'L') c = '1';
    if (kCrockford.find(c) == std::string_view::npos) return {};
    out.push_back(c);
    if (out.size() > kCodeChars) return {};
  }
  return out.size() == kCodeChars ? out : std::string{};
}

std::string secret_tag(std::string_view secret) { return "sha256:" + sha256_hex(secret).substr(0, 8); }

Status Registry::audit(std::string_view actor, std::string_view action, std::string_view subject,
                       std::string_view detail_json) {
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  return pg::with_transaction(**conn, pg::Isolation::ReadCommitted, [&](pg::Transaction& tx) {
    return insert_audit(tx, clock_.now(), actor, action, subject, detail_json);
  });
}

Result<Merchant> Registry::add_merchant(const MerchantSpec& spec, std::string_view actor) {
  if (spec.name.empty()) return fail(ErrorKind::InvalidArgument, "a merchant needs a name");
  if (!valid_account(spec.stripe_account)) {
    return fail(ErrorKind::InvalidArgument, "the connected account must look like acct_...");
  }
  if (spec.fee_fixed < 0 || spec.fee_bps < 0 || spec.fee_bps > 10'000) {
    return fail(ErrorKind::InvalidArgument, "the fee must be >= 0 and at most 10000 basis points");
  }
  if (spec.capture_method != "automatic" && spec.capture_method != "automatic_async" &&
      spec.capture_method != "manual") {
    return fail(ErrorKind::InvalidArgument, "capture method must be automatic, automatic_async or manual");
  }
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  const Merchant m{new_id("mer_", random_), spec.name, spec.stripe_account, spec.fee_fixed, spec.fee_bps,
                   spec.capture_method};
  auto st = pg::with_transaction(**conn, pg::Isolation::ReadCommitted, [&](pg::Transaction& tx) -> Status {
    auto r = tx.exec(
        "INSERT INTO merchants (id, name, stripe_account, fee_fixed, fee_bps, capture_method, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        {m.id, m.name, m.stripe_account, m.fee_fixed, m.fee_bps, m.capture_method, pg::Param::time(clock_.now())});
    if (!r) {
      if (r.error().kind == ErrorKind::FailedPrecondition) {
        return fail(ErrorKind::FailedPrecondition, "connected account " + m.stripe_account + " is already a merchant");
      }
      return fail(input_error(r.error(), "the merchant was refused by the database's checks"));
    }
    const json detail = {{"stripe_account", m.stripe_account}, {"fee_fixed", m.fee_fixed}, {"fee_bps", m.fee_bps},
                         {"capture_method", m.capture_method}};
    return insert_audit(tx, clock_.now(), actor, "merchant.add", m.id, detail.dump());
  });
  if (!st) return fail(st.error());
  return m;
}

Result<Merchant> Registry::merchant(std::string_view id) {
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  auto r = (*conn)->exec(
      "SELECT id, name, stripe_account, fee_fixed, fee_bps, capture_method FROM merchants WHERE id = $1", {id});
  if (!r) return fail(r.error());
  if (r->empty()) return fail(ErrorKind::NotFound, "no merchant " + std::string(id));
  return merchant_from((*r)[0]);
}

Result<Store> Registry::add_store(const StoreSpec& spec, std::string_view actor) {
  if (spec.name.empty()) return fail(ErrorKind::InvalidArgument, "a store needs a name");
  if (!valid_currency(spec.currency)) return fail(ErrorKind::InvalidArgument, "currency must be 3 lowercase letters");
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  Store s{new_id("sto_", random_), spec.merchant_id, spec.name, spec.currency, spec.locale, spec.caps};
  auto st = pg::with_transaction(**conn, pg::Isolation::ReadCommitted, [&](pg::Transaction& tx) -> Status {
    auto m = tx.exec("SELECT 1 FROM merchants WHERE id = $1", {spec.merchant_id});
    if (!m) return fail(m.error());
    if (m->empty()) return fail(ErrorKind::NotFound, "no merchant " + spec.merchant_id);
    auto r = tx.exec(
        "INSERT INTO stores (id, merchant_id, name, currency, locale, offline_max_per_payment, offline_max_total, "
        "offline_max_count, offline_max_age_seconds, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        {s.id, s.merchant_id, s.name, s.currency, s.locale, pg::Param::optional(s.caps.max_per_payment),
         pg::Param::optional(s.caps.max_total), pg::Param::optional(s.caps.max_count),
         pg::Param::optional(s.caps.max_age_seconds), pg::Param::time(clock_.now())});
    if (!r) {
      if (r.error().kind == ErrorKind::FailedPrecondition) {
        return fail(ErrorKind::FailedPrecondition, "the merchant already has a store named '" + s.name + "'");
      }
      return fail(input_error(r.error(), "the store was refused by the database's checks"));
    }
    const json detail = {{"merchant_id", s.merchant_id}, {"name", s.name}, {"currency", s.currency}};
    return insert_audit(tx, clock_.now(), actor, "store.add", s.id, detail.dump());
  });
  if (!st) return fail(st.error());
  return s;
}

Result<Store> Registry::store(std::string_view id) {
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  auto r = (*conn)->exec(std::string("SELECT ") + kStoreColumns + " FROM stores s WHERE s.id = $1", {id});
  if (!r) return fail(r.error());
  if (r->empty()) return fail(ErrorKind::NotFound, "no store " + std::string(id));
  return store_from((*r)[0]);
}

Result<NewRegister> Registry::add_register(std::string_view store_id, std::string_view name, std::string_view actor) {
  if (name.empty()) return fail(ErrorKind::InvalidArgument, "a register needs a name");
  std::array<std::uint8_t, kCodeChars> raw{};
  random_.fill(raw);
  std::string code;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    code.push_back(kCrockford[raw[i] % 32]);  // 256 is a multiple of 32: no bias
    if (i % 4 == 3 && i + 1 < raw.size()) code.push_back('-');
  }
  const Timestamp now = clock_.now();
  NewRegister out{new_id("reg_", random_), Secret(code), now + kEnrolmentCodeLifetime};
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  auto st = pg::with_transaction(**conn, pg::Isolation::ReadCommitted, [&](pg::Transaction& tx) -> Status {
    auto s = tx.exec("SELECT 1 FROM stores WHERE id = $1", {store_id});
    if (!s) return fail(s.error());
    if (s->empty()) return fail(ErrorKind::NotFound, "no store " + std::string(store_id));
    auto r = tx.exec(
        "INSERT INTO registers (id, store_id, name, enrol_code_hash, enrol_expires_at, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        {out.register_id, store_id, name, pg::Param::bytes(hash_bytes(normalize_enrolment_code(code))),
         pg::Param::time(out.expires_at), pg::Param::time(now)});
    if (!r) return fail(r.error());
    const json detail = {{"store_id", store_id}, {"name", name}, {"expires_at", pg::format_timestamp(out.expires_at)}};
    return insert_audit(tx, now, actor, "register.add", out.register_id, detail.dump());
  });
  if (!st) return fail(st.error());
  return out;
}

Status Registry::revoke_register(std::string_view register_id, std::string_view actor) {
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  return pg::with_transaction(**conn, pg::Isolation::ReadCommitted, [&](pg::Transaction& tx) -> Status {
    const Timestamp now = clock_.now();
    auto r = tx.exec(
        "WITH old AS (SELECT revoked_at FROM registers WHERE id = $1 FOR UPDATE) "
        "UPDATE registers r SET revoked_at = coalesce(r.revoked_at, $2) FROM old WHERE r.id = $1 "
        "RETURNING old.revoked_at IS NULL",
        {register_id, pg::Param::time(now)});
    if (!r) return fail(r.error());
    if (r->empty()) return fail(ErrorKind::NotFound, "no register " + std::string(register_id));
    if (!(*r)[0].boolean(0)) return ok();  // already revoked
    return insert_audit(tx, now, actor, "register.revoke", register_id, "{}");
  });
}

Result<std::vector<RegisterInfo>> Registry::list_registers(std::string_view store_id) {
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  auto r = (*conn)->exec(
      "SELECT id, store_id, name, device_name, enrol_expires_at, enrol_used_at, revoked_at, last_seen_at, "
      "credential_hash IS NOT NULL FROM registers WHERE $1::text IS NULL OR store_id = $1 ORDER BY store_id, created_at, id",
      {store_id.empty() ? pg::Param() : pg::Param(store_id)});
  if (!r) return fail(r.error());
  const Timestamp now = clock_.now();
  std::vector<RegisterInfo> out;
  for (int i = 0; i < r->size(); ++i) {
    const auto row = (*r)[i];
    RegisterInfo info{row.text(0),          row.text(1),          row.text(2),          row.text(3), "",
                      row.optional_time(4), row.optional_time(5), row.optional_time(6), row.optional_time(7)};
    if (info.revoked_at) {
      info.state = "revoked";
    } else if (row.boolean(8)) {
      info.state = "enrolled";
    } else if (info.enrol_expires_at && *info.enrol_expires_at <= now) {
      info.state = "code_expired";
    } else {
      info.state = "awaiting_enrolment";
    }
    out.push_back(std::move(info));
  }
  return out;
}

// One transaction: the single-use UPDATE ... WHERE enrol_used_at IS NULL ... RETURNING is what
// makes a code usable once even when two registers race with it.
Result<Enrolment> Registry::enrol(std::string_view code, std::string_view device_name) {
  const std::string normal = normalize_enrolment_code(code);
  if (normal.empty()) return fail(ErrorKind::Unauthenticated, "unknown enrolment code");
  const auto code_hash = hash_bytes(normal);
  std::array<std::uint8_t, 32> secret{};
  random_.fill(secret);
  Enrolment out;
  out.credential = Secret(std::string(kCredentialPrefix) + to_hex(secret));
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  const Timestamp now = clock_.now();
  auto st = pg::with_transaction(**conn, pg::Isolation::ReadCommitted, [&](pg::Transaction& tx) -> Status {
    auto r = tx.exec(
        "UPDATE registers SET enrol_used_at = $2, credential_hash = $3, device_name = $4, last_seen_at = $2 "
        "WHERE enrol_code_hash = $1 AND enrol_used_at IS NULL AND enrol_expires_at > $2 AND revoked_at IS NULL "
        "RETURNING id, store_id",
        {pg::Param::bytes(code_hash), pg::Param::time(now), pg::Param::bytes(hash_bytes(out.credential.reveal())),
         device_name});
    if (!r) return fail(r.error());
    if (r->empty()) return fail(ErrorKind::NotFound, "");  // explained below, outside the transaction
    out.register_id = (*r)[0].text(0);
    auto s = tx.exec(std::string("SELECT ") + kStoreColumns + ", m.name FROM stores s JOIN merchants m ON "
                                              "m.id = s.merchant_id WHERE s.id = $1",
                     {(*r)[0].text(1)});
    if (!s || s->empty()) return fail(s ? Error{ErrorKind::Internal, "register without store", {}} : s.error());
    out.store = store_from((*s)[0]);
    out.merchant_name = (*s)[0].text(9);
    const json detail = {{"device_name", device_name}};
    return insert_audit(tx, now, "register:" + out.register_id, "register.enrol", out.register_id, detail.dump());
  });
  if (st) return out;
  if (st.error().kind != ErrorKind::NotFound) return fail(st.error());
  // Why the code did not work: unknown, expired, revoked, or used (a replay: logged, and
  // nothing is written, like every other refused request).
  auto why = (*conn)->exec(
      "SELECT id, enrol_used_at IS NOT NULL, enrol_expires_at <= $2, revoked_at IS NOT NULL FROM registers "
      "WHERE enrol_code_hash = $1",
      {pg::Param::bytes(code_hash), pg::Param::time(now)});
  if (!why) return fail(why.error());
  if (why->empty()) return fail(ErrorKind::Unauthenticated, "unknown enrolment code");
  const auto row = (*why)[0];
  if (row.boolean(3)) return fail(ErrorKind::Unauthenticated, "the register of this enrolment code was revoked");
  if (row.boolean(1)) {
    log::warn("office.enrol_replayed", {{"register_id", row.text(0)}});
    return fail(ErrorKind::FailedPrecondition, "this enrolment code was already used");
  }
  return fail(ErrorKind::Unauthenticated, "this enrolment code expired; run `till-office register add` again");
}

Result<RegisterIdentity> Registry::authenticate(std::string_view credential) {
  const auto hex = credential.substr(std::min(credential.size(), kCredentialPrefix.size()));
  if (!credential.starts_with(kCredentialPrefix) || hex.size() != 64 ||
      hex.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return fail(ErrorKind::Unauthenticated, "malformed register credential");
  }
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  const Timestamp now = clock_.now();
  auto r = (*conn)->exec(
      "SELECT r.id, r.store_id, s.merchant_id, s.currency, r.revoked_at IS NOT NULL, "
      "r.last_seen_at IS NULL OR r.last_seen_at < $2::timestamptz - interval '60 seconds' "
      "FROM registers r JOIN stores s ON s.id = r.store_id WHERE r.credential_hash = $1",
      {pg::Param::bytes(hash_bytes(credential)), pg::Param::time(now)});
  if (!r) return fail(r.error());
  if (r->empty()) return fail(ErrorKind::Unauthenticated, "unknown register credential");
  const auto row = (*r)[0];
  if (row.boolean(4)) return fail(ErrorKind::Unauthenticated, "this register was revoked");
  RegisterIdentity id{row.text(0), row.text(1), row.text(2), row.text(3)};
  if (row.boolean(5)) {
    if (auto u = (*conn)->exec("UPDATE registers SET last_seen_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                               {id.register_id, pg::Param::time(now)});
        !u) {
      return fail(u.error());
    }
  }
  return id;
}

}  // namespace till::office
