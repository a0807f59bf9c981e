#pragma once
// Where printed receipts go. Two sinks, same bytes (plain text or ESC/POS, pos/escpos.hpp):
//   - a folder (default <data_dir>/receipts): one new file per receipt, published atomically
//     (written to a temporary file in the folder, fsynced, then linked to its final name and the
//     folder fsynced), never overwriting an earlier receipt (a reprint gets <stem>-2, -3, ...);
//   - a printer device node, e.g. /dev/usb/lp0 (Linux usblp) or a serial/parallel port: opened
//     O_WRONLY | O_NOCTTY | O_NONBLOCK | O_APPEND (never created), written with a deadline.
// Without a printer attached, the folder sink is what the kiosk uses (the receipts a USB printer
// would have printed, byte for byte).
//
// Threading: every function is blocking I/O and may be called from any thread; none keeps state.
// The effect runner calls them on the core thread: a device write waits at most
// PrinterConfig::device_timeout, a file write costs two fsyncs.
//
// Errors (values, never exceptions), with messages that name the path and the fix:
//   NotFound           the device node does not exist, or no device is behind it (unplugged, off)
//   PermissionDenied   no write permission (the message shows owner, group and mode; the kiosk's
//                      user usually needs to be in the device's group, 'lp')
//   Unavailable        busy (another program has it open), no room within the deadline (offline,
//                      out of paper, cover open), I/O error, or the reader went away mid-receipt;
//                      the message says how many bytes were written. Retry, or reprint.
//   InvalidArgument    a malformed spec, a folder given as device or a file given as folder
//   ResourceExhausted  disk full writing a receipt file
//   FailedPrecondition a descriptor that is not open for writing

#include <chrono>
#include <string>
#include <string_view>

#include "till/base/result.hpp"
#include "till/pos/escpos.hpp"
#include "till/pos/receipt.hpp"

namespace till::app {

enum class PrinterKind {
  Folder,  // a new file per receipt in `path`
  Device,  // write to the device node `path`
};

enum class PrintFormat {
  Text,    // the plain-text receipt (UTF-8), .txt
  EscPos,  // ESC/POS bytes, .escpos (a file can be sent to a printer later: cat f > /dev/usb/lp0)
};

struct PrinterConfig {
  PrinterKind kind = PrinterKind::Folder;
  std::string path;  // the folder (default <data_dir>/receipts) or the device node
  PrintFormat format = PrintFormat::Text;
  pos::EscPosOptions escpos{};  // width, code page, cut (EscPos only)
  std::chrono::milliseconds device_timeout{2000};
};

// The kiosk's --printer setting: a target, then comma-separated options.
//   targets:  "file" (the folder <data_dir>/receipts), "file:DIR", "device:PATH"
//   options:  "text" | "escpos", "width=N" (28..96; 42 for 80 mm paper, 32 for 58 mm),
//             "cut=partial|full|none", "codepage=pc858|wpc1252|pc437", "timeout_ms=N"
// e.g. "device:/dev/usb/lp0,escpos,width=32" or "file,escpos". A device target defaults to
// escpos, a folder to text. InvalidArgument naming the offending part. Pure; any thread.
Result<PrinterConfig> parse_printer_spec(std::string_view spec, const std::string& data_dir);

// Writes `bytes` as the new file DIR/<stem>.<ext> (see the header comment; DIR is created 0700
// when missing, files are 0600: receipts carry card brand and last4). `stem` is reduced to
// [A-Za-z0-9._-] (anything else becomes '_'); empty means "receipt". Returns the file's path.
Result<std::string> write_receipt_file(const std::string& dir, std::string_view stem, std::string_view ext,
                                       std::string_view bytes);

// Opens the device node (or FIFO) and writes all of `bytes` before `timeout` runs out. Never
// creates a file. SIGPIPE is suppressed for the calling thread while writing.
Status write_to_device(const std::string& path, std::string_view bytes, std::chrono::milliseconds timeout);

// Writes all of `bytes` to an open descriptor, polling for room until `timeout`; `what` names it
// in messages. Used by write_to_device and write_receipt_file; exposed for tests.
Status write_all(int fd, std::string_view bytes, std::chrono::milliseconds timeout, std::string_view what);

// How an open() errno of a printer device maps to an error (exposed so tests can check the
// mapping for errors a test cannot provoke, such as EBUSY or EACCES as root).
Error device_open_error(const std::string& path, int errno_value);

// Renders the receipt in the configured format and sends it to the configured sink. Returns where
// it went: the file's path, or the device's. The file stem is the sale id.
Result<std::string> print_receipt(const PrinterConfig& config, const pos::ReceiptInput& receipt);
// The same for a receipt already rendered as text (what pos::PrintReceipt carries); ESC/POS is
// then escpos_from_text (no styling). `stem` names the file (e.g. the sale id).
Result<std::string> print_receipt_text(const PrinterConfig& config, std::string_view stem, std::string_view text);

// Kicks the cash drawer wired to the receipt printer (ESC p): Device + EscPos only;
// FailedPrecondition otherwise (a folder has no drawer).
Status open_cash_drawer(const PrinterConfig& config);

}  // namespace till::app
