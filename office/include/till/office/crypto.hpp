#pragma once
// Hashes and random tokens for the office (OpenSSL stays in crypto.cpp).
// Pure functions or injected randomness; any thread.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "till/base/random.hpp"

namespace till::office {

using Sha256 = std::array<std::uint8_t, 32>;

Sha256 sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
std::vector<std::uint8_t> to_bytes(const Sha256& h);
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

// "<prefix><16 hex>": 64 random bits, the ids of merchants, stores and registers.
std::string new_id(std::string_view prefix, Random& random);

}  // namespace till::office
