// The server-driven (smart reader) driver. See stripe_reader.hpp for the outcome rules.
#include "till/terminal/stripe_reader.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "till/base/log.hpp"

namespace till::terminal {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

enum class OpKind { None, Discover, Register, Connect, Collect, Display, RefreshStatus };

ReaderInfo to_info(const ServerReader& r) {
  return ReaderInfo{r.id, r.label, r.device_type, r.serial_number, r.device_sw_version, "stripe"};
}

class Core : public std::enable_shared_from_this<Core> {
 private:
  template <class F>
  auto guard(F f) {
    return [weak = weak_from_this(), f = std::move(f)](auto r) mutable {
      auto self = weak.lock();
      if (!self || self->shut_) return;
      f(std::move(r));
    };
  }
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

 public:
  Core(asio::io_context& io, ServerDrivenApi& api, Random& random, StripeReaderOptions options)
      : io_(io), api_(api), random_(random), options_(options), deadline_timer_(io), poll_timer_(io), grace_timer_(io) {}

  void shutdown() {
    shut_ = true;
    deadline_timer_.cancel();
    poll_timer_.cancel();
    grace_timer_.cancel();
    events_ = nullptr;
  }

  void discover(milliseconds deadline, Reader::DiscoverCallback done_in) {
    if (auto e = busy(false)) return post_error(std::move(done_in), *e);
    auto done = begin_timed(OpKind::Discover, deadline, std::move(done_in), ErrorKind::Unavailable);
    const auto id = op_id_;
    api_.async_list_readers(guard([this, id, done](Result<std::vector<ServerReader>> r) mutable {
      if (!current(id)) return;  // the deadline already answered
      end_op();
      if (!r) return (*done)(tl::unexpected(r.error()));
      std::vector<ReaderInfo> out;
      for (const auto& x : *r) out.push_back(to_info(x));
      (*done)(std::move(out));
    }));
  }

  void register_reader(const std::string& code, const std::string& label, const std::string& location,
                       milliseconds deadline, Reader::ConnectCallback done_in) {
    if (auto e = busy(false)) return post_error(std::move(done_in), *e);
    // A registration whose answer is late may still have happened: list the readers to know.
    auto done = begin_timed(OpKind::Register, deadline, std::move(done_in), ErrorKind::OutcomeUnknown);
    const auto id = op_id_;
    api_.async_register_reader(code, label, location, new_uuid_v4(random_),
                               guard([this, id, done](Result<ServerReader> r) mutable {
                                 if (!current(id)) return;
                                 end_op();
                                 if (!r) return (*done)(tl::unexpected(r.error()));
                                 (*done)(to_info(*r));
                               }));
  }

  void connect(const ReaderInfo& which, milliseconds deadline, Reader::ConnectCallback done_in) {
    if (state_ == ConnectionState::Connected)
      return post_error(std::move(done_in), Error{ErrorKind::FailedPrecondition, "already connected", std::nullopt});
    if (auto e = busy(false)) return post_error(std::move(done_in), *e);
    if (which.id.empty())
      return post_error(std::move(done_in),
                        Error{ErrorKind::InvalidArgument, "connect: which reader (tmr_...)?", std::nullopt});
    auto done = begin_timed(OpKind::Connect, deadline, std::move(done_in), ErrorKind::Unavailable,
                            [this] { set_state(ConnectionState::Disconnected); });
    const auto id = op_id_;
    set_state(ConnectionState::Connecting);
    api_.async_retrieve_reader(which.id, guard([this, id, done](Result<ServerReader> r) mutable {
      if (!current(id)) return;
      end_op();
      if (r && r->status != "online")
        r = fail(ErrorKind::Unavailable, "terminal_reader_offline: reader " + r->id + " is offline");
      if (!r) {
        set_state(ConnectionState::Disconnected);
        return (*done)(tl::unexpected(r.error()));
      }
      reader_ = *r;
      status_.firmware_version = r->device_sw_version;
      set_state(ConnectionState::Connected);
      (*done)(to_info(*r));
    }));
  }

  void disconnect(Reader::StatusCallback done) {
    if (op_ != OpKind::None) return post_error(std::move(done), busy_error());
    // Server-driven readers hold no link: disconnecting only forgets the reader here.
    set_state(ConnectionState::Disconnected);
    post([done = std::move(done)] { done(ok()); });
  }

  CancelHandle collect(const pos::Money& amount, const CollectOptions& o, Reader::CollectCallback done) {
    if (auto e = busy(true)) {
      post_error(std::move(done), *e);
      return {};
    }
    if (o.payment_intent_id.empty() || o.idempotency_key.empty()) {
      post_error(std::move(done), Error{ErrorKind::InvalidArgument,
                                        "stripe reader: collect needs the app's payment_intent_id and idempotency_key",
                                        std::nullopt});
      return {};
    }
    if (o.offline_allowed) {
      // Server-driven readers are online only (architecture.md); the app must not ask.
      log::warn("terminal.stripe.offline_ignored", {});
    }
    begin(OpKind::Collect);
    collect_ = CollectState{};
    collect_.done = std::move(done);
    collect_.pi = o.payment_intent_id;
    collect_.amount = amount.minor();
    const std::uint64_t id = op_id_;
    log::info("terminal.stripe.process", {{"reader", reader_.id}, {"payment_intent", o.payment_intent_id}});
    api_.async_process_payment_intent(
        reader_.id, o.payment_intent_id, o.idempotency_key, guard([this, id](Result<ServerReader> r) {
          if (!collecting(id)) return;
          if (!r) {
            if (r.error().kind == ErrorKind::OutcomeUnknown) {
              // The action may have started: watch the reader and the PaymentIntent to find out.
              collect_.started = true;
              collect_.uncertain_start = true;
              return schedule_poll();
            }
            // Stripe refused before anything started (busy, offline, bad state): nothing was charged.
            return finish(tl::unexpected(r.error()));
          }
          collect_.started = true;
          on_reader(*r);
        }));
    deadline_timer_.expires_after(o.deadline);
    deadline_timer_.async_wait([weak = weak_from_this(), id](auto ec) {
      auto self = weak.lock();
      if (ec || !self || self->shut_ || !self->collecting(id)) return;
      self->request_cancel("deadline");
    });
    return CancelHandle([weak = weak_from_this(), id] {
      if (auto self = weak.lock(); self && !self->shut_ && self->collecting(id)) self->request_cancel("requested");
    });
  }

  void set_display(const Cart& cart, milliseconds deadline, Reader::StatusCallback done_in) {
    if (auto e = busy(true)) return post_error(std::move(done_in), *e);
    auto done = begin_timed(OpKind::Display, deadline, std::move(done_in), ErrorKind::Unavailable);
    const auto id = op_id_;
    api_.async_set_reader_display(reader_.id, cart, new_uuid_v4(random_),
                                  guard([this, id, done](Result<ServerReader> r) mutable {
                                    if (!current(id)) return;
                                    end_op();
                                    if (!r) return (*done)(tl::unexpected(r.error()));
                                    (*done)(ok());
                                  }));
  }

  void refresh_status(milliseconds deadline, Reader::ReaderStatusCallback done_in) {
    if (auto e = busy(true)) return post_error(std::move(done_in), *e);
    auto done = begin_timed(OpKind::RefreshStatus, deadline, std::move(done_in), ErrorKind::Unavailable);
    const auto id = op_id_;
    api_.async_retrieve_reader(reader_.id, guard([this, id, done](Result<ServerReader> r) mutable {
      if (!current(id)) return;
      end_op();
      if (!r) return (*done)(tl::unexpected(r.error()));
      reader_ = *r;
      status_.reader_online = r->status == "online";
      status_.firmware_version = r->device_sw_version;
      (*done)(status());
    }));
  }

  void install_update(milliseconds, Reader::StatusCallback done) {
    post_error(std::move(done), Error{ErrorKind::FailedPrecondition,
                                      "smart readers install updates themselves (Stripe schedules them)", std::nullopt});
  }

  Status cancel() {
    if (op_ != OpKind::Collect) return fail(ErrorKind::FailedPrecondition, "cancel: no collect is running");
    request_cancel("requested");
    return ok();
  }

  ReaderStatus status() const {
    ReaderStatus s = status_;
    s.connection = state_;
    return s;
  }

  void set_event_handler(Reader::EventHandler h) { events_ = std::move(h); }

  void on_reader_update(const ServerReader& r) {
    if (op_ != OpKind::Collect || r.id != reader_.id) return;
    on_reader(r);
  }

 private:
  struct CollectState {
    Reader::CollectCallback done;
    std::string pi;
    std::int64_t amount = 0;
    bool started = false;
    bool uncertain_start = false;  // process_payment_intent's answer was lost
    bool cancel_sent = false;
    bool cancel_confirmed = false;  // cancel_action answered ok
    bool resolving = false;         // a retrieve_payment_intent is in flight
    std::string cancel_reason;
    std::string failure_code;  // the reader action's failure_code, shown when nothing was charged
  };

  Error busy_error() const {
    return Error{ErrorKind::FailedPrecondition, "another reader operation is running; operations are never queued",
                 std::nullopt};
  }
  std::optional<Error> busy(bool needs_reader) const {
    if (op_ != OpKind::None) return busy_error();
    if (needs_reader && state_ != ConnectionState::Connected)
      return Error{ErrorKind::Unavailable, "no smart reader connected", std::nullopt};
    return std::nullopt;
  }
  void begin(OpKind k) {
    op_ = k;
    ++op_id_;
  }
  void end_op() {
    op_ = OpKind::None;
    deadline_timer_.cancel();
  }
  bool current(std::uint64_t id) const { return op_ != OpKind::None && op_id_ == id; }

  // Starts a non-collect operation with a deadline: if Stripe has not answered when it passes,
  // the caller gets `kind` and the late answer is ignored. Returns the shared callback.
  template <class Cb>
  std::shared_ptr<Cb> begin_timed(OpKind k, milliseconds deadline, Cb done, ErrorKind kind,
                                  std::function<void()> on_expire = {}) {
    begin(k);
    auto shared = std::make_shared<Cb>(std::move(done));
    deadline_timer_.expires_after(deadline);
    deadline_timer_.async_wait([weak = weak_from_this(), id = op_id_, shared, kind, on_expire](auto ec) {
      auto self = weak.lock();
      if (ec || !self || self->shut_ || !self->current(id)) return;
      self->end_op();
      if (on_expire) on_expire();
      (*shared)(tl::unexpected(Error{kind, "no answer from Stripe before the deadline", std::nullopt}));
    });
    return shared;
  }
  bool collecting(std::uint64_t id) const { return op_ == OpKind::Collect && op_id_ == id; }

  void set_state(ConnectionState s) {
    if (state_ == s) return;
    state_ = s;
    emit(ReaderEventKind::StatusChanged, std::string(to_string(s)));
  }
  void emit(ReaderEventKind k, std::string message = {}) {
    if (!events_) return;
    post([this, ev = ReaderEvent{k, 0, std::move(message)}] {
      if (events_) events_(ev);
    });
  }

  // ---- collect ----------------------------------------------------------------------------

  void on_reader(const ServerReader& r) {
    if (collect_.resolving) return;
    const auto& a = r.action;
    const bool ours = a && a->type == "process_payment_intent" && a->payment_intent_id == collect_.pi;
    if (ours && a->status == "in_progress") return schedule_poll();
    if (ours && a->status == "failed") collect_.failure_code = a->failure_code;
    if (!ours && !collect_.cancel_sent && !collect_.uncertain_start) {
      // The reader shows no action of ours although Stripe accepted it: someone else replaced
      // it. Only the PaymentIntent can say what happened.
      log::warn("terminal.stripe.action_replaced", {{"reader", r.id}});
    }
    resolve();
  }

  void schedule_poll() {
    poll_timer_.expires_after(options_.poll_interval);
    poll_timer_.async_wait([weak = weak_from_this(), id = op_id_](auto ec) {
      auto self = weak.lock();
      if (ec || !self || self->shut_ || !self->collecting(id)) return;
      self->api_.async_retrieve_reader(self->reader_.id, self->guard([self_raw = self.get(), id](Result<ServerReader> r) {
        if (!self_raw->collecting(id)) return;
        if (!r) return self_raw->schedule_poll();  // transient: keep watching until the deadline
        self_raw->on_reader(*r);
      }));
    });
  }

  // The PaymentIntent decides.
  void resolve() {
    collect_.resolving = true;
    const std::uint64_t id = op_id_;
    api_.async_retrieve_payment_intent(collect_.pi, guard([this, id](Result<ServerPaymentIntent> r) {
      if (!collecting(id)) return;
      collect_.resolving = false;
      if (!r) return schedule_poll();
      const ServerPaymentIntent& pi = *r;
      if (pi.status == "requires_capture" || pi.status == "succeeded") {
        return finish(CollectOutcome{ApprovedToForward{pi.payment_method_id, pi.card, false, pi.id}});
      }
      if (pi.status == "canceled") return finish(CollectOutcome{Cancelled{"payment_intent_canceled"}});
      if (pi.status == "requires_payment_method" && !pi.decline_code.empty())
        return finish(CollectOutcome{Declined{pi.decline_code, "declined"}});
      if (pi.status == "requires_payment_method" && collect_.cancel_confirmed)
        return finish(CollectOutcome{Cancelled{collect_.cancel_reason}});
      if (pi.status == "requires_payment_method" && !collect_.uncertain_start && !collect_.cancel_sent) {
        // The action ended without a charge and without a decline (e.g. the customer cancelled
        // on the reader): nothing was authorised.
        return finish(fail(ErrorKind::Unavailable,
                           "the reader's action ended without a payment" +
                               (collect_.failure_code.empty() ? std::string() : " (" + collect_.failure_code + ")")));
      }
      schedule_poll();  // processing, or still unclear: keep watching until the grace runs out
    }));
  }

  void request_cancel(std::string reason) {
    if (collect_.cancel_sent) return;
    collect_.cancel_sent = true;
    collect_.cancel_reason = std::move(reason);
    const std::uint64_t id = op_id_;
    api_.async_cancel_action(reader_.id, new_uuid_v4(random_), guard([this, id](Result<ServerReader> r) {
      if (!collecting(id)) return;
      if (r) {
        collect_.cancel_confirmed = true;
        on_reader(*r);
      }
      // A refused cancel (the reader is already deciding) changes nothing: keep watching.
    }));
    grace_timer_.expires_after(options_.cancel_grace);
    grace_timer_.async_wait([weak = weak_from_this(), id](auto ec) {
      auto self = weak.lock();
      if (ec || !self || self->shut_ || !self->collecting(id)) return;
      self->finish(CollectOutcome{OutcomeUnknown{"no decision from the smart reader before the deadline"}});
    });
  }

  void finish(Result<CollectOutcome> r) {
    auto done = std::move(collect_.done);
    deadline_timer_.cancel();
    poll_timer_.cancel();
    grace_timer_.cancel();
    collect_ = CollectState{};
    end_op();
    log::info("terminal.stripe.collect.done", {{"outcome", r ? describe(*r) : r.error().describe()}});
    post([done = std::move(done), r = std::move(r)] { done(r); });
  }

  asio::io_context& io_;
  ServerDrivenApi& api_;
  Random& random_;
  StripeReaderOptions options_;
  ConnectionState state_ = ConnectionState::Disconnected;
  ReaderStatus status_;
  ServerReader reader_;
  Reader::EventHandler events_;
  OpKind op_ = OpKind::None;
  std::uint64_t op_id_ = 0;
  CollectState collect_;
  bool shut_ = false;
  asio::steady_timer deadline_timer_;
  asio::steady_timer poll_timer_;
  asio::steady_timer grace_timer_;
};

class StripeReaderImpl final : public StripeReader {
 public:
  explicit StripeReaderImpl(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  ~StripeReaderImpl() override { core_->shutdown(); }
  void async_discover(milliseconds d, DiscoverCallback done) override { core_->discover(d, std::move(done)); }
  void async_connect(const ReaderInfo& r, milliseconds d, ConnectCallback done) override {
    core_->connect(r, d, std::move(done));
  }
  void async_disconnect(StatusCallback done) override { core_->disconnect(std::move(done)); }
  CancelHandle async_collect(const pos::Money& a, const CollectOptions& o, CollectCallback done) override {
    return core_->collect(a, o, std::move(done));
  }
  void async_set_display(const Cart& c, milliseconds d, StatusCallback done) override {
    core_->set_display(c, d, std::move(done));
  }
  void async_refresh_status(milliseconds d, ReaderStatusCallback done) override {
    core_->refresh_status(d, std::move(done));
  }
  void async_install_update(milliseconds d, StatusCallback done) override { core_->install_update(d, std::move(done)); }
  Status cancel() override { return core_->cancel(); }
  ReaderStatus status() const override { return core_->status(); }
  void set_event_handler(EventHandler h) override { core_->set_event_handler(std::move(h)); }
  void async_register(const std::string& code, const std::string& label, const std::string& location,
                      milliseconds deadline, ConnectCallback done) override {
    core_->register_reader(code, label, location, deadline, std::move(done));
  }
  void on_reader_update(const ServerReader& r) override { core_->on_reader_update(r); }

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace

std::unique_ptr<StripeReader> make_stripe_reader(asio::io_context& io, ServerDrivenApi& api, Random& random,
                                                 StripeReaderOptions options) {
  return std::make_unique<StripeReaderImpl>(std::make_shared<Core>(io, api, random, options));
}

}  // namespace till::terminal
