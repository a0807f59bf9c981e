#pragma once
// Time is injected: production code asks a Clock, tests hand it a FakeClock and never sleep.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace till {

// Wall-clock time at millisecond resolution; what Till stores and shows.
using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

inline std::int64_t to_unix_ms(Timestamp t) noexcept { return t.time_since_epoch().count(); }
inline Timestamp from_unix_ms(std::int64_t ms) noexcept {
  return Timestamp{std::chrono::milliseconds{ms}};
}

class Clock {
 public:
  virtual ~Clock() = default;
  // Thread-safe. Never fails.
  virtual Timestamp now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp now() const override;
  static SystemClock& instance();
};

// A clock that only moves when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Timestamp start = from_unix_ms(1'790'000'000'000)) : ms_(to_unix_ms(start)) {}
  Timestamp now() const override { return from_unix_ms(ms_.load()); }
  void advance(std::chrono::milliseconds d) { ms_ += d.count(); }
  void set(Timestamp t) { ms_ = to_unix_ms(t); }

 private:
  std::atomic<std::int64_t> ms_;
};

}  // namespace till
