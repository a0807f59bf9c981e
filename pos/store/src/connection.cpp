#include "connection.hpp"

#include <exception>

namespace till::store::detail {

std::string sql(std::string_view a, std::string_view b, std::string_view c) {
  std::string s(a);
  s += b;
  s += c;
  return s;
}

Status Connection::write(bool joined, const std::function<Status()>& fn) {
  if (read_only()) return fail(ErrorKind::FailedPrecondition, "the store is open read-only");
  if (joined) {
    if (!in_write) {
      return fail(ErrorKind::FailedPrecondition,
                  "a WriteTx repository was used after its transaction ended");
    }
    return fn();  // exceptions reach Store::write, which rolls back
  }
  if (in_write) {
    return fail(ErrorKind::FailedPrecondition,
                "write() called inside write(): use the WriteTx you were given");
  }
  try {
    auto tx = Transaction::begin(db, "starting a write");
    if (!tx) return fail(tx.error());
    in_write = true;
    Status s = fn();
    in_write = false;
    if (!s) return s;  // ~Transaction rolls back
    return tx->commit("committing");
  } catch (const std::exception& e) {
    in_write = false;
    return fail(ErrorKind::Internal, std::string("write failed: ") + e.what());
  }
}

Result<Connection::Sealed> Connection::seal(const std::string& value, const std::string& aad) const {
  Sealed out;
  if (options.data_key && !value.empty()) {
    auto b = options.data_key->seal(value, aad);
    if (!b) return fail(b.error());
    out.sealed = true;
    out.blob = std::move(*b);
  } else {
    out.plain = value;
  }
  return out;
}

void Connection::bind_sealed(Stmt& st, const Sealed& s) {
  if (s.sealed) {
    st.bind(s.blob);
  } else {
    st.bind(s.plain);
  }
}

Result<std::string> Connection::unseal(const Stmt& st, int col, const std::string& aad, std::string_view what) const {
  if (!st.is_blob(col)) return st.text(col);
  if (!options.data_key) {
    return fail(ErrorKind::FailedPrecondition, std::string(what) +
                                                   " is encrypted at rest and no data key is configured "
                                                   "(TILL_DATA_KEY or TILL_DATA_KEY_FILE)");
  }
  return options.data_key->open(st.blob(col), aad);
}

}  // namespace till::store::detail
