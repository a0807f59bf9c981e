// The usb transport: Till's reader protocol over the bulk endpoints of a USB reader, through
// libusb-1.0 (its Linux usbfs backend, hotplug through udev where available).
//
// Threads and hand-offs (every one of them is listed here):
//   core thread   the io_context's thread. Everything of Transport runs here: finding and
//                 opening the device, claiming the interface, submitting and cancelling
//                 transfers, clearing halts (a short synchronous control transfer, only after
//                 a STALL), closing.
//   event thread  one per UsbFamily (one libusb context), running
//                 libusb_handle_events_timeout_completed in a loop. libusb runs transfer and
//                 hotplug callbacks here. They do no work: a transfer callback copies the
//                 result (status, bytes) and asio::post()s it to the core thread, then drops
//                 the family's in-flight count and notifies a waiting close(); a hotplug
//                 callback posts the arrival/departure to the core thread.
//   close()       (core) marks the link closing under its mutex, cancels every transfer in
//                 flight and WAITS on a condition variable until each cancelled transfer's
//                 callback has run on the event thread (the drain). Only then are the handle
//                 closed and the transfers freed. Completions already posted to the core
//                 thread see the link closed and do nothing, so no callback of the Transport
//                 runs after close() returns.
//   family end    the last owner (a factory, a transport or a posted completion: all on the
//                 core thread) deregisters hotplug, stops and joins the event thread, then
//                 calls libusb_exit. The event thread never owns the family.
#include <libusb.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "till/base/log.hpp"
#include "till/terminal/drivers.hpp"

namespace till::terminal {

namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

constexpr int kInBufferSize = 16384;  // a multiple of every bulk max packet size (64, 512)
constexpr std::uint8_t kVendorClass = 0xFF;

std::string hex4(std::uint16_t v) {
  char b[8];
  std::snprintf(b, sizeof b, "%04x", v);
  return b;
}

std::string usb_error(int code) { return libusb_error_name(code); }

class UsbLink;

// One libusb context, its event thread and its hotplug registration.
class UsbFamily final : public UsbTransports, public std::enable_shared_from_this<UsbFamily> {
 public:
  UsbFamily(asio::io_context& io, UsbMatch match, UsbOptions options)
      : io_(io), match_(std::move(match)), options_(options) {}

  // Core thread, right after construction (needs shared_from_this for the hotplug user data).
  void start() {
    const int r = libusb_init(&ctx_);
    if (r != 0) {
      ctx_ = nullptr;
      init_error_ = "libusb_init failed: " + usb_error(r);
      log::error("terminal.usb.init_failed", {{"error", init_error_}});
      return;
    }
    hotplug_ = !options_.force_polling && libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG) != 0;
    if (hotplug_) {
      const int h = libusb_hotplug_register_callback(
          ctx_, static_cast<libusb_hotplug_event>(LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT),
          static_cast<libusb_hotplug_flag>(0), match_.vendor_id, match_.product_id, LIBUSB_HOTPLUG_MATCH_ANY,
          &UsbFamily::on_hotplug, this, &hotplug_handle_);
      if (h != 0) {
        log::warn("terminal.usb.hotplug_unavailable", {{"error", usb_error(h)}});
        hotplug_ = false;
      } else {
        hotplug_registered_ = true;
      }
    }
    thread_ = std::thread([this] { run_events(); });
  }

  ~UsbFamily() override {
    if (ctx_ == nullptr) return;
    if (hotplug_registered_) libusb_hotplug_deregister_callback(ctx_, hotplug_handle_);
    stop_.store(1);
    libusb_interrupt_event_handler(ctx_);
    if (thread_.joinable()) {
      if (thread_.get_id() == std::this_thread::get_id()) {
        thread_.detach();  // cannot happen by design (the event thread owns nothing); never join ourselves
      } else {
        thread_.join();
      }
    }
    libusb_exit(ctx_);
    log::info("terminal.usb.context_closed", {{"transfers_submitted", submitted_.load()}});
  }

  TransportFactory factory() override;
  UsbStats stats() const override {
    UsbStats s;
    s.hotplug = hotplug_;
    s.transfers_in_flight = in_flight_.load();
    s.transfers_submitted = submitted_.load();
    s.in_timeouts = in_timeouts_.load();
    s.out_timeouts = out_timeouts_.load();
    s.stalls_cleared = stalls_cleared_.load();
    s.claim_retries = claim_retries_.load();
    s.opens = opens_.load();
    s.links_open = links_open_.load();
    s.links_lost = links_lost_.load();
    s.arrivals = arrivals_.load();
    s.departures = departures_.load();
    return s;
  }

  // Core thread: links waiting for the device are told when a matching one arrives.
  void add_waiter(const std::shared_ptr<UsbLink>& l) { waiters_.push_back(l); }
  void on_arrival();

  asio::io_context& io_;
  UsbMatch match_;
  UsbOptions options_;
  libusb_context* ctx_ = nullptr;
  std::string init_error_;
  bool hotplug_ = false;

  std::atomic<std::int64_t> in_flight_{0}, submitted_{0}, in_timeouts_{0}, out_timeouts_{0}, stalls_cleared_{0},
      claim_retries_{0}, opens_{0}, links_open_{0}, links_lost_{0}, arrivals_{0}, departures_{0};

 private:
  // Event thread.
  void run_events() {
    while (stop_.load() == 0) {
      timeval tv{0, 200'000};
      const int r = libusb_handle_events_timeout_completed(ctx_, &tv, &stop_flag_);
      if (r != 0 && r != LIBUSB_ERROR_INTERRUPTED && r != LIBUSB_ERROR_TIMEOUT) {
        log::warn("terminal.usb.handle_events", {{"error", usb_error(r)}});
        std::this_thread::sleep_for(milliseconds(5));  // never spin on a persistent error
      }
    }
  }

  // Event thread (or the registering thread with ENUMERATE, which is not used).
  static int LIBUSB_CALL on_hotplug(libusb_context*, libusb_device*, libusb_hotplug_event event, void* user) {
    auto* self = static_cast<UsbFamily*>(user);
    if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED) {
      ++self->arrivals_;
      asio::post(self->io_, [weak = self->weak_from_this()] {
        if (auto f = weak.lock()) f->on_arrival();
      });
    } else {
      ++self->departures_;
    }
    return 0;  // stay registered
  }

  std::thread thread_;
  std::atomic<int> stop_{0};
  int stop_flag_ = 0;  // libusb reads it under its own lock; we only wake the loop
  libusb_hotplug_callback_handle hotplug_handle_{};
  bool hotplug_registered_ = false;
  std::vector<std::weak_ptr<UsbLink>> waiters_;  // core thread
};

// What a transfer callback hands to the core thread.
struct Completion {
  enum class Kind { In, Out, Control } kind = Kind::In;
  libusb_transfer_status status = LIBUSB_TRANSFER_COMPLETED;
  std::vector<std::uint8_t> data;  // IN: the bytes received; control: the data stage
  int actual = 0;
};

// One open (or opening) link to the reader. Shared by the Transport object and the completions
// posted to the core thread, so a late completion never touches freed memory.
class UsbLink final : public std::enable_shared_from_this<UsbLink> {
 public:
  UsbLink(std::shared_ptr<UsbFamily> family)
      : family_(std::move(family)),
        io_(family_->io_),
        timer_(io_),
        in_xfer_(libusb_alloc_transfer(0)),
        out_xfer_(libusb_alloc_transfer(0)),
        ctl_xfer_(libusb_alloc_transfer(0)),
        in_buf_(kInBufferSize) {}

  ~UsbLink() {
    if (leaked_) return;  // see drain(): callbacks may still come; never free under them
    libusb_free_transfer(in_xfer_);
    libusb_free_transfer(out_xfer_);
    libusb_free_transfer(ctl_xfer_);
  }

  std::string describe() const {
    std::string d = "usb " + hex4(family_->match_.vendor_id) + ":" + hex4(family_->match_.product_id);
    if (family_->match_.serial) d += " serial " + *family_->match_.serial;
    return d;
  }

  // ---- Transport, core thread -----------------------------------------------------------------

  void open(Transport::Callbacks callbacks, std::function<void(Status)> done) {
    callbacks_ = std::move(callbacks);
    open_done_ = std::move(done);
    if (family_->ctx_ == nullptr) return finish_open(fail(ErrorKind::Unavailable, describe() + ": " + family_->init_error_));
    state_ = State::Waiting;
    asio::post(io_, [self = shared_from_this()] { self->try_open(); });
  }

  void write(std::vector<std::uint8_t> bytes) {
    if (closed_ || bytes.empty()) return;
    out_queue_.push_back(std::move(bytes));
    if (state_ == State::Open) write_next();
  }

  void close() {
    user_closed_ = true;
    if (closed_) return;
    closed_ = true;
    teardown();
  }

  // ---- opening --------------------------------------------------------------------------------

  void on_arrival() {
    if (state_ != State::Waiting || closed_) return;
    // A device that failed to open (gone again) or had another serial may have been replaced
    // at the same bus address since: look at everything again.
    ruled_out_.clear();
    try_open();
  }

 private:
  enum class State { Idle, Waiting, Checking, Claiming, Open, Closed };

  void finish_open(Status st) {
    auto done = std::move(open_done_);
    if (!st) {
      state_ = State::Closed;
      closed_ = true;
      teardown();
    }
    if (done)
      asio::post(io_, [self = shared_from_this(), done = std::move(done), st = std::move(st)] {
        if (!self->user_closed_) done(st);
      });
  }

  void wait_for_device() {
    state_ = State::Waiting;
    if (family_->hotplug_) {
      family_->add_waiter(shared_from_this());
      return;
    }
    timer_.expires_after(family_->options_.poll_interval);
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock(); self && self->state_ == State::Waiting && !self->closed_) {
        self->ruled_out_.clear();  // as on a hotplug arrival
        self->try_open();
      }
    });
  }

  // Scans for a matching device we have not ruled out, and opens it.
  void try_open() {
    if (closed_ || state_ != State::Waiting) return;
    libusb_device** list = nullptr;
    const ssize_t n = libusb_get_device_list(family_->ctx_, &list);
    libusb_device* chosen = nullptr;
    for (ssize_t i = 0; i < n && chosen == nullptr; ++i) {
      libusb_device_descriptor desc{};
      if (libusb_get_device_descriptor(list[i], &desc) != 0) continue;
      if (desc.idVendor != family_->match_.vendor_id || desc.idProduct != family_->match_.product_id) continue;
      const auto key = device_key(list[i]);
      if (ruled_out_.count(key) != 0) continue;
      chosen = libusb_ref_device(list[i]);
      serial_index_ = desc.iSerialNumber;
    }
    if (list) libusb_free_device_list(list, 1);
    if (chosen == nullptr) return wait_for_device();

    const auto key = device_key(chosen);
    libusb_device_handle* h = nullptr;
    const int r = libusb_open(chosen, &h);
    libusb_unref_device(chosen);
    if (r == LIBUSB_ERROR_ACCESS)
      return finish_open(fail(ErrorKind::Unavailable,
                              describe() + ": permission denied opening the device (a udev rule for the VID/PID?)"));
    if (r != 0) {
      // Gone again, or not ready: treat as absent and wait for the next arrival.
      log::info("terminal.usb.open_retry", {{"error", usb_error(r)}});
      ruled_out_.insert(key);  // this bus address will not come back; a replug gets a new one
      return wait_for_device();
    }
    handle_ = h;
    device_key_ = key;
    if (!find_endpoints()) {
      // NOT_FOUND here means "not configured yet": handled like a failed claim.
      state_ = State::Claiming;
      claim_started_ = std::chrono::steady_clock::now();
      return retry_claim_later();
    }
    if (family_->match_.serial) return check_serial();
    start_claim();
  }

  static std::uint32_t device_key(libusb_device* d) {
    return static_cast<std::uint32_t>(libusb_get_bus_number(d)) << 8 | libusb_get_device_address(d);
  }

  // Endpoint addresses come from the active configuration: the first vendor-specific interface
  // with one bulk IN and one bulk OUT endpoint. Never hard-coded.
  bool find_endpoints() {
    libusb_config_descriptor* cfg = nullptr;
    if (libusb_get_active_config_descriptor(libusb_get_device(handle_), &cfg) != 0 || cfg == nullptr) return false;
    bool found = false;
    for (int i = 0; i < cfg->bNumInterfaces && !found; ++i) {
      const libusb_interface& itf = cfg->interface[i];
      for (int a = 0; a < itf.num_altsetting && !found; ++a) {
        const libusb_interface_descriptor& alt = itf.altsetting[a];
        if (alt.bInterfaceClass != kVendorClass) continue;
        int in = -1, out = -1;
        for (int e = 0; e < alt.bNumEndpoints; ++e) {
          const libusb_endpoint_descriptor& ep = alt.endpoint[e];
          if ((ep.bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) != LIBUSB_TRANSFER_TYPE_BULK) continue;
          if ((ep.bEndpointAddress & LIBUSB_ENDPOINT_DIR_MASK) == LIBUSB_ENDPOINT_IN) {
            if (in < 0) in = ep.bEndpointAddress;
          } else if (out < 0) {
            out = ep.bEndpointAddress;
          }
        }
        if (in >= 0 && out >= 0) {
          found = true;
          interface_ = alt.bInterfaceNumber;
          in_ep_ = static_cast<std::uint8_t>(in);
          out_ep_ = static_cast<std::uint8_t>(out);
        }
      }
    }
    libusb_free_config_descriptor(cfg);
    return found;
  }

  // Reads the serial string asynchronously (a synchronous control transfer would block the
  // core thread on the device).
  void check_serial() {
    state_ = State::Checking;
    if (serial_index_ == 0) return serial_checked(false);
    ctl_buf_.assign(LIBUSB_CONTROL_SETUP_SIZE + 255, 0);
    libusb_fill_control_setup(ctl_buf_.data(), LIBUSB_ENDPOINT_IN, LIBUSB_REQUEST_GET_DESCRIPTOR,
                              static_cast<std::uint16_t>(LIBUSB_DT_STRING << 8 | serial_index_), 0x0409, 255);
    libusb_fill_control_transfer(ctl_xfer_, handle_, ctl_buf_.data(), &UsbLink::on_transfer, this, 1000);
    if (!submit(ctl_xfer_)) return serial_checked(false);
  }

  void serial_checked(bool matches) {
    if (closed_) return;
    if (matches) return start_claim();
    log::info("terminal.usb.serial_mismatch", {{"wanted", *family_->match_.serial}});
    ruled_out_.insert(device_key_);
    release_handle();
    state_ = State::Waiting;
    try_open();
  }

  void start_claim() {
    state_ = State::Claiming;
    claim_started_ = std::chrono::steady_clock::now();
    claim();
  }

  void claim() {
    if (closed_) return;
    const int r = libusb_claim_interface(handle_, interface_);
    if (r == 0) {
      claimed_ = true;
      state_ = State::Open;
      ++family_->opens_;
      ++family_->links_open_;
      counted_open_ = true;
      log::info("terminal.usb.opened", {{"device", describe()}, {"interface", interface_},
                                        {"in", static_cast<int>(in_ep_)}, {"out", static_cast<int>(out_ep_)}});
      // The open result is posted before the first IN can complete (its completion is posted
      // later), so no bytes ever reach the protocol driver before "open ok".
      finish_open(ok());
      submit_in();
      write_next();
      return;
    }
    if (r == LIBUSB_ERROR_NOT_FOUND || r == LIBUSB_ERROR_BUSY) return retry_claim_later();
    if (r == LIBUSB_ERROR_NO_DEVICE) {
      release_handle();
      ruled_out_.insert(device_key_);
      return wait_for_device();
    }
    finish_open(fail(ErrorKind::Unavailable, describe() + ": claim interface: " + usb_error(r)));
  }

  void retry_claim_later() {
    if (std::chrono::steady_clock::now() - claim_started_ > family_->options_.claim_retry) {
      return finish_open(fail(ErrorKind::Unavailable, describe() + ": the interface could not be claimed within " +
                                                          std::to_string(family_->options_.claim_retry.count()) + " ms"));
    }
    ++family_->claim_retries_;
    timer_.expires_after(family_->options_.claim_retry_step);
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      auto self = weak.lock();
      if (!self || self->closed_ || self->state_ != State::Claiming) return;
      if (self->in_ep_ == 0 && !self->find_endpoints()) return self->retry_claim_later();
      self->claim();
    });
  }

  // ---- transfers (core thread submits; callbacks on the event thread) --------------------------

  bool submit(libusb_transfer* t) {
    {
      std::lock_guard lock(m_);
      ++in_flight_;
    }
    ++family_->in_flight_;
    const int r = libusb_submit_transfer(t);
    if (r != 0) {
      {
        std::lock_guard lock(m_);
        --in_flight_;
      }
      --family_->in_flight_;
      submit_error_ = r;
      return false;
    }
    ++family_->submitted_;
    if (t == in_xfer_) in_busy_ = true;
    if (t == out_xfer_) out_busy_ = true;
    if (t == ctl_xfer_) ctl_busy_ = true;
    return true;
  }

  void submit_in() {
    if (closed_ || in_busy_) return;
    libusb_fill_bulk_transfer(in_xfer_, handle_, in_ep_, in_buf_.data(), kInBufferSize, &UsbLink::on_transfer, this,
                              static_cast<unsigned>(family_->options_.in_timeout.count()));
    if (!submit(in_xfer_)) link_failed("bulk IN submit: " + usb_error(submit_error_), submit_error_);
  }

  void write_next() {
    if (closed_ || state_ != State::Open || out_busy_ || out_queue_.empty()) return;
    std::vector<std::uint8_t>& front = out_queue_.front();
    libusb_fill_bulk_transfer(out_xfer_, handle_, out_ep_, front.data(), static_cast<int>(front.size()),
                              &UsbLink::on_transfer, this, static_cast<unsigned>(family_->options_.out_timeout.count()));
    if (!submit(out_xfer_)) link_failed("bulk OUT submit: " + usb_error(submit_error_), submit_error_);
  }

  // Event thread. Copies the result out, posts it to the core thread and, last, tells a
  // draining close() that this transfer is done with.
  static void LIBUSB_CALL on_transfer(libusb_transfer* t) {
    auto* self = static_cast<UsbLink*>(t->user_data);
    Completion c;
    c.kind = t == self->in_xfer_ ? Completion::Kind::In
             : t == self->out_xfer_ ? Completion::Kind::Out
                                    : Completion::Kind::Control;
    c.status = t->status;
    c.actual = t->actual_length;
    if (c.kind == Completion::Kind::In && t->actual_length > 0) {
      c.data.assign(t->buffer, t->buffer + t->actual_length);
    } else if (c.kind == Completion::Kind::Control && t->actual_length > 0) {
      const unsigned char* d = libusb_control_transfer_get_data(t);
      c.data.assign(d, d + t->actual_length);
    }
    --self->family_->in_flight_;
    std::lock_guard lock(self->m_);
    if (!self->closing_) {
      asio::post(self->io_, [s = self->shared_from_this(), c = std::move(c)]() mutable { s->on_completion(std::move(c)); });
    }
    --self->in_flight_;
    self->drained_.notify_all();  // under the lock: close() cannot return (and free us) before we leave
  }

  // Core thread.
  void on_completion(Completion c) {
    if (c.kind == Completion::Kind::In) in_busy_ = false;
    if (c.kind == Completion::Kind::Out) out_busy_ = false;
    if (c.kind == Completion::Kind::Control) ctl_busy_ = false;
    if (closed_) return;
    switch (c.kind) {
      case Completion::Kind::Control: {
        if (state_ != State::Checking) return;
        bool matches = false;
        if (c.status == LIBUSB_TRANSFER_COMPLETED && c.data.size() >= 2 && c.data[1] == LIBUSB_DT_STRING) {
          std::string s;
          for (std::size_t i = 2; i + 1 < std::min<std::size_t>(c.data.size(), c.data[0]); i += 2)
            s.push_back(c.data[i + 1] == 0 && c.data[i] < 0x80 ? static_cast<char>(c.data[i]) : '?');
          matches = s == *family_->match_.serial;
        }
        return serial_checked(matches);
      }
      case Completion::Kind::In: return on_in(std::move(c));
      case Completion::Kind::Out: return on_out(c);
    }
  }

  void on_in(Completion c) {
    switch (c.status) {
      case LIBUSB_TRANSFER_TIMED_OUT:
        ++family_->in_timeouts_;
        [[fallthrough]];
      case LIBUSB_TRANSFER_COMPLETED:
        if (!c.data.empty()) {
          auto cb = callbacks_.on_bytes;  // may close (and later destroy) this link
          auto keep = shared_from_this();
          if (cb) cb(c.data);
          if (closed_) return;
        }
        return submit_in();
      case LIBUSB_TRANSFER_STALL:
        if (!clear_halt(in_ep_)) return;
        return submit_in();
      default: return link_failed("bulk IN: " + status_name(c.status), status_error(c.status));
    }
  }

  void on_out(const Completion& c) {
    switch (c.status) {
      case LIBUSB_TRANSFER_COMPLETED:
        out_stalls_ = 0;
        if (!out_queue_.empty()) out_queue_.pop_front();
        return write_next();
      case LIBUSB_TRANSFER_STALL:
        // The reader refused the data (halted endpoint): clear the halt and send it again,
        // but not forever.
        if (++out_stalls_ > 3) return link_failed("bulk OUT keeps stalling", LIBUSB_ERROR_PIPE);
        if (!clear_halt(out_ep_)) return;
        return write_next();
      case LIBUSB_TRANSFER_TIMED_OUT:
        ++family_->out_timeouts_;
        return link_failed("bulk OUT not accepted within " + std::to_string(family_->options_.out_timeout.count()) +
                               " ms",
                           LIBUSB_ERROR_TIMEOUT);
      default: return link_failed("bulk OUT: " + status_name(c.status), status_error(c.status));
    }
  }

  // Synchronous CLEAR_FEATURE(ENDPOINT_HALT) on the core thread; only after a STALL.
  bool clear_halt(std::uint8_t ep) {
    const int r = libusb_clear_halt(handle_, ep);
    if (r != 0) {
      link_failed("clear halt on endpoint " + std::to_string(ep) + ": " + usb_error(r), r);
      return false;
    }
    ++family_->stalls_cleared_;
    log::info("terminal.usb.halt_cleared", {{"endpoint", static_cast<int>(ep)}});
    return true;
  }

  static std::string status_name(libusb_transfer_status s) {
    switch (s) {
      case LIBUSB_TRANSFER_COMPLETED: return "completed";
      case LIBUSB_TRANSFER_ERROR: return "error";
      case LIBUSB_TRANSFER_TIMED_OUT: return "timed out";
      case LIBUSB_TRANSFER_CANCELLED: return "cancelled";
      case LIBUSB_TRANSFER_STALL: return "stall";
      case LIBUSB_TRANSFER_NO_DEVICE: return "device gone";
      case LIBUSB_TRANSFER_OVERFLOW: return "overflow";
    }
    return "unknown";
  }
  static int status_error(libusb_transfer_status s) {
    return s == LIBUSB_TRANSFER_NO_DEVICE ? LIBUSB_ERROR_NO_DEVICE : LIBUSB_ERROR_IO;
  }

  // The link broke (unplug, timeout, error): tear down, then tell the protocol driver once.
  void link_failed(const std::string& why, int code) {
    if (closed_) return;
    closed_ = true;
    ++family_->links_lost_;
    log::warn("terminal.usb.link_lost", {{"device", describe()}, {"reason", why}});
    teardown();
    auto cb = callbacks_.on_closed;
    const std::string msg = code == LIBUSB_ERROR_NO_DEVICE ? "reader unplugged (usb: " + why + ")" : "usb: " + why;
    if (cb) cb(Error{ErrorKind::Unavailable, msg, std::nullopt});
  }

  // Core thread. Cancel everything in flight, drain, then release. After this no libusb
  // callback refers to this link.
  void teardown() {
    state_ = State::Closed;
    timer_.cancel();
    {
      std::unique_lock lock(m_);
      closing_ = true;
    }
    if (in_busy_) libusb_cancel_transfer(in_xfer_);
    if (out_busy_) libusb_cancel_transfer(out_xfer_);
    if (ctl_busy_) libusb_cancel_transfer(ctl_xfer_);
    // (A busy flag may still be set for a transfer whose callback already ran: cancel then
    // answers NOT_FOUND, which is harmless; the drain below counts what is really in flight.)
    {
      std::unique_lock lock(m_);
      if (!drained_.wait_for(lock, family_->options_.drain_limit, [this] { return in_flight_ == 0; })) {
        // A transfer never called back. Freeing it (or its buffer, or this link) now could be
        // written to by libusb later: keep everything, forever, and say so.
        leaked_ = true;
        log::error("terminal.usb.drain_timeout", {{"device", describe()}, {"in_flight", in_flight_}});
        keep_alive_ = shared_from_this();  // a deliberate, reported leak instead of a use-after-free
        return;
      }
    }
    in_busy_ = out_busy_ = ctl_busy_ = false;
    release_handle();
    out_queue_.clear();
    if (counted_open_) {
      counted_open_ = false;
      --family_->links_open_;
    }
  }

  void release_handle() {
    if (handle_ == nullptr) return;
    if (claimed_) libusb_release_interface(handle_, interface_);  // NO_DEVICE after an unplug: fine
    claimed_ = false;
    libusb_close(handle_);
    handle_ = nullptr;
    in_ep_ = out_ep_ = 0;
  }

  std::shared_ptr<UsbFamily> family_;
  asio::io_context& io_;
  asio::steady_timer timer_;
  Transport::Callbacks callbacks_;
  std::function<void(Status)> open_done_;

  // core thread
  State state_ = State::Idle;
  bool closed_ = false;
  libusb_device_handle* handle_ = nullptr;
  std::uint32_t device_key_ = 0;
  std::set<std::uint32_t> ruled_out_;  // bus addresses that are not our reader
  std::uint8_t serial_index_ = 0;
  int interface_ = 0;
  std::uint8_t in_ep_ = 0;
  std::uint8_t out_ep_ = 0;
  bool claimed_ = false;
  bool counted_open_ = false;
  std::chrono::steady_clock::time_point claim_started_{};
  bool in_busy_ = false;
  bool out_busy_ = false;
  bool ctl_busy_ = false;
  bool user_closed_ = false;  // close() was called: not even a posted open result runs
  int out_stalls_ = 0;
  int submit_error_ = 0;
  std::deque<std::vector<std::uint8_t>> out_queue_;  // front() is the OUT in flight

  // transfers and their buffers: owned here, freed only after the drain
  libusb_transfer* in_xfer_;
  libusb_transfer* out_xfer_;
  libusb_transfer* ctl_xfer_;
  std::vector<std::uint8_t> in_buf_;
  std::vector<std::uint8_t> ctl_buf_;
  bool leaked_ = false;
  std::shared_ptr<UsbLink> keep_alive_;

  // shared with the event thread
  std::mutex m_;
  std::condition_variable drained_;
  int in_flight_ = 0;
  bool closing_ = false;
};

void UsbFamily::on_arrival() {
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& w : waiters)
    if (auto l = w.lock()) l->on_arrival();
}

class UsbTransport final : public Transport {
 public:
  explicit UsbTransport(std::shared_ptr<UsbFamily> family) : link_(std::make_shared<UsbLink>(std::move(family))) {}
  ~UsbTransport() override { link_->close(); }
  void async_open(Callbacks callbacks, std::function<void(Status)> done) override {
    link_->open(std::move(callbacks), std::move(done));
  }
  void write(std::vector<std::uint8_t> bytes) override { link_->write(std::move(bytes)); }
  void close() override { link_->close(); }
  std::string describe() const override { return link_->describe(); }

 private:
  std::shared_ptr<UsbLink> link_;
};

TransportFactory UsbFamily::factory() {
  return [self = shared_from_this()]() -> std::unique_ptr<Transport> { return std::make_unique<UsbTransport>(self); };
}

}  // namespace

std::shared_ptr<UsbTransports> make_usb_transports(asio::io_context& io, UsbMatch match, UsbOptions options) {
  auto f = std::make_shared<UsbFamily>(io, std::move(match), options);
  f->start();
  return f;
}

TransportFactory usb_transport(asio::io_context& io, UsbMatch match, UsbOptions options) {
  return make_usb_transports(io, std::move(match), options)->factory();
}

Result<UsbMatch> parse_usb_match(std::string_view spec) {
  auto bad = [&](const std::string& why) -> Result<UsbMatch> {
    return fail(ErrorKind::InvalidArgument, "usb reader spec '" + std::string(spec) + "': " + why);
  };
  if (spec.substr(0, 3) != "usb") return bad("must start with usb");
  UsbMatch m;
  if (spec.size() == 3) return m;
  if (spec[3] != ':') return bad("expected usb:VID:PID[:SERIAL]");
  std::string_view rest = spec.substr(4);
  auto take = [&](std::string_view& r) {
    const auto colon = r.find(':');
    std::string_view part = r.substr(0, colon);
    r = colon == std::string_view::npos ? std::string_view{} : r.substr(colon + 1);
    return part;
  };
  auto parse_hex = [](std::string_view s) -> std::optional<std::uint16_t> {
    if (s.empty() || s.size() > 4) return std::nullopt;
    unsigned v = 0;
    for (char ch : s) {
      int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + static_cast<unsigned>(d);
    }
    return static_cast<std::uint16_t>(v);
  };
  const bool has_serial = std::count(rest.begin(), rest.end(), ':') >= 2;
  auto vid = parse_hex(take(rest));
  auto pid = parse_hex(take(rest));
  if (!vid || !pid) return bad("VID and PID are 1-4 hex digits");
  m.vendor_id = *vid;
  m.product_id = *pid;
  if (has_serial) {
    if (rest.empty()) return bad("empty serial");
    m.serial = std::string(rest);
  } else if (!rest.empty()) {
    return bad("unexpected text after the PID");
  }
  return m;
}

}  // namespace till::terminal
