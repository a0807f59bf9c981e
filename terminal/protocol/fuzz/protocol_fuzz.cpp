// libFuzzer target for the reader protocol decoder. Built with clang++ -fsanitize=fuzzer by
// terminal/protocol/CMakeLists.txt when clang++ is available; run by CTest for a fixed number of
// iterations (tests/terminal/CMakeLists.txt).
//
// Properties checked on every input, besides "no crash, no sanitizer report":
//  1. decode(bytes) either fails with a DecodeError or yields an envelope that re-encodes to
//     exactly the same bytes (the encoding is canonical, so nothing is silently normalised).
//  2. The stream decoder, fed the same bytes in uneven chunks, never buffers more than one
//     maximal frame plus one chunk, and every frame it yields also re-encodes exactly.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "till/terminal/protocol/messages.hpp"

namespace p = till::terminal::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  if (auto e = p::decode(in)) {
    auto again = p::encode(*e);
    if (!again || *again != std::vector<std::uint8_t>(in.begin(), in.end())) std::abort();
  }

  p::MessageDecoder dec;
  std::size_t pos = 0;
  std::size_t chunk = 1;
  while (pos < size) {
    const std::size_t n = std::min(chunk, size - pos);
    dec.feed(in.subspan(pos, n));
    pos += n;
    chunk = chunk * 3 % 61 + 1;
    while (auto r = dec.next()) {
      if (*r) {
        auto again = p::encode(**r);
        if (!again) std::abort();
        auto back = p::decode(*again);
        if (!back || !(*back == **r)) std::abort();
      }
    }
    if (dec.frames().buffered() > p::kMaxFrameSize + 64) std::abort();
  }
  return 0;
}
