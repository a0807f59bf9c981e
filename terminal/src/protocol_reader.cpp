// The protocol driver: Reader semantics (one operation at a time, deadlines, outcome mapping,
// reconnect) on top of any Transport that carries Till's reader protocol.
#include <algorithm>
#include <cstdio>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "till/base/log.hpp"
#include "till/terminal/drivers.hpp"
#include "till/terminal/protocol/messages.hpp"

namespace till::terminal {
namespace {

namespace asio = boost::asio;
namespace p = protocol;
using std::chrono::milliseconds;

ReaderEventKind map_event(p::EventKind k) {
  switch (k) {
    case p::EventKind::CardInserted: return ReaderEventKind::CardInserted;
    case p::EventKind::CardTapped: return ReaderEventKind::CardTapped;
    case p::EventKind::CardSwiped: return ReaderEventKind::CardSwiped;
    case p::EventKind::CardRemoved: return ReaderEventKind::CardRemoved;
    case p::EventKind::PromptRemoveCard: return ReaderEventKind::PromptRemoveCard;
    case p::EventKind::PromptEnterPin: return ReaderEventKind::PromptEnterPin;
    case p::EventKind::PromptTryAnotherCard: return ReaderEventKind::PromptTryAnotherCard;
    case p::EventKind::UpdateRequired: return ReaderEventKind::UpdateRequired;
    case p::EventKind::Authorizing: return ReaderEventKind::Authorizing;
    case p::EventKind::PinEntered: return ReaderEventKind::PinEntered;
    case p::EventKind::FirmwareProgress: return ReaderEventKind::FirmwareProgress;
    case p::EventKind::BatteryLow: return ReaderEventKind::BatteryLow;
  }
  return ReaderEventKind::StatusChanged;
}

// Reader-side errors all mean "nothing was authorised"; the kind tells the app what to do next.
Error map_reader_error(p::ErrorCode code, const std::string& message) {
  const std::string m = "reader: " + std::string(p::to_string(code)) + (message.empty() ? "" : ": " + message);
  switch (code) {
    case p::ErrorCode::Busy:
    case p::ErrorCode::UpdateRequired:
    case p::ErrorCode::OfflineUnsupportedCard:
    case p::ErrorCode::NothingToCancel:
    case p::ErrorCode::UnsupportedVersion: return Error{ErrorKind::FailedPrecondition, m, std::nullopt};
    case p::ErrorCode::CardRemoved:
    case p::ErrorCode::CardReadFailed:
    case p::ErrorCode::Timeout:
    case p::ErrorCode::OfflineNotAllowed: return Error{ErrorKind::Unavailable, m, std::nullopt};
    case p::ErrorCode::OfflineStorageFull: return Error{ErrorKind::ResourceExhausted, m, std::nullopt};
    case p::ErrorCode::InvalidRequest: return Error{ErrorKind::InvalidArgument, m, std::nullopt};
    case p::ErrorCode::None:
    case p::ErrorCode::Internal: break;
  }
  return Error{ErrorKind::Internal, m, std::nullopt};
}

pos::CardDetails to_card_details(const p::CardResult& c) {
  pos::CardDetails d;
  d.brand = c.brand;
  d.last4 = c.last4;
  char exp[8];
  std::snprintf(exp, sizeof exp, "%02u/%02u", static_cast<unsigned>(c.exp_month),
                static_cast<unsigned>(c.exp_year % 100));
  d.exp_month_year = exp;
  d.read_method = c.read_method;
  d.application_id = c.application_id;
  d.application_label = c.application_label;
  d.authorization_code = c.authorization_code;
  d.terminal_verification_results = c.tvr;
  d.cardholder_verification = c.cvm;
  return d;
}

enum class OpKind { None, Discover, Connect, Disconnect, Collect, Display, RefreshStatus, InstallUpdate };

const char* op_name(OpKind k) {
  switch (k) {
    case OpKind::None: return "none";
    case OpKind::Discover: return "discover";
    case OpKind::Connect: return "connect";
    case OpKind::Disconnect: return "disconnect";
    case OpKind::Collect: return "collect";
    case OpKind::Display: return "set_display";
    case OpKind::RefreshStatus: return "refresh_status";
    case OpKind::InstallUpdate: return "install_update";
  }
  return "?";
}

class Core : public std::enable_shared_from_this<Core> {
 public:
  Core(asio::io_context& io, TransportFactory factory, ProtocolReaderOptions options)
      : io_(io),
        factory_(std::move(factory)),
        options_(std::move(options)),
        op_timer_(io),
        grace_timer_(io),
        hs_timer_(io),
        reconnect_timer_(io) {}

  void shutdown() {
    shut_ = true;
    op_ = Op{};
    hs_ = Handshake{};
    op_timer_.cancel();
    grace_timer_.cancel();
    hs_timer_.cancel();
    reconnect_timer_.cancel();
    drop_transport();
    events_ = nullptr;
  }

  // ---- operations -------------------------------------------------------------------------

  void discover(milliseconds deadline, Reader::DiscoverCallback done) {
    if (state_ == ConnectionState::Reconnecting)  // the link is the reconnect loop's until it ends
      return post_error(std::move(done), Error{ErrorKind::Unavailable, "discover: reader is reconnecting", std::nullopt});
    if (auto e = check_can_start(OpKind::Discover, false)) return post_error(std::move(done), *e);
    if (state_ == ConnectionState::Connected) {
      return post([done = std::move(done), info = info_] { done(std::vector<ReaderInfo>{info}); });
    }
    begin(OpKind::Discover);
    op_.discover = std::move(done);
    start_handshake(deadline, [this](Result<ReaderInfo> r) {
      drop_transport();  // discovery only probes; connect opens its own link
      auto cb = std::move(op_.discover);
      end_op();
      if (!r) return post_error(std::move(cb), r.error());
      post([cb = std::move(cb), info = *r] { cb(std::vector<ReaderInfo>{info}); });
    });
  }

  void connect(const ReaderInfo& wanted, milliseconds deadline, Reader::ConnectCallback done) {
    if (state_ == ConnectionState::Connected || state_ == ConnectionState::Reconnecting)
      return post_error(std::move(done), Error{ErrorKind::FailedPrecondition, "already connected", std::nullopt});
    if (auto e = check_can_start(OpKind::Connect, false)) return post_error(std::move(done), *e);
    begin(OpKind::Connect);
    op_.connect = std::move(done);
    set_state(ConnectionState::Connecting);
    start_handshake(deadline, [this, wanted](Result<ReaderInfo> r) {
      auto cb = std::move(op_.connect);
      end_op();
      if (r && !wanted.id.empty() && wanted.id != r->id) {
        drop_transport();
        set_state(ConnectionState::Disconnected);
        return post_error(std::move(cb),
                          Error{ErrorKind::NotFound, "a different reader answered (" + r->id + ", wanted " + wanted.id + ")",
                                std::nullopt});
      }
      if (!r) {
        set_state(ConnectionState::Disconnected);
        return post_error(std::move(cb), r.error());
      }
      info_ = *r;
      set_state(ConnectionState::Connected);
      log::info("terminal.connected", {{"driver", options_.driver}, {"reader", info_.id}});
      post([cb = std::move(cb), info = *r] { cb(info); });
    });
  }

  void disconnect(Reader::StatusCallback done) {
    if (op_.kind != OpKind::None)
      return post_error(std::move(done), busy_error(OpKind::Disconnect));
    reconnect_timer_.cancel();
    reconnect_attempt_ = 0;
    hs_ = Handshake{};
    hs_timer_.cancel();
    drop_transport();
    set_state(ConnectionState::Disconnected);
    post([done = std::move(done)] { done(ok()); });
  }

  CancelHandle collect(const pos::Money& amount, const CollectOptions& options, Reader::CollectCallback done) {
    if (auto e = check_can_start(OpKind::Collect, true)) {
      post_error(std::move(done), *e);
      return {};
    }
    if (amount.minor() < 1 || amount.minor() > 99'999'999) {
      post_error(std::move(done), Error{ErrorKind::InvalidArgument, "amount must be 1..99999999 minor units", std::nullopt});
      return {};
    }
    if (options.deadline.count() <= 0) {
      post_error(std::move(done), Error{ErrorKind::InvalidArgument, "collect needs a positive deadline", std::nullopt});
      return {};
    }
    begin(OpKind::Collect);
    op_.collect = std::move(done);
    // The reader's own timeout is longer than ours, so the host's deadline always decides and
    // the reader gives up by itself only if the host has vanished.
    const auto reader_timeout = options.deadline + options_.cancel_grace;
    op_.seq = send(p::Collect{amount.minor(), std::string(amount.currency().code()), options.offline_allowed,
                              static_cast<std::uint32_t>(std::min<std::int64_t>(reader_timeout.count(), 600'000))});
    log::info("terminal.collect.start", {{"driver", options_.driver}, {"amount", amount.minor()},
                                         {"currency", std::string(amount.currency().code())},
                                         {"offline_allowed", options.offline_allowed}});
    arm_op_timer(options.deadline, [this] { on_collect_deadline(); });
    const std::uint64_t id = op_.id;
    return CancelHandle([weak = weak_from_this(), id] {
      if (auto self = weak.lock())
        if (self->op_.kind == OpKind::Collect && self->op_.id == id) (void)self->cancel();
    });
  }

  void set_display(const Cart& cart, milliseconds deadline, Reader::StatusCallback done) {
    if (auto e = check_can_start(OpKind::Display, true)) return post_error(std::move(done), *e);
    p::Display d;
    d.currency = cart.currency;
    for (const auto& l : cart.lines) d.lines.push_back({l.description, l.quantity, l.amount});
    d.tax = cart.tax;
    d.total = cart.total;
    if (auto v = p::validate(d); !v)
      return post_error(std::move(done), Error{ErrorKind::InvalidArgument, "cart: " + v.error().message, std::nullopt});
    begin(OpKind::Display);
    op_.status_cb = std::move(done);
    op_.seq = send(d);
    arm_op_timer(deadline, [this] {
      complete_status(fail(ErrorKind::Unavailable, "set_display: no answer from the reader before the deadline"));
    });
  }

  void refresh_status(milliseconds deadline, Reader::ReaderStatusCallback done) {
    if (auto e = check_can_start(OpKind::RefreshStatus, true)) return post_error(std::move(done), *e);
    begin(OpKind::RefreshStatus);
    op_.refresh = std::move(done);
    op_.seq = send(p::StatusRequest{});
    arm_op_timer(deadline, [this] {
      auto cb = std::move(op_.refresh);
      end_op();
      post_error(std::move(cb), Error{ErrorKind::Unavailable, "refresh_status: no answer from the reader before the deadline",
                                      std::nullopt});
    });
  }

  void install_update(milliseconds deadline, Reader::StatusCallback done) {
    if (auto e = check_can_start(OpKind::InstallUpdate, true)) return post_error(std::move(done), *e);
    begin(OpKind::InstallUpdate);
    op_.status_cb = std::move(done);
    op_.seq = send(p::FirmwareRequest{p::FirmwareAction::Install});
    arm_op_timer(deadline, [this] {
      complete_status(fail(ErrorKind::Unavailable, "install_update: the reader did not finish before the deadline"));
    });
  }

  Status cancel() {
    if (op_.kind != OpKind::Collect)
      return fail(ErrorKind::FailedPrecondition, "cancel: no collect is running");
    if (!op_.cancel_sent) send_cancel("requested");
    return ok();
  }

  ReaderStatus status() const {
    ReaderStatus s = status_;
    s.connection = state_;
    return s;
  }

  void set_event_handler(Reader::EventHandler h) { events_ = std::move(h); }

 private:
  struct Op {
    OpKind kind = OpKind::None;
    std::uint64_t id = 0;
    std::uint16_t seq = 0;         // request seq the reply must name
    std::uint16_t cancel_seq = 0;  // collect: seq of our Cancel
    bool cancel_sent = false;
    bool authorizing = false;      // collect: the reader announced it is deciding
    std::string cancel_reason;
    Reader::DiscoverCallback discover;
    Reader::ConnectCallback connect;
    Reader::StatusCallback status_cb;
    Reader::CollectCallback collect;
    Reader::ReaderStatusCallback refresh;
  };

  // Opening a link and saying hello: used by discover, connect and reconnect.
  struct Handshake {
    bool active = false;
    int step = 0;  // 0 opening, 1 hello sent, 2 status requested
    std::uint16_t seq = 0;
    ReaderInfo info;
    std::function<void(Result<ReaderInfo>)> done;
  };

  // ---- helpers ----------------------------------------------------------------------------

  template <class F>
  void post(F&& f) {
    asio::post(io_, [weak = weak_from_this(), f = std::forward<F>(f)]() mutable {
      if (auto self = weak.lock(); self && !self->shut_) f();
    });
  }
  template <class Cb>
  void post_error(Cb done, Error e) {
    post([done = std::move(done), e = std::move(e)] { done(tl::unexpected(e)); });
  }

  Error busy_error(OpKind wanted) const {
    return Error{ErrorKind::FailedPrecondition,
                 std::string(op_name(wanted)) + ": another reader operation is running (" + op_name(op_.kind) +
                     "); operations are never queued",
                 std::nullopt};
  }

  std::optional<Error> check_can_start(OpKind kind, bool needs_link) const {
    if (op_.kind != OpKind::None || hs_.active) {
      if (op_.kind == OpKind::None)
        return Error{ErrorKind::Unavailable, std::string(op_name(kind)) + ": reader is reconnecting", std::nullopt};
      return busy_error(kind);
    }
    if (needs_link && state_ != ConnectionState::Connected)
      return Error{ErrorKind::Unavailable,
                   std::string(op_name(kind)) + ": reader not connected (" + std::string(to_string(state_)) + ")",
                   std::nullopt};
    return std::nullopt;
  }

  void begin(OpKind kind) {
    op_ = Op{};
    op_.kind = kind;
    op_.id = ++next_op_id_;
  }
  void end_op() {
    op_timer_.cancel();
    grace_timer_.cancel();
    op_ = Op{};
  }

  void arm_op_timer(milliseconds d, std::function<void()> fn) {
    op_timer_.expires_after(d);
    op_timer_.async_wait([weak = weak_from_this(), id = op_.id, fn = std::move(fn)](auto ec) {
      auto self = weak.lock();
      if (ec || !self || self->shut_ || self->op_.id != id) return;
      fn();
    });
  }

  void emit(ReaderEventKind kind, int value = 0, std::string message = {}) {
    if (!events_) return;
    post([this, ev = ReaderEvent{kind, value, std::move(message)}] {
      if (events_) events_(ev);
    });
  }

  void set_state(ConnectionState s) {
    if (state_ == s) return;
    state_ = s;
    emit(ReaderEventKind::StatusChanged, 0, std::string(to_string(s)));
  }

  std::uint16_t send(p::Message m) {
    const std::uint16_t seq = next_seq_++;
    if (next_seq_ == 0) next_seq_ = 1;
    auto bytes = p::encode(p::Envelope{seq, std::move(m)});
    if (!bytes) {
      // Our own messages are validated before we get here; reaching this is a bug.
      log::error("terminal.encode_failed", {{"error", bytes.error().message}});
      return seq;
    }
    if (transport_) transport_->write(std::move(*bytes));
    return seq;
  }

  void drop_transport() {
    if (!transport_) return;
    transport_->close();
    // Destroy later: we may be inside one of its callbacks.
    asio::post(io_, [t = std::shared_ptr<Transport>(std::move(transport_))] {});
    decoder_ = p::MessageDecoder{};
  }

  void open_transport(std::function<void(Status)> done) {
    drop_transport();
    transport_ = factory_();
    Transport::Callbacks cbs;
    auto weak = weak_from_this();
    Transport* t = transport_.get();
    cbs.on_bytes = [weak, t](std::span<const std::uint8_t> b) {
      if (auto self = weak.lock(); self && !self->shut_ && self->transport_.get() == t) self->on_bytes(b);
    };
    cbs.on_closed = [weak, t](Error e) {
      if (auto self = weak.lock(); self && !self->shut_ && self->transport_.get() == t) self->on_closed(std::move(e));
    };
    transport_->async_open(std::move(cbs), [weak, t, done = std::move(done)](Status st) {
      auto self = weak.lock();
      if (!self || self->shut_ || self->transport_.get() != t) return;
      done(std::move(st));
    });
  }

  // ---- handshake --------------------------------------------------------------------------

  void start_handshake(milliseconds deadline, std::function<void(Result<ReaderInfo>)> done) {
    hs_ = Handshake{};
    hs_.active = true;
    hs_.done = std::move(done);
    hs_timer_.expires_after(deadline);
    hs_timer_.async_wait([weak = weak_from_this()](auto ec) {
      auto self = weak.lock();
      if (ec || !self || self->shut_ || !self->hs_.active) return;
      self->finish_handshake(fail(ErrorKind::Unavailable, "no answer from the reader before the deadline"));
    });
    open_transport([this](Status st) {
      if (!hs_.active) return;
      if (!st) return finish_handshake(tl::unexpected(st.error()));
      hs_.step = 1;
      hs_.seq = send(p::Hello{p::kProtocolVersionMin, p::kProtocolVersionMax, options_.host_name});
    });
  }

  void finish_handshake(Result<ReaderInfo> r) {
    hs_timer_.cancel();
    auto done = std::move(hs_.done);
    hs_ = Handshake{};
    if (!r) drop_transport();
    if (done) done(std::move(r));
  }

  // ---- incoming ---------------------------------------------------------------------------

  void on_bytes(std::span<const std::uint8_t> bytes) {
    decoder_.feed(bytes);
    while (transport_) {
      auto next = decoder_.next();
      if (!next) break;
      if (!*next) {
        // A malformed frame is dropped; the link and the running operation survive it.
        log::warn("terminal.protocol_error",
                  {{"driver", options_.driver}, {"error", std::string(p::to_string(next->error().code))}});
        emit(ReaderEventKind::ProtocolError, 0, next->error().message);
        continue;
      }
      on_message(std::move(**next));
    }
  }

  void on_message(p::Envelope env) {
    std::visit([&](auto& m) { handle(env.seq, m); }, env.message);
  }

  void handle(std::uint16_t, p::HelloReply& m) {
    if (!hs_.active || hs_.step != 1) return;
    if (m.version < p::kProtocolVersionMin || m.version > p::kProtocolVersionMax)
      return finish_handshake(fail(ErrorKind::FailedPrecondition,
                                   "reader chose protocol version " + std::to_string(m.version) + ", host speaks " +
                                       std::to_string(p::kProtocolVersionMin) + ".." +
                                       std::to_string(p::kProtocolVersionMax)));
    hs_.info = ReaderInfo{m.serial, m.model + " " + m.serial, m.model, m.serial, m.firmware_version, options_.driver};
    hs_.step = 2;
    hs_.seq = send(p::StatusRequest{});
  }

  void handle(std::uint16_t, p::StatusMessage& m) {
    const ReaderStatus before = status_;
    status_.battery_percent = m.battery_percent;
    status_.charging = m.charging;
    status_.firmware_version = m.firmware_version;
    status_.update_required = m.update_required;
    status_.reader_online = m.online;
    status_.offline_capable = m.offline_capable;
    status_.offline_stored = m.offline_stored;
    status_.offline_capacity = m.offline_capacity;
    if (!(before == status_)) emit(ReaderEventKind::StatusChanged, 0, "status");
    if (hs_.active && hs_.step == 2) return finish_handshake(hs_.info);
    if (op_.kind == OpKind::RefreshStatus) {
      auto cb = std::move(op_.refresh);
      end_op();
      post([cb = std::move(cb), st = status()] { cb(st); });
    }
  }

  void handle(std::uint16_t, p::Event& m) {
    if (m.kind == p::EventKind::Authorizing && op_.kind == OpKind::Collect) op_.authorizing = true;
    if (m.kind == p::EventKind::UpdateRequired) status_.update_required = true;
    emit(map_event(m.kind), m.progress, m.message);
  }

  void handle(std::uint16_t, p::CollectResult& m) {
    if (op_.kind != OpKind::Collect || m.request_seq != op_.seq) {
      log::warn("terminal.stale_result", {{"driver", options_.driver}, {"request_seq", m.request_seq}});
      return;
    }
    Result<CollectOutcome> out = [&]() -> Result<CollectOutcome> {
      switch (m.outcome) {
        case p::Outcome::Approved:
          return CollectOutcome{ApprovedToForward{m.card.payment_method, to_card_details(m.card), m.card.stored_offline, {}}};
        case p::Outcome::Declined: return CollectOutcome{Declined{m.decline_code, m.message}};
        case p::Outcome::Cancelled:
          return CollectOutcome{Cancelled{op_.cancel_sent ? op_.cancel_reason : "reader"}};
        case p::Outcome::Error: break;
      }
      return tl::unexpected(map_reader_error(m.error, m.message));
    }();
    if (m.outcome == p::Outcome::Approved && m.card.stored_offline) {
      status_.offline_stored += 1;
    }
    complete_collect(std::move(out));
  }

  void handle(std::uint16_t, p::Ack& m) {
    if (hs_.active && m.request_seq == hs_.seq)
      return finish_handshake(tl::unexpected(map_reader_error(m.error, m.message)));
    if (op_.kind == OpKind::Collect && op_.cancel_sent && m.request_seq == op_.cancel_seq) {
      if (m.error == p::ErrorCode::NothingToCancel) {
        // The reader has no collect running yet we have no result: it was lost (or the reader
        // never saw the collect). We cannot tell which, so the outcome is unknown.
        complete_collect(CollectOutcome{OutcomeUnknown{"reader had no payment to cancel and its result never arrived"}});
      }
      return;  // ok: a Result follows; "too late": the real Result follows
    }
    if ((op_.kind == OpKind::Display || op_.kind == OpKind::InstallUpdate) && m.request_seq == op_.seq) {
      if (m.error == p::ErrorCode::None) return complete_status(ok());
      return complete_status(tl::unexpected(map_reader_error(m.error, m.message)));
    }
    if (op_.kind == OpKind::Collect && m.request_seq == op_.seq && m.error != p::ErrorCode::None) {
      // The reader refused the collect outright (nothing authorised).
      return complete_collect(tl::unexpected(map_reader_error(m.error, m.message)));
    }
  }

  void handle(std::uint16_t, p::Firmware& m) {
    status_.update_required = m.update_required;
    status_.firmware_version = m.current_version;
    if (op_.kind == OpKind::InstallUpdate && m.installed) {
      emit(ReaderEventKind::StatusChanged, 0, "firmware installed");
      complete_status(ok());
    }
  }

  // Host-bound messages a reader must never send: ignore, but say so.
  template <class M>
  void handle(std::uint16_t, M&) {
    log::warn("terminal.unexpected_message", {{"driver", options_.driver}});
  }

  void on_closed(Error e) {
    log::warn("terminal.link_lost", {{"driver", options_.driver}, {"error", e.message}});
    drop_transport();
    if (hs_.active) {
      finish_handshake(tl::unexpected(e));
      return;
    }
    const bool was_connected = state_ == ConnectionState::Connected;
    if (op_.kind == OpKind::Collect) {
      if (op_.authorizing) {
        complete_collect(CollectOutcome{OutcomeUnknown{"reader disconnected after it started authorising"}});
      } else {
        complete_collect(fail(ErrorKind::Unavailable,
                              "reader disconnected before authorising; nothing was charged"));
      }
    } else if (op_.kind == OpKind::RefreshStatus) {
      auto cb = std::move(op_.refresh);
      end_op();
      post_error(std::move(cb), e);
    } else if (op_.kind != OpKind::None) {
      complete_status(tl::unexpected(e));
    }
    set_state(ConnectionState::Disconnected);
    if (was_connected) {
      emit(ReaderEventKind::Disconnected, 0, e.message);
      if (options_.reconnect.enabled) {
        reconnect_attempt_ = 0;
        set_state(ConnectionState::Reconnecting);
        schedule_reconnect();
      }
    }
  }

  // ---- collect ----------------------------------------------------------------------------

  void send_cancel(std::string reason) {
    op_.cancel_sent = true;
    op_.cancel_reason = std::move(reason);
    op_.cancel_seq = send(p::Cancel{});
    grace_timer_.expires_after(options_.cancel_grace);
    grace_timer_.async_wait([weak = weak_from_this(), id = op_.id](auto ec) {
      auto self = weak.lock();
      if (ec || !self || self->shut_ || self->op_.id != id) return;
      self->complete_collect(CollectOutcome{OutcomeUnknown{"the reader did not confirm the cancel in time"}});
    });
  }

  void on_collect_deadline() {
    log::warn("terminal.collect.deadline", {{"driver", options_.driver}, {"authorizing", op_.authorizing}});
    if (!op_.cancel_sent) send_cancel("deadline");
  }

  void complete_collect(Result<CollectOutcome> r) {
    auto cb = std::move(op_.collect);
    end_op();
    if (r) {
      log::info("terminal.collect.done", {{"driver", options_.driver}, {"outcome", describe(*r)}});
    } else {
      log::info("terminal.collect.failed", {{"driver", options_.driver}, {"error", r.error().describe()}});
    }
    if (cb) post([cb = std::move(cb), r = std::move(r)] { cb(r); });
  }

  void complete_status(Status st) {
    auto cb = std::move(op_.status_cb);
    end_op();
    if (cb) post([cb = std::move(cb), st = std::move(st)] { cb(st); });
  }

  // ---- reconnect --------------------------------------------------------------------------

  void schedule_reconnect() {
    reconnect_timer_.expires_after(options_.reconnect.delay);
    reconnect_timer_.async_wait([weak = weak_from_this()](auto ec) {
      auto self = weak.lock();
      if (ec || !self || self->shut_ || self->state_ != ConnectionState::Reconnecting) return;
      self->reconnect_once();
    });
  }

  void reconnect_once() {
    ++reconnect_attempt_;
    emit(ReaderEventKind::ReconnectAttempt, reconnect_attempt_);
    start_handshake(options_.reconnect.attempt_deadline, [this](Result<ReaderInfo> r) {
      if (state_ != ConnectionState::Reconnecting) return;
      if (r) {
        info_ = *r;
        set_state(ConnectionState::Connected);
        emit(ReaderEventKind::Reconnected, reconnect_attempt_);
        log::info("terminal.reconnected", {{"driver", options_.driver}, {"attempts", reconnect_attempt_}});
        return;
      }
      if (reconnect_attempt_ >= options_.reconnect.max_attempts) {
        set_state(ConnectionState::Disconnected);
        emit(ReaderEventKind::ReconnectFailed, reconnect_attempt_, r.error().message);
        return;
      }
      schedule_reconnect();
    });
  }

  asio::io_context& io_;
  TransportFactory factory_;
  ProtocolReaderOptions options_;
  std::unique_ptr<Transport> transport_;
  p::MessageDecoder decoder_;
  std::uint16_t next_seq_ = 1;
  ConnectionState state_ = ConnectionState::Disconnected;
  ReaderStatus status_;
  ReaderInfo info_;
  Reader::EventHandler events_;
  Op op_;
  Handshake hs_;
  std::uint64_t next_op_id_ = 0;
  int reconnect_attempt_ = 0;
  bool shut_ = false;
  asio::steady_timer op_timer_;
  asio::steady_timer grace_timer_;
  asio::steady_timer hs_timer_;
  asio::steady_timer reconnect_timer_;
};

class ProtocolReader final : public Reader {
 public:
  explicit ProtocolReader(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  ~ProtocolReader() override { core_->shutdown(); }

  void async_discover(milliseconds d, DiscoverCallback done) override { core_->discover(d, std::move(done)); }
  void async_connect(const ReaderInfo& r, milliseconds d, ConnectCallback done) override {
    core_->connect(r, d, std::move(done));
  }
  void async_disconnect(StatusCallback done) override { core_->disconnect(std::move(done)); }
  CancelHandle async_collect(const pos::Money& amount, const CollectOptions& o, CollectCallback done) override {
    return core_->collect(amount, o, std::move(done));
  }
  void async_set_display(const Cart& c, milliseconds d, StatusCallback done) override {
    core_->set_display(c, d, std::move(done));
  }
  void async_refresh_status(milliseconds d, ReaderStatusCallback done) override {
    core_->refresh_status(d, std::move(done));
  }
  void async_install_update(milliseconds d, StatusCallback done) override {
    core_->install_update(d, std::move(done));
  }
  Status cancel() override { return core_->cancel(); }
  ReaderStatus status() const override { return core_->status(); }
  void set_event_handler(EventHandler h) override { core_->set_event_handler(std::move(h)); }

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace

std::unique_ptr<Reader> make_protocol_reader(asio::io_context& io, TransportFactory transports,
                                             ProtocolReaderOptions options) {
  return std::make_unique<ProtocolReader>(std::make_shared<Core>(io, std::move(transports), std::move(options)));
}

}  // namespace till::terminal
