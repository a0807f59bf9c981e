#include "till/hwsim/usbip_server.hpp"

#include <array>
#include <deque>
#include <set>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "till/base/log.hpp"

namespace till::hwsim {

namespace asio = boost::asio;
using asio::ip::tcp;
namespace u = usbip;

UsbFunction::Scheduler asio_scheduler(asio::io_context& io) {
  return [&io](std::chrono::milliseconds delay, std::function<void()> fn) {
    if (delay <= std::chrono::milliseconds::zero()) {
      asio::post(io, std::move(fn));
      return;
    }
    auto timer = std::make_shared<asio::steady_timer>(io, delay);
    timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
      if (!ec) fn();
    });
  };
}

namespace {

// Fields of the function's descriptors that the USB/IP device block repeats.
u::DeviceInfo describe(const UsbFunction& f, const UsbipServerConfig& c) {
  u::DeviceInfo d;
  d.path = c.path;
  d.busid = c.busid;
  d.busnum = c.busnum;
  d.devnum = c.devnum;
  d.speed = static_cast<u::Speed>(usbip_speed(f.config().speed));
  const auto& dev = f.descriptors().device;
  if (dev.size() >= 18) {
    d.device_class = dev[4];
    d.device_subclass = dev[5];
    d.device_protocol = dev[6];
    d.id_vendor = static_cast<std::uint16_t>(dev[8] | dev[9] << 8);
    d.id_product = static_cast<std::uint16_t>(dev[10] | dev[11] << 8);
    d.bcd_device = static_cast<std::uint16_t>(dev[12] | dev[13] << 8);
    d.num_configurations = dev[17];
  }
  const auto& cfg = f.descriptors().configuration;
  if (cfg.size() >= 9) {
    d.num_interfaces = cfg[4];
    d.configuration_value = cfg[5];
    // Walk the descriptor chain for the interface descriptors (type 4).
    for (std::size_t at = 0; at + 2 <= cfg.size() && cfg[at] >= 2; at += cfg[at]) {
      if (cfg[at + 1] == 4 && at + 9 <= cfg.size()) d.interfaces.push_back({cfg[at + 5], cfg[at + 6], cfg[at + 7]});
    }
  }
  return d;
}

std::int32_t to_wire_status(int usb_status) { return static_cast<std::int32_t>(usb_status); }

}  // namespace

namespace {

class UsbipConnection;

// The server's state, shared with its connections (UsbipServer::Impl is this, by another name).
struct ServerCore : std::enable_shared_from_this<ServerCore> {
  ServerCore(asio::io_context& io, UsbFunction& function, UsbipServerConfig config)
      : io(io), function(function), config(std::move(config)), acceptor(io) {}

  asio::io_context& io;
  UsbFunction& function;
  UsbipServerConfig config;
  tcp::acceptor acceptor;
  std::set<std::shared_ptr<UsbipConnection>> connections;
  std::weak_ptr<UsbipConnection> importer;
  UsbipServerStats stats;
  std::uint16_t port = 0;
  bool stopped = false;

  u::DeviceInfo info() const { return describe(function, config); }
  void accept();
  void install_callbacks();
  void on_in_ready();
  void on_out_ready();
  void on_unplugged();
};

class UsbipConnection : public std::enable_shared_from_this<UsbipConnection> {
 public:
  UsbipConnection(std::shared_ptr<ServerCore> server, tcp::socket socket)
      : server_(std::move(server)), socket_(std::move(socket)) {}

  void start() { read(); }

  // The device is gone (cable pulled): nothing pending will be answered; the replies already
  // queued still leave, then the socket closes and vhci-hcd sees the disconnect.
  void device_left() {
    pending_in_.clear();
    pending_out_.clear();
    finish_after_write();
  }

  void process_in() {
    auto& f = server_->function;
    while (phase_ == Phase::Imported && !pending_in_.empty()) {
      auto r = f.bulk_in(pending_in_.front().length);
      if (!r) return;  // nothing yet: stays pending (a NAK)
      const auto seqnum = pending_in_.front().seqnum;
      pending_in_.pop_front();
      ret_submit(seqnum, r->status, r->ok() ? std::move(r->data) : std::vector<std::uint8_t>{}, true, 0);
    }
  }

  void process_out() {
    auto& f = server_->function;
    while (phase_ == Phase::Imported && !pending_out_.empty()) {
      auto r = f.bulk_out(pending_out_.front().data);
      if (!r) return;  // NAK: offered again on out-ready
      const auto seqnum = pending_out_.front().seqnum;
      const auto length = static_cast<std::uint32_t>(pending_out_.front().data.size());
      pending_out_.pop_front();
      ret_submit(seqnum, *r, {}, false, *r == kUsbOk ? length : 0);
    }
  }

  void close() {
    if (phase_ == Phase::Closed) return;
    auto keep = shared_from_this();
    const bool was_importer = server_->importer.lock().get() == this;
    phase_ = Phase::Closed;
    pending_in_.clear();
    pending_out_.clear();
    if (was_importer) {
      server_->importer.reset();
      server_->function.unplug();  // no-op when the device already left the bus
      log::info("hwsim.usbip.detached", {{"busid", server_->config.busid}});
    }
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    server_->connections.erase(keep);
  }

 private:
  enum class Phase { Handshake, Imported, Closed };
  struct PendingIn {
    std::uint32_t seqnum;
    std::uint32_t length;
  };
  struct PendingOut {
    std::uint32_t seqnum;
    std::vector<std::uint8_t> data;
  };

  void read() {
    socket_.async_read_some(asio::buffer(buffer_), [self = shared_from_this()](auto ec, std::size_t n) {
      if (self->phase_ == Phase::Closed) return;
      if (ec) return self->close();
      if (self->finishing_) return;  // the last reply is on its way; ignore the rest
      self->rx_.insert(self->rx_.end(), self->buffer_.begin(), self->buffer_.begin() + static_cast<std::ptrdiff_t>(n));
      self->process();
      if (self->phase_ != Phase::Closed && !self->finishing_) self->read();
    });
  }

  void process() {
    std::size_t used = 0;
    while (phase_ != Phase::Closed && !finishing_) {
      auto d = u::decode_request(std::span(rx_).subspan(used));
      if (!d) return protocol_error(d.error().message);
      if (!d->has_value()) break;
      used += (*d)->size;
      handle((*d)->pdu);
    }
    if (phase_ != Phase::Closed) rx_.erase(rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(used));
  }

  void handle(u::Request& r) {
    if (phase_ == Phase::Handshake) {
      if (std::holds_alternative<u::OpReqDevlist>(r)) return devlist();
      if (auto* imp = std::get_if<u::OpReqImport>(&r)) return import(imp->busid);
      return protocol_error(std::string(u::name_of(r)) + " before a device was imported");
    }
    if (auto* s = std::get_if<u::CmdSubmit>(&r)) return submit(std::move(*s));
    if (auto* k = std::get_if<u::CmdUnlink>(&r)) return unlink(*k);
    return protocol_error(std::string(u::name_of(r)) + " after the device was imported");
  }

  void devlist() {
    ++server_->stats.devlists;
    reply(u::OpRepDevlist{{server_->info()}});
    finish_after_write();  // DEVLIST ends the connection (the protocol's rule)
  }

  void import(const std::string& busid) {
    auto& s = *server_;
    std::string why;
    if (busid != s.config.busid) {
      why = "no device with busid " + busid;
    } else if (s.importer.lock()) {
      why = "already imported by another host";
    } else if (auto st = s.function.plug(); !st) {
      why = st.error().message;
    }
    if (!why.empty()) {
      ++s.stats.refused_imports;
      log::info("hwsim.usbip.import_refused", {{"busid", busid}, {"reason", why}});
      reply(u::OpRepImport{1, std::nullopt});
      return finish_after_write();
    }
    ++s.stats.imports;
    s.importer = weak_from_this();
    phase_ = Phase::Imported;
    auto info = s.info();
    info.interfaces.clear();
    devid_ = info.devid();
    log::info("hwsim.usbip.imported", {{"busid", busid}});
    reply(u::OpRepImport{0, std::move(info)});
  }

  void submit(u::CmdSubmit s) {
    auto& srv = *server_;
    auto& f = srv.function;
    ++srv.stats.submits;
    const auto seqnum = s.header.seqnum;
    const bool in = s.header.direction == u::Direction::In;
    if (s.header.devid != devid_) return ret_submit(seqnum, -u::kENODEV, {}, in, 0);
    if (s.header.ep == 0) {
      const auto setup = UsbSetup::parse(std::span<const std::uint8_t, 8>(s.setup));
      auto r = f.control(setup, in ? std::span<const std::uint8_t>{} : std::span<const std::uint8_t>(s.data));
      if (in) {
        if (r.data.size() > s.transfer_buffer_length) r.data.resize(s.transfer_buffer_length);
        return ret_submit(seqnum, r.status, r.ok() ? std::move(r.data) : std::vector<std::uint8_t>{}, true, 0);
      }
      return ret_submit(seqnum, r.status, {}, false, r.ok() ? s.transfer_buffer_length : 0);
    }
    const std::uint32_t in_ep = f.bulk_in_address() & 0x0f;
    const std::uint32_t out_ep = f.bulk_out_address() & 0x0f;
    if (in && s.header.ep == in_ep) {
      pending_in_.push_back({seqnum, s.transfer_buffer_length});
      return process_in();
    }
    if (!in && s.header.ep == out_ep) {
      pending_out_.push_back({seqnum, std::move(s.data)});
      return process_out();
    }
    ret_submit(seqnum, -u::kEPIPE, {}, in, 0);  // no such endpoint: a stall
  }

  void unlink(const u::CmdUnlink& k) {
    ++server_->stats.unlinks;
    bool caught = false;
    auto drop = [&](auto& queue) {
      for (auto it = queue.begin(); it != queue.end(); ++it)
        if (it->seqnum == k.unlink_seqnum) {
          queue.erase(it);
          caught = true;
          return;
        }
    };
    drop(pending_in_);
    if (!caught) drop(pending_out_);
    if (caught) ++server_->stats.unlinked_pending;
    u::RetUnlink r;
    r.header.seqnum = k.header.seqnum;
    r.status = caught ? -u::kECONNRESET : 0;
    reply(r);
  }

  void ret_submit(std::uint32_t seqnum, int status, std::vector<std::uint8_t> data, bool in,
                  std::uint32_t out_length) {
    u::RetSubmit r;
    r.header.seqnum = seqnum;  // devid, direction, ep stay 0 as the kernel's own server sends them
    r.status = to_wire_status(status);
    r.actual_length = in ? static_cast<std::uint32_t>(data.size()) : out_length;
    r.data = std::move(data);
    reply(r);
  }

  void reply(u::Reply r) {
    auto bytes = u::encode(r);
    if (!bytes) {
      log::error("hwsim.usbip.encode_failed", {{"pdu", std::string(u::name_of(r))}, {"error", bytes.error().message}});
      return close();
    }
    tx_.push_back(std::move(*bytes));
    write_next();
  }

  void write_next() {
    if (writing_ || tx_.empty() || phase_ == Phase::Closed) return;
    writing_ = true;
    asio::async_write(socket_, asio::buffer(tx_.front()), [self = shared_from_this()](auto ec, std::size_t) {
      self->writing_ = false;
      if (self->phase_ == Phase::Closed) return;
      if (ec) return self->close();
      self->tx_.pop_front();
      if (self->tx_.empty() && self->finishing_) return self->close();
      self->write_next();
    });
  }

  void finish_after_write() {
    finishing_ = true;
    if (!writing_ && tx_.empty()) close();
  }

  void protocol_error(const std::string& message) {
    ++server_->stats.protocol_errors;
    log::warn("hwsim.usbip.protocol_error", {{"error", message}});
    close();
  }

  std::shared_ptr<ServerCore> server_;
  tcp::socket socket_;
  Phase phase_ = Phase::Handshake;
  std::uint32_t devid_ = 0;
  std::array<std::uint8_t, 64 * 1024> buffer_{};
  std::vector<std::uint8_t> rx_;
  std::deque<std::vector<std::uint8_t>> tx_;
  bool writing_ = false;
  bool finishing_ = false;
  std::deque<PendingIn> pending_in_;
  std::deque<PendingOut> pending_out_;
};

}  // namespace

void ServerCore::accept() {
  acceptor.async_accept([self = shared_from_this()](auto ec, tcp::socket socket) {
    if (self->stopped) return;
    if (!ec) {
      ++self->stats.connections;
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);  // small PDUs; latency matters
      auto c = std::make_shared<UsbipConnection>(self, std::move(socket));
      self->connections.insert(c);
      c->start();
    }
    self->accept();
  });
}

void ServerCore::install_callbacks() {
  std::weak_ptr<ServerCore> weak = weak_from_this();
  function.set_in_ready([weak] {
    if (auto s = weak.lock()) s->on_in_ready();
  });
  function.set_out_ready([weak] {
    if (auto s = weak.lock()) s->on_out_ready();
  });
  function.set_unplugged([weak] {
    if (auto s = weak.lock()) s->on_unplugged();
  });
}

void ServerCore::on_in_ready() {
  if (auto c = importer.lock()) c->process_in();
}
void ServerCore::on_out_ready() {
  if (auto c = importer.lock()) c->process_out();
}
void ServerCore::on_unplugged() {
  auto c = importer.lock();
  if (!c) return;
  ++stats.device_unplugs;
  importer.reset();
  log::info("hwsim.usbip.device_unplugged", {{"busid", config.busid}});
  c->device_left();
}

struct UsbipServer::Impl : ServerCore {
  using ServerCore::ServerCore;
};

UsbipServer::UsbipServer(asio::io_context& io, UsbFunction& function, UsbipServerConfig config)
    : impl_(std::make_shared<Impl>(io, function, std::move(config))) {
  impl_->install_callbacks();
}

UsbipServer::~UsbipServer() {
  stop();
  impl_->function.set_in_ready(nullptr);
  impl_->function.set_out_ready(nullptr);
  impl_->function.set_unplugged(nullptr);
}

Result<std::uint16_t> UsbipServer::listen(const std::string& address, std::uint16_t port) {
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(address, ec);
  if (ec) return fail(ErrorKind::InvalidArgument, "usbip listen: not a numeric address: " + address);
  tcp::endpoint ep(addr, port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return fail(ErrorKind::Unavailable,
                "usbip listen on " + address + ":" + std::to_string(port) + ": " + ec.message());
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  return impl_->port;
}

void UsbipServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  auto all = impl_->connections;
  for (auto& c : all) c->close();
}

std::uint16_t UsbipServer::port() const noexcept { return impl_->port; }
bool UsbipServer::imported() const noexcept { return !impl_->importer.expired(); }
const UsbipServerStats& UsbipServer::stats() const noexcept { return impl_->stats; }
usbip::DeviceInfo UsbipServer::device_info() const { return impl_->info(); }

}  // namespace till::hwsim
