// The receipt printer sinks: atomic files that never overwrite, and device writes whose failures
// (no such device, nobody behind it, no room, reader gone, closed descriptor) come back as clear
// errors, exercised with temporary folders and FIFOs standing in for /dev/usb/lp0.
#include "till/app/printer.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

using namespace till;
using namespace till::app;
namespace fs = std::filesystem;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "till-printer-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t files_in(const std::string& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++n;
  }
  return n;
}

pos::ReceiptInput small_receipt() {
  pos::ReceiptInput in;
  in.merchant.name = "Corner Shop";
  in.sale.id = "6f1c2a9e-0b7d-4c1e-9a55-3d2f8e7b1c40";
  in.sale.currency = "usd";
  in.sale.total = 275;
  pos::PaymentAttempt a;
  a.state = pos::AttemptState::Approved;
  a.amount = 275;
  a.card.brand = "visa";
  a.card.last4 = "4242";
  in.tenders = {a};
  return in;
}

// A FIFO with a reader held open (non-blocking), standing in for a printer's device node.
struct Fifo {
  explicit Fifo(const std::string& p) : path(p) { REQUIRE(::mkfifo(p.c_str(), 0600) == 0); }
  void open_reader() { reader = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC); }
  ~Fifo() {
    if (reader >= 0) ::close(reader);
  }
  std::string read_all() const {
    std::string out;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(reader, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  std::string path;
  int reader = -1;
};

}  // namespace

TEST_CASE("a receipt file is published whole under a new name and never overwrites an earlier one") {
  TempDir t;
  const std::string dir = t.file("receipts");  // created on first use
  const std::string bytes = std::string("\x1b@first receipt\n\x1dV\x42") + std::string(1, '\0');
  auto first = write_receipt_file(dir, "sale-1", "escpos", bytes);
  REQUIRE(first);
  CHECK(*first == dir + "/sale-1.escpos");
  CHECK(slurp(*first) == bytes);
  auto second = write_receipt_file(dir, "sale-1", "escpos", "reprint");
  REQUIRE(second);
  CHECK(*second == dir + "/sale-1-2.escpos");
  CHECK(slurp(*first) == bytes);  // untouched
  CHECK(slurp(*second) == "reprint");
  CHECK(files_in(dir) == 2);      // no temporary file left behind
  struct stat st {};
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  REQUIRE(::stat(first->c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);  // receipts carry brand and last4: owner only
  // A name with path characters stays inside the folder.
  auto odd = write_receipt_file(dir, "../../etc/passwd", "txt", "x");
  REQUIRE(odd);
  CHECK(fs::path(*odd).parent_path() == fs::path(dir));
}

TEST_CASE("a receipt folder that is a file is refused with the path in the message") {
  TempDir t;
  std::ofstream(t.file("not-a-folder")) << "x";
  auto r = write_receipt_file(t.file("not-a-folder"), "sale", "txt", "text");
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::InvalidArgument);
  CHECK_THAT(r.error().message, Catch::Contains("not-a-folder"));
  auto below = write_receipt_file(t.file("not-a-folder") + "/sub", "sale", "txt", "text");
  REQUIRE_FALSE(below);
  CHECK(below.error().kind == ErrorKind::InvalidArgument);
}

TEST_CASE("writing to a device that does not exist is NotFound and creates nothing") {
  TempDir t;
  const std::string dev = t.file("lp0");
  auto r = write_to_device(dev, "hello", std::chrono::milliseconds(100));
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::NotFound);
  CHECK_THAT(r.error().message, Catch::Contains(dev) && Catch::Contains("plugged in"));
  CHECK_FALSE(fs::exists(dev));
}

TEST_CASE("a device node with nobody behind it is NotFound at once, without blocking") {
  TempDir t;
  Fifo fifo(t.file("lp0"));  // no reader: like a device node whose printer is gone (ENXIO)
  auto r = write_to_device(fifo.path, "hello", std::chrono::milliseconds(60'000));
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::NotFound);
  CHECK_THAT(r.error().message, Catch::Contains("unplugged or off"));
}

TEST_CASE("a device that takes the bytes gets exactly the ESC/POS receipt") {
  TempDir t;
  Fifo fifo(t.file("lp0"));
  fifo.open_reader();
  REQUIRE(fifo.reader >= 0);
  auto config = parse_printer_spec("device:" + fifo.path + ",width=32", t.file("data"));
  REQUIRE(config);
  CHECK(config->format == PrintFormat::EscPos);
  auto where = print_receipt(*config, small_receipt());
  REQUIRE(where);
  CHECK(*where == fifo.path);
  pos::EscPosOptions o;
  o.width = 32;
  CHECK(fifo.read_all() == pos::escpos_receipt(small_receipt(), o));
  REQUIRE(open_cash_drawer(*config));
  CHECK(fifo.read_all() == pos::escpos_open_cash_drawer());
}

TEST_CASE("a device with no room before the deadline is Unavailable and says how much was written") {
  TempDir t;
  Fifo fifo(t.file("lp0"));
  fifo.open_reader();  // a printer that is offline: it never reads
  REQUIRE(fifo.reader >= 0);
  const std::string big(1 << 20, 'x');  // more than any pipe buffer
  auto r = write_to_device(fifo.path, big, std::chrono::milliseconds(0));
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::Unavailable);
  CHECK_THAT(r.error().message, Catch::Contains("did not take the data") && Catch::Contains("of 1048576 bytes written"));
}

TEST_CASE("a device whose reader goes away mid-receipt is Unavailable, and SIGPIPE does not kill the kiosk") {
  TempDir t;
  Fifo fifo(t.file("lp0"));
  fifo.open_reader();
  REQUIRE(fifo.reader >= 0);
  // Open the writer side as the sink would, then let the reader go before writing.
  const int w = ::open(fifo.path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(w >= 0);
  ::close(fifo.reader);
  fifo.reader = -1;
  auto r = write_all(w, "receipt", std::chrono::milliseconds(100), "printer test");
  ::close(w);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::Unavailable);
  CHECK_THAT(r.error().message, Catch::Contains("closed while printing") && Catch::Contains("0 of 7 bytes"));
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  CHECK(sigismember(&pending, SIGPIPE) == 0);  // swallowed, not left pending for later
}

TEST_CASE("writing to a closed descriptor is FailedPrecondition") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  ::close(fds[0]);
  ::close(fds[1]);
  auto r = write_all(fds[1], "receipt", std::chrono::milliseconds(0), "printer test");
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::FailedPrecondition);
  CHECK_THAT(r.error().message, Catch::Contains("not open for writing"));
}

TEST_CASE("device open errors say what to do: permission, busy, a folder") {
  TempDir t;
  const std::string dev = t.file("lp0");
  std::ofstream(dev) << "";
  ::chmod(dev.c_str(), 0000);
  const Error denied = device_open_error(dev, EACCES);
  CHECK(denied.kind == ErrorKind::PermissionDenied);
  CHECK_THAT(denied.message, Catch::Contains(dev) && Catch::Contains("----------") && Catch::Contains("'lp'"));
  if (::geteuid() != 0) {  // root may write anything: the real open only fails for other users
    auto r = write_to_device(dev, "x", std::chrono::milliseconds(0));
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::PermissionDenied);
  }
  const Error busy = device_open_error(dev, EBUSY);
  CHECK(busy.kind == ErrorKind::Unavailable);
  CHECK_THAT(busy.message, Catch::Contains("busy"));
  auto folder = write_to_device(t.file(""), "x", std::chrono::milliseconds(0));
  REQUIRE_FALSE(folder);
  CHECK(folder.error().kind == ErrorKind::InvalidArgument);
  CHECK_THAT(folder.error().message, Catch::Contains("is a folder"));
}

TEST_CASE("a text receipt goes to <data dir>/receipts by default, named after the sale") {
  TempDir t;
  auto config = parse_printer_spec("file", t.file("data"));
  REQUIRE(config);
  CHECK(config->kind == PrinterKind::Folder);
  CHECK(config->path == t.file("data") + "/receipts");
  CHECK(config->format == PrintFormat::Text);
  auto where = print_receipt(*config, small_receipt());
  REQUIRE(where);
  CHECK(*where == t.file("data") + "/receipts/6f1c2a9e-0b7d-4c1e-9a55-3d2f8e7b1c40.txt");
  CHECK(slurp(*where) == pos::render_receipt(small_receipt()));
  auto text = print_receipt_text(*config, "6f1c2a9e-0b7d-4c1e-9a55-3d2f8e7b1c40", "card 4242424242424242\n");
  REQUIRE(text);
  CHECK(slurp(*text) == "card **** 4242\n");  // masked on the way out, like the printed form
  CHECK_FALSE(open_cash_drawer(*config));
}

TEST_CASE("printer settings parse, and mistakes are named") {
  auto c = parse_printer_spec("file:/srv/receipts,escpos,width=32,cut=none,codepage=wpc1252", "/data");
  REQUIRE(c);
  CHECK(c->kind == PrinterKind::Folder);
  CHECK(c->path == "/srv/receipts");
  CHECK(c->format == PrintFormat::EscPos);
  CHECK(c->escpos.width == 32);
  CHECK(c->escpos.cut == pos::Cut::None);
  CHECK(c->escpos.code_page == pos::CodePage::Wpc1252);
  auto d = parse_printer_spec("device:/dev/usb/lp0,text,timeout_ms=500", "/data");
  REQUIRE(d);
  CHECK(d->kind == PrinterKind::Device);
  CHECK(d->format == PrintFormat::Text);
  CHECK(d->device_timeout == std::chrono::milliseconds(500));
  for (const char* bad : {"printer", "device:", "file,width=12", "file,width=x", "file,colour", "file,cut=half"}) {
    auto r = parse_printer_spec(bad, "/data");
    INFO(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::InvalidArgument);
  }
}
