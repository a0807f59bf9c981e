#pragma once
// Randomness is injected. SystemRandom reads the kernel CSPRNG (getrandom); SeededRandom is a
// deterministic generator for tests and simulators. Never use SeededRandom for keys or ids that
// leave the machine in production.

#include <cstdint>
#include <span>
#include <string>

namespace till {

class Random {
 public:
  virtual ~Random() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
  std::uint64_t next_u64();
  // Uniform in [0, bound); bound > 0.
  std::uint64_t uniform(std::uint64_t bound);
  // Uniform in [0, 1) with 53 bits; for jitter and fault probabilities, never for money.
  double unit();
};

class SystemRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override;  // aborts if the kernel RNG fails
  static SystemRandom& instance();  // thread-safe
};

// splitmix64: small, fast, reproducible from a seed. Not thread-safe.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed) {}
  void fill(std::span<std::uint8_t> out) override;

 private:
  std::uint64_t state_;
};

// RFC 4122 version-4 UUID, lowercase, 36 chars: 128 random bits minus version/variant.
std::string new_uuid_v4(Random& random);

// Lowercase hex of bytes.
std::string to_hex(std::span<const std::uint8_t> bytes);

}  // namespace till
