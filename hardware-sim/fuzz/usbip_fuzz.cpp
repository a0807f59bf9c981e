// libFuzzer target for the USB/IP decoders (hardware-sim/include/till/hwsim/usbip.hpp). Built with
// clang++ -fsanitize=fuzzer by hardware-sim/CMakeLists.txt when clang++ is available; run by CTest
// for a fixed number of iterations (tests/hardware-sim/CMakeLists.txt).
//
// Properties checked on every input, besides "no crash, no sanitizer report":
//  1. decode_request and decode_reply either fail (DataLoss, with a "usbip: " message), ask for
//     more bytes, or yield a PDU that re-encodes to exactly the bytes it consumed (canonical:
//     nothing is silently normalised or dropped).
//  2. Decoding a stream PDU by PDU consumes every byte or stops at an error/need-more, and a
//     PDU never claims more bytes than it was given.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "till/hwsim/usbip.hpp"

namespace u = till::hwsim::usbip;

namespace {

// RET_SUBMIT data depends on the submit's direction: derive it from the seqnum so both shapes
// (and the "never submitted" error) are reachable.
std::optional<u::Direction> direction_of(std::uint32_t seqnum) {
  if (seqnum % 7 == 6) return std::nullopt;
  return seqnum % 2 ? u::Direction::In : u::Direction::Out;
}

template <class Decode>
void walk(std::span<const std::uint8_t> in, Decode decode) {
  std::size_t pos = 0;
  for (int n = 0; pos < in.size() && n < 64; ++n) {
    const auto rest = in.subspan(pos);
    auto r = decode(rest);
    if (!r) {
      if (r.error().kind != till::ErrorKind::DataLoss || r.error().message.rfind("usbip: ", 0) != 0) std::abort();
      return;
    }
    if (!r->has_value()) return;
    const auto& d = **r;
    if (d.size == 0 || d.size > rest.size()) std::abort();
    auto again = u::encode(d.pdu);
    if (!again) std::abort();
    if (*again != std::vector<std::uint8_t>(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(d.size)))
      std::abort();
    pos += d.size;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  walk(in, [](std::span<const std::uint8_t> b) { return u::decode_request(b); });
  walk(in, [](std::span<const std::uint8_t> b) { return u::decode_reply(b, direction_of); });
  return 0;
}
