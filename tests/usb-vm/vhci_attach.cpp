#include "vhci_attach.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "till/hwsim/usbip.hpp"

namespace till::usbvm {

namespace asio = boost::asio;
using asio::ip::tcp;
namespace u = till::hwsim::usbip;
namespace fs = std::filesystem;

bool vhci_available() { return fs::exists(std::string(kVhciDir) + "/attach"); }

std::optional<int> free_high_speed_port() {
  std::ifstream in(std::string(kVhciDir) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    // "hub port sta spd dev      sockfd local_busid", e.g. "hs  0000 004 000 00000000 000000 0-0"
    std::istringstream fields(line);
    std::string hub;
    int port = -1, sta = -1;
    fields >> hub >> port >> sta;
    if (hub == "hs" && fields && sta == 4) return port;
  }
  return std::nullopt;
}

int usb_devices_present(std::uint16_t vendor, std::uint16_t product) {
  int n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/bus/usb/devices", ec)) {
    std::ifstream v(entry.path() / "idVendor"), p(entry.path() / "idProduct");
    unsigned vid = 0, pid = 0;
    if (v >> std::hex >> vid && p >> std::hex >> pid && vid == vendor && pid == product) ++n;
  }
  return n;
}

namespace {

struct Attach : std::enable_shared_from_this<Attach> {
  Attach(asio::io_context& io, std::string busid, int speed, std::function<void(Result<Attached>)> done)
      : socket(io), busid(std::move(busid)), speed(speed), done(std::move(done)) {}
  tcp::socket socket;
  std::string busid;
  int speed;
  std::function<void(Result<Attached>)> done;
  std::vector<std::uint8_t> request;
  std::vector<std::uint8_t> reply = std::vector<std::uint8_t>(u::kOpHeaderSize);

  void finish(Result<Attached> r) {
    boost::system::error_code ignored;
    socket.close(ignored);  // after a successful attach the kernel holds its own reference
    auto cb = std::move(done);
    cb(std::move(r));
  }

  void start(std::uint16_t port) {
    auto bytes = u::encode(u::Request(u::OpReqImport{busid}));
    if (!bytes) return finish(tl::unexpected(bytes.error()));
    request = std::move(*bytes);
    socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, [self = shared_from_this()](auto ec) {
      if (ec) return self->finish(fail(ErrorKind::Unavailable, "usbip connect: " + ec.message()));
      asio::async_write(self->socket, asio::buffer(self->request), [self](auto ec2, std::size_t) {
        if (ec2) return self->finish(fail(ErrorKind::Unavailable, "usbip import write: " + ec2.message()));
        self->read_header();
      });
    });
  }

  void read_header() {
    asio::async_read(socket, asio::buffer(reply), [self = shared_from_this()](auto ec, std::size_t) {
      if (ec) return self->finish(fail(ErrorKind::Unavailable, "usbip import reply: " + ec.message()));
      auto d = u::decode_reply(self->reply, nullptr);
      if (!d) return self->finish(tl::unexpected(d.error()));
      if (d->has_value()) return self->imported((*d)->pdu);  // a refusal is header-only
      self->reply.resize(u::kImportReplySize);
      asio::async_read(self->socket, asio::buffer(self->reply.data() + u::kOpHeaderSize, u::kDeviceBlockSize),
                       [self](auto ec2, std::size_t) {
                         if (ec2) return self->finish(fail(ErrorKind::Unavailable, "usbip import reply: " + ec2.message()));
                         auto full = u::decode_reply(self->reply, nullptr);
                         if (!full) return self->finish(tl::unexpected(full.error()));
                         if (!full->has_value()) return self->finish(fail(ErrorKind::Internal, "usbip import reply incomplete"));
                         self->imported((*full)->pdu);
                       });
    });
  }

  void imported(const u::Reply& r) {
    const auto* rep = std::get_if<u::OpRepImport>(&r);
    if (!rep) return finish(fail(ErrorKind::Internal, "usbip: expected OP_REP_IMPORT"));
    if (rep->status != 0 || !rep->device)
      return finish(fail(ErrorKind::Unavailable, "usbip import refused (status " + std::to_string(rep->status) + ")"));
    const auto port = free_high_speed_port();
    if (!port) return finish(fail(ErrorKind::Unavailable, "vhci-hcd has no free high-speed port"));
    const std::string line = std::to_string(*port) + " " + std::to_string(socket.native_handle()) + " " +
                             std::to_string(rep->device->devid()) + " " + std::to_string(speed);
    const int fd = ::open((std::string(kVhciDir) + "/attach").c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return finish(fail(ErrorKind::Internal, std::string("open vhci attach: ") + std::strerror(errno)));
    const auto n = ::write(fd, line.data(), line.size());
    const int err = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(line.size()))
      return finish(fail(ErrorKind::Internal, "vhci attach \"" + line + "\": " + std::strerror(err)));
    finish(Attached{*port, rep->device->devid()});
  }
};

}  // namespace

void async_attach(asio::io_context& io, std::uint16_t server_port, std::string busid, int speed,
                  std::function<void(Result<Attached>)> done) {
  std::make_shared<Attach>(io, std::move(busid), speed, std::move(done))->start(server_port);
}

}  // namespace till::usbvm
