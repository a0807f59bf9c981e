// till-reader-sim --usbip as a real process: it prints the USB/IP port it bound, answers a
// DEVLIST with the reader's USB identity, lets a host import the device and read its device
// descriptor over ep0, and exits cleanly on SIGTERM.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <string>

#include "till/hwsim/usb_function.hpp"
#include "till/hwsim/usbip.hpp"

using namespace till;
namespace asio = boost::asio;
namespace u = till::hwsim::usbip;
using asio::ip::tcp;

namespace {

struct Child {
  pid_t pid = -1;
  int out = -1;
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out >= 0) ::close(out);
  }
};

std::string read_line(int fd, int limit_ms) {
  std::string line;
  char c = 0;
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, limit_ms) <= 0) break;
    if (::read(fd, &c, 1) != 1 || c == '\n') break;
    line.push_back(c);
  }
  return line;
}

// A blocking client whose reads give up after 10 s instead of hanging the suite.
tcp::socket connect_to(asio::io_context& io, std::uint16_t port) {
  tcp::socket s(io);
  boost::system::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  REQUIRE_FALSE(ec);
  timeval tv{10, 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return s;
}

std::vector<std::uint8_t> read_exactly(tcp::socket& s, std::size_t n) {
  std::vector<std::uint8_t> b(n);
  boost::system::error_code ec;
  asio::read(s, asio::buffer(b), ec);
  REQUIRE_FALSE(ec);
  return b;
}

}  // namespace

TEST_CASE("till-reader-sim --usbip serves the reader as a USB device over USB/IP as a separate process") {
  const std::string program = std::string(TILL_BINARY_DIR) + "/hardware-sim/till-reader-sim";
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  Child child;
  child.pid = ::fork();
  REQUIRE(child.pid >= 0);
  if (child.pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(program.c_str(), program.c_str(), "--listen", "127.0.0.1:0", "--usbip", "127.0.0.1:0", "--no-stdin",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  child.out = fds[0];
  CHECK(read_line(child.out, 20000).rfind("till-reader-sim listening on 127.0.0.1:", 0) == 0);
  const std::string line = read_line(child.out, 20000);
  const std::string prefix = "till-reader-sim usbip on 127.0.0.1:";
  REQUIRE(line.rfind(prefix, 0) == 0);
  const auto port = static_cast<std::uint16_t>(std::stoi(line.substr(prefix.size())));
  CHECK(port != 0);
  CHECK_THAT(line, Catch::Contains("busid 1-1 usb id 1209:0001"));

  asio::io_context io;
  const auto no_urbs = [](std::uint32_t) { return std::optional<u::Direction>(); };
  {
    auto s = connect_to(io, port);
    asio::write(s, asio::buffer(*u::encode(u::Request(u::OpReqDevlist{}))));
    std::vector<std::uint8_t> all;
    std::array<std::uint8_t, 1024> buf{};
    boost::system::error_code ec;
    while (!ec) {
      const auto n = s.read_some(asio::buffer(buf), ec);
      all.insert(all.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    }
    CHECK(ec == asio::error::eof);  // DEVLIST ends the connection
    auto d = u::decode_reply(all, no_urbs);
    REQUIRE(d);
    REQUIRE(d->has_value());
    const auto& list = std::get<u::OpRepDevlist>((*d)->pdu);
    REQUIRE(list.devices.size() == 1);
    CHECK(list.devices[0].id_vendor == hwsim::kPidCodesVendorId);
    CHECK(list.devices[0].id_product == hwsim::kPidCodesTestProductId);
  }
  {
    auto s = connect_to(io, port);
    asio::write(s, asio::buffer(*u::encode(u::Request(u::OpReqImport{"1-1"}))));
    auto rep = u::decode_reply(read_exactly(s, u::kImportReplySize), no_urbs);
    REQUIRE(rep);
    REQUIRE(rep->has_value());
    const auto& imp = std::get<u::OpRepImport>((*rep)->pdu);
    REQUIRE(imp.status == 0);
    u::CmdSubmit get;
    get.header = {1, imp.device->devid(), u::Direction::In, 0};
    get.transfer_buffer_length = 18;
    get.setup = hwsim::UsbSetup{0x80, 0x06, 0x0100, 0, 18}.bytes();
    asio::write(s, asio::buffer(*u::encode(u::Request(get))));
    auto ret = u::decode_reply(read_exactly(s, u::kUrbHeaderSize + 18),
                               [](std::uint32_t) { return std::optional<u::Direction>(u::Direction::In); });
    REQUIRE(ret);
    REQUIRE(ret->has_value());
    const auto& r = std::get<u::RetSubmit>((*ret)->pdu);
    CHECK(r.status == 0);
    REQUIRE(r.data.size() == 18);
    CHECK(r.data[1] == 1);  // a device descriptor
  }

  REQUIRE(::kill(child.pid, SIGTERM) == 0);
  int status = 0;
  REQUIRE(::waitpid(child.pid, &status, 0) == child.pid);
  child.pid = -1;
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
