#pragma once
// The email receipt queue (table email_receipts): the durable hand-off to a future sender. The
// address and the body are personal data: sealed when a data key is configured, minimised once
// sent, never in the audit log (README: "Email receipts"). See repository.hpp for how writes commit.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/store/repository.hpp"

namespace till::store {

// An email receipt waiting for (or done with) a sender. Sending is not the store's job, and no
// sender exists yet: whatever sends lists `queued` ones and marks each outcome.
enum class EmailReceiptState {
  Queued,  // waiting for the sender (also after a failed attempt that may be retried)
  Sent,    // handed to the mail server; address masked, body erased
  Failed,  // given up (bad address, refused); a person may requeue it
};
std::string_view to_string(EmailReceiptState s) noexcept;

struct EmailReceipt {
  std::int64_t id = 0;
  std::string sale_id;
  std::string address;  // full while queued or failed; "a***@example.com" once sent
  std::string body;     // the rendered receipt text; empty once sent
  EmailReceiptState state = EmailReceiptState::Queued;
  int attempts = 0;     // delivery attempts so far
  std::string last_error;
  Timestamp created_at{};
  Timestamp updated_at{};
  std::optional<Timestamp> sent_at;
  bool operator==(const EmailReceipt&) const = default;
};

class EmailReceiptRepository : public Repository {
 public:
  using Repository::Repository;

  // Queues the rendered receipt for `address` (checked: one '@', a dot in the domain, no spaces or
  // control characters, at most 254 characters; InvalidArgument otherwise). NotFound without the
  // sale. Audited without the address (the audit log is append-only: no personal data in it).
  Result<std::int64_t> enqueue(std::string_view sale_id, std::string_view address, std::string_view body);
  // queued -> sent: attempts + 1, address masked, body erased.
  Status mark_sent(std::int64_t id);
  // A failed delivery attempt: attempts + 1 and the error kept; `permanent` (bad address, refused)
  // -> failed, else it stays queued for the sender to try again.
  Status mark_failed(std::int64_t id, std::string_view error, bool permanent);
  // failed -> queued (a person, audited).
  Status requeue(std::int64_t id, std::string_view actor, std::string_view reason);

  // Oldest first: all, or those in `state`; addresses and bodies decrypted (FailedPrecondition
  // when sealed and no data key is configured).
  Result<std::vector<EmailReceipt>> list(std::optional<EmailReceiptState> state = {}, int limit = 1000);
  Result<std::vector<EmailReceipt>> for_sale(std::string_view sale_id);
};

}  // namespace till::store
