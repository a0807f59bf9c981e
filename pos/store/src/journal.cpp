#include "till/store/journal.hpp"

#include "connection.hpp"
#include "rows.hpp"
#include "tables.hpp"
#include "till/base/log.hpp"

namespace till::store {

using detail::Connection;
using detail::sql;
using detail::Stmt;

Status detail::audit(Connection& c, std::string_view actor, std::string_view action, std::string_view subject,
                     std::string_view text) {
  return c.run("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
               "appending to the audit log", c.now(), actor, action, subject, text);
}

Status detail::add_declined_after_forward(Connection& c, std::string_view attempt_id) {
  return c.run(
      "INSERT INTO attention_items (sale_id, attempt_id, reason, customer_contact, amount, currency, "
      "decline_code, created_at) SELECT a.sale_id, a.id, 'declined_after_forward', s.customer_contact, "
      "a.amount, a.currency, a.decline_code, ? FROM payment_attempts a JOIN sales s ON s.id = a.sale_id "
      "WHERE a.id = ? ON CONFLICT (attempt_id, reason) DO NOTHING",
      "adding to the attention list", c.now(), attempt_id);
}

namespace {

Result<WebhookSeen> record_webhook_event(Connection& c, const WebhookEvent& e) {
  if (e.id.empty()) return fail(ErrorKind::InvalidArgument, "a webhook event needs its id");
  auto seen = c.query<std::string>(
      "SELECT payload_sha256 FROM webhook_events WHERE id = ?", "reading a webhook event",
      [](const Stmt& st) -> Result<std::string> { return st.text(0); }, e.id);
  if (!seen) return fail(seen.error());
  if (!seen->empty()) {
    if (seen->front() != e.payload_sha256) {
      log::warn("store.webhook_redelivered_with_other_payload", {{"event_id", e.id}});
    }
    return WebhookSeen::AlreadySeen;
  }
  if (auto r = c.run("INSERT INTO webhook_events (id, type, account, payload_sha256, received_at, processed, result, "
                     "processed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     "recording a webhook event", e.id, e.type, e.account, e.payload_sha256,
                     e.received_at == Timestamp{} ? c.now() : e.received_at, e.processed, e.result,
                     e.processed ? std::optional<Timestamp>(c.now()) : std::nullopt);
      !r) {
    return fail(r.error());
  }
  return WebhookSeen::New;
}

}  // namespace

Result<WebhookSeen> JournalRepository::record_webhook(const WebhookEvent& event) {
  return c().write_value<WebhookSeen>(in_transaction(), [&] { return record_webhook_event(c(), event); });
}

Status JournalRepository::mark_webhook_processed(std::string_view event_id, std::string_view result) {
  return c().write(in_transaction(), [&]() -> Status {
    if (auto r = c().run("UPDATE webhook_events SET processed = 1, result = ?, processed_at = ? WHERE id = ?",
                         "marking a webhook event processed", result, c().now(), event_id);
        !r) {
      return r;
    }
    if (c().db.changes() == 0) return fail(ErrorKind::NotFound, "no webhook event " + std::string(event_id));
    return ok();
  });
}

Result<std::optional<WebhookEvent>> JournalRepository::webhook(std::string_view event_id) {
  auto rows = c().query<WebhookEvent>(
      "SELECT id, type, account, payload_sha256, received_at, processed, result FROM webhook_events WHERE id = ?",
      "reading a webhook event",
      [](const Stmt& st) -> Result<WebhookEvent> {
        return WebhookEvent{st.text(0), st.text(1), st.text(2), st.text(3), st.time(4), st.i64(5) != 0, st.text(6)};
      },
      event_id);
  if (!rows) return fail(rows.error());
  if (rows->empty()) return std::optional<WebhookEvent>();
  return std::optional<WebhookEvent>(std::move(rows->front()));
}

Result<std::int64_t> JournalRepository::append_audit(const AuditEntry& e) {
  return c().write_value<std::int64_t>(in_transaction(), [&]() -> Result<std::int64_t> {
    if (e.action.empty()) return fail(ErrorKind::InvalidArgument, "an audit entry needs an action");
    if (auto r = c().run("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
                         "appending to the audit log", e.at == Timestamp{} ? c().now() : e.at, e.actor, e.action,
                         e.subject, e.detail);
        !r) {
      return fail(r.error());
    }
    return c().db.last_insert_rowid();
  });
}

Result<std::vector<AuditEntry>> JournalRepository::audit(std::int64_t after_id, int limit) {
  return c().query<AuditEntry>(
      "SELECT id, at, actor, action, subject, detail FROM audit_log WHERE id > ? ORDER BY id LIMIT ?",
      "reading the audit log",
      [](const Stmt& st) -> Result<AuditEntry> {
        return AuditEntry{st.i64(0), st.time(1), st.text(2), st.text(3), st.text(4), st.text(5)};
      },
      after_id, static_cast<std::int64_t>(limit));
}

Status JournalRepository::resolve_attention(std::int64_t id, std::string_view actor, std::string_view resolution) {
  return c().write(in_transaction(), [&]() -> Status {
    if (auto r = c().run("UPDATE attention_items SET resolved_at = ?, resolved_by = ?, resolution = ? "
                         "WHERE id = ? AND resolved_at IS NULL",
                         "resolving an attention item", c().now(), actor, resolution, id);
        !r) {
      return r;
    }
    if (c().db.changes() == 0) {
      return fail(ErrorKind::NotFound, "no unresolved attention item " + std::to_string(id));
    }
    return detail::audit(c(), actor, "attention.resolve", std::to_string(id), resolution);
  });
}

Result<std::vector<AttentionItem>> JournalRepository::attention(bool include_resolved) {
  return c().query<AttentionItem>(
      sql("SELECT ", detail::kAttentionColumns, " FROM attention_items WHERE ? OR resolved_at IS NULL ORDER BY id"),
      "reading the attention list", detail::attention_from_row, include_resolved);
}

}  // namespace till::store
