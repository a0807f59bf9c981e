#pragma once
// ESC/POS rendering of receipts: the bytes a thermal receipt printer (Epson TM series and the many
// printers that speak the same command set) prints. Pure functions from the receipt model (or
// from the plain text the reducer's PrintReceipt effect carries) to bytes; writing them somewhere
// is app/printer.hpp's job.
//
// What the output can contain, and nothing else (tests/pos/escpos_test.cpp parses every output
// of a randomised property test against this list):
//   ESC @            1B 40          initialise (clears modes left by a previous job)
//   ESC t n          1B 74 n        character code table (n = the CodePage value)
//   ESC a n          1B 61 n        alignment, n = 0 left, 1 centre (sent at line starts only)
//   ESC E n          1B 45 n        emphasis (bold) off / on
//   GS ! n           1D 21 n        character size: 0x00 normal, 0x01 double height,
//                                   0x11 double width and height (the TOTAL)
//   ESC d n          1B 64 n        print and feed n lines (Cut::None, before tearing off)
//   GS V 65/66 n     1D 56 41|42 n  feed to the cutter (+ n units) and cut fully / partially
//   ESC p m t1 t2    1B 70 m t1 t2  cash drawer pulse (open_cash_drawer() only)
//   LF               0A             print the line
//   text             0x20..0x7E, and 0x80..0xFF characters of the selected code page
// Input text never reaches the printer as a control byte: UTF-8 is transcoded to the code page,
// characters it lacks become '?', control characters and malformed UTF-8 become '?' (a tab a
// space), so a product name cannot smuggle a command (cut, drawer kick, code page switch) in.
//
// Card numbers: receipts only ever carry the last four digits, and layout_receipt masks any card
// number that reached a text field (receipt.hpp, mask_card_numbers). escpos_from_text masks each
// line again, since its text may come from anywhere.
//
// Command bytes were checked against Epson's ESC/POS command reference (TM-T88 / TM-U220 manuals)
// and compatible printers' manuals (Rongta, Sewoo, Bematech).

#include <cstdint>
#include <string>
#include <string_view>

#include "till/pos/receipt.hpp"

namespace till::pos {

// Character code tables selectable with ESC t n (the value is n). PC437 is every printer's
// power-on default but has no accented capitals or euro sign; PC858 (PC850 + euro) and WPC1252
// cover Western European text.
enum class CodePage : std::uint8_t {
  Pc437 = 0,
  Wpc1252 = 16,
  Pc858 = 19,
};

enum class Cut {
  Partial,  // GS V 66 0: feed to the cutter, cut leaving one point (the customer tears it off)
  Full,     // GS V 65 0: feed to the cutter, cut through
  None,     // ESC d 4: no cutter, feed so the text clears the tear bar
};

struct EscPosOptions {
  int width = kReceiptWidth;  // columns of font A: 42 on 80 mm paper, 32 (kNarrowReceiptWidth) on 58 mm
  CodePage code_page = CodePage::Pc858;
  Cut cut = Cut::Partial;
  // The TOTAL row in double width and height when it fits in width / 2 columns, else in double
  // height only. Off: bold only (printers without character scaling).
  bool large_total = true;
  bool operator==(const EscPosOptions&) const = default;
};

// The receipt laid out at options.width (layout_receipt) as ESC/POS: initialise, code page,
// centred header lines (ESC a 1), bold status lines, the TOTAL large and bold, then the cut.
// Pure; any thread; never fails. The result is bytes (std::string as a byte container).
std::string escpos_receipt(const ReceiptInput& input, const EscPosOptions& options = {});

// A receipt already rendered as plain text (what pos::PrintReceipt carries): each line printed as
// it is (no re-layout: the text was laid out for kReceiptWidth columns), wrapped in initialise,
// code page and cut. No styling: prefer escpos_receipt when the ReceiptInput is at hand. Pure; any
// thread; never fails.
std::string escpos_from_text(std::string_view receipt_text, const EscPosOptions& options = {});

// ESC p 0 25 250: a 50 ms pulse on drawer kick-out pin 2 (then 500 ms off), the usual wiring of a
// cash drawer behind the receipt printer (for pos::OpenCashDrawer). Pure; any thread.
std::string escpos_open_cash_drawer();

// UTF-8 -> the code page's bytes; see the header comment for what is replaced. Pure; any thread.
std::string encode_for_code_page(std::string_view utf8, CodePage page);

}  // namespace till::pos
