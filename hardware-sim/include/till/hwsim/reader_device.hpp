#pragma once
// The simulated card reader: one device model, transport-independent, behind every front end
// (in-process `sim` driver, TCP in till-reader-sim; USB/IP and umockdev planned).
//
// It speaks Till's reader protocol as a real reader would, reproduces Stripe's test cards and
// test amounts, stores payments offline within a configurable capacity, and plays scripted
// faults. It is deterministic from its seed: tokens, authorization codes and injected noise
// all come from one SeededRandom, and time only advances through DeviceIo::schedule.
//
// Threading: everything (DeviceEndpoint calls and the actions below) on the front end's loop
// thread. Not thread-safe.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "till/base/random.hpp"
#include "till/hwsim/test_cards.hpp"
#include "till/terminal/protocol/device.hpp"
#include "till/terminal/protocol/messages.hpp"

namespace till::hwsim {

using std::chrono::milliseconds;

struct DeviceConfig {
  std::uint64_t seed = 1;
  std::string model = "Till SimReader S1";
  std::string serial = "SIM-0001";
  std::string firmware_version = "1.4.0";
  std::string available_firmware = "1.5.0";
  int battery_percent = 100;
  bool charging = false;
  bool online = true;            // the reader's own network; offline -> store and forward
  bool offline_capable = true;
  int offline_capacity = 5;      // stored payments before OfflineStorageFull
  bool update_required = false;
  bool auto_pin = true;          // scripted customers type their PIN without being told
  milliseconds present_delay{2};    // scripted card appears this long after the collect
  milliseconds read_delay{2};       // chip/contactless read time
  milliseconds authorize_delay{2};  // time to decide
  milliseconds response_delay{0};   // "slow responses": every frame to the host waits this long
  milliseconds firmware_step{2};    // per 25 % of a firmware install
};

enum class ReadMethod { Contact, Contactless, Swipe };
std::string_view to_string(ReadMethod m) noexcept;
std::optional<ReadMethod> parse_read_method(std::string_view s) noexcept;

// Faults a scripted payment can carry.
enum class Fault {
  None,
  CardRemovedMidRead,            // the card leaves during the read: error card_removed
  CardReadFailed,                // first read fails: "try another card", then waits for a card again
  Timeout,                       // nobody presents a card: the reader's own timeout fires at once
  Unresponsive,                  // the reader swallows the collect and any cancel: host deadline decides
  DisconnectBeforeAuthorization, // unplug after the read, before the reader announces Authorizing
  DisconnectAfterAuthorization,  // unplug after the decision, before the result is sent
  ReaderBusy,                    // the reader is held by something else: error busy
};
std::string_view to_string(Fault f) noexcept;
std::optional<Fault> parse_fault(std::string_view s) noexcept;

// What the simulated customer does for one collect (consumed in order, one per collect), plus
// the reader settings that change when that collect arrives.
struct ScriptedPayment {
  std::string card;  // name or number; empty: nobody presents a card
  ReadMethod method = ReadMethod::Contact;
  Fault fault = Fault::None;
  std::optional<int> battery_percent;
  std::optional<bool> online;
  std::optional<milliseconds> response_delay;
  int garbage_frames = 0;        // the next N frames are preceded by noise and a corrupted copy
  bool require_update = false;   // firmware update becomes required
};

inline ScriptedPayment scripted_card(std::string card, Fault fault = Fault::None,
                                     ReadMethod method = ReadMethod::Contact) {
  ScriptedPayment p;
  p.card = std::move(card);
  p.fault = fault;
  p.method = method;
  return p;
}

// A decision the device made, for tests and the interactive log (never the PAN).
struct DeviceRecord {
  std::string outcome;  // approved, approved_offline, declined:<code>, cancelled, error:<code>, lost:<...>, abandoned
  std::string brand;
  std::string last4;
  std::string payment_method;
  std::int64_t amount = 0;
};

class ReaderDevice final : public terminal::protocol::DeviceEndpoint {
 public:
  explicit ReaderDevice(DeviceConfig config = {});

  // DeviceEndpoint
  Status attach(terminal::protocol::DeviceIo* io) override;
  void receive_bytes(std::span<const std::uint8_t> bytes) override;

  // Customer and staff actions (interactive mode, tests). Each fails FailedPrecondition when it
  // makes no sense now (e.g. no payment waiting for a card) and NotFound for an unknown card.
  Status present_card(std::string_view name_or_number, ReadMethod method = ReadMethod::Contact);
  Status enter_pin();  // the PIN itself never enters the model: only "entered"
  Status remove_card();
  void unplug();  // drops the link; attach() fails until plug()
  void plug();
  void set_battery(int percent);
  void set_online(bool online);
  void require_update(bool required = true);
  void set_response_delay(milliseconds d) { config_.response_delay = d; }
  void inject_garbage(int frames) { garbage_frames_ += frames; }
  void queue_payment(ScriptedPayment p) { script_.push_back(std::move(p)); }
  // What the reader's screen would tell a person ("waiting for a card", "approved visa 4242"),
  // for till-reader-sim's interactive mode. Never a card number.
  void set_observer(std::function<void(const std::string&)> observer) { observer_ = std::move(observer); }

  // Observers.
  bool plugged() const noexcept { return plugged_; }
  bool attached() const noexcept { return io_ != nullptr; }
  bool collecting() const noexcept { return txn_.has_value(); }
  bool waiting_for_card() const noexcept;
  bool waiting_for_pin() const noexcept;
  int offline_stored() const noexcept { return offline_stored_; }
  int collects_received() const noexcept { return collects_; }
  std::size_t scripted_remaining() const noexcept { return script_.size(); }
  const std::vector<DeviceRecord>& records() const noexcept { return records_; }
  const terminal::protocol::Display& display() const noexcept { return display_; }
  const DeviceConfig& config() const noexcept { return config_; }
  std::uint64_t malformed_frames_received() const noexcept { return decoder_.frames().errors(); }

 private:
  enum class Phase { WaitingCard, Reading, WaitingPin, Authorizing };
  struct Txn {
    std::uint16_t seq = 0;
    std::int64_t amount = 0;
    std::string currency;
    bool offline_allowed = false;
    Phase phase = Phase::WaitingCard;
    const TestCard* card = nullptr;
    ReadMethod method = ReadMethod::Contact;
    Fault fault = Fault::None;
    std::uint64_t gen = 0;  // guards scheduled steps against a newer transaction
  };

  void on_message(const terminal::protocol::Envelope& e);
  void on_collect(std::uint16_t seq, const terminal::protocol::Collect& c);
  void on_cancel(std::uint16_t seq);
  void on_firmware(std::uint16_t seq, const terminal::protocol::FirmwareRequest& f);
  void after_read(std::uint64_t gen);
  void authorize();
  void finish(terminal::protocol::CollectResult r, std::string record);
  void fail_txn(terminal::protocol::ErrorCode code, std::string message);
  void event(terminal::protocol::EventKind k, std::string message = {}, std::uint8_t progress = 0);
  void send(terminal::protocol::Message m);
  void send_status();
  void enqueue(std::vector<std::uint8_t> bytes);
  void enqueue_drop();
  void pump();
  void after(milliseconds d, std::function<void()> fn);
  std::string new_token();
  std::string new_auth_code();
  terminal::protocol::StatusMessage status_message() const;

  DeviceConfig config_;
  SeededRandom random_;
  terminal::protocol::DeviceIo* io_ = nullptr;
  bool plugged_ = true;
  terminal::protocol::MessageDecoder decoder_;
  std::uint16_t next_seq_ = 1;
  std::optional<Txn> txn_;
  std::uint64_t gen_ = 0;
  bool firmware_installing_ = false;
  int offline_stored_ = 0;
  int collects_ = 0;
  int garbage_frames_ = 0;
  std::deque<ScriptedPayment> script_;
  std::vector<DeviceRecord> records_;
  terminal::protocol::Display display_;
  // Outgoing frames (and an unplug marker: empty vector) waiting behind response_delay.
  std::deque<std::vector<std::uint8_t>> out_;
  bool pumping_ = false;
  std::uint64_t link_gen_ = 0;  // a new link invalidates callbacks scheduled on the old one
  std::function<void(const std::string&)> observer_;
  void tell(const std::string& what) {
    if (observer_) observer_(what);
  }
};

}  // namespace till::hwsim
