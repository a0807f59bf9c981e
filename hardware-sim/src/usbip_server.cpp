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
namespace tp = terminal::protocol;
using Lock = std::lock_guard<std::recursive_mutex>;

namespace {

void schedule_on(asio::io_context& io, std::chrono::milliseconds delay, std::function<void()> fn) {
  if (delay <= std::chrono::milliseconds::zero()) {
    asio::post(io, std::move(fn));
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(io, delay);
  timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec) fn();
  });
}

}  // namespace

UsbFunction::Scheduler asio_scheduler(asio::io_context& io) {
  return [&io](std::chrono::milliseconds delay, std::function<void()> fn) { schedule_on(io, delay, std::move(fn)); };
}

// ---- DeviceThreadGuard ------------------------------------------------------------------------

namespace {

// The device's view of the function: every call takes the mutex.
class LockedIo final : public tp::DeviceIo {
 public:
  explicit LockedIo(std::recursive_mutex& m) : m_(m) {}
  tp::DeviceIo* inner = nullptr;
  void send_bytes(std::vector<std::uint8_t> bytes) override {
    Lock lock(m_);
    if (inner) inner->send_bytes(std::move(bytes));
  }
  void drop_link() override {
    Lock lock(m_);
    if (inner) inner->drop_link();
  }
  void schedule(std::chrono::milliseconds delay, std::function<void()> fn) override {
    Lock lock(m_);
    if (inner) inner->schedule(delay, std::move(fn));
  }

 private:
  std::recursive_mutex& m_;
};

}  // namespace

struct DeviceThreadGuard::Impl final : tp::DeviceEndpoint {
  explicit Impl(tp::DeviceEndpoint& d) : device(d), io(mutex) {}
  tp::DeviceEndpoint& device;
  std::recursive_mutex mutex;
  LockedIo io;

  // Called by the function (under the mutex, on the device thread).
  Status attach(tp::DeviceIo* function) override {
    io.inner = function;
    auto st = device.attach(function ? &io : nullptr);
    if (!st) io.inner = nullptr;
    return st;
  }
  void receive_bytes(std::span<const std::uint8_t> bytes) override { device.receive_bytes(bytes); }
};

DeviceThreadGuard::DeviceThreadGuard(tp::DeviceEndpoint& device) : impl_(std::make_unique<Impl>(device)) {}
DeviceThreadGuard::~DeviceThreadGuard() = default;
tp::DeviceEndpoint& DeviceThreadGuard::device() { return *impl_; }
std::recursive_mutex& DeviceThreadGuard::mutex() { return impl_->mutex; }
UsbFunction::Scheduler DeviceThreadGuard::scheduler(asio::io_context& device_io) {
  return [&device_io, &m = impl_->mutex](std::chrono::milliseconds delay, std::function<void()> fn) {
    schedule_on(device_io, delay, [&m, fn = std::move(fn)] {
      Lock lock(m);
      fn();
    });
  };
}

// ---- the server ---------------------------------------------------------------------------------

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

class UsbipConnection;

// The server's state, shared with its connections. Everything below `mutex` is guarded by it;
// the acceptor and sockets belong to the net thread.
struct ServerCore : std::enable_shared_from_this<ServerCore> {
  ServerCore(asio::io_context& net, asio::io_context& dev, UsbFunction& function, std::recursive_mutex* guard_mutex,
             UsbipServerConfig config)
      : net(net),
        dev(dev),
        function(function),
        mutex(guard_mutex ? *guard_mutex : own_mutex),
        config(std::move(config)),
        acceptor(net) {}

  asio::io_context& net;
  asio::io_context& dev;
  UsbFunction& function;
  std::recursive_mutex own_mutex;
  std::recursive_mutex& mutex;
  UsbipServerConfig config;
  tcp::acceptor acceptor;
  std::uint16_t port = 0;
  bool stopped = false;

  // guarded by mutex
  std::set<std::shared_ptr<UsbipConnection>> connections;
  std::weak_ptr<UsbipConnection> importer;
  UsbipServerStats stats;

  u::DeviceInfo info() const { return describe(function, config); }
  void accept();
  void install_callbacks();
};

class UsbipConnection : public std::enable_shared_from_this<UsbipConnection> {
 public:
  UsbipConnection(std::shared_ptr<ServerCore> server, tcp::socket socket)
      : s_(std::move(server)), socket_(std::move(socket)) {}

  // net thread
  void start() { read(); }

  // Under the mutex, any thread: the device is gone (cable pulled). Nothing pending will be
  // answered; the replies already queued still leave, then the socket closes and vhci-hcd sees
  // the disconnect.
  void device_left() {
    pending_in_.clear();
    pending_out_.clear();
    finish_after_write();
  }

  // Under the mutex, any thread (bulk_in never calls into the device).
  void service_in() {
    while (phase_ == Phase::Imported && !pending_in_.empty()) {
      auto r = s_->function.bulk_in(pending_in_.front().length);
      if (!r) return;  // nothing yet: stays pending (a NAK)
      const auto seqnum = pending_in_.front().seqnum;
      pending_in_.pop_front();
      ret_submit(seqnum, r->status, r->ok() ? std::move(r->data) : std::vector<std::uint8_t>{}, true, 0);
    }
  }

  // Under the mutex, on the device thread only (bulk_out hands the bytes to the device).
  void service_out() {
    while (phase_ == Phase::Imported && !pending_out_.empty()) {
      auto r = s_->function.bulk_out(pending_out_.front().data);
      if (!r) return;  // NAK: offered again on out-ready
      const auto seqnum = pending_out_.front().seqnum;
      const auto length = static_cast<std::uint32_t>(pending_out_.front().data.size());
      pending_out_.pop_front();
      ret_submit(seqnum, *r, {}, false, *r == kUsbOk ? length : 0);
    }
  }

  // net thread, under the mutex.
  void close() {
    if (phase_ == Phase::Closed) return;
    auto keep = shared_from_this();
    const bool was_importer = s_->importer.lock().get() == this;
    phase_ = Phase::Closed;
    pending_in_.clear();
    pending_out_.clear();
    tx_.clear();
    if (was_importer) {
      s_->importer.reset();
      // Unplugging detaches the device model: its thread's business.
      asio::post(s_->dev, [s = s_] {
        Lock lock(s->mutex);
        s->function.unplug();  // no-op when the device already left the bus
      });
      log::info("hwsim.usbip.detached", {{"busid", s_->config.busid}});
    }
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    s_->connections.erase(keep);
  }

 private:
  enum class Phase { Handshake, Importing, Imported, Closed };
  struct PendingIn {
    std::uint32_t seqnum;
    std::uint32_t length;
  };
  struct PendingOut {
    std::uint32_t seqnum;
    std::vector<std::uint8_t> data;
  };

  // ---- net thread: reading ----------------------------------------------------------------------

  void read() {
    socket_.async_read_some(asio::buffer(buffer_), [self = shared_from_this()](auto ec, std::size_t n) {
      Lock lock(self->s_->mutex);
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
    if (phase_ == Phase::Importing) return protocol_error(std::string(u::name_of(r)) + " before the import reply");
    if (auto* s = std::get_if<u::CmdSubmit>(&r)) return submit(std::move(*s));
    if (auto* k = std::get_if<u::CmdUnlink>(&r)) return unlink(*k);
    return protocol_error(std::string(u::name_of(r)) + " after the device was imported");
  }

  void devlist() {
    ++s_->stats.devlists;
    reply(u::OpRepDevlist{{s_->info()}});
    finish_after_write();  // DEVLIST ends the connection (the protocol's rule)
  }

  void import(const std::string& busid) {
    std::string why;
    if (busid != s_->config.busid) why = "no device with busid " + busid;
    else if (s_->importer.lock()) why = "already imported by another host";
    if (!why.empty()) return refuse_import(busid, why);
    // Reserve the device, then plug it in on the device's thread; the reply follows from there.
    s_->importer = weak_from_this();
    phase_ = Phase::Importing;
    asio::post(s_->dev, [self = shared_from_this(), busid] {
      Lock lock(self->s_->mutex);
      if (self->phase_ != Phase::Importing) return;  // the host went away meanwhile
      if (auto st = self->s_->function.plug(); !st) {
        self->s_->importer.reset();
        self->phase_ = Phase::Handshake;
        return self->refuse_import(busid, st.error().message);
      }
      ++self->s_->stats.imports;
      self->phase_ = Phase::Imported;
      auto info = self->s_->info();
      info.interfaces.clear();
      self->devid_ = info.devid();
      log::info("hwsim.usbip.imported", {{"busid", busid}});
      self->reply(u::OpRepImport{0, std::move(info)});
    });
  }

  void refuse_import(const std::string& busid, const std::string& why) {
    ++s_->stats.refused_imports;
    log::info("hwsim.usbip.import_refused", {{"busid", busid}, {"reason", why}});
    reply(u::OpRepImport{1, std::nullopt});
    finish_after_write();
  }

  void submit(u::CmdSubmit s) {
    auto& f = s_->function;
    ++s_->stats.submits;
    const auto seqnum = s.header.seqnum;
    const bool in = s.header.direction == u::Direction::In;
    if (s.header.devid != devid_) return ret_submit(seqnum, -u::kENODEV, {}, in, 0);
    if (s.header.ep == 0) {
      // Standard requests only touch the function (never the device model): answered here.
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
      return service_in();
    }
    if (!in && s.header.ep == out_ep) {
      pending_out_.push_back({seqnum, std::move(s.data)});
      asio::post(s_->dev, [self = shared_from_this()] {
        Lock lock(self->s_->mutex);
        self->service_out();
      });
      return;
    }
    ret_submit(seqnum, -u::kEPIPE, {}, in, 0);  // no such endpoint: a stall
  }

  void unlink(const u::CmdUnlink& k) {
    ++s_->stats.unlinks;
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
    if (caught) ++s_->stats.unlinked_pending;
    u::RetUnlink r;
    r.header.seqnum = k.header.seqnum;
    r.status = caught ? -u::kECONNRESET : 0;
    reply(r);
  }

  // ---- replies: queued under the mutex (the order on the wire), written on the net thread ----

  void ret_submit(std::uint32_t seqnum, int status, std::vector<std::uint8_t> data, bool in,
                  std::uint32_t out_length) {
    u::RetSubmit r;
    r.header.seqnum = seqnum;  // devid, direction, ep stay 0 as the kernel's own server sends them
    r.status = static_cast<std::int32_t>(status);
    r.actual_length = in ? static_cast<std::uint32_t>(data.size()) : out_length;
    r.data = std::move(data);
    reply(r);
  }

  void reply(u::Reply r) {
    if (phase_ == Phase::Closed) return;
    auto bytes = u::encode(r);
    if (!bytes) {
      log::error("hwsim.usbip.encode_failed", {{"pdu", std::string(u::name_of(r))}, {"error", bytes.error().message}});
      return protocol_error("cannot encode " + std::string(u::name_of(r)));
    }
    tx_.push_back(std::move(*bytes));
    kick_writer();
  }

  void kick_writer() {
    if (write_posted_ || writing_) return;
    write_posted_ = true;
    asio::post(s_->net, [self = shared_from_this()] {
      Lock lock(self->s_->mutex);
      self->write_posted_ = false;
      self->write_next();
    });
  }

  // net thread, under the mutex.
  void write_next() {
    if (writing_ || phase_ == Phase::Closed) return;
    if (tx_.empty()) {
      if (finishing_) close();
      return;
    }
    writing_ = true;
    asio::async_write(socket_, asio::buffer(tx_.front()), [self = shared_from_this()](auto ec, std::size_t) {
      Lock lock(self->s_->mutex);
      self->writing_ = false;
      if (self->phase_ == Phase::Closed) return;
      if (ec) return self->close();
      self->tx_.pop_front();
      self->write_next();
    });
  }

  void finish_after_write() {
    finishing_ = true;
    kick_writer();  // closes once the queue is empty (on the net thread)
  }

  // net thread.
  void protocol_error(const std::string& message) {
    ++s_->stats.protocol_errors;
    log::warn("hwsim.usbip.protocol_error", {{"error", message}});
    close();
  }

  std::shared_ptr<ServerCore> s_;
  tcp::socket socket_;
  std::array<std::uint8_t, 64 * 1024> buffer_{};  // net thread only
  std::vector<std::uint8_t> rx_;                   // net thread only
  // guarded by the mutex
  Phase phase_ = Phase::Handshake;
  std::uint32_t devid_ = 0;
  std::deque<std::vector<std::uint8_t>> tx_;
  bool writing_ = false;
  bool write_posted_ = false;
  bool finishing_ = false;
  std::deque<PendingIn> pending_in_;
  std::deque<PendingOut> pending_out_;
};

}  // namespace

void ServerCore::accept() {
  acceptor.async_accept([self = shared_from_this()](auto ec, tcp::socket socket) {
    if (self->stopped) return;
    if (!ec) {
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);  // small PDUs; latency matters
      auto c = std::make_shared<UsbipConnection>(self, std::move(socket));
      {
        Lock lock(self->mutex);
        ++self->stats.connections;
        self->connections.insert(c);
      }
      c->start();
    }
    self->accept();
  });
}

// The function's callbacks run deferred through its Scheduler: on the device thread, and (with a
// DeviceThreadGuard) under the mutex already.
void ServerCore::install_callbacks() {
  std::weak_ptr<ServerCore> weak = weak_from_this();
  function.set_in_ready([weak] {
    auto s = weak.lock();
    if (!s) return;
    Lock lock(s->mutex);
    if (auto c = s->importer.lock()) c->service_in();
  });
  function.set_out_ready([weak] {
    auto s = weak.lock();
    if (!s) return;
    Lock lock(s->mutex);
    if (auto c = s->importer.lock()) c->service_out();
  });
  function.set_unplugged([weak] {
    auto s = weak.lock();
    if (!s) return;
    Lock lock(s->mutex);
    auto c = s->importer.lock();
    if (!c) return;
    ++s->stats.device_unplugs;
    s->importer.reset();
    log::info("hwsim.usbip.device_unplugged", {{"busid", s->config.busid}});
    c->device_left();
  });
}

struct UsbipServer::Impl : ServerCore {
  using ServerCore::ServerCore;
};

UsbipServer::UsbipServer(asio::io_context& io, UsbFunction& function, UsbipServerConfig config)
    : impl_(std::make_shared<Impl>(io, io, function, nullptr, std::move(config))) {
  impl_->install_callbacks();
}

UsbipServer::UsbipServer(asio::io_context& net_io, asio::io_context& device_io, UsbFunction& function,
                         DeviceThreadGuard& guard, UsbipServerConfig config)
    : impl_(std::make_shared<Impl>(net_io, device_io, function, &guard.mutex(), std::move(config))) {
  impl_->install_callbacks();
}

UsbipServer::~UsbipServer() {
  stop();
  Lock lock(impl_->mutex);
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
  Lock lock(impl_->mutex);
  auto all = impl_->connections;
  for (auto& c : all) c->close();
}

std::uint16_t UsbipServer::port() const noexcept { return impl_->port; }
bool UsbipServer::imported() const {
  Lock lock(impl_->mutex);
  return !impl_->importer.expired();
}
UsbipServerStats UsbipServer::stats() const {
  Lock lock(impl_->mutex);
  return impl_->stats;
}
usbip::DeviceInfo UsbipServer::device_info() const {
  Lock lock(impl_->mutex);
  return impl_->info();
}

}  // namespace till::hwsim
