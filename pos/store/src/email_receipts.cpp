#include "till/store/email_receipts.hpp"

#include "connection.hpp"
#include "tables.hpp"

namespace till::store {

using detail::Connection;
using detail::sql;
using detail::Stmt;

std::string_view to_string(EmailReceiptState s) noexcept {
  switch (s) {
    case EmailReceiptState::Queued: return "queued";
    case EmailReceiptState::Sent: return "sent";
    case EmailReceiptState::Failed: return "failed";
  }
  return "queued";
}

namespace {

// Separate associated data per column: a sealed address moved into the body column (or into
// another row) does not open.
std::string address_aad(std::int64_t id) { return "email-address:" + std::to_string(id); }
std::string body_aad(std::int64_t id) { return "email-body:" + std::to_string(id); }

constexpr std::string_view kEmailColumns =
    "id, sale_id, address, body, state, attempts, last_error, created_at, updated_at, sent_at";

std::optional<EmailReceiptState> parse_state(std::string_view s) {
  if (s == "queued") return EmailReceiptState::Queued;
  if (s == "sent") return EmailReceiptState::Sent;
  if (s == "failed") return EmailReceiptState::Failed;
  return std::nullopt;
}

Result<EmailReceipt> from_row(const Connection& c, const Stmt& st) {
  EmailReceipt e;
  e.id = st.i64(0);
  e.sale_id = st.text(1);
  auto address = c.unseal(st, 2, address_aad(e.id), "the address of email receipt " + std::to_string(e.id));
  if (!address) return fail(address.error());
  e.address = std::move(*address);
  auto body = c.unseal(st, 3, body_aad(e.id), "the body of email receipt " + std::to_string(e.id));
  if (!body) return fail(body.error());
  e.body = std::move(*body);
  auto state = parse_state(st.text(4));
  if (!state) return fail(detail::data_loss("email receipt " + std::to_string(e.id) + " has an unknown state"));
  e.state = *state;
  e.attempts = static_cast<int>(st.i64(5));
  e.last_error = st.text(6);
  e.created_at = st.time(7);
  e.updated_at = st.time(8);
  e.sent_at = st.opt_time(9);
  return e;
}

// A plausible single address: enough to catch a typo at the counter, not RFC 5322.
Status check_address(std::string_view a) {
  const auto bad = [&](std::string_view why) {
    return fail(ErrorKind::InvalidArgument, "not an email address: " + std::string(why));
  };
  if (a.size() < 3 || a.size() > 254) return bad("length");
  const std::size_t at = a.find('@');
  if (at == std::string_view::npos || a.find('@', at + 1) != std::string_view::npos) return bad("needs one '@'");
  const std::string_view local = a.substr(0, at);
  const std::string_view domain = a.substr(at + 1);
  if (local.empty() || local.size() > 64) return bad("nothing before '@'");
  if (domain.size() < 3 || domain.find('.') == std::string_view::npos || domain.front() == '.' ||
      domain.back() == '.') {
    return bad("the domain after '@' needs a dot");
  }
  for (unsigned char ch : a) {
    if (ch <= 0x20 || ch == 0x7F || ch == ',' || ch == ';' || ch == '<' || ch == '>' || ch == '"' || ch == '(' ||
        ch == ')' || ch == '[' || ch == ']' || ch == '\\') {
      return bad("spaces, control characters and , ; < > \" ( ) [ ] \\ are not allowed");
    }
  }
  return ok();
}

// "a***@example.com": enough for a person to recognise it, no longer the address.
std::string masked_address(std::string_view a) {
  const std::size_t at = a.find('@');
  if (at == std::string_view::npos || at == 0) return "***";
  return std::string(a.substr(0, 1)) + "***" + std::string(a.substr(at));
}

Result<std::int64_t> enqueue_receipt(Connection& c, std::string_view sale_id, std::string_view address,
                                     std::string_view body) {
  if (auto r = check_address(address); !r) return fail(r.error());
  auto sale = detail::sale_exists(c, sale_id);
  if (!sale) return fail(sale.error());
  if (!*sale) return fail(ErrorKind::NotFound, "no sale " + std::string(sale_id) + " to email a receipt for");
  const Timestamp t = c.now();
  // The row id is the associated data of the sealed values, so the row comes first.
  if (auto r = c.run("INSERT INTO email_receipts (sale_id, address, body, state, attempts, created_at, updated_at) "
                     "VALUES (?, '', '', 'queued', 0, ?, ?)",
                     "queueing an email receipt", sale_id, t, t);
      !r) {
    return fail(r.error());
  }
  const std::int64_t id = c.db.last_insert_rowid();
  auto sealed_address = c.seal(std::string(address), address_aad(id));
  if (!sealed_address) return fail(sealed_address.error());
  auto sealed_body = c.seal(std::string(body), body_aad(id));
  if (!sealed_body) return fail(sealed_body.error());
  auto st = c.db.prepare("UPDATE email_receipts SET address = ?, body = ? WHERE id = ?");
  if (!st) return fail(st.error());
  Connection::bind_sealed(*st, *sealed_address);
  Connection::bind_sealed(*st, *sealed_body);
  st->bind(id);
  if (auto r = st->run("queueing an email receipt"); !r) return fail(r.error());
  if (auto r = detail::audit(c, "store", "email_receipt.queued", std::to_string(id), "sale " + std::string(sale_id));
      !r) {
    return fail(r.error());
  }
  return id;
}

Status expect_state(Connection& c, std::int64_t id, EmailReceiptState want, std::string_view doing) {
  auto rows = c.query<std::string>(
      "SELECT state FROM email_receipts WHERE id = ?", "reading an email receipt",
      [](const Stmt& st) -> Result<std::string> { return st.text(0); }, id);
  if (!rows) return fail(rows.error());
  if (rows->empty()) return fail(ErrorKind::NotFound, "no email receipt " + std::to_string(id));
  auto s = parse_state(rows->front());
  if (!s) return fail(detail::data_loss("email receipt " + std::to_string(id) + " has an unknown state"));
  if (*s != want) {
    return fail(ErrorKind::FailedPrecondition, "email receipt " + std::to_string(id) + " is " +
                                                   std::string(to_string(*s)) + "; cannot " + std::string(doing));
  }
  return ok();
}

Result<std::vector<EmailReceipt>> select(Connection& c, std::string_view where, std::string_view what,
                                         const auto&... args) {
  return c.query<EmailReceipt>(sql("SELECT ", kEmailColumns, " FROM email_receipts ") + std::string(where), what,
                               [&](const Stmt& st) { return from_row(c, st); }, args...);
}

}  // namespace

Result<std::int64_t> EmailReceiptRepository::enqueue(std::string_view sale_id, std::string_view address,
                                                     std::string_view body) {
  return c().write_value<std::int64_t>(in_transaction(), [&] { return enqueue_receipt(c(), sale_id, address, body); });
}

Status EmailReceiptRepository::mark_sent(std::int64_t id) {
  return c().write(in_transaction(), [&]() -> Status {
    if (auto r = expect_state(c(), id, EmailReceiptState::Queued, "mark it sent"); !r) return r;
    auto rows = select(c(), "WHERE id = ?", "reading an email receipt", id);
    if (!rows) return fail(rows.error());
    // Delivered: the address and the receipt are no longer needed here (data minimisation).
    const Timestamp t = c().now();
    return c().run("UPDATE email_receipts SET state = 'sent', attempts = attempts + 1, last_error = '', "
                   "address = ?, body = '', sent_at = ?, updated_at = ? WHERE id = ?",
                   "marking an email receipt sent", masked_address(rows->front().address), t, t, id);
  });
}

Status EmailReceiptRepository::mark_failed(std::int64_t id, std::string_view error, bool permanent) {
  return c().write(in_transaction(), [&]() -> Status {
    if (auto r = expect_state(c(), id, EmailReceiptState::Queued, "record a delivery attempt"); !r) return r;
    return c().run("UPDATE email_receipts SET state = ?, attempts = attempts + 1, last_error = ?, updated_at = ? "
                   "WHERE id = ?",
                   "recording a failed email receipt", permanent ? "failed" : "queued", error, c().now(), id);
  });
}

Status EmailReceiptRepository::requeue(std::int64_t id, std::string_view actor, std::string_view reason) {
  return c().write(in_transaction(), [&]() -> Status {
    if (auto r = expect_state(c(), id, EmailReceiptState::Failed, "requeue it"); !r) return r;
    if (auto r = c().run("UPDATE email_receipts SET state = 'queued', updated_at = ? WHERE id = ?",
                         "requeueing an email receipt", c().now(), id);
        !r) {
      return r;
    }
    return detail::audit(c(), actor, "email_receipt.requeue", std::to_string(id), reason);
  });
}

Result<std::vector<EmailReceipt>> EmailReceiptRepository::list(std::optional<EmailReceiptState> state, int limit) {
  if (state) {
    return select(c(), "WHERE state = ? ORDER BY id LIMIT ?", "listing email receipts", to_string(*state),
                  static_cast<std::int64_t>(limit));
  }
  return select(c(), "ORDER BY id LIMIT ?", "listing email receipts", static_cast<std::int64_t>(limit));
}

Result<std::vector<EmailReceipt>> EmailReceiptRepository::for_sale(std::string_view sale_id) {
  return select(c(), "WHERE sale_id = ? ORDER BY id", "listing a sale's email receipts", sale_id);
}

}  // namespace till::store
