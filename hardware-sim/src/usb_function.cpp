#include "till/hwsim/usb_function.hpp"

#include <algorithm>

#include "till/base/log.hpp"

namespace till::hwsim {

namespace {

// USB 2.0 chapter 9 constants.
constexpr std::uint8_t kDescDevice = 1;
constexpr std::uint8_t kDescConfiguration = 2;
constexpr std::uint8_t kDescString = 3;
constexpr std::uint8_t kDescInterface = 4;
constexpr std::uint8_t kDescEndpoint = 5;
constexpr std::uint8_t kDescQualifier = 6;

constexpr std::uint8_t kGetStatus = 0x00;
constexpr std::uint8_t kClearFeature = 0x01;
constexpr std::uint8_t kSetFeature = 0x03;
constexpr std::uint8_t kSetAddress = 0x05;
constexpr std::uint8_t kGetDescriptor = 0x06;
constexpr std::uint8_t kGetConfiguration = 0x08;
constexpr std::uint8_t kSetConfiguration = 0x09;
constexpr std::uint8_t kGetInterface = 0x0A;
constexpr std::uint8_t kSetInterface = 0x0B;

constexpr std::uint16_t kFeatureEndpointHalt = 0;
constexpr std::uint8_t kConfigurationValue = 1;
constexpr std::uint8_t kLangEnUs[2] = {0x09, 0x04};

void put16(std::vector<std::uint8_t>& v, std::uint16_t x) {
  v.push_back(static_cast<std::uint8_t>(x & 0xFF));
  v.push_back(static_cast<std::uint8_t>(x >> 8));
}

std::vector<std::uint8_t> string_descriptor(const std::string& s) {
  // UTF-16LE of the (ASCII) text; a descriptor is at most 255 bytes, so 126 characters.
  std::vector<std::uint8_t> d;
  const std::size_t n = std::min<std::size_t>(s.size(), 126);
  d.push_back(static_cast<std::uint8_t>(2 + 2 * n));
  d.push_back(kDescString);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    d.push_back(c < 0x80 ? c : '?');
    d.push_back(0);
  }
  return d;
}

UsbDescriptors build_descriptors(const UsbFunctionConfig& c) {
  UsbDescriptors d;
  auto& dev = d.device;
  dev = {18, kDescDevice};
  put16(dev, 0x0200);  // bcdUSB 2.0
  dev.insert(dev.end(), {0x00, 0x00, 0x00, 64});  // class per interface, ep0 max packet 64
  put16(dev, c.vendor_id);
  put16(dev, c.product_id);
  put16(dev, c.device_release);
  dev.insert(dev.end(), {1, 2, 3, 1});  // iManufacturer, iProduct, iSerialNumber, bNumConfigurations

  const std::uint16_t mps = bulk_max_packet(c.speed);
  auto& cfg = d.configuration;
  cfg = {9, kDescConfiguration};
  put16(cfg, 9 + 9 + 7 + 7);
  cfg.insert(cfg.end(), {1, kConfigurationValue, 0, 0x80, 50});  // 1 interface, bus powered, 100 mA
  // Interface 0: vendor-specific; subclass/protocol 1/1 name Till's reader protocol v1.
  cfg.insert(cfg.end(), {9, kDescInterface, 0, 0, 2, 0xFF, 0x01, 0x01, 0});
  for (std::uint8_t ep : {c.bulk_in_endpoint, c.bulk_out_endpoint}) {
    cfg.insert(cfg.end(), {7, kDescEndpoint, ep, 0x02});  // bulk
    put16(cfg, mps);
    cfg.push_back(0);  // bInterval (ignored for bulk IN/OUT at full speed; no NAK rate limit)
  }

  if (c.speed == UsbSpeed::High) {
    auto& q = d.device_qualifier;
    q = {10, kDescQualifier};
    put16(q, 0x0200);
    q.insert(q.end(), {0x00, 0x00, 0x00, 64, 1, 0});
  }

  d.strings.push_back({4, kDescString, kLangEnUs[0], kLangEnUs[1]});
  d.strings.push_back(string_descriptor(c.manufacturer));
  d.strings.push_back(string_descriptor(c.product));
  d.strings.push_back(string_descriptor(c.serial));
  return d;
}

}  // namespace

int sysfs_speed(UsbSpeed s) noexcept { return s == UsbSpeed::High ? 480 : 12; }
int usbip_speed(UsbSpeed s) noexcept { return s == UsbSpeed::High ? 3 : 2; }
std::uint16_t bulk_max_packet(UsbSpeed s) noexcept { return s == UsbSpeed::High ? 512 : 64; }

UsbSetup UsbSetup::parse(std::span<const std::uint8_t, 8> b) noexcept {
  UsbSetup s;
  s.request_type = b[0];
  s.request = b[1];
  s.value = static_cast<std::uint16_t>(b[2] | (b[3] << 8));
  s.index = static_cast<std::uint16_t>(b[4] | (b[5] << 8));
  s.length = static_cast<std::uint16_t>(b[6] | (b[7] << 8));
  return s;
}

std::array<std::uint8_t, 8> UsbSetup::bytes() const noexcept {
  return {request_type,
          request,
          static_cast<std::uint8_t>(value & 0xFF),
          static_cast<std::uint8_t>(value >> 8),
          static_cast<std::uint8_t>(index & 0xFF),
          static_cast<std::uint8_t>(index >> 8),
          static_cast<std::uint8_t>(length & 0xFF),
          static_cast<std::uint8_t>(length >> 8)};
}

std::vector<std::uint8_t> UsbDescriptors::sysfs() const {
  std::vector<std::uint8_t> v = device;
  v.insert(v.end(), configuration.begin(), configuration.end());
  return v;
}

UsbFunction::UsbFunction(terminal::protocol::DeviceEndpoint& device, Scheduler scheduler, UsbFunctionConfig config)
    : device_(device),
      scheduler_(std::move(scheduler)),
      config_(std::move(config)),
      descriptors_(build_descriptors(config_)) {}

UsbFunction::~UsbFunction() {
  *alive_ = false;
  if (attached_) device_.attach(nullptr);
}

// ---- bus presence ------------------------------------------------------------------------------

void UsbFunction::reset_usb_state() {
  address_ = 0;
  configuration_ = 0;
  in_halted_ = out_halted_ = false;
  in_.clear();
  in_pos_ = 0;
  dropping_ = false;
  ++drop_gen_;
}

Status UsbFunction::plug() {
  if (plugged_) return fail(ErrorKind::FailedPrecondition, "usb function: already on the bus");
  if (auto st = device_.attach(this); !st) return st;
  attached_ = true;
  ++link_gen_;
  reset_usb_state();
  plugged_ = true;
  ++stats_.plugs;
  return ok();
}

void UsbFunction::unplug() {
  if (!plugged_) return;
  plugged_ = false;
  ++link_gen_;
  if (attached_) {
    attached_ = false;
    device_.attach(nullptr);
  }
  reset_usb_state();
}

void UsbFunction::leave_bus() {
  if (!plugged_) return;
  plugged_ = false;
  ++link_gen_;
  reset_usb_state();
  ++stats_.unplugs;
  defer([this] {
    if (unplugged_) unplugged_();
  });
}

// ---- control ------------------------------------------------------------------------------------

UsbReply UsbFunction::stall_reply() {
  ++stats_.control_stalls;
  return UsbReply{kUsbStall, {}};
}

UsbReply UsbFunction::control(const UsbSetup& setup, std::span<const std::uint8_t> out_data) {
  (void)out_data;  // no supported request has an OUT data stage
  if (!plugged_) return UsbReply{kUsbShutdown, {}};
  ++stats_.control_requests;
  const std::uint8_t type = (setup.request_type >> 5) & 0x3;
  if (type != 0) return stall_reply();  // class / vendor requests: this device has none
  UsbReply r = standard_request(setup);
  if (r.ok() && r.data.size() > setup.length) r.data.resize(setup.length);
  return r;
}

UsbReply UsbFunction::get_descriptor(const UsbSetup& s) const {
  const std::uint8_t type = static_cast<std::uint8_t>(s.value >> 8);
  const std::uint8_t index = static_cast<std::uint8_t>(s.value & 0xFF);
  switch (type) {
    case kDescDevice:
      if (index == 0) return UsbReply{kUsbOk, descriptors_.device};
      break;
    case kDescConfiguration:
      if (index == 0) return UsbReply{kUsbOk, descriptors_.configuration};
      break;
    case kDescString:
      if (index < descriptors_.strings.size()) {
        // String 0 lists the languages; the others exist in en-US only.
        if (index == 0 || s.index == 0x0409) return UsbReply{kUsbOk, descriptors_.strings[index]};
      }
      break;
    case kDescQualifier:
      // A full-speed-only device must stall this request (USB 2.0 9.6.2).
      if (index == 0 && !descriptors_.device_qualifier.empty()) return UsbReply{kUsbOk, descriptors_.device_qualifier};
      break;
    default: break;  // other-speed configuration, BOS, ...: not provided
  }
  return UsbReply{kUsbStall, {}};
}

UsbReply UsbFunction::standard_request(const UsbSetup& s) {
  const std::uint8_t recipient = s.request_type & 0x1F;
  const auto endpoint = static_cast<std::uint8_t>(s.index & 0xFF);
  const bool known_endpoint =
      endpoint == 0 || endpoint == config_.bulk_in_endpoint || endpoint == config_.bulk_out_endpoint;
  switch (s.request) {
    case kGetDescriptor: {
      if (!s.device_to_host() || recipient != 0) return stall_reply();
      UsbReply r = get_descriptor(s);
      if (r.stalled()) ++stats_.control_stalls;
      return r;
    }
    case kSetAddress:
      if (s.device_to_host() || recipient != 0 || s.value > 127) return stall_reply();
      address_ = static_cast<std::uint8_t>(s.value);
      return {};
    case kSetConfiguration:
      if (s.device_to_host() || recipient != 0) return stall_reply();
      if (s.value != 0 && s.value != kConfigurationValue) return stall_reply();
      configuration_ = static_cast<std::uint8_t>(s.value);
      clear_halts();  // configuring resets the endpoints' data toggles and halts
      return {};
    case kGetConfiguration:
      if (!s.device_to_host() || recipient != 0) return stall_reply();
      return UsbReply{kUsbOk, {configuration_}};
    case kGetInterface:
      if (!s.device_to_host() || recipient != 1 || configuration_ == 0 || s.index != 0) return stall_reply();
      return UsbReply{kUsbOk, {0}};
    case kSetInterface:
      if (s.device_to_host() || recipient != 1 || configuration_ == 0 || s.index != 0 || s.value != 0)
        return stall_reply();
      clear_halts();
      return {};
    case kGetStatus:
      if (!s.device_to_host()) return stall_reply();
      if (recipient == 0) return UsbReply{kUsbOk, {0, 0}};  // bus powered, no remote wakeup
      if (recipient == 1) {
        if (configuration_ == 0 || s.index != 0) return stall_reply();
        return UsbReply{kUsbOk, {0, 0}};
      }
      if (recipient == 2) {
        if (!known_endpoint || (endpoint != 0 && configuration_ == 0)) return stall_reply();
        return UsbReply{kUsbOk, {static_cast<std::uint8_t>(halted(endpoint) ? 1 : 0), 0}};
      }
      return stall_reply();
    case kClearFeature:
    case kSetFeature:
      // Only ENDPOINT_HALT on our bulk endpoints: no remote wakeup, no test modes.
      if (s.device_to_host() || recipient != 2 || s.value != kFeatureEndpointHalt || endpoint == 0 ||
          !known_endpoint || configuration_ == 0)
        return stall_reply();
      if (s.request == kSetFeature) {
        (void)stall(endpoint);
      } else if (clear_halt(endpoint)) {
        ++stats_.halts_cleared;
      }
      return {};
    default: return stall_reply();
  }
}

bool UsbFunction::clear_halt(std::uint8_t endpoint) {
  if (endpoint == config_.bulk_in_endpoint && in_halted_) {
    in_halted_ = false;
    if (in_pending_bytes() > 0) notify_in_ready();
    return true;
  }
  if (endpoint == config_.bulk_out_endpoint && out_halted_) {
    out_halted_ = false;
    notify_out_ready();
    return true;
  }
  return false;
}

void UsbFunction::clear_halts() {
  if (clear_halt(config_.bulk_in_endpoint)) ++stats_.halts_cleared;
  if (clear_halt(config_.bulk_out_endpoint)) ++stats_.halts_cleared;
}

// ---- bulk ---------------------------------------------------------------------------------------

std::optional<int> UsbFunction::bulk_out(std::span<const std::uint8_t> bytes) {
  if (!plugged_) return kUsbShutdown;
  if (out_halted_ || configuration_ == 0) {
    ++stats_.bulk_stalls;
    return kUsbStall;
  }
  if (out_nak_) return std::nullopt;
  if (dropping_ || !attached_) return kUsbOk;  // the cable is being pulled: nobody listens any more
  stats_.bytes_out += bytes.size();
  device_.receive_bytes(bytes);
  return kUsbOk;
}

std::optional<UsbReply> UsbFunction::bulk_in(std::size_t max_length) {
  if (!plugged_) return UsbReply{kUsbShutdown, {}};
  if (in_halted_ || configuration_ == 0) {
    ++stats_.bulk_stalls;
    return UsbReply{kUsbStall, {}};
  }
  if (in_pending_bytes() == 0 || max_length == 0) return std::nullopt;
  const std::size_t n = std::min(max_length, in_pending_bytes());
  UsbReply r;
  r.data.assign(in_.begin() + static_cast<std::ptrdiff_t>(in_pos_),
                in_.begin() + static_cast<std::ptrdiff_t>(in_pos_ + n));
  in_pos_ += n;
  stats_.bytes_in += n;
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
    if (dropping_) leave_bus();  // everything the device sent before the cable went has left
  }
  return r;
}

// ---- fault injection ----------------------------------------------------------------------------

Status UsbFunction::stall(std::uint8_t endpoint) {
  if (endpoint == config_.bulk_in_endpoint) {
    in_halted_ = true;
    notify_in_ready();  // a pending IN completes with the stall
    return ok();
  }
  if (endpoint == config_.bulk_out_endpoint) {
    out_halted_ = true;
    notify_out_ready();  // a NAKed OUT completes with the stall
    return ok();
  }
  return fail(ErrorKind::InvalidArgument, "usb function: no endpoint " + std::to_string(endpoint));
}

bool UsbFunction::halted(std::uint8_t endpoint) const noexcept {
  if (endpoint == config_.bulk_in_endpoint) return in_halted_;
  if (endpoint == config_.bulk_out_endpoint) return out_halted_;
  return false;
}

void UsbFunction::set_out_nak(bool on) {
  out_nak_ = on;
  if (!on) notify_out_ready();
}

// ---- DeviceIo -----------------------------------------------------------------------------------

void UsbFunction::send_bytes(std::vector<std::uint8_t> bytes) {
  if (!plugged_ || dropping_ || bytes.empty()) return;
  const bool was_empty = in_pending_bytes() == 0;
  in_.insert(in_.end(), bytes.begin(), bytes.end());
  if (was_empty) notify_in_ready();
}

void UsbFunction::drop_link() {
  if (!plugged_ || dropping_) return;
  // Detach at once (the device says nothing more); what it already sent still drains.
  dropping_ = true;
  ++link_gen_;
  if (attached_) {
    attached_ = false;
    device_.attach(nullptr);
  }
  if (in_pending_bytes() == 0) return leave_bus();
  const std::uint64_t gen = drop_gen_;
  scheduler_(config_.unplug_drain_limit, [this, alive = std::weak_ptr<bool>(alive_), gen] {
    auto a = alive.lock();
    if (!a || !*a || gen != drop_gen_ || !dropping_) return;
    log::warn("hwsim.usb.unplug_drain_limit", {{"undelivered_bytes", static_cast<std::int64_t>(in_pending_bytes())}});
    leave_bus();
  });
}

void UsbFunction::schedule(std::chrono::milliseconds delay, std::function<void()> fn) {
  if (!attached_) return;
  scheduler_(delay, [this, alive = std::weak_ptr<bool>(alive_), gen = link_gen_, fn = std::move(fn)] {
    auto a = alive.lock();
    if (!a || !*a || gen != link_gen_ || !attached_) return;
    fn();
  });
}

// ---- deferred callbacks -------------------------------------------------------------------------

void UsbFunction::defer(std::function<void()> fn) {
  scheduler_(std::chrono::milliseconds(0), [alive = std::weak_ptr<bool>(alive_), fn = std::move(fn)] {
    auto a = alive.lock();
    if (a && *a) fn();
  });
}

void UsbFunction::notify_in_ready() {
  if (in_notify_pending_) return;
  in_notify_pending_ = true;
  defer([this] {
    in_notify_pending_ = false;
    if (in_ready_) in_ready_();
  });
}

void UsbFunction::notify_out_ready() {
  if (out_notify_pending_) return;
  out_notify_pending_ = true;
  defer([this] {
    out_notify_pending_ = false;
    if (out_ready_) out_ready_();
  });
}

}  // namespace till::hwsim
