#pragma once
// Configuration of till-stripe-sim: keys, connected accounts, webhook endpoints, rate limits,
// idempotency retention and the faults to inject. Plain values; parse_fault() reads the
// command-line / control-endpoint spelling of a fault.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"

namespace till::stripesim {

// The two newest published API versions (shared/design/stripe.md section 1). A request with
// any other Stripe-Version is refused; a request without one gets the newest.
inline constexpr std::string_view kNewestApiVersion = "2026-10-28.endive";
inline constexpr std::string_view kPreviousApiVersion = "2026-09-30.endive";

enum class FaultKind {
  Unavailable,      // 503 api_error before the endpoint runs; nothing applied, key not stored
  ServerError,      // 500 api_error once the endpoint "started": stored under the key and
                    // replayed, as Stripe does; nothing applied
  RateLimit,        // 429 rate_limit; not stored
  LockTimeout,      // 429 lock_timeout (Stripe-Should-Retry: true); not stored
  Latency,          // the request waits `latency` after its idempotency key is reserved
  ResetBeforeRead,  // the connection is reset before the request is processed; nothing applied
  LostAfterCommit,  // the write is applied and stored, then the connection is dropped unanswered
};

std::string_view to_string(FaultKind kind) noexcept;

// When a fault fires: with `probability` per API request (from the seeded generator), or on
// exactly the `nth` API request counted from start (1-based), or both. `post_only` limits it
// to POSTs (writes), which is where the interesting faults are.
struct FaultSpec {
  FaultKind kind = FaultKind::Unavailable;
  double probability = 0.0;
  std::uint64_t nth = 0;
  std::chrono::milliseconds latency{0};
  bool post_only = false;
  bool operator==(const FaultSpec&) const = default;
};

// "kind[:p=0.1][:n=7][:ms=50][:post]" with kind one of unavailable (alias 5xx, 503),
// server_error (500), rate_limit (429), lock_timeout, latency, reset, lost_after_commit (lost).
// A spec with neither p nor n fires on every request (useful for latency).
// Fails with InvalidArgument on anything else.
Result<FaultSpec> parse_fault(std::string_view spec);

struct WebhookEndpoint {
  std::string url;     // http://127.0.0.1:PORT/path (plain HTTP to loopback only)
  std::string secret;  // whsec_...
  // A Connect endpoint receives the events of connected accounts (with "account");
  // a platform endpoint receives the platform's own events.
  bool connect = true;
};

struct WebhookOptions {
  int max_attempts = 8;                            // then the delivery is given up (recorded)
  std::chrono::milliseconds first_retry{100};      // doubles per attempt (real time)
  double duplicate_probability = 0.0;              // deliver an event twice
  std::chrono::milliseconds max_reorder_delay{0};  // random extra delay, reorders deliveries
};

struct SimConfig {
  // Platform keys that authenticate (sk_test_/rk_test_ test mode, sk_live_/rk_live_ live mode).
  std::vector<std::string> api_keys{"sk_test_till_sim_platform_key"};
  std::string platform_account = "acct_1TillPlatform00000";
  std::vector<std::string> connected_accounts{"acct_1TillMerchant00001"};
  std::vector<WebhookEndpoint> webhooks;
  WebhookOptions webhook_options;
  std::vector<FaultSpec> faults;
  // Seeds the fault dice (and the webhook duplication/reorder dice), so a run's faults are
  // reproducible. Object ids never come from it: see id_seed.
  std::uint64_t seed = 1;
  // Object ids (pi_, ch_, re_, evt_, ...) come from the kernel CSPRNG (getrandom) unless a test
  // fixes them here. Fixed ids repeat from run to run; with a state_dir the books still never
  // hand out an id twice (a drawn id already in use is drawn again).
  std::optional<std::uint64_t> id_seed;
  // Empty: the books live in memory and a restart forgets them. Otherwise a folder (created if
  // missing, 0700) holding the journal (journal.jsonl) that is replayed at start, so objects,
  // events and idempotency records survive a restart. One simulator per folder (flock).
  std::string state_dir;
  // Requests per second per (account, mode); 0 = unlimited. Defaults as stripe.md section 3.
  int rate_limit_live = 100;
  int rate_limit_test = 25;
  std::chrono::milliseconds idempotency_retention = std::chrono::hours(24);
  // Not owned; must outlive the simulator. nullptr = SystemClock.
  const Clock* clock = nullptr;
};

}  // namespace till::stripesim
