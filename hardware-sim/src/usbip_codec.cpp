#include <string_view>

#include "till/hwsim/usbip.hpp"

namespace till::hwsim::usbip {

namespace {

tl::unexpected<Error> malformed(std::string what) { return fail(ErrorKind::DataLoss, "usbip: " + what); }
tl::unexpected<Error> unfit(std::string what) { return fail(ErrorKind::InvalidArgument, "usbip encode: " + what); }

std::string hex(std::uint32_t v, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  for (int i = digits - 1; i >= 0; --i) s += kDigits[(v >> (i * 4)) & 0xf];
  return s;
}

// Big-endian reader over a span whose length the caller has already checked.
class In {
 public:
  explicit In(std::span<const std::uint8_t> b) : b_(b) {}
  std::uint8_t u8() { return b_[pos_++]; }
  std::uint16_t u16() {
    const auto v = static_cast<std::uint16_t>(b_[pos_] << 8 | b_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  std::uint32_t u32() {
    const std::uint32_t v = std::uint32_t{b_[pos_]} << 24 | std::uint32_t{b_[pos_ + 1]} << 16 |
                            std::uint32_t{b_[pos_ + 2]} << 8 | std::uint32_t{b_[pos_ + 3]};
    pos_ += 4;
    return v;
  }
  std::int32_t s32() { return static_cast<std::int32_t>(u32()); }
  std::span<const std::uint8_t> take(std::size_t n) {
    auto s = b_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  bool zeros(std::size_t n) {
    for (auto b : take(n))
      if (b != 0) return false;
    return true;
  }
  std::size_t pos() const noexcept { return pos_; }

 private:
  std::span<const std::uint8_t> b_;
  std::size_t pos_ = 0;
};

class Out {
 public:
  void u8(std::uint8_t v) { b_.push_back(v); }
  void u16(std::uint16_t v) {
    b_.push_back(static_cast<std::uint8_t>(v >> 8));
    b_.push_back(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b_.push_back(static_cast<std::uint8_t>(v >> s));
  }
  void s32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
  void bytes(std::span<const std::uint8_t> s) { b_.insert(b_.end(), s.begin(), s.end()); }
  void zeros(std::size_t n) { b_.insert(b_.end(), n, 0); }
  void fixed_string(const std::string& s, std::size_t size) {
    b_.insert(b_.end(), s.begin(), s.end());
    zeros(size - s.size());
  }
  std::vector<std::uint8_t> take() { return std::move(b_); }

 private:
  std::vector<std::uint8_t> b_;
};

bool printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

// A char[size] field: printable text, NUL-terminated inside the field, zero after the text.
Result<std::string> read_fixed_string(In& in, std::size_t size, std::string_view field, bool allow_empty) {
  auto raw = in.take(size);
  std::size_t len = 0;
  while (len < size && raw[len] != 0) ++len;
  if (len == size) return malformed(std::string(field) + " is not NUL-terminated within " + std::to_string(size) + " bytes");
  std::string s(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(len));
  if (!printable(s)) return malformed(std::string(field) + " holds non-printable bytes");
  if (!allow_empty && s.empty()) return malformed(std::string(field) + " is empty");
  for (std::size_t i = len; i < size; ++i)
    if (raw[i] != 0) return malformed(std::string(field) + " has non-zero bytes after its terminator");
  return s;
}

Status check_fixed_string(const std::string& s, std::size_t size, std::string_view field, bool allow_empty) {
  if (s.size() >= size) return unfit(std::string(field) + " longer than " + std::to_string(size - 1) + " bytes");
  if (!printable(s)) return unfit(std::string(field) + " holds non-printable bytes");
  if (!allow_empty && s.empty()) return unfit(std::string(field) + " is empty");
  return ok();
}

Result<DeviceInfo> read_device_block(In& in) {
  DeviceInfo d;
  auto path = read_fixed_string(in, kPathSize, "device path", true);
  if (!path) return tl::unexpected(path.error());
  auto busid = read_fixed_string(in, kBusIdSize, "device busid", false);
  if (!busid) return tl::unexpected(busid.error());
  d.path = std::move(*path);
  d.busid = std::move(*busid);
  d.busnum = in.u32();
  d.devnum = in.u32();
  const std::uint32_t speed = in.u32();
  if (speed > static_cast<std::uint32_t>(Speed::Super)) return malformed("device speed " + std::to_string(speed) + " unknown");
  d.speed = static_cast<Speed>(speed);
  d.id_vendor = in.u16();
  d.id_product = in.u16();
  d.bcd_device = in.u16();
  d.device_class = in.u8();
  d.device_subclass = in.u8();
  d.device_protocol = in.u8();
  d.configuration_value = in.u8();
  d.num_configurations = in.u8();
  d.num_interfaces = in.u8();
  if (d.num_interfaces > kMaxInterfaces)
    return malformed("device declares " + std::to_string(d.num_interfaces) + " interfaces (at most " +
                     std::to_string(kMaxInterfaces) + ")");
  return d;
}

Status write_device_block(Out& out, const DeviceInfo& d) {
  if (auto st = check_fixed_string(d.path, kPathSize, "device path", true); !st) return st;
  if (auto st = check_fixed_string(d.busid, kBusIdSize, "device busid", false); !st) return st;
  if (d.num_interfaces > kMaxInterfaces) return unfit("more than " + std::to_string(kMaxInterfaces) + " interfaces");
  if (static_cast<std::uint32_t>(d.speed) > static_cast<std::uint32_t>(Speed::Super)) return unfit("unknown speed");
  out.fixed_string(d.path, kPathSize);
  out.fixed_string(d.busid, kBusIdSize);
  out.u32(d.busnum);
  out.u32(d.devnum);
  out.u32(static_cast<std::uint32_t>(d.speed));
  out.u16(d.id_vendor);
  out.u16(d.id_product);
  out.u16(d.bcd_device);
  out.u8(d.device_class);
  out.u8(d.device_subclass);
  out.u8(d.device_protocol);
  out.u8(d.configuration_value);
  out.u8(d.num_configurations);
  out.u8(d.num_interfaces);
  return ok();
}

// The 20 common bytes after `command` has been read. The header's direction and ep must make
// sense for every URB PDU; devid and seqnum are the server's business.
Result<UrbHeader> read_urb_header(In& in, std::string_view what) {
  UrbHeader h;
  h.seqnum = in.u32();
  h.devid = in.u32();
  const std::uint32_t dir = in.u32();
  if (dir > 1) return malformed(std::string(what) + " direction " + std::to_string(dir) + " (want 0 out or 1 in)");
  h.direction = static_cast<Direction>(dir);
  h.ep = in.u32();
  if (h.ep > 15) return malformed(std::string(what) + " endpoint " + std::to_string(h.ep) + " out of range 0..15");
  return h;
}

Status write_urb_header(Out& out, std::uint32_t command, const UrbHeader& h) {
  if (static_cast<std::uint32_t>(h.direction) > 1) return unfit("direction not 0 or 1");
  if (h.ep > 15) return unfit("endpoint out of range 0..15");
  out.u32(command);
  out.u32(h.seqnum);
  out.u32(h.devid);
  out.u32(static_cast<std::uint32_t>(h.direction));
  out.u32(h.ep);
  return ok();
}

bool iso_free(std::int32_t number_of_packets) { return number_of_packets == 0 || number_of_packets == -1; }

// Operation header: version and code, already known to be complete.
Status check_op_version(std::uint16_t version, std::uint16_t code) {
  if (version != kVersion)
    return malformed("unsupported protocol version " + hex(version, 4) + " (code " + hex(code, 4) + "); want " +
                     hex(kVersion, 4));
  return ok();
}

template <class T>
using Step = Result<std::optional<Decoded<T>>>;

template <class T, class P>
Step<T> done(P pdu, std::size_t size) {
  return std::optional<Decoded<T>>(Decoded<T>{T(std::move(pdu)), size});
}

template <class T>
Step<T> need_more() {
  return std::optional<Decoded<T>>();
}

}  // namespace

Result<std::optional<Decoded<Request>>> decode_request(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 4) return need_more<Request>();
  In head(bytes);
  const std::uint32_t word = head.u32();
  if (word == kCmdSubmit || word == kCmdUnlink) {
    if (bytes.size() < kUrbHeaderSize) return need_more<Request>();
    In in(bytes);
    in.u32();
    if (word == kCmdUnlink) {
      auto h = read_urb_header(in, "CMD_UNLINK");
      if (!h) return tl::unexpected(h.error());
      CmdUnlink u{*h, in.u32()};
      if (!in.zeros(24)) return malformed("CMD_UNLINK padding is not zero");
      return done<Request>(std::move(u), kUrbHeaderSize);
    }
    auto h = read_urb_header(in, "CMD_SUBMIT");
    if (!h) return tl::unexpected(h.error());
    CmdSubmit s;
    s.header = *h;
    s.transfer_flags = in.u32();
    s.transfer_buffer_length = in.u32();
    s.start_frame = in.s32();
    s.number_of_packets = in.s32();
    s.interval = in.s32();
    auto setup = in.take(8);
    std::copy(setup.begin(), setup.end(), s.setup.begin());
    if (s.transfer_buffer_length > kMaxTransferLength)
      return malformed("CMD_SUBMIT transfer_buffer_length " + std::to_string(s.transfer_buffer_length) +
                       " exceeds " + std::to_string(kMaxTransferLength));
    if (!iso_free(s.number_of_packets))
      return malformed("CMD_SUBMIT number_of_packets " + std::to_string(s.number_of_packets) +
                       ": isochronous transfers are not supported");
    std::size_t size = kUrbHeaderSize;
    if (s.header.direction == Direction::Out) {
      size += s.transfer_buffer_length;
      if (bytes.size() < size) return need_more<Request>();
      auto data = in.take(s.transfer_buffer_length);
      s.data.assign(data.begin(), data.end());
    }
    return done<Request>(std::move(s), size);
  }
  if (word == kRetSubmit || word == kRetUnlink)
    return malformed(std::string(word == kRetSubmit ? "RET_SUBMIT" : "RET_UNLINK") + " sent to the exporting side");

  const auto version = static_cast<std::uint16_t>(word >> 16);
  const auto code = static_cast<std::uint16_t>(word & 0xffff);
  if (code != kOpReqDevlist && code != kOpReqImport) {
    if (version != kVersion) return malformed("unknown PDU (first word " + hex(word, 8) + ")");
    return malformed("unknown operation code " + hex(code, 4));
  }
  if (auto st = check_op_version(version, code); !st) return tl::unexpected(st.error());
  const std::size_t size = code == kOpReqDevlist ? kOpHeaderSize : kOpHeaderSize + kBusIdSize;
  if (bytes.size() < size) return need_more<Request>();
  In in(bytes);
  in.u32();
  const std::uint32_t status = in.u32();
  if (status != 0) return malformed("request status " + std::to_string(status) + " (must be 0)");
  if (code == kOpReqDevlist) return done<Request>(OpReqDevlist{}, size);
  auto busid = read_fixed_string(in, kBusIdSize, "OP_REQ_IMPORT busid", false);
  if (!busid) return tl::unexpected(busid.error());
  return done<Request>(OpReqImport{std::move(*busid)}, size);
}

Result<std::optional<Decoded<Reply>>> decode_reply(std::span<const std::uint8_t> bytes,
                                                   const SubmitDirection& direction_of) {
  if (bytes.size() < 4) return need_more<Reply>();
  In head(bytes);
  const std::uint32_t word = head.u32();
  if (word == kRetSubmit || word == kRetUnlink) {
    if (bytes.size() < kUrbHeaderSize) return need_more<Reply>();
    In in(bytes);
    in.u32();
    if (word == kRetUnlink) {
      auto h = read_urb_header(in, "RET_UNLINK");
      if (!h) return tl::unexpected(h.error());
      RetUnlink u{*h, in.s32()};
      if (u.status > 0) return malformed("RET_UNLINK status " + std::to_string(u.status) + " (want 0 or -errno)");
      if (!in.zeros(24)) return malformed("RET_UNLINK padding is not zero");
      return done<Reply>(std::move(u), kUrbHeaderSize);
    }
    auto h = read_urb_header(in, "RET_SUBMIT");
    if (!h) return tl::unexpected(h.error());
    RetSubmit r;
    r.header = *h;
    r.status = in.s32();
    r.actual_length = in.u32();
    r.start_frame = in.s32();
    r.number_of_packets = in.s32();
    r.error_count = in.s32();
    if (!in.zeros(8)) return malformed("RET_SUBMIT padding is not zero");
    if (r.status > 0) return malformed("RET_SUBMIT status " + std::to_string(r.status) + " (want 0 or -errno)");
    if (r.actual_length > kMaxTransferLength)
      return malformed("RET_SUBMIT actual_length " + std::to_string(r.actual_length) + " exceeds " +
                       std::to_string(kMaxTransferLength));
    if (!iso_free(r.number_of_packets))
      return malformed("RET_SUBMIT number_of_packets " + std::to_string(r.number_of_packets) +
                       ": isochronous transfers are not supported");
    if (r.error_count != 0) return malformed("RET_SUBMIT error_count " + std::to_string(r.error_count) + " on a non-isochronous URB");
    const auto dir = direction_of ? direction_of(r.header.seqnum) : std::nullopt;
    if (!dir) return malformed("RET_SUBMIT for seqnum " + std::to_string(r.header.seqnum) + ", which was never submitted");
    std::size_t size = kUrbHeaderSize;
    if (*dir == Direction::In) {
      size += r.actual_length;
      if (bytes.size() < size) return need_more<Reply>();
      auto data = in.take(r.actual_length);
      r.data.assign(data.begin(), data.end());
    }
    return done<Reply>(std::move(r), size);
  }
  if (word == kCmdSubmit || word == kCmdUnlink)
    return malformed(std::string(word == kCmdSubmit ? "CMD_SUBMIT" : "CMD_UNLINK") + " sent to the importing side");

  const auto version = static_cast<std::uint16_t>(word >> 16);
  const auto code = static_cast<std::uint16_t>(word & 0xffff);
  if (code != kOpRepDevlist && code != kOpRepImport) {
    if (version != kVersion) return malformed("unknown PDU (first word " + hex(word, 8) + ")");
    return malformed("unknown operation code " + hex(code, 4));
  }
  if (auto st = check_op_version(version, code); !st) return tl::unexpected(st.error());
  if (bytes.size() < kOpHeaderSize) return need_more<Reply>();
  In in(bytes);
  in.u32();
  const std::uint32_t status = in.u32();

  if (code == kOpRepImport) {
    if (status != 0) return done<Reply>(OpRepImport{status, std::nullopt}, kOpHeaderSize);
    if (bytes.size() < kImportReplySize) return need_more<Reply>();
    auto d = read_device_block(in);
    if (!d) return tl::unexpected(d.error());
    return done<Reply>(OpRepImport{0, std::move(*d)}, kImportReplySize);
  }

  // OP_REP_DEVLIST: header, ndev, then per device its block and its interface entries. The
  // whole reply has to be present before it can be measured, device by device.
  if (status != 0) return malformed("OP_REP_DEVLIST status " + std::to_string(status) + " (must be 0)");
  if (bytes.size() < kOpHeaderSize + 4) return need_more<Reply>();
  const std::uint32_t ndev = in.u32();
  if (ndev > kMaxDevices)
    return malformed("OP_REP_DEVLIST lists " + std::to_string(ndev) + " devices (at most " + std::to_string(kMaxDevices) + ")");
  OpRepDevlist list;
  for (std::uint32_t i = 0; i < ndev; ++i) {
    if (bytes.size() < in.pos() + kDeviceBlockSize) return need_more<Reply>();
    auto d = read_device_block(in);
    if (!d) return tl::unexpected(d.error());
    if (bytes.size() < in.pos() + kInterfaceBlockSize * d->num_interfaces) return need_more<Reply>();
    for (int k = 0; k < d->num_interfaces; ++k) {
      InterfaceInfo f;
      f.interface_class = in.u8();
      f.interface_subclass = in.u8();
      f.interface_protocol = in.u8();
      if (in.u8() != 0) return malformed("OP_REP_DEVLIST interface padding is not zero");
      d->interfaces.push_back(f);
    }
    list.devices.push_back(std::move(*d));
  }
  return done<Reply>(std::move(list), in.pos());
}

Result<std::vector<std::uint8_t>> encode(const Request& request) {
  Out out;
  if (std::holds_alternative<OpReqDevlist>(request)) {
    out.u16(kVersion);
    out.u16(kOpReqDevlist);
    out.u32(0);
  } else if (const auto* imp = std::get_if<OpReqImport>(&request)) {
    if (auto st = check_fixed_string(imp->busid, kBusIdSize, "busid", false); !st) return tl::unexpected(st.error());
    out.u16(kVersion);
    out.u16(kOpReqImport);
    out.u32(0);
    out.fixed_string(imp->busid, kBusIdSize);
  } else if (const auto* s = std::get_if<CmdSubmit>(&request)) {
    if (s->transfer_buffer_length > kMaxTransferLength) return unfit("transfer_buffer_length exceeds the bound");
    if (!iso_free(s->number_of_packets)) return unfit("isochronous transfers are not supported");
    const bool out_dir = s->header.direction == Direction::Out;
    if (out_dir && s->data.size() != s->transfer_buffer_length)
      return unfit("OUT data size differs from transfer_buffer_length");
    if (!out_dir && !s->data.empty()) return unfit("data on an IN submit");
    if (auto st = write_urb_header(out, kCmdSubmit, s->header); !st) return tl::unexpected(st.error());
    out.u32(s->transfer_flags);
    out.u32(s->transfer_buffer_length);
    out.s32(s->start_frame);
    out.s32(s->number_of_packets);
    out.s32(s->interval);
    out.bytes(s->setup);
    out.bytes(s->data);
  } else {
    const auto& u = std::get<CmdUnlink>(request);
    if (auto st = write_urb_header(out, kCmdUnlink, u.header); !st) return tl::unexpected(st.error());
    out.u32(u.unlink_seqnum);
    out.zeros(24);
  }
  return out.take();
}

Result<std::vector<std::uint8_t>> encode(const Reply& reply) {
  Out out;
  if (const auto* list = std::get_if<OpRepDevlist>(&reply)) {
    if (list->devices.size() > kMaxDevices) return unfit("more than " + std::to_string(kMaxDevices) + " devices");
    out.u16(kVersion);
    out.u16(kOpRepDevlist);
    out.u32(0);
    out.u32(static_cast<std::uint32_t>(list->devices.size()));
    for (const auto& d : list->devices) {
      if (d.interfaces.size() != d.num_interfaces) return unfit("DEVLIST device lists a different number of interfaces than num_interfaces");
      if (auto st = write_device_block(out, d); !st) return tl::unexpected(st.error());
      for (const auto& f : d.interfaces) {
        out.u8(f.interface_class);
        out.u8(f.interface_subclass);
        out.u8(f.interface_protocol);
        out.u8(0);
      }
    }
  } else if (const auto* imp = std::get_if<OpRepImport>(&reply)) {
    if ((imp->status == 0) != imp->device.has_value()) return unfit("an import reply has a device iff its status is 0");
    out.u16(kVersion);
    out.u16(kOpRepImport);
    out.u32(imp->status);
    if (imp->device) {
      if (!imp->device->interfaces.empty()) return unfit("an import reply carries no interface entries");
      if (auto st = write_device_block(out, *imp->device); !st) return tl::unexpected(st.error());
    }
  } else if (const auto* r = std::get_if<RetSubmit>(&reply)) {
    if (r->status > 0) return unfit("RET_SUBMIT status must be 0 or -errno");
    if (r->actual_length > kMaxTransferLength) return unfit("actual_length exceeds the bound");
    if (!iso_free(r->number_of_packets) || r->error_count != 0) return unfit("isochronous transfers are not supported");
    // IN data is present iff the URB was IN; the caller knows, the PDU does not. Data that is
    // present must match actual_length exactly.
    if (!r->data.empty() && r->data.size() != r->actual_length) return unfit("IN data size differs from actual_length");
    if (auto st = write_urb_header(out, kRetSubmit, r->header); !st) return tl::unexpected(st.error());
    out.s32(r->status);
    out.u32(r->actual_length);
    out.s32(r->start_frame);
    out.s32(r->number_of_packets);
    out.s32(r->error_count);
    out.zeros(8);
    out.bytes(r->data);
  } else {
    const auto& u = std::get<RetUnlink>(reply);
    if (u.status > 0) return unfit("RET_UNLINK status must be 0 or -errno");
    if (auto st = write_urb_header(out, kRetUnlink, u.header); !st) return tl::unexpected(st.error());
    out.s32(u.status);
    out.zeros(24);
  }
  return out.take();
}

std::string_view name_of(const Request& r) noexcept {
  static constexpr std::string_view kNames[] = {"OP_REQ_DEVLIST", "OP_REQ_IMPORT", "CMD_SUBMIT", "CMD_UNLINK"};
  return kNames[r.index()];
}

std::string_view name_of(const Reply& r) noexcept {
  static constexpr std::string_view kNames[] = {"OP_REP_DEVLIST", "OP_REP_IMPORT", "RET_SUBMIT", "RET_UNLINK"};
  return kNames[r.index()];
}

}  // namespace till::hwsim::usbip
