#include "till/pos/escpos.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <vector>

namespace till::pos {
namespace {

constexpr char kEsc = 0x1B;
constexpr char kGs = 0x1D;
constexpr char kLf = 0x0A;

// Unicode code points of bytes 0x80..0xFF in each code page (0: no character there). Generated
// from the codec tables of Python 3 and checked against glibc's iconv by escpos_test.
constexpr std::array<char32_t, 128> kPc437 = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, 0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE,
    0x00EC, 0x00C4, 0x00C5, 0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9, 0x00FF, 0x00D6,
    0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192, 0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA,
    0x00BA, 0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB, 0x2591, 0x2592, 0x2593, 0x2502,
    0x2524, 0x2561, 0x2562, 0x2556, 0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510, 0x2514,
    0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F, 0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550,
    0x256C, 0x2567, 0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B, 0x256A, 0x2518, 0x250C,
    0x2588, 0x2584, 0x258C, 0x2590, 0x2580, 0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4,
    0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229, 0x2261, 0x00B1, 0x2265, 0x2264, 0x2320,
    0x2321, 0x00F7, 0x2248, 0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
};
constexpr std::array<char32_t, 128> kPc858 = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, 0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE,
    0x00EC, 0x00C4, 0x00C5, 0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9, 0x00FF, 0x00D6,
    0x00DC, 0x00F8, 0x00A3, 0x00D8, 0x00D7, 0x0192, 0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA,
    0x00BA, 0x00BF, 0x00AE, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB, 0x2591, 0x2592, 0x2593, 0x2502,
    0x2524, 0x00C1, 0x00C2, 0x00C0, 0x00A9, 0x2563, 0x2551, 0x2557, 0x255D, 0x00A2, 0x00A5, 0x2510, 0x2514,
    0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x00E3, 0x00C3, 0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550,
    0x256C, 0x00A4, 0x00F0, 0x00D0, 0x00CA, 0x00CB, 0x00C8, 0x20AC, 0x00CD, 0x00CE, 0x00CF, 0x2518, 0x250C,
    0x2588, 0x2584, 0x00A6, 0x00CC, 0x2580, 0x00D3, 0x00DF, 0x00D4, 0x00D2, 0x00F5, 0x00D5, 0x00B5, 0x00FE,
    0x00DE, 0x00DA, 0x00DB, 0x00D9, 0x00FD, 0x00DD, 0x00AF, 0x00B4, 0x00AD, 0x00B1, 0x2017, 0x00BE, 0x00B6,
    0x00A7, 0x00F7, 0x00B8, 0x00B0, 0x00A8, 0x00B7, 0x00B9, 0x00B3, 0x00B2, 0x25A0, 0x00A0,
};
constexpr std::array<char32_t, 128> kWpc1252 = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152,
    0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122,
    0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178, 0x00A0, 0x00A1, 0x00A2, 0x00A3, 0x00A4, 0x00A5, 0x00A6,
    0x00A7, 0x00A8, 0x00A9, 0x00AA, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x00AF, 0x00B0, 0x00B1, 0x00B2, 0x00B3,
    0x00B4, 0x00B5, 0x00B6, 0x00B7, 0x00B8, 0x00B9, 0x00BA, 0x00BB, 0x00BC, 0x00BD, 0x00BE, 0x00BF, 0x00C0,
    0x00C1, 0x00C2, 0x00C3, 0x00C4, 0x00C5, 0x00C6, 0x00C7, 0x00C8, 0x00C9, 0x00CA, 0x00CB, 0x00CC, 0x00CD,
    0x00CE, 0x00CF, 0x00D0, 0x00D1, 0x00D2, 0x00D3, 0x00D4, 0x00D5, 0x00D6, 0x00D7, 0x00D8, 0x00D9, 0x00DA,
    0x00DB, 0x00DC, 0x00DD, 0x00DE, 0x00DF, 0x00E0, 0x00E1, 0x00E2, 0x00E3, 0x00E4, 0x00E5, 0x00E6, 0x00E7,
    0x00E8, 0x00E9, 0x00EA, 0x00EB, 0x00EC, 0x00ED, 0x00EE, 0x00EF, 0x00F0, 0x00F1, 0x00F2, 0x00F3, 0x00F4,
    0x00F5, 0x00F6, 0x00F7, 0x00F8, 0x00F9, 0x00FA, 0x00FB, 0x00FC, 0x00FD, 0x00FE, 0x00FF,
};

const std::array<char32_t, 128>& table_of(CodePage page) {
  switch (page) {
    case CodePage::Pc437: return kPc437;
    case CodePage::Wpc1252: return kWpc1252;
    case CodePage::Pc858: return kPc858;
  }
  return kPc437;
}

// Decodes one UTF-8 sequence at s[i]; nullopt (and one byte consumed) when malformed, overlong,
// a surrogate or beyond U+10FFFF.
std::optional<char32_t> next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    ++i;
    return std::nullopt;
  }
  if (i + static_cast<std::size_t>(len) > s.size()) {
    ++i;
    return std::nullopt;
  }
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return std::nullopt;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return std::nullopt;
  }
  i += static_cast<std::size_t>(len);
  return cp;
}

// What to print for a character the code page lacks: a plain-ASCII look-alike, else '?'.
std::string_view fallback(char32_t cp) {
  switch (cp) {
    case 0x2018: case 0x2019: case 0x201A: case 0x2032: return "'";
    case 0x201C: case 0x201D: case 0x201E: case 0x2033: return "\"";
    case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014: case 0x2212: return "-";
    case 0x2026: return "...";
    case 0x2022: return "*";
    case 0x20AC: return "EUR";
    default: return "?";
  }
}

std::size_t columns(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

struct Style {
  bool centered = false;
  bool bold = false;
  std::uint8_t size = 0x00;  // GS ! n
  bool operator==(const Style&) const = default;
};

// Emits mode changes only when they change, and only between lines (ESC a works at line starts).
class Writer {
 public:
  explicit Writer(const EscPosOptions& o) : options_(o) {
    out_ += kEsc;
    out_ += '@';
    out_ += kEsc;
    out_ += 't';
    out_ += static_cast<char>(static_cast<std::uint8_t>(o.code_page));
  }
  void line(std::string_view utf8, Style style) {
    set(style);
    out_ += encode_for_code_page(mask_card_numbers(utf8), options_.code_page);
    out_ += kLf;
  }
  std::string finish() {
    set(Style{});
    switch (options_.cut) {
      case Cut::Partial:
        out_ += kGs;
        out_ += 'V';
        out_ += static_cast<char>(66);
        out_ += '\0';
        break;
      case Cut::Full:
        out_ += kGs;
        out_ += 'V';
        out_ += static_cast<char>(65);
        out_ += '\0';
        break;
      case Cut::None:
        out_ += kEsc;
        out_ += 'd';
        out_ += static_cast<char>(4);
        break;
    }
    return std::move(out_);
  }

 private:
  void set(Style s) {
    if (s.centered != style_.centered) {
      out_ += kEsc;
      out_ += 'a';
      out_ += static_cast<char>(s.centered ? 1 : 0);
    }
    if (s.bold != style_.bold) {
      out_ += kEsc;
      out_ += 'E';
      out_ += static_cast<char>(s.bold ? 1 : 0);
    }
    if (s.size != style_.size) {
      out_ += kGs;
      out_ += '!';
      out_ += static_cast<char>(s.size);
    }
    style_ = s;
  }

  const EscPosOptions& options_;
  Style style_;
  std::string out_;
};

}  // namespace

std::string encode_for_code_page(std::string_view utf8, CodePage page) {
  const auto& table = table_of(page);
  std::string out;
  out.reserve(utf8.size());
  std::size_t i = 0;
  while (i < utf8.size()) {
    const std::optional<char32_t> cp = next_code_point(utf8, i);
    if (!cp) {
      out += '?';
      continue;
    }
    const char32_t c = *cp;
    if (c == '\t' || c == 0x00A0) {
      out += ' ';
    } else if (c == 0x00AD) {
      out += '-';  // a soft hyphen would print as one anyway, on some printers as nothing
    } else if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else if (c < 0xA0) {
      out += '?';  // C0 and C1 controls, DEL: never a command byte
    } else {
      std::optional<std::size_t> at;
      for (std::size_t k = 0; k < table.size(); ++k) {
        if (table[k] == c) {
          at = k;
          break;
        }
      }
      if (at) {
        out += static_cast<char>(0x80 + *at);
      } else {
        out += fallback(c);
      }
    }
  }
  return out;
}

std::string escpos_receipt(const ReceiptInput& input, const EscPosOptions& options) {
  const int width = std::clamp(options.width, kMinReceiptWidth, kMaxReceiptWidth);
  Writer w(options);
  for (const ReceiptLine& l : layout_receipt(input, width)) {
    Style style{l.centered, l.bold, 0x00};
    std::string text = l.text;
    if (l.centered) {
      // The printer centres it (ESC a 1) on whatever its real width is.
      const std::size_t lead = text.find_first_not_of(' ');
      text.erase(0, lead == std::string::npos ? text.size() : lead);
    }
    if (l.total && options.large_total) {
      const std::size_t half = static_cast<std::size_t>(width) / 2;
      const std::size_t used = columns(l.left) + 1 + columns(l.right);
      if (used <= half) {
        style.size = 0x11;  // double width and height: half as many columns
        text = l.left + std::string(half - used + 1, ' ') + l.right;
      } else {
        style.size = 0x01;  // double height keeps the columns
      }
    }
    w.line(text, style);
  }
  return w.finish();
}

std::string escpos_from_text(std::string_view receipt_text, const EscPosOptions& options) {
  Writer w(options);
  std::size_t start = 0;
  while (start < receipt_text.size()) {
    std::size_t end = receipt_text.find('\n', start);
    if (end == std::string_view::npos) end = receipt_text.size();
    w.line(receipt_text.substr(start, end - start), Style{});
    start = end + 1;
  }
  return w.finish();
}

std::string escpos_open_cash_drawer() {
  // ESC p m t1 t2: pin 2 (m = 0), on 25 x 2 ms, off 250 x 2 ms.
  return std::string{kEsc, 'p', '\0', static_cast<char>(25), static_cast<char>(250)};
}

}  // namespace till::pos
