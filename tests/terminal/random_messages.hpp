#pragma once
// Random, valid reader-protocol messages for property tests (deterministic from a seed).

#include <string>

#include "till/base/random.hpp"
#include "till/terminal/protocol/messages.hpp"

namespace till::terminal::testing {

namespace p = till::terminal::protocol;

inline std::string random_text(Random& r, std::size_t max = 40) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123 _-.,/:";
  const std::size_t n = r.uniform(max + 1);
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s.push_back(kChars[r.uniform(sizeof kChars - 1)]);
  return s;
}
inline bool coin(Random& r) { return r.uniform(2) == 1; }
inline std::int64_t amount(Random& r) { return 1 + static_cast<std::int64_t>(r.uniform(99'999'999)); }

inline p::Message random_message(Random& r) {
  switch (r.uniform(12)) {
    case 0: {
      const auto lo = static_cast<std::uint16_t>(1 + r.uniform(5));
      return p::Hello{lo, static_cast<std::uint16_t>(lo + r.uniform(5)), random_text(r)};
    }
    case 1:
      return p::HelloReply{static_cast<std::uint16_t>(1 + r.uniform(9)), random_text(r), random_text(r),
                           random_text(r)};
    case 2: return p::StatusRequest{};
    case 3: {
      p::StatusMessage s;
      s.battery_percent = static_cast<std::uint8_t>(r.uniform(101));
      s.charging = coin(r);
      s.firmware_version = random_text(r);
      s.update_required = coin(r);
      s.online = coin(r);
      s.offline_capable = coin(r);
      s.offline_capacity = static_cast<std::uint16_t>(r.uniform(1000));
      s.offline_stored = static_cast<std::uint16_t>(r.uniform(s.offline_capacity + 1u));
      s.busy = coin(r);
      return s;
    }
    case 4: {
      p::Display d;
      if (coin(r)) {
        d.currency = "eur";
        const auto n = r.uniform(8);
        for (std::uint64_t i = 0; i < n; ++i)
          d.lines.push_back({random_text(r), 1 + static_cast<std::int64_t>(r.uniform(20)), amount(r)});
        d.tax = static_cast<std::int64_t>(r.uniform(1000));
        d.total = amount(r);
      }
      return d;
    }
    case 5: return p::Collect{amount(r), coin(r) ? "usd" : "jpy", coin(r), 1 + static_cast<std::uint32_t>(r.uniform(600'000))};
    case 6: return p::Cancel{};
    case 7: {
      p::CollectResult m;
      m.request_seq = static_cast<std::uint16_t>(r.uniform(65536));
      m.outcome = static_cast<p::Outcome>(1 + r.uniform(4));
      m.card.exp_month = static_cast<std::uint8_t>(1 + r.uniform(12));
      m.card.exp_year = static_cast<std::uint16_t>(2020 + r.uniform(20));
      if (m.outcome == p::Outcome::Approved) {
        m.card.payment_method = "pm_x" + random_text(r, 20);
        m.card.brand = "visa";
        m.card.last4 = std::to_string(1000 + r.uniform(9000));
        m.card.read_method = "contact_emv";
        m.card.application_id = "A0000000031010";
        m.card.application_label = random_text(r, 16);
        m.card.tvr = "0000008000";
        m.card.cvm = "offline_pin";
        m.card.authorization_code = random_text(r, 6);
        m.card.stored_offline = coin(r);
      } else if (m.outcome == p::Outcome::Declined) {
        m.decline_code = "insufficient_funds";
        m.card.last4 = "9995";
      } else if (m.outcome == p::Outcome::Error) {
        m.error = static_cast<p::ErrorCode>(1 + r.uniform(p::kErrorCodeMax));
      }
      m.message = random_text(r);
      return m;
    }
    case 8:
      return p::Event{static_cast<p::EventKind>(1 + r.uniform(p::kEventKindMax)),
                      static_cast<std::uint8_t>(r.uniform(101)), random_text(r)};
    case 9: return p::FirmwareRequest{coin(r) ? p::FirmwareAction::Query : p::FirmwareAction::Install};
    case 10: return p::Firmware{random_text(r), random_text(r), coin(r), coin(r)};
    default:
      return p::Ack{static_cast<std::uint16_t>(r.uniform(65536)),
                    static_cast<p::ErrorCode>(r.uniform(p::kErrorCodeMax + 1u)), random_text(r)};
  }
}

}  // namespace till::terminal::testing
