#pragma once
// What happened and what needs a person: processed webhook events (the dedupe key), the
// append-only audit log (triggers refuse UPDATE and DELETE) and the attention list. See
// repository.hpp for how writes commit.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/store/repository.hpp"

namespace till::store {

// A webhook event as received (after signature verification). The payload itself is not kept;
// its hash is, so a redelivery with a different body is noticed.
struct WebhookEvent {
  std::string id;  // evt_...: the dedupe key
  std::string type;
  std::string account;         // acct_... (Connect)
  std::string payload_sha256;  // hex
  Timestamp received_at{};
  bool processed = false;
  std::string result;  // what handling did ("updated attempt ...", "unknown sale", ...)
  bool operator==(const WebhookEvent&) const = default;
};
enum class WebhookSeen { New, AlreadySeen };

struct AuditEntry {
  std::int64_t id = 0;  // assigned by the store
  Timestamp at{};       // assigned by the store (clock) when left at epoch
  std::string actor;    // "till-sync", "kiosk", a person's name
  std::string action;   // "operation.retry", "attempt.state", ...
  std::string subject;  // the record it is about (id)
  std::string detail;
  bool operator==(const AuditEntry&) const = default;
};

// A payment that needs a person: today, an offline payment declined when forwarded (money lost),
// with the customer contact taken at sale time.
struct AttentionItem {
  std::int64_t id = 0;
  std::string sale_id;
  std::string attempt_id;
  std::string reason;  // "declined_after_forward"
  std::string customer_contact;
  std::int64_t amount = 0;
  std::string currency;
  std::string decline_code;
  Timestamp created_at{};
  std::optional<Timestamp> resolved_at;
  std::string resolution;
  bool operator==(const AttentionItem&) const = default;
};

class JournalRepository : public Repository {
 public:
  using Repository::Repository;

  // AlreadySeen (nothing written) when the id is known; InvalidArgument without an id.
  Result<WebhookSeen> record_webhook(const WebhookEvent& event);
  // NotFound when the event was never recorded.
  Status mark_webhook_processed(std::string_view event_id, std::string_view result);
  Result<std::optional<WebhookEvent>> webhook(std::string_view event_id);

  // Returns the entry's id. InvalidArgument without an action.
  Result<std::int64_t> append_audit(const AuditEntry& entry);
  Result<std::vector<AuditEntry>> audit(std::int64_t after_id = 0, int limit = 1000);

  // NotFound when there is no unresolved item with that id. Audited.
  Status resolve_attention(std::int64_t id, std::string_view actor, std::string_view resolution);
  Result<std::vector<AttentionItem>> attention(bool include_resolved = false);
};

}  // namespace till::store
