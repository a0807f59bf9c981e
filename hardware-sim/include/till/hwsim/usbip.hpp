#pragma once
// USB/IP wire codec (kernel Documentation/usb/usbip_protocol.rst, version 0x0111).
//
// One TCP stream carries first the handshake (OP_REQ/REP_DEVLIST, OP_REQ/REP_IMPORT: 8-byte
// header `u16 version, u16 code, u32 status`) and, once a device is imported, URB traffic
// (CMD_SUBMIT/RET_SUBMIT, CMD_UNLINK/RET_UNLINK: 48-byte header). All integers are big-endian.
//
// Strict and canonical: every byte of a PDU is either a field of the structs below or padding
// that must be zero, strings must be NUL-terminated and zero-padded, lengths are bounded
// (kMaxTransferLength, kMaxDevices, kMaxInterfaces) and isochronous transfers are refused (the
// simulated reader has none). So decode(bytes) either fails with a clear message or yields a PDU
// that encodes back to exactly the same bytes (the property and fuzz tests check this).
//
// Two directions, decoded differently:
//  - requests travel importer (vhci-hcd, a test client) -> exporter (our server);
//  - replies travel exporter -> importer. Whether a RET_SUBMIT carries data depends on the
//    direction of the CMD_SUBMIT it answers (the reply's own header fields are 0 by
//    convention), so decode_reply asks the caller for it.
//
// Pure functions, no I/O; any thread. Errors: ErrorKind::DataLoss (malformed input: the stream
// cannot be trusted any more and should be closed) or InvalidArgument (encode of a PDU whose
// fields do not fit the wire format).

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "till/base/result.hpp"

namespace till::hwsim::usbip {

inline constexpr std::uint16_t kVersion = 0x0111;
inline constexpr std::uint16_t kOpReqDevlist = 0x8005;
inline constexpr std::uint16_t kOpRepDevlist = 0x0005;
inline constexpr std::uint16_t kOpReqImport = 0x8003;
inline constexpr std::uint16_t kOpRepImport = 0x0003;
inline constexpr std::uint32_t kCmdSubmit = 1;
inline constexpr std::uint32_t kCmdUnlink = 2;
inline constexpr std::uint32_t kRetSubmit = 3;
inline constexpr std::uint32_t kRetUnlink = 4;

inline constexpr std::size_t kOpHeaderSize = 8;
inline constexpr std::size_t kPathSize = 256;
inline constexpr std::size_t kBusIdSize = 32;
inline constexpr std::size_t kDeviceBlockSize = 0x138;  // 312
inline constexpr std::size_t kInterfaceBlockSize = 4;
inline constexpr std::size_t kUrbHeaderSize = 48;
inline constexpr std::size_t kImportReplySize = kOpHeaderSize + kDeviceBlockSize;  // 320

// Bounds that keep a hostile or broken peer from making us allocate without limit.
inline constexpr std::uint32_t kMaxTransferLength = 1u << 20;  // bytes of one URB's data
inline constexpr std::uint32_t kMaxDevices = 64;                // devices in one DEVLIST reply
inline constexpr std::uint8_t kMaxInterfaces = 32;              // interfaces per device

// Linux errno values as USB/IP carries them (negated in RET_SUBMIT/RET_UNLINK status).
inline constexpr std::int32_t kEPIPE = 32;        // endpoint stalled
inline constexpr std::int32_t kENOENT = 2;        // URB unlinked synchronously
inline constexpr std::int32_t kECONNRESET = 104;  // URB unlinked while pending
inline constexpr std::int32_t kESHUTDOWN = 108;   // device gone
inline constexpr std::int32_t kENODEV = 19;

// USB speeds as usb_device_speed numbers (the `speed` field and the vhci attach file).
enum class Speed : std::uint32_t { Unknown = 0, Low = 1, Full = 2, High = 3, Wireless = 4, Super = 5 };

enum class Direction : std::uint32_t { Out = 0, In = 1 };

struct InterfaceInfo {
  std::uint8_t interface_class = 0;
  std::uint8_t interface_subclass = 0;
  std::uint8_t interface_protocol = 0;
  bool operator==(const InterfaceInfo&) const = default;
};

// The exported device block (0x138 bytes), plus its interfaces in a DEVLIST reply only.
struct DeviceInfo {
  std::string path;   // sysfs-like path, < 256 bytes, printable ASCII
  std::string busid;  // e.g. "1-1", 1..31 bytes, printable ASCII
  std::uint32_t busnum = 0;
  std::uint32_t devnum = 0;
  Speed speed = Speed::High;
  std::uint16_t id_vendor = 0;
  std::uint16_t id_product = 0;
  std::uint16_t bcd_device = 0;
  std::uint8_t device_class = 0;
  std::uint8_t device_subclass = 0;
  std::uint8_t device_protocol = 0;
  std::uint8_t configuration_value = 0;
  std::uint8_t num_configurations = 0;
  std::uint8_t num_interfaces = 0;
  // DEVLIST carries one entry per interface (size == num_interfaces); IMPORT carries none.
  std::vector<InterfaceInfo> interfaces;
  bool operator==(const DeviceInfo&) const = default;

  std::uint32_t devid() const noexcept { return busnum << 16 | (devnum & 0xffff); }
};

// Common part of every URB PDU header.
struct UrbHeader {
  std::uint32_t seqnum = 0;
  std::uint32_t devid = 0;
  Direction direction = Direction::Out;
  std::uint32_t ep = 0;  // endpoint number 0..15 (no direction bit)
  bool operator==(const UrbHeader&) const = default;
};

// --- requests (importer -> exporter) ---
struct OpReqDevlist {
  bool operator==(const OpReqDevlist&) const = default;
};
struct OpReqImport {
  std::string busid;
  bool operator==(const OpReqImport&) const = default;
};
struct CmdSubmit {
  UrbHeader header;
  std::uint32_t transfer_flags = 0;
  std::uint32_t transfer_buffer_length = 0;
  std::int32_t start_frame = 0;
  std::int32_t number_of_packets = 0;  // 0 or -1 (0xffffffff): nothing else is accepted
  std::int32_t interval = 0;
  std::array<std::uint8_t, 8> setup{};  // control transfers on ep0; otherwise as sent
  std::vector<std::uint8_t> data;       // OUT only: exactly transfer_buffer_length bytes
  bool operator==(const CmdSubmit&) const = default;
};
struct CmdUnlink {
  UrbHeader header;
  std::uint32_t unlink_seqnum = 0;
  bool operator==(const CmdUnlink&) const = default;
};
using Request = std::variant<OpReqDevlist, OpReqImport, CmdSubmit, CmdUnlink>;

// --- replies (exporter -> importer) ---
struct OpRepDevlist {
  std::vector<DeviceInfo> devices;
  bool operator==(const OpRepDevlist&) const = default;
};
struct OpRepImport {
  std::uint32_t status = 0;           // 0 = OK; otherwise no device block follows
  std::optional<DeviceInfo> device;   // present iff status == 0 (interfaces empty)
  bool operator==(const OpRepImport&) const = default;
};
struct RetSubmit {
  UrbHeader header;                  // seqnum of the CMD_SUBMIT; devid/direction/ep 0 by convention
  std::int32_t status = 0;           // 0 or -errno (-kEPIPE = stall)
  std::uint32_t actual_length = 0;
  std::int32_t start_frame = 0;
  std::int32_t number_of_packets = 0;  // 0 or -1
  std::int32_t error_count = 0;
  std::vector<std::uint8_t> data;    // IN only: exactly actual_length bytes
  bool operator==(const RetSubmit&) const = default;
};
struct RetUnlink {
  UrbHeader header;
  std::int32_t status = 0;  // -kECONNRESET: the victim was pending (no RET_SUBMIT follows); 0: too late
  bool operator==(const RetUnlink&) const = default;
};
using Reply = std::variant<OpRepDevlist, OpRepImport, RetSubmit, RetUnlink>;

template <class T>
struct Decoded {
  T pdu;
  std::size_t size = 0;  // bytes consumed from the front of the input
};

// Decodes the request at the front of `bytes`. nullopt: a valid prefix, more bytes needed (never
// more than kUrbHeaderSize + kMaxTransferLength in total). Fails DataLoss with a message saying
// which field is wrong; the stream is then unusable.
Result<std::optional<Decoded<Request>>> decode_request(std::span<const std::uint8_t> bytes);

// Direction of the CMD_SUBMIT a RET_SUBMIT answers; nullopt for a seqnum the caller never sent.
using SubmitDirection = std::function<std::optional<Direction>(std::uint32_t seqnum)>;

// Decodes the reply at the front of `bytes` (same contract as decode_request). A RET_SUBMIT
// whose seqnum `direction_of` does not know is malformed.
Result<std::optional<Decoded<Reply>>> decode_reply(std::span<const std::uint8_t> bytes,
                                                   const SubmitDirection& direction_of);

// Encoders. Fail InvalidArgument when a field does not fit (string too long or not printable,
// data length not matching its length field, OUT data on an IN submit, too many devices...).
Result<std::vector<std::uint8_t>> encode(const Request& request);
Result<std::vector<std::uint8_t>> encode(const Reply& reply);

// Short name of a PDU ("CMD_SUBMIT", ...) for logs.
std::string_view name_of(const Request& r) noexcept;
std::string_view name_of(const Reply& r) noexcept;

}  // namespace till::hwsim::usbip
