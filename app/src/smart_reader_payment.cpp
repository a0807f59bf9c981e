// The smart-reader payment chain. See smart_reader_payment.hpp for the steps and why.
#include "till/app/smart_reader_payment.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <exception>

#include "till/base/log.hpp"

namespace till::app {
namespace asio = boost::asio;

std::string_view to_string(SmartPaymentOutcome::Kind k) noexcept {
  switch (k) {
    case SmartPaymentOutcome::Kind::Approved: return "approved";
    case SmartPaymentOutcome::Kind::Declined: return "declined";
    case SmartPaymentOutcome::Kind::Canceled: return "canceled";
    case SmartPaymentOutcome::Kind::NotCharged: return "not_charged";
    case SmartPaymentOutcome::Kind::Unknown: return "unknown";
  }
  return "unknown";
}

pos::Action to_action(const std::string& attempt_id, const SmartPaymentOutcome& o) {
  using K = SmartPaymentOutcome::Kind;
  switch (o.kind) {
    case K::Approved: return pos::PaymentApproved{attempt_id, o.payment_intent_id, o.card};
    case K::Declined: return pos::PaymentDeclined{attempt_id, o.decline_code, o.message, o.payment_intent_id};
    case K::Canceled: return pos::CollectCanceled{attempt_id};
    case K::NotCharged: return pos::CollectFailed{attempt_id, o.message};
    case K::Unknown: break;
  }
  return pos::PaymentOutcomeUnknown{attempt_id, o.message};
}

std::string process_key_for(const pos::PaymentAttempt& attempt) {
  return "till-process-" + attempt.idempotency_key;
}

struct SmartReaderPayment::Impl : std::enable_shared_from_this<SmartReaderPayment::Impl> {
  enum class Stage { Idle, Creating, OnReader };

  Impl(asio::io_context& io_, store::Store& store_, sync::StripeClient& client_, terminal::Reader& reader_,
       const Clock& clock_, SmartReaderPaymentConfig config_, std::function<void()> wake_)
      : io(io_), store(store_), client(client_), reader(reader_), clock(clock_), config(std::move(config_)),
        wake_engine(std::move(wake_)) {
    config.payment_intent.server_driven = true;
  }

  asio::io_context& io;
  store::Store& store;
  sync::StripeClient& client;
  terminal::Reader& reader;
  const Clock& clock;
  SmartReaderPaymentConfig config;
  std::function<void()> wake_engine;

  Stage stage = Stage::Idle;
  bool cancel_requested = false;
  bool shut = false;
  std::uint64_t generation = 0;
  pos::PaymentAttempt attempt;
  pos::OutboxOperation create_op;
  std::string payment_intent_id;
  bool submitted = false;  // the attempt is recorded submitting (step 2 committed)
  terminal::CancelHandle collect_handle;
  Done done;

  Status start(const std::string& attempt_id, Done cb) {
    if (stage != Stage::Idle) return fail(ErrorKind::FailedPrecondition, "another smart-reader payment is running");
    auto a = store.attempts().get(attempt_id);
    if (!a) return fail(a.error());
    if (a->state != pos::AttemptState::Collecting) {
      return fail(ErrorKind::FailedPrecondition, "attempt " + attempt_id + " is " +
                                                     std::string(pos::to_string(a->state)) + ", not collecting");
    }
    auto sale = store.sales().get(a->sale_id);
    if (!sale) return fail(sale.error());
    auto op = sync::make_payment_intent_operation(*sale, *a, config.payment_intent, clock.now());
    if (!op) return fail(op.error());

    attempt = std::move(*a);
    create_op = std::move(*op);
    payment_intent_id.clear();
    submitted = false;
    cancel_requested = false;
    done = std::move(cb);
    stage = Stage::Creating;
    const std::uint64_t gen = ++generation;
    log::info("app.smart.create", {{"attempt", attempt.id}, {"idempotency_key", create_op.idempotency_key}});
    // Exactly the bytes and key the outbox row will hold (step 2), so the engine's later look at
    // this operation can only replay or retrieve, never create a second PaymentIntent.
    asio::co_spawn(io,
                   client.async_request_encoded(create_op.method, create_op.path, create_op.body,
                                                sync::RequestOptions(create_op.account_id, create_op.idempotency_key)),
                   [weak = weak_from_this(), gen](std::exception_ptr ep, Result<sync::StripeResponse> r) {
                     auto self = weak.lock();
                     if (!self || self->shut || self->generation != gen) return;
                     if (ep) r = fail(ErrorKind::OutcomeUnknown, "the create call ended with an exception");
                     self->on_created(std::move(r));
                   });
    return ok();
  }

  void on_created(Result<sync::StripeResponse> r) {
    if (!r) {
      // The reader was never asked: whatever Stripe holds is an unprocessed PaymentIntent, which
      // cannot charge anyone.
      return finish(not_charged("could not create the PaymentIntent: " + r.error().describe()));
    }
    auto pi = sync::parse_payment_intent(r->body);
    if (!pi) return finish(not_charged("unreadable PaymentIntent: " + pi.error().message));
    payment_intent_id = pi->id;
    if (pi->status != sync::PaymentIntentStatus::RequiresPaymentMethod) {
      // A replay of a create whose PaymentIntent moved on (a restarted chain for the same
      // attempt). Never guess: record it and let the engine's look-up decide.
      log::warn("app.smart.unexpected_state", {{"attempt", attempt.id}, {"payment_intent", pi->id},
                                               {"status", pi->status_text}});
    }
    // Step 2: durable before the reader may charge anyone.
    pos::OutboxOperation safety = create_op;
    safety.next_attempt_at = clock.now() + config.collect_deadline + config.recovery_margin;
    safety.stripe_object_id = pi->id;
    Status recorded = store.write([&](store::WriteTx& tx) -> Status {
      store::AttemptUpdate u;
      u.attempt_id = attempt.id;
      u.event = pos::AttemptEvent::Submitted;  // the PaymentIntent exists; the reader is asked next
      u.payment_intent_id = pi->id;
      if (auto s = tx.attempts().update(u); !s) return fail(s.error());
      auto id = tx.outbox().enqueue(safety);
      if (!id) return fail(id.error());
      return ok();
    });
    if (!recorded) {
      return finish(not_charged("could not record the PaymentIntent before processing: " +
                                recorded.error().describe()));
    }
    submitted = true;
    if (pi->status != sync::PaymentIntentStatus::RequiresPaymentMethod) {
      SmartPaymentOutcome o = unknown("the PaymentIntent is already " + pi->status_text + "; the resolver records it");
      return finish(std::move(o));
    }
    if (cancel_requested) {
      SmartPaymentOutcome o;
      o.kind = SmartPaymentOutcome::Kind::Canceled;
      o.payment_intent_id = payment_intent_id;
      o.message = "canceled before the reader was asked";
      return finish(std::move(o));
    }

    // Step 3.
    stage = Stage::OnReader;
    auto currency = pos::Currency::parse(attempt.currency);
    if (!currency) return finish(not_charged(currency.error().message));
    terminal::CollectOptions options;
    options.deadline = config.collect_deadline;
    options.payment_intent_id = payment_intent_id;
    options.idempotency_key = process_key_for(attempt);
    const std::uint64_t gen = generation;
    log::info("app.smart.process", {{"attempt", attempt.id}, {"payment_intent", payment_intent_id}});
    collect_handle = reader.async_collect(
        pos::Money(attempt.amount, *currency), options,
        [weak = weak_from_this(), gen](Result<terminal::CollectOutcome> outcome) {
          auto self = weak.lock();
          if (!self || self->shut || self->generation != gen) return;
          self->on_collected(std::move(outcome));
        });
  }

  void on_collected(Result<terminal::CollectOutcome> r) {
    collect_handle = {};
    if (!r) {
      // The driver's errors mean nothing was authorised (busy, offline, the reader's own failure).
      return finish(not_charged(r.error().message));
    }
    SmartPaymentOutcome o;
    o.payment_intent_id = payment_intent_id;
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, terminal::ApprovedToForward>) {
            o.kind = SmartPaymentOutcome::Kind::Approved;
            o.card = v.card;
            if (!v.payment_intent_id.empty()) o.payment_intent_id = v.payment_intent_id;
          } else if constexpr (std::is_same_v<T, terminal::Declined>) {
            o.kind = SmartPaymentOutcome::Kind::Declined;
            o.decline_code = v.decline_code;
            o.message = v.message;
          } else if constexpr (std::is_same_v<T, terminal::Cancelled>) {
            o.kind = SmartPaymentOutcome::Kind::Canceled;
            o.message = v.reason;
          } else {
            o.kind = SmartPaymentOutcome::Kind::Unknown;
            o.message = v.reason;
          }
        },
        *r);
    if (o.kind == SmartPaymentOutcome::Kind::Approved && config.payment_intent.capture_method == "manual") {
      queue_capture(o);
    }
    finish(std::move(o));
  }

  // Step 4: a keyed capture in the outbox; the engine sends it (and retries it with the same key).
  void queue_capture(SmartPaymentOutcome& o) {
    auto capture = sync::make_capture_operation(attempt, o.payment_intent_id, std::nullopt,
                                                sync::capture_key_for(attempt), clock.now());
    Result<std::int64_t> id = capture ? store.outbox().enqueue(*capture) : Result<std::int64_t>(fail(capture.error()));
    if (!id) {
      // The authorization stands; without a capture Stripe releases it after 7 days. Say so loudly.
      log::error("app.smart.capture_not_queued",
                 {{"attempt", attempt.id}, {"payment_intent", o.payment_intent_id}, {"error", id.error().describe()}});
      o.message = "authorized, but the capture could not be queued: " + id.error().message;
      return;
    }
    o.capture_queued = true;
    if (wake_engine) wake_engine();
  }

  SmartPaymentOutcome not_charged(std::string why) const {
    SmartPaymentOutcome o;
    o.kind = SmartPaymentOutcome::Kind::NotCharged;
    o.payment_intent_id = payment_intent_id;
    o.message = std::move(why);
    return o;
  }
  SmartPaymentOutcome unknown(std::string why) const {
    SmartPaymentOutcome o;
    o.kind = SmartPaymentOutcome::Kind::Unknown;
    o.payment_intent_id = payment_intent_id;
    o.message = std::move(why);
    return o;
  }

  void finish(SmartPaymentOutcome o) {
    if (submitted && (o.kind == SmartPaymentOutcome::Kind::NotCharged || o.kind == SmartPaymentOutcome::Kind::Canceled)) {
      // The chain holds the proof that the reader charged nobody (it was never asked, its driver
      // failed, or its action was canceled): the attempt it moved to submitting is not charged.
      // Only the chain knows that; the kiosk's own cancel could no longer move a submitted attempt.
      store::AttemptUpdate u;
      u.attempt_id = attempt.id;
      u.event = pos::AttemptEvent::NotCharged;
      if (!o.message.empty()) u.failure_message = o.message;
      if (auto r = store.attempts().update(u); !r) {
        log::error("app.smart.not_charged_not_recorded", {{"attempt", attempt.id}, {"error", r.error().describe()}});
      }
    }
    log::info("app.smart.done", {{"attempt", attempt.id},
                                 {"payment_intent", o.payment_intent_id},
                                 {"outcome", std::string(to_string(o.kind))},
                                 {"detail", o.message}});
    stage = Stage::Idle;
    ++generation;
    auto cb = std::move(done);
    done = nullptr;
    asio::post(io, [weak = weak_from_this(), cb = std::move(cb), o = std::move(o)] {
      auto self = weak.lock();
      if (!self || self->shut || !cb) return;
      cb(o);
    });
  }

  Status cancel() {
    switch (stage) {
      case Stage::Idle: return fail(ErrorKind::FailedPrecondition, "no smart-reader payment is running");
      case Stage::Creating: cancel_requested = true; return ok();
      case Stage::OnReader: collect_handle.cancel(); return ok();
    }
    return ok();
  }
};

SmartReaderPayment::SmartReaderPayment(asio::io_context& io, store::Store& store, sync::StripeClient& client,
                                       terminal::Reader& reader, const Clock& clock, SmartReaderPaymentConfig config,
                                       std::function<void()> wake_engine)
    : impl_(std::make_shared<Impl>(io, store, client, reader, clock, std::move(config), std::move(wake_engine))) {}

SmartReaderPayment::~SmartReaderPayment() { impl_->shut = true; }

Status SmartReaderPayment::start(const std::string& attempt_id, Done done) {
  return impl_->start(attempt_id, std::move(done));
}
Status SmartReaderPayment::cancel() { return impl_->cancel(); }
bool SmartReaderPayment::running() const noexcept { return impl_->stage != Impl::Stage::Idle; }
// Creating lasts from start() until the create call's answer was handled (on_created or finish).
bool SmartReaderPayment::call_in_flight() const noexcept { return impl_->stage == Impl::Stage::Creating; }

}  // namespace till::app
