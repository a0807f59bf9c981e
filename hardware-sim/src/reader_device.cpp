#include "till/hwsim/reader_device.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "till/base/log.hpp"

namespace till::hwsim {

namespace p = terminal::protocol;

std::string_view to_string(ReadMethod m) noexcept {
  switch (m) {
    case ReadMethod::Contact: return "contact";
    case ReadMethod::Contactless: return "contactless";
    case ReadMethod::Swipe: return "swipe";
  }
  return "contact";
}

std::optional<ReadMethod> parse_read_method(std::string_view s) noexcept {
  if (s == "contact" || s == "insert" || s == "chip") return ReadMethod::Contact;
  if (s == "contactless" || s == "tap") return ReadMethod::Contactless;
  if (s == "swipe" || s == "magstripe") return ReadMethod::Swipe;
  return std::nullopt;
}

std::string_view to_string(Fault f) noexcept {
  switch (f) {
    case Fault::None: return "none";
    case Fault::CardRemovedMidRead: return "card_removed";
    case Fault::CardReadFailed: return "card_read_failed";
    case Fault::Timeout: return "timeout";
    case Fault::Unresponsive: return "unresponsive";
    case Fault::DisconnectBeforeAuthorization: return "disconnect_before_authorization";
    case Fault::DisconnectAfterAuthorization: return "disconnect_after_authorization";
    case Fault::ReaderBusy: return "reader_busy";
  }
  return "none";
}

std::optional<Fault> parse_fault(std::string_view s) noexcept {
  for (Fault f : {Fault::None, Fault::CardRemovedMidRead, Fault::CardReadFailed, Fault::Timeout, Fault::Unresponsive,
                  Fault::DisconnectBeforeAuthorization, Fault::DisconnectAfterAuthorization, Fault::ReaderBusy})
    if (to_string(f) == s) return f;
  return std::nullopt;
}

ReaderDevice::ReaderDevice(DeviceConfig config) : config_(std::move(config)), random_(config_.seed) {
  config_.battery_percent = std::clamp(config_.battery_percent, 0, 100);
  config_.offline_capacity = std::clamp(config_.offline_capacity, 0, 65535);
}

bool ReaderDevice::waiting_for_card() const noexcept { return txn_ && txn_->phase == Phase::WaitingCard; }
bool ReaderDevice::waiting_for_pin() const noexcept { return txn_ && txn_->phase == Phase::WaitingPin; }

// ---- link -----------------------------------------------------------------------------------

Status ReaderDevice::attach(p::DeviceIo* io) {
  if (io == nullptr) {
    if (txn_) {
      // The link is gone: before Authorizing the payment is abandoned (protocol contract);
      // after it, the decision stands but its answer is lost.
      records_.push_back({txn_->phase == Phase::Authorizing ? "lost:authorizing" : "abandoned",
                          txn_->card ? std::string(txn_->card->brand) : "",
                          txn_->card ? std::string(txn_->card->last4()) : "", "", txn_->amount});
    }
    if (io_ != nullptr) tell("host disconnected");
    io_ = nullptr;
    txn_.reset();
    ++gen_;
    ++link_gen_;
    out_.clear();
    pumping_ = false;
    firmware_installing_ = false;
    decoder_ = p::MessageDecoder{};
    return ok();
  }
  if (!plugged_) return fail(ErrorKind::Unavailable, "reader is unplugged");
  if (io_ != nullptr) return fail(ErrorKind::Unavailable, "reader is in use by another host");
  io_ = io;
  ++link_gen_;
  tell("host connected");
  return ok();
}

void ReaderDevice::receive_bytes(std::span<const std::uint8_t> bytes) {
  decoder_.feed(bytes);
  while (io_) {
    auto next = decoder_.next();
    if (!next) break;
    if (!*next) {
      log::warn("hwsim.malformed_frame", {{"error", std::string(p::to_string(next->error().code))}});
      continue;
    }
    on_message(**next);
  }
}

void ReaderDevice::after(milliseconds d, std::function<void()> fn) {
  if (!io_) return;
  io_->schedule(d, [this, lg = link_gen_, fn = std::move(fn)] {
    if (lg == link_gen_ && io_) fn();
  });
}

// ---- outgoing -------------------------------------------------------------------------------

void ReaderDevice::send(p::Message m) {
  const std::uint16_t seq = next_seq_++;
  if (next_seq_ == 0) next_seq_ = 1;
  auto bytes = p::encode(p::Envelope{seq, std::move(m)});
  if (!bytes) {
    log::error("hwsim.encode_failed", {{"error", bytes.error().message}});
    return;
  }
  enqueue(std::move(*bytes));
}

void ReaderDevice::enqueue(std::vector<std::uint8_t> frame) {
  if (!io_) return;
  if (garbage_frames_ > 0) {
    --garbage_frames_;
    // Line noise (with a stray magic byte to tempt the decoder), then a copy of the frame with
    // one bit flipped after the magic, then the intact frame: the host must skip the first two
    // and act on the third exactly once.
    std::vector<std::uint8_t> noise;
    const auto n = 1 + random_.uniform(16);
    for (std::uint64_t i = 0; i < n; ++i)
      noise.push_back(i == n / 2 ? p::kMagic0 : static_cast<std::uint8_t>(random_.uniform(256)));
    std::vector<std::uint8_t> corrupted = frame;
    const auto at = 2 + random_.uniform(corrupted.size() - 2);
    corrupted[at] ^= static_cast<std::uint8_t>(1U << random_.uniform(8));
    out_.push_back(std::move(noise));
    out_.push_back(std::move(corrupted));
  }
  out_.push_back(std::move(frame));
  pump();
}

void ReaderDevice::enqueue_drop() {
  if (!io_) return;
  out_.push_back({});  // empty = unplug marker, so the drop happens after what was already sent
  pump();
}

void ReaderDevice::pump() {
  while (io_ && !pumping_ && !out_.empty()) {
    if (config_.response_delay.count() > 0) {
      pumping_ = true;
      after(config_.response_delay, [this] {
        pumping_ = false;
        if (out_.empty()) return;
        auto bytes = std::move(out_.front());
        out_.pop_front();
        if (bytes.empty()) return io_->drop_link();
        io_->send_bytes(std::move(bytes));
        pump();
      });
      return;
    }
    auto bytes = std::move(out_.front());
    out_.pop_front();
    if (bytes.empty()) return io_->drop_link();
    io_->send_bytes(std::move(bytes));
  }
}

void ReaderDevice::event(p::EventKind k, std::string message, std::uint8_t progress) {
  send(p::Event{k, progress, std::move(message)});
}

p::StatusMessage ReaderDevice::status_message() const {
  p::StatusMessage s;
  s.battery_percent = static_cast<std::uint8_t>(config_.battery_percent);
  s.charging = config_.charging;
  s.firmware_version = config_.firmware_version;
  s.update_required = config_.update_required;
  s.online = config_.online;
  s.offline_capable = config_.offline_capable;
  s.offline_capacity = static_cast<std::uint16_t>(config_.offline_capacity);
  s.offline_stored = static_cast<std::uint16_t>(std::min(offline_stored_, config_.offline_capacity));
  s.busy = txn_.has_value() || firmware_installing_;
  return s;
}

void ReaderDevice::send_status() { send(status_message()); }

namespace {

// The name a card carries in till-stripe-sim's token scheme (stripe-sim/README.md "Token
// scheme"): camelCase of the test card's name, and "chargeDeclined" for the generic decline card,
// so a token forwarded to the simulator gets that card's outcome there (a "decline" card stored
// offline is declined when it is forwarded, as it would be on Stripe).
std::string stripe_test_name(std::string_view name) {
  if (name == "declined") return "chargeDeclined";
  std::string out;
  bool upper = false;
  for (char c : name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out.push_back(upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
    upper = false;
  }
  return out;
}

}  // namespace

std::string ReaderDevice::new_token() {
  // pm_test_<cardName>_<20 random letters>. Letters only: a token can never look like a card
  // number, and it names the test card, never its number.
  static constexpr char kAlphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
  std::string t = "pm_test_";
  t += txn_ && txn_->card ? stripe_test_name(txn_->card->name) : std::string("visa");
  t.push_back('_');
  for (int i = 0; i < 20; ++i) t.push_back(kAlphabet[random_.uniform(sizeof kAlphabet - 1)]);
  return t;
}

std::string ReaderDevice::new_auth_code() {
  static constexpr char kAlphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
  std::string t;
  for (int i = 0; i < 6; ++i) t.push_back(kAlphabet[random_.uniform(sizeof kAlphabet - 1)]);
  return t;
}

// ---- incoming -------------------------------------------------------------------------------

void ReaderDevice::on_message(const p::Envelope& e) {
  std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, p::Hello>) {
          if (m.max_version < p::kProtocolVersionMin || m.min_version > p::kProtocolVersionMax) {
            send(p::Ack{e.seq, p::ErrorCode::UnsupportedVersion,
                        "reader speaks " + std::to_string(p::kProtocolVersionMin) + ".." +
                            std::to_string(p::kProtocolVersionMax)});
            return;
          }
          send(p::HelloReply{std::min(m.max_version, p::kProtocolVersionMax), config_.model, config_.serial,
                             config_.firmware_version});
        } else if constexpr (std::is_same_v<M, p::StatusRequest>) {
          send_status();
        } else if constexpr (std::is_same_v<M, p::Display>) {
          display_ = m;
          tell("display: " + std::to_string(m.lines.size()) + " lines, total " + std::to_string(m.total) + " " +
               m.currency);
          send(p::Ack{e.seq, p::ErrorCode::None, {}});
        } else if constexpr (std::is_same_v<M, p::Collect>) {
          on_collect(e.seq, m);
        } else if constexpr (std::is_same_v<M, p::Cancel>) {
          on_cancel(e.seq);
        } else if constexpr (std::is_same_v<M, p::FirmwareRequest>) {
          on_firmware(e.seq, m);
        } else {
          send(p::Ack{e.seq, p::ErrorCode::InvalidRequest, "a host does not send this message"});
        }
      },
      e.message);
}

void ReaderDevice::on_collect(std::uint16_t seq, const p::Collect& c) {
  ++collects_;
  if (txn_ || firmware_installing_) {
    send(p::CollectResult{seq, p::Outcome::Error, {}, {}, p::ErrorCode::Busy, "a payment is already in progress"});
    return;
  }
  ScriptedPayment step;
  if (!script_.empty()) {
    step = std::move(script_.front());
    script_.pop_front();
  }
  if (step.response_delay) config_.response_delay = *step.response_delay;
  garbage_frames_ += step.garbage_frames;
  if (step.online) config_.online = *step.online;
  if (step.battery_percent) set_battery(*step.battery_percent);
  if (step.require_update) require_update(true);

  if (step.fault == Fault::ReaderBusy) {
    records_.push_back({"error:busy", "", "", "", c.amount});
    send(p::CollectResult{seq, p::Outcome::Error, {}, {}, p::ErrorCode::Busy, "reader is in use"});
    return;
  }
  if (config_.update_required) {
    records_.push_back({"error:update_required", "", "", "", c.amount});
    event(p::EventKind::UpdateRequired, "firmware " + config_.available_firmware + " must be installed");
    send(p::CollectResult{seq, p::Outcome::Error, {}, {}, p::ErrorCode::UpdateRequired, "firmware update required"});
    return;
  }

  Txn t;
  t.seq = seq;
  t.amount = c.amount;
  t.currency = c.currency;
  t.offline_allowed = c.offline_allowed;
  t.fault = step.fault;
  t.gen = ++gen_;
  txn_ = t;
  const std::uint64_t gen = t.gen;

  tell("payment of " + std::to_string(c.amount) + " " + c.currency + " (minor units): " +
       (step.card.empty() ? std::string("present a card (type: card visa)") : "scripted step") +
       (step.fault == Fault::None ? "" : ", fault " + std::string(to_string(step.fault))));
  if (step.fault == Fault::Unresponsive) return;  // swallow it: no events, no result, no acks
  if (step.fault == Fault::Timeout) {
    after(config_.present_delay, [this, gen] {
      if (txn_ && txn_->gen == gen) fail_txn(p::ErrorCode::Timeout, "no card presented");
    });
    return;
  }
  // The reader's own timeout, for a host that went away.
  after(milliseconds{c.timeout_ms}, [this, gen] {
    if (txn_ && txn_->gen == gen && txn_->phase == Phase::WaitingCard) fail_txn(p::ErrorCode::Timeout, "no card presented");
  });
  if (!step.card.empty()) {
    after(config_.present_delay, [this, gen, card = step.card, method = step.method] {
      if (txn_ && txn_->gen == gen && txn_->phase == Phase::WaitingCard) {
        if (auto st = present_card(card, method); !st)
          log::warn("hwsim.scripted_card_failed", {{"error", st.error().message}});
      }
    });
  }
}

void ReaderDevice::on_cancel(std::uint16_t seq) {
  if (!txn_) {
    send(p::Ack{seq, p::ErrorCode::NothingToCancel, "no payment in progress"});
    return;
  }
  if (txn_->fault == Fault::Unresponsive) return;
  if (txn_->phase == Phase::Authorizing) {
    send(p::Ack{seq, p::ErrorCode::InvalidRequest, "too late to cancel: the reader is deciding"});
    return;
  }
  const std::uint16_t cseq = txn_->seq;
  const bool card_in = txn_->card != nullptr && txn_->method == ReadMethod::Contact;
  records_.push_back({"cancelled", "", "", "", txn_->amount});
  tell("cancelled by the host");
  txn_.reset();
  ++gen_;
  send(p::CollectResult{cseq, p::Outcome::Cancelled, {}, {}, p::ErrorCode::None, "cancelled by the host"});
  send(p::Ack{seq, p::ErrorCode::None, {}});
  if (card_in) event(p::EventKind::PromptRemoveCard);
}

void ReaderDevice::on_firmware(std::uint16_t seq, const p::FirmwareRequest& f) {
  if (f.action == p::FirmwareAction::Query) {
    send(p::Firmware{config_.firmware_version, config_.available_firmware, config_.update_required, false});
    return;
  }
  if (txn_ || firmware_installing_) {
    send(p::Ack{seq, p::ErrorCode::Busy, "cannot install during a payment"});
    return;
  }
  firmware_installing_ = true;
  for (int step = 1; step <= 4; ++step) {
    after(config_.firmware_step * step, [this, step] {
      event(p::EventKind::FirmwareProgress, "installing", static_cast<std::uint8_t>(step * 25));
      if (step == 4) {
        firmware_installing_ = false;
        if (!config_.available_firmware.empty()) config_.firmware_version = config_.available_firmware;
        config_.update_required = false;
        send(p::Firmware{config_.firmware_version, "", false, true});
        send_status();
      }
    });
  }
}

// ---- the payment ----------------------------------------------------------------------------

Status ReaderDevice::present_card(std::string_view key, ReadMethod method) {
  const TestCard* card = find_test_card(key);
  if (card == nullptr) return fail(ErrorKind::NotFound, "unknown test card");  // never echo the number
  if (!txn_ || txn_->phase != Phase::WaitingCard)
    return fail(ErrorKind::FailedPrecondition, "no payment is waiting for a card");
  txn_->card = card;
  txn_->method = method;
  txn_->phase = Phase::Reading;
  event(method == ReadMethod::Contact       ? p::EventKind::CardInserted
        : method == ReadMethod::Contactless ? p::EventKind::CardTapped
                                            : p::EventKind::CardSwiped);
  const std::uint64_t gen = txn_->gen;
  after(config_.read_delay, [this, gen] { after_read(gen); });
  return ok();
}

void ReaderDevice::after_read(std::uint64_t gen) {
  if (!txn_ || txn_->gen != gen || txn_->phase != Phase::Reading) return;
  Txn& t = *txn_;
  switch (t.fault) {
    case Fault::CardRemovedMidRead:
      event(p::EventKind::CardRemoved);
      return fail_txn(p::ErrorCode::CardRemoved, "card removed before the read finished");
    case Fault::CardReadFailed:
      t.fault = Fault::None;
      t.card = nullptr;
      t.phase = Phase::WaitingCard;
      event(p::EventKind::PromptTryAnotherCard, "card could not be read");
      return;
    case Fault::DisconnectBeforeAuthorization:
      records_.push_back({"abandoned", std::string(t.card->brand), std::string(t.card->last4()), "", t.amount});
      txn_.reset();
      ++gen_;
      enqueue_drop();
      return;
    default: break;
  }
  if (!config_.online) {
    if (!t.offline_allowed) return fail_txn(p::ErrorCode::OfflineNotAllowed, "reader is offline");
    if (t.card->interac() || t.card->pin == PinKind::Online || t.method == ReadMethod::Swipe)
      return fail_txn(p::ErrorCode::OfflineUnsupportedCard, "this card cannot be taken offline");
    if (offline_stored_ >= config_.offline_capacity)
      return fail_txn(p::ErrorCode::OfflineStorageFull, "offline storage is full");
  }
  if (t.card->pin != PinKind::None && t.method != ReadMethod::Swipe) {
    t.phase = Phase::WaitingPin;
    tell("asking for the PIN (type: pin)");
    event(p::EventKind::PromptEnterPin, "Enter PIN");
    if (config_.auto_pin)
      after(config_.read_delay, [this, gen] {
        if (txn_ && txn_->gen == gen && txn_->phase == Phase::WaitingPin) (void)enter_pin();
      });
    return;
  }
  authorize();
}

Status ReaderDevice::enter_pin() {
  if (!txn_ || txn_->phase != Phase::WaitingPin) return fail(ErrorKind::FailedPrecondition, "no PIN is being asked for");
  event(p::EventKind::PinEntered);
  authorize();
  return ok();
}

Status ReaderDevice::remove_card() {
  if (txn_ && (txn_->phase == Phase::Reading || txn_->phase == Phase::WaitingPin)) {
    event(p::EventKind::CardRemoved);
    fail_txn(p::ErrorCode::CardRemoved, "card removed before the payment finished");
    return ok();
  }
  if (txn_ && txn_->phase == Phase::Authorizing)
    return fail(ErrorKind::FailedPrecondition, "too late: the reader is deciding");
  event(p::EventKind::CardRemoved);
  return ok();
}

void ReaderDevice::authorize() {
  Txn& t = *txn_;
  t.phase = Phase::Authorizing;
  event(p::EventKind::Authorizing, "Processing");

  p::CollectResult r;
  r.request_seq = t.seq;
  p::CardResult& c = r.card;
  c.brand = std::string(t.card->brand);
  c.last4 = std::string(t.card->last4());
  c.exp_month = t.card->exp_month;
  c.exp_year = t.card->exp_year;
  c.read_method = t.method == ReadMethod::Contact       ? "contact_emv"
                  : t.method == ReadMethod::Contactless ? "contactless_emv"
                                                        : "magnetic_stripe_fallback";
  if (t.method != ReadMethod::Swipe) {
    c.application_id = std::string(t.card->application_id);
    c.application_label = std::string(t.card->application_label);
  }
  c.cvm = t.card->pin == PinKind::Offline ? "offline_pin"
          : t.card->pin == PinKind::Online ? "online_pin"
          : t.method == ReadMethod::Contactless ? "none"
                                               : "signature";
  std::string record;
  if (!config_.online) {
    // Store and forward: the issuer is asked only when the payment is forwarded, so even a
    // "decline" test card is approved here (exactly the merchant risk stripe.md §8 describes).
    ++offline_stored_;
    r.outcome = p::Outcome::Approved;
    c.payment_method = new_token();
    c.tvr = "0000000000";
    c.stored_offline = true;
    record = "approved_offline";
  } else {
    std::string code(t.card->decline_code);
    if (code.empty()) code = std::string(amount_decline_code(t.amount));
    if (!code.empty()) {
      r.outcome = p::Outcome::Declined;
      r.decline_code = code;
      r.message = "declined by the (simulated) issuer";
      c.tvr = "0000008000";
      record = "declined:" + code;
    } else {
      r.outcome = p::Outcome::Approved;
      c.payment_method = new_token();
      c.authorization_code = new_auth_code();
      c.tvr = "0000000000";
      record = "approved";
    }
  }
  if (t.fault == Fault::DisconnectAfterAuthorization) {
    // Decided, but the answer never leaves the reader: the host must see OutcomeUnknown.
    records_.push_back({"lost:" + record, c.brand, c.last4, c.payment_method, t.amount});
    tell("decided " + record + ", then the cable was pulled (the host cannot know)");
    txn_.reset();
    ++gen_;
    enqueue_drop();
    return;
  }
  const std::uint64_t gen = t.gen;
  const bool contact = t.method == ReadMethod::Contact;
  after(config_.authorize_delay, [this, gen, r = std::move(r), record, contact]() mutable {
    if (!txn_ || txn_->gen != gen) return;
    finish(std::move(r), record);
    if (contact) event(p::EventKind::PromptRemoveCard);
  });
}

void ReaderDevice::finish(p::CollectResult r, std::string record) {
  tell("result: " + record + (r.card.last4.empty() ? "" : " " + r.card.brand + " " + r.card.last4));
  records_.push_back({std::move(record), r.card.brand, r.card.last4, r.card.payment_method, txn_ ? txn_->amount : 0});
  txn_.reset();
  ++gen_;
  const bool stored = r.card.stored_offline;
  send(std::move(r));
  if (stored) send_status();
}

void ReaderDevice::fail_txn(p::ErrorCode code, std::string message) {
  if (!txn_) return;
  p::CollectResult r;
  r.request_seq = txn_->seq;
  r.outcome = p::Outcome::Error;
  r.error = code;
  r.message = std::move(message);
  finish(std::move(r), "error:" + std::string(p::to_string(code)));
}

// ---- staff actions --------------------------------------------------------------------------

void ReaderDevice::unplug() {
  plugged_ = false;
  if (io_) io_->drop_link();
}

void ReaderDevice::plug() { plugged_ = true; }

void ReaderDevice::set_battery(int percent) {
  const int before = config_.battery_percent;
  config_.battery_percent = std::clamp(percent, 0, 100);
  if (!io_) return;
  send_status();
  if (config_.battery_percent < 15 && before >= 15) event(p::EventKind::BatteryLow, "battery low", static_cast<std::uint8_t>(config_.battery_percent));
}

void ReaderDevice::set_online(bool online) {
  // Back online, the reader uploads what it stored (the host already holds each payment's token
  // and forwards it to Stripe), so its offline storage is free again: without this a reader
  // that was ever offline `offline_capacity` times would refuse every later offline payment.
  if (online && !config_.online) offline_stored_ = 0;
  config_.online = online;
  if (io_) send_status();
}

void ReaderDevice::require_update(bool required) {
  config_.update_required = required;
  if (!io_) return;
  send_status();
  if (required) event(p::EventKind::UpdateRequired, "firmware " + config_.available_firmware + " must be installed");
}

}  // namespace till::hwsim
