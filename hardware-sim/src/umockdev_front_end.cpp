// The umockdev front end: a usbfs emulation for libusb, in-process. See the header for the
// threading model; the comments here say which thread runs what.
#include "till/hwsim/umockdev_front_end.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include <linux/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <umockdev.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "till/base/log.hpp"

namespace till::hwsim {

namespace asio = boost::asio;

UsbFunction::Scheduler io_scheduler(asio::io_context& io) {
  return [&io](std::chrono::milliseconds delay, std::function<void()> fn) {
    if (delay.count() <= 0) return asio::post(io, std::move(fn));
    auto timer = std::make_shared<asio::steady_timer>(io, delay);
    timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
      if (!ec) fn();
    });
  };
}

namespace {

constexpr std::uint8_t kUrbControl = USBDEVFS_URB_TYPE_CONTROL;
constexpr std::uint8_t kUrbBulk = USBDEVFS_URB_TYPE_BULK;

// One submitted URB. `data` is the handler's resolved copy of the client's struct usbdevfs_urb
// (with its buffer resolved as a child); it is touched only on the worker thread. The result
// fields are written by the device loop under the mutex.
struct UrbRecord {
  UMockdevIoctlClient* client = nullptr;  // identity only (no ref); see Shared::watch
  UMockdevIoctlData* data = nullptr;      // owned ref
  gulong client_addr = 0;                 // the client's urb pointer, for DISCARDURB
  std::uint8_t type = 0;
  std::uint8_t endpoint = 0;
  int buffer_length = 0;
  std::uint64_t gen = 0;                  // which plug it belongs to
  std::vector<std::uint8_t> out;          // control: setup + data stage; bulk OUT: the bytes
  bool done = false;
  int status = 0;
  int actual = 0;
  std::vector<std::uint8_t> in;           // IN data (control: the data stage only)
};

}  // namespace

// State shared by the worker thread (ioctls) and the device loop. Kept alive by the signal
// closure of the ioctl handler, which every umockdev client references, so it outlives every
// ioctl and every client's finalisation.
struct UmockdevShared {
  std::mutex m;
  asio::io_context* io = nullptr;
  std::weak_ptr<UmockdevFrontEnd::Impl> impl;  // only locked to post work to the device loop
  bool closed = false;                         // the front end is gone: post nothing more

  std::uint64_t gen = 0;
  bool present = false;
  std::string devnode;  // current device node
  std::uint8_t in_ep = 0;
  std::uint8_t out_ep = 0;
  int claims_to_fail = 0;
  int claim_errno = ENOENT;

  std::uint64_t next_id = 1;
  std::map<std::uint64_t, UrbRecord> urbs;
  std::map<UMockdevIoctlClient*, std::deque<std::uint64_t>> completed;  // reap order per open fd
  std::set<UMockdevIoctlClient*> watched;
  UmockdevStats stats;

  ~UmockdevShared() {
    for (auto& [id, r] : urbs)
      if (r.data) umockdev_ioctl_data_unref(r.data);
  }

  // worker thread, mutex held
  gboolean handle(UMockdevIoctlClient* client);
  void watch(UMockdevIoctlClient* client);
  static void client_gone(gpointer self, GObject* where_the_object_was);
  void post_to_loop(std::function<void(UmockdevFrontEnd::Impl&)> fn);

  // device loop, mutex held: finish a URB (ignored if it was discarded meanwhile)
  void finish(std::uint64_t id, int status, std::vector<std::uint8_t> in, int actual) {
    auto it = urbs.find(id);
    if (it == urbs.end() || it->second.done) return;
    it->second.done = true;
    it->second.status = status;
    it->second.in = std::move(in);
    it->second.actual = actual;
    completed[it->second.client].push_back(id);
  }
};

// ---- the device loop side ------------------------------------------------------------------------

struct UmockdevFrontEnd::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_, UsbFunction& function_, UmockdevOptions options_)
      : io(io_), function(function_), options(options_), next_devnum(options_.first_devnum) {}

  asio::io_context& io;
  UsbFunction& function;
  UmockdevOptions options;
  std::shared_ptr<UmockdevShared> shared = std::make_shared<UmockdevShared>();
  UMockdevTestbed* testbed = nullptr;
  UMockdevIoctlBase* handler = nullptr;
  bool plugged = false;
  int next_devnum;
  std::string devnode;
  std::string syspath;
  std::vector<std::string> attached;          // device nodes the handler serves
  std::deque<std::uint64_t> pending_in;       // bulk IN URBs waiting for data (device loop)
  std::deque<std::uint64_t> pending_out;      // bulk OUT URBs NAKed by the function
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  void process(std::uint64_t id);
  void serve_in();
  void serve_out();
  void serve_in_locked();   // mutex held
  void serve_out_locked();  // mutex held
  void end_plug(bool by_front_end);
  void detach(std::string node);
};

namespace {

gboolean complete(UMockdevIoctlClient* client, long result, int err) {
  umockdev_ioctl_client_complete(client, result, err);
  return TRUE;
}
gboolean fail_errno(UmockdevShared& s, UMockdevIoctlClient* client, int err) {
  if (err == ENODEV) ++s.stats.enodev;
  return complete(client, -1, err);
}

// Reads an unsigned int ioctl argument (interface or endpoint number).
std::optional<unsigned> read_uint(UMockdevIoctlData* arg) {
  UMockdevIoctlData* d = umockdev_ioctl_data_resolve(arg, 0, sizeof(unsigned), nullptr);
  if (!d) return std::nullopt;
  unsigned v = 0;
  std::memcpy(&v, d->data, sizeof v);
  umockdev_ioctl_data_unref(d);
  return v;
}

}  // namespace

void UmockdevShared::client_gone(gpointer self, GObject* where_the_object_was) {
  // The client (one open fd) was finalised: its URBs can never be reaped. Worker thread.
  auto* s = static_cast<UmockdevShared*>(self);
  auto* client = reinterpret_cast<UMockdevIoctlClient*>(where_the_object_was);
  std::lock_guard lock(s->m);
  for (auto it = s->urbs.begin(); it != s->urbs.end();) {
    if (it->second.client == client) {
      if (it->second.data) umockdev_ioctl_data_unref(it->second.data);
      it = s->urbs.erase(it);
    } else {
      ++it;
    }
  }
  s->completed.erase(client);
  s->watched.erase(client);
  s->stats.in_flight = s->urbs.size();
}

void UmockdevShared::watch(UMockdevIoctlClient* client) {
  if (watched.insert(client).second) g_object_weak_ref(G_OBJECT(client), &UmockdevShared::client_gone, this);
}

gboolean UmockdevShared::handle(UMockdevIoctlClient* client) {
  const gulong request = umockdev_ioctl_client_get_request(client);
  UMockdevIoctlData* arg = umockdev_ioctl_client_get_arg(client);
  ++stats.ioctls;
  watch(client);
  const char* node = umockdev_ioctl_client_get_devnode(client);
  const bool current = present && node != nullptr && devnode == node;

  switch (request) {
    case USBDEVFS_GET_CAPABILITIES: {
      if (!current) return fail_errno(*this, client, ENODEV);
      UMockdevIoctlData* d = umockdev_ioctl_data_resolve(arg, 0, sizeof(std::uint32_t), nullptr);
      if (!d) return fail_errno(*this, client, EFAULT);
      // One URB per transfer of any size; completed URBs stay reapable after a disconnect.
      const std::uint32_t caps = USBDEVFS_CAP_BULK_CONTINUATION | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
                                 USBDEVFS_CAP_REAP_AFTER_DISCONNECT | USBDEVFS_CAP_ZERO_PACKET;
      std::memcpy(d->data, &caps, sizeof caps);
      umockdev_ioctl_data_unref(d);
      return complete(client, 0, 0);
    }
    case USBDEVFS_CLAIMINTERFACE: {
      const auto iface = read_uint(arg);
      if (!iface) return fail_errno(*this, client, EFAULT);
      if (!current) return fail_errno(*this, client, ENODEV);
      if (claims_to_fail > 0) {
        --claims_to_fail;
        ++stats.claims_failed;
        return fail_errno(*this, client, claim_errno);
      }
      if (*iface != 0) return fail_errno(*this, client, ENOENT);
      ++stats.claims;
      return complete(client, 0, 0);
    }
    case USBDEVFS_RELEASEINTERFACE:
      if (!current) return fail_errno(*this, client, ENODEV);
      return complete(client, 0, 0);
    case USBDEVFS_CLEAR_HALT: {
      const auto ep = read_uint(arg);
      if (!ep) return fail_errno(*this, client, EFAULT);
      if (!current) return fail_errno(*this, client, ENODEV);
      if (*ep != in_ep && *ep != out_ep) return fail_errno(*this, client, ENOENT);
      ++stats.clear_halts;
      // The kernel sends CLEAR_FEATURE(ENDPOINT_HALT) on ep0; queued in order with the URBs.
      const auto e = static_cast<std::uint8_t>(*ep);
      post_to_loop([e](UmockdevFrontEnd::Impl& impl) { (void)impl.function.control(UsbSetup{0x02, 0x01, 0, e, 0}); });
      return complete(client, 0, 0);
    }
    case USBDEVFS_RESET:
      if (!current) return fail_errno(*this, client, ENODEV);
      ++stats.resets;
      // A port reset returns the device to its default state and the kernel configures it
      // again; bulk data the device queued is kept (this reader has no reset semantics).
      post_to_loop([](UmockdevFrontEnd::Impl& impl) {
        (void)impl.function.control(UsbSetup{0x00, 0x09, 0, 0, 0});
        (void)impl.function.control(UsbSetup{0x00, 0x09, 1, 0, 0});
      });
      return complete(client, 0, 0);
    case USBDEVFS_SETINTERFACE: {
      UMockdevIoctlData* d = umockdev_ioctl_data_resolve(arg, 0, sizeof(usbdevfs_setinterface), nullptr);
      if (!d) return fail_errno(*this, client, EFAULT);
      usbdevfs_setinterface si{};
      std::memcpy(&si, d->data, sizeof si);
      umockdev_ioctl_data_unref(d);
      if (!current) return fail_errno(*this, client, ENODEV);
      if (si.interface != 0 || si.altsetting != 0) return fail_errno(*this, client, EINVAL);
      post_to_loop([](UmockdevFrontEnd::Impl& impl) { (void)impl.function.control(UsbSetup{0x01, 0x0B, 0, 0, 0}); });
      return complete(client, 0, 0);
    }
    case USBDEVFS_SUBMITURB: {
      if (!current) return fail_errno(*this, client, ENODEV);
      UMockdevIoctlData* urb_data = umockdev_ioctl_data_resolve(arg, 0, sizeof(usbdevfs_urb), nullptr);
      if (!urb_data) return fail_errno(*this, client, EFAULT);
      // Field by field: struct usbdevfs_urb ends in a flexible array, so no copy of it is made.
      struct {
        std::uint8_t type, endpoint;
        int buffer_length;
      } urb{};
      urb.type = urb_data->data[offsetof(usbdevfs_urb, type)];
      urb.endpoint = urb_data->data[offsetof(usbdevfs_urb, endpoint)];
      std::memcpy(&urb.buffer_length, urb_data->data + offsetof(usbdevfs_urb, buffer_length), sizeof(int));
      const bool bulk_ok = urb.type == kUrbBulk && (urb.endpoint == in_ep || urb.endpoint == out_ep);
      const bool control_ok = urb.type == kUrbControl && urb.endpoint == 0 && urb.buffer_length >= 8;
      if ((!bulk_ok && !control_ok) || urb.buffer_length < 0) {
        umockdev_ioctl_data_unref(urb_data);
        return fail_errno(*this, client, urb.type == kUrbBulk ? ENOENT : EINVAL);
      }
      UrbRecord r;
      r.client = client;
      r.data = urb_data;
      r.client_addr = urb_data->client_addr;
      r.type = urb.type;
      r.endpoint = urb.endpoint;
      r.buffer_length = urb.buffer_length;
      r.gen = gen;
      if (urb.buffer_length > 0) {
        UMockdevIoctlData* buf = umockdev_ioctl_data_resolve(urb_data, offsetof(usbdevfs_urb, buffer),
                                                             static_cast<gsize>(urb.buffer_length), nullptr);
        if (!buf) {
          umockdev_ioctl_data_unref(urb_data);
          return fail_errno(*this, client, EFAULT);
        }
        if (urb.type == kUrbControl || (urb.endpoint & 0x80) == 0) r.out.assign(buf->data, buf->data + buf->data_len);
        umockdev_ioctl_data_unref(buf);  // stays a child of urb_data, flushed back on reap
      }
      const std::uint64_t id = next_id++;
      urbs.emplace(id, std::move(r));
      ++stats.submitted;
      stats.in_flight = urbs.size();
      post_to_loop([id](UmockdevFrontEnd::Impl& impl) { impl.process(id); });
      return complete(client, 0, 0);
    }
    case USBDEVFS_REAPURB:  // libusb only uses NDELAY; answer both without blocking
    case USBDEVFS_REAPURBNDELAY: {
      auto q = completed.find(client);
      if (q == completed.end() || q->second.empty()) return fail_errno(*this, client, current ? EAGAIN : ENODEV);
      const std::uint64_t id = q->second.front();
      q->second.pop_front();
      auto it = urbs.find(id);
      if (it == urbs.end()) return fail_errno(*this, client, EAGAIN);
      UrbRecord r = std::move(it->second);
      urbs.erase(it);
      stats.in_flight = urbs.size();
      std::memcpy(r.data->data + offsetof(usbdevfs_urb, status), &r.status, sizeof(int));
      std::memcpy(r.data->data + offsetof(usbdevfs_urb, actual_length), &r.actual, sizeof(int));
      if (!r.in.empty()) {
        UMockdevIoctlData* buf = umockdev_ioctl_data_resolve(r.data, offsetof(usbdevfs_urb, buffer),
                                                             static_cast<gsize>(r.buffer_length), nullptr);
        if (buf) {
          const std::size_t at = r.type == kUrbControl ? 8 : 0;  // control: after the setup packet
          const std::size_t n = std::min(r.in.size(), static_cast<std::size_t>(buf->data_len) - at);
          std::memcpy(buf->data + at, r.in.data(), n);
          umockdev_ioctl_data_unref(buf);
        }
      }
      UMockdevIoctlData* ptr = umockdev_ioctl_data_resolve(arg, 0, sizeof(void*), nullptr);
      if (!ptr) {
        umockdev_ioctl_data_unref(r.data);
        return fail_errno(*this, client, EFAULT);
      }
      umockdev_ioctl_data_set_ptr(ptr, 0, r.data);
      umockdev_ioctl_data_unref(ptr);
      umockdev_ioctl_data_unref(r.data);  // the reply (ptr's child) holds it until flushed
      ++stats.reaped;
      return complete(client, 0, 0);
    }
    case USBDEVFS_DISCARDURB: {
      gulong addr = 0;
      std::memcpy(&addr, arg->data, sizeof addr);  // the argument is the client's urb pointer itself
      for (auto& [id, r] : urbs) {
        if (r.client == client && r.client_addr == addr && !r.done) {
          r.done = true;
          r.status = -ENOENT;  // reaped later, like the kernel's killed URBs
          r.actual = 0;
          completed[client].push_back(id);
          ++stats.discarded;
          return complete(client, 0, 0);
        }
      }
      return fail_errno(*this, client, EINVAL);
    }
    default:
      log::warn("hwsim.umockdev.unhandled_ioctl", {{"request", static_cast<std::int64_t>(request)}});
      return fail_errno(*this, client, ENOTTY);
  }
}

void UmockdevShared::post_to_loop(std::function<void(UmockdevFrontEnd::Impl&)> fn) {
  // Worker thread, mutex held. FIFO with every other post, so URBs and halts keep their order.
  if (closed || io == nullptr) return;
  asio::post(*io, [w = impl, fn = std::move(fn)] {
    if (auto i = w.lock()) fn(*i);
  });
}

void UmockdevFrontEnd::Impl::process(std::uint64_t id) {
  std::lock_guard lock(shared->m);
  auto it = shared->urbs.find(id);
  if (it == shared->urbs.end() || it->second.done) return;
  UrbRecord& r = it->second;
  if (r.gen != shared->gen || !shared->present) return;  // ended by the unplug already
  if (r.type == kUrbControl) {
    const UsbSetup setup = UsbSetup::parse(std::span<const std::uint8_t, 8>(r.out.data(), 8));
    const UsbReply reply = function.control(setup, std::span<const std::uint8_t>(r.out).subspan(8));
    if (!reply.ok()) return shared->finish(id, reply.status, {}, 0);
    if (setup.device_to_host()) {
      std::vector<std::uint8_t> data = reply.data;
      if (data.size() > static_cast<std::size_t>(r.buffer_length - 8)) data.resize(static_cast<std::size_t>(r.buffer_length - 8));
      const int n = static_cast<int>(data.size());
      return shared->finish(id, kUsbOk, std::move(data), n);
    }
    return shared->finish(id, kUsbOk, {}, static_cast<int>(r.out.size() - 8));
  }
  if ((r.endpoint & 0x80) != 0) {
    pending_in.push_back(id);
    serve_in_locked();
  } else {
    pending_out.push_back(id);
    serve_out_locked();
  }
}

void UmockdevFrontEnd::Impl::serve_in() {
  std::lock_guard lock(shared->m);
  serve_in_locked();
}

void UmockdevFrontEnd::Impl::serve_in_locked() {
  while (!pending_in.empty()) {
    auto p = shared->urbs.find(pending_in.front());
    if (p == shared->urbs.end() || p->second.done) {
      pending_in.pop_front();
      continue;
    }
    auto got = function.bulk_in(static_cast<std::size_t>(p->second.buffer_length));
    if (!got) break;
    const std::uint64_t pid = pending_in.front();
    pending_in.pop_front();
    const int n = static_cast<int>(got->data.size());
    shared->finish(pid, got->status, std::move(got->data), n);
  }
}

void UmockdevFrontEnd::Impl::serve_out() {
  std::lock_guard lock(shared->m);
  serve_out_locked();
}

void UmockdevFrontEnd::Impl::serve_out_locked() {
  while (!pending_out.empty()) {
    auto p = shared->urbs.find(pending_out.front());
    if (p == shared->urbs.end() || p->second.done) {
      pending_out.pop_front();
      continue;
    }
    auto st = function.bulk_out(p->second.out);
    if (!st) break;
    const std::uint64_t pid = pending_out.front();
    pending_out.pop_front();
    shared->finish(pid, *st, {}, *st == kUsbOk ? static_cast<int>(p->second.out.size()) : 0);
  }
}

void UmockdevFrontEnd::Impl::detach(std::string node) {
  auto it = std::find(attached.begin(), attached.end(), node);
  if (it == attached.end()) return;
  attached.erase(it);
  GError* err = nullptr;
  if (!umockdev_testbed_detach_ioctl(testbed, node.c_str(), &err)) {
    log::warn("hwsim.umockdev.detach_failed", {{"devnode", node}, {"error", err ? err->message : "?"}});
  }
  if (err) g_error_free(err);
}

void UmockdevFrontEnd::Impl::end_plug(bool by_front_end) {
  if (!plugged) return;
  plugged = false;
  {
    // URBs still in flight end as the kernel ends them on disconnect; they stay reapable.
    std::lock_guard lock(shared->m);
    shared->present = false;
    for (auto& [id, r] : shared->urbs) {
      if (!r.done && r.gen == shared->gen) {
        r.done = true;
        r.status = kUsbShutdown;
        r.actual = 0;
        r.in.clear();
        shared->completed[r.client].push_back(id);
        ++shared->stats.shutdown;
      }
    }
    ++shared->stats.unplugs;
  }
  pending_in.clear();
  pending_out.clear();
  if (by_front_end) function.unplug();
  // usb-testing.md's order: the "remove" uevent, the device leaves sysfs, the handler goes.
  umockdev_testbed_uevent(testbed, syspath.c_str(), "remove");
  umockdev_testbed_remove_device(testbed, syspath.c_str());
  log::info("hwsim.umockdev.unplugged", {{"devnode", devnode}, {"by", by_front_end ? "front_end" : "device"}});
  auto timer = std::make_shared<asio::steady_timer>(io, options.detach_grace);
  timer->async_wait([timer, w = weak_from_this(), node = devnode](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = w.lock()) self->detach(node);
  });
}

// ---- the public face ------------------------------------------------------------------------------

UmockdevFrontEnd::UmockdevFrontEnd(asio::io_context& io, UsbFunction& function, UmockdevOptions options)
    : impl_(std::make_shared<Impl>(io, function, options)) {
  impl_->shared->io = &io;
  impl_->shared->impl = impl_;
  impl_->testbed = umockdev_testbed_new();
  impl_->handler = umockdev_ioctl_base_new();
  auto* closure_data = new std::shared_ptr<UmockdevShared>(impl_->shared);
  g_signal_connect_data(
      impl_->handler, "handle-ioctl",
      G_CALLBACK(+[](UMockdevIoctlBase*, UMockdevIoctlClient* client, gpointer data) -> gboolean {
        auto& shared = **static_cast<std::shared_ptr<UmockdevShared>*>(data);
        std::lock_guard lock(shared.m);
        return shared.handle(client);
      }),
      closure_data, +[](gpointer data, GClosure*) { delete static_cast<std::shared_ptr<UmockdevShared>*>(data); },
      GConnectFlags(0));
  std::weak_ptr<Impl> weak = impl_;
  function.set_in_ready([weak] {
    if (auto i = weak.lock()) i->serve_in();
  });
  function.set_out_ready([weak] {
    if (auto i = weak.lock()) i->serve_out();
  });
  function.set_unplugged([weak] {
    if (auto i = weak.lock()) i->end_plug(false);
  });
}

UmockdevFrontEnd::~UmockdevFrontEnd() {
  Impl& i = *impl_;
  i.function.set_in_ready(nullptr);
  i.function.set_out_ready(nullptr);
  i.function.set_unplugged(nullptr);
  i.end_plug(true);
  {
    std::lock_guard lock(i.shared->m);
    i.shared->closed = true;
  }
  while (!i.attached.empty()) i.detach(i.attached.front());
  // The handler lives on while umockdev clients (open fds) reference it; the shared state
  // lives with the handler's closure.
  g_object_unref(i.handler);
  g_object_unref(i.testbed);
  i.handler = nullptr;
  i.testbed = nullptr;
}

bool UmockdevFrontEnd::available() {
  const char* preload = std::getenv("LD_PRELOAD");
  return preload != nullptr && std::strstr(preload, "umockdev-preload") != nullptr;
}

Status UmockdevFrontEnd::plug() {
  Impl& i = *impl_;
  if (i.plugged) return fail(ErrorKind::FailedPrecondition, "umockdev: already plugged");
  if (auto st = i.function.plug(); !st) return st;
  const int devnum = i.next_devnum++;
  // Enumeration, as the kernel does it before anyone can open the device.
  if (!i.function.control(UsbSetup{0x00, 0x05, static_cast<std::uint16_t>(devnum), 0, 0}).ok() ||
      !i.function.control(UsbSetup{0x00, 0x09, 1, 0, 0}).ok()) {
    i.function.unplug();
    return fail(ErrorKind::Internal, "umockdev: the usb function refused enumeration");
  }
  char node[64];
  std::snprintf(node, sizeof node, "/dev/bus/usb/%03d/%03d", i.options.busnum, devnum);
  i.devnode = node;
  const std::string dev_path =
      "/devices/pci0000:00/0000:00:14.0/usb" + std::to_string(i.options.busnum) + "/" + std::to_string(i.options.busnum) + "-1";
  i.syspath = "/sys" + dev_path;
  {
    std::lock_guard lock(i.shared->m);
    ++i.shared->gen;
    i.shared->present = true;
    i.shared->devnode = i.devnode;
    i.shared->in_ep = i.function.bulk_in_address();
    i.shared->out_ep = i.function.bulk_out_address();
    ++i.shared->stats.plugs;
  }
  // The handler first, so that an open() racing the "add" uevent already finds it.
  GError* err = nullptr;
  if (!umockdev_testbed_attach_ioctl(i.testbed, i.devnode.c_str(), i.handler, &err)) {
    std::string why = err ? err->message : "?";
    if (err) g_error_free(err);
    i.function.unplug();
    std::lock_guard lock(i.shared->m);
    i.shared->present = false;
    return fail(ErrorKind::Internal, "umockdev: attach_ioctl " + i.devnode + ": " + why);
  }
  i.attached.push_back(i.devnode);

  const auto& c = i.function.config();
  std::string hex;
  for (std::uint8_t b : i.function.descriptors().sysfs()) {
    char h[3];
    std::snprintf(h, sizeof h, "%02x", b);
    hex += h;
  }
  char bus[8], dev[8], ids[32];
  std::snprintf(bus, sizeof bus, "%03d", i.options.busnum);
  std::snprintf(dev, sizeof dev, "%03d", devnum);
  std::snprintf(ids, sizeof ids, "%04x/%x/%x", c.vendor_id, c.product_id, c.device_release);
  std::string record;
  record += "P: " + dev_path + "\n";
  record += "N: bus/usb/" + std::string(bus) + "/" + dev + "\n";
  record += "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\nE: DRIVER=usb\n";
  record += "E: BUSNUM=" + std::string(bus) + "\nE: DEVNUM=" + dev + "\n";
  record += "E: DEVNAME=" + i.devnode + "\nE: PRODUCT=" + ids + "\n";
  record += "A: busnum=" + std::to_string(i.options.busnum) + "\\n\n";
  record += "A: devnum=" + std::to_string(devnum) + "\\n\n";
  record += "A: speed=" + std::to_string(sysfs_speed(c.speed)) + "\\n\n";
  record += "A: bConfigurationValue=1\\n\n";
  record += "H: descriptors=" + hex + "\n";
  if (!umockdev_testbed_add_from_string(i.testbed, record.c_str(), &err)) {
    std::string why = err ? err->message : "?";
    if (err) g_error_free(err);
    i.plugged = true;
    i.end_plug(true);
    return fail(ErrorKind::Internal, "umockdev: add_from_string: " + why);
  }
  i.plugged = true;
  umockdev_testbed_uevent(i.testbed, i.syspath.c_str(), "add");
  log::info("hwsim.umockdev.plugged", {{"devnode", i.devnode}});
  return ok();
}

void UmockdevFrontEnd::unplug() { impl_->end_plug(true); }
bool UmockdevFrontEnd::plugged() const noexcept { return impl_->plugged; }

void UmockdevFrontEnd::fail_next_claims(int count, int err) {
  std::lock_guard lock(impl_->shared->m);
  impl_->shared->claims_to_fail = count;
  impl_->shared->claim_errno = err;
}

std::string UmockdevFrontEnd::devnode() const { return impl_->devnode; }
std::string UmockdevFrontEnd::syspath() const { return impl_->syspath; }

UmockdevStats UmockdevFrontEnd::stats() const {
  std::lock_guard lock(impl_->shared->m);
  return impl_->shared->stats;
}

}  // namespace till::hwsim
