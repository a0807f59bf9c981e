#include "reader_session.hpp"

#include <boost/asio/co_spawn.hpp>

#include "sync_bridge.hpp"
#include "till/base/log.hpp"
#include "till/terminal/stripe_reader.hpp"

namespace till::app::detail {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

pos::ReaderPromptKind prompt_kind(terminal::ReaderEventKind k) {
  using K = terminal::ReaderEventKind;
  switch (k) {
    case K::PromptRemoveCard: return pos::ReaderPromptKind::RemoveCard;
    case K::PromptEnterPin: return pos::ReaderPromptKind::EnterPin;
    case K::PromptTryAnotherCard: return pos::ReaderPromptKind::TryAnotherCard;
    case K::Authorizing: return pos::ReaderPromptKind::Processing;
    default: return pos::ReaderPromptKind::Other;
  }
}

std::string prompt_text(const terminal::ReaderEvent& e) {
  using K = terminal::ReaderEventKind;
  switch (e.kind) {
    case K::CardInserted: return "Card inserted: reading";
    case K::CardTapped: return "Card tapped: reading";
    case K::CardSwiped: return "Card swiped: reading";
    case K::CardRemoved: return "Card removed";
    case K::PromptRemoveCard: return "Remove card";
    case K::PromptEnterPin: return "Customer: enter PIN";
    case K::PromptTryAnotherCard: return "Try another card";
    case K::PinEntered: return "PIN entered";
    case K::Authorizing: return "Processing";
    default: return e.message;
  }
}

}  // namespace

// ---- the driver and its connection ---------------------------------------------------------

Status ReaderSession::open() {
  terminal::ProtocolReaderOptions ro;
  ro.reconnect.enabled = true;
  switch (spec_.kind) {
    case ReaderSpec::Kind::Simulated: {
      if (core_.simulation == nullptr) {
        return fail(ErrorKind::FailedPrecondition,
                    "reader \"sim\" is the simulated reader, and no simulator is plugged into this runtime "
                    "(the kiosk plugs it in for the embedded default); choose tcp:HOST:PORT, usb or stripe");
      }
      auto device = core_.simulation->reader_device();
      if (!device) return fail(device.error());
      device_ = *device;
      reader_ = terminal::make_sim_reader(core_.io, *device_, ro);
      break;
    }
    case ReaderSpec::Kind::Tcp: reader_ = terminal::make_tcp_reader(core_.io, spec_.host, spec_.port, ro); break;
    case ReaderSpec::Kind::Usb: {
      terminal::UsbMatch match;
      match.vendor_id = spec_.usb_vendor_id;
      match.product_id = spec_.usb_product_id;
      match.serial = spec_.usb_serial;
      usb_ = terminal::make_usb_transports(core_.io, std::move(match));
      reader_ = terminal::make_usb_reader(core_.io, usb_, ro);
      break;
    }
    case ReaderSpec::Kind::Stripe: {
      smart_api_ = std::make_unique<StripeServerDrivenApi>(core_.io, *core_.client, core_.account_id());
      reader_ = terminal::make_stripe_reader(core_.io, *smart_api_, *core_.random);
      SmartReaderPaymentConfig chain;
      chain.payment_intent = core_.pi_options;
      smart_payment_ = std::make_unique<SmartReaderPayment>(core_.io, *core_.store, *core_.client, *reader_,
                                                            *core_.clock, chain, [this] { sync_.wake(); });
      break;
    }
  }
  reader_->set_event_handler([this](const terminal::ReaderEvent& e) { on_event(e); });
  connect_then([](Status) {});
  return ok();
}

// Discover + connect; `done` gets the outcome.
void ReaderSession::connect_then(std::function<void(Status)> done) {
  if (smart_api_) {
    core_.spawn_helper(connect_smart_reader(std::move(done)));
    return;
  }
  reader_->async_discover(5s, [this, done](Result<std::vector<terminal::ReaderInfo>> found) {
    if (!found || found->empty()) {
      no_reader(found ? "none found" : found.error().message, done);
      return;
    }
    connect_to(found->front(), done);
  });
}

void ReaderSession::no_reader(const std::string& why, const std::function<void(Status)>& done) {
  log::warn("app.no_reader", {{"reader", format_reader_spec(spec_)}, {"why", why}});
  core_.emit(pos::ReaderStatusChanged{false, "No reader", why});
  done(fail(ErrorKind::Unavailable, "no reader found: " + why));
}

void ReaderSession::connect_to(const terminal::ReaderInfo& which, std::function<void(Status)> done) {
  reader_->async_connect(which, 10s, [this, done](Result<terminal::ReaderInfo> info) {
    if (!info) {
      core_.emit(pos::ReaderStatusChanged{false, "Reader", info.error().message});
      done(fail(info.error()));
      return;
    }
    done(ok());
    label_ = info->label.empty() ? info->serial : info->label;
    core_.emit(pos::ReaderStatusChanged{true, label_, info->driver + (simulated() ? " (SIMULATED)" : "")});
    post_details();  // the status the connect reported; no extra driver operation
  });
}

// Smart reader: the account's readers through the client (with their location), the one the
// setting names (choose_smart_reader), then the driver's connect. (On the embedded simulator the
// Simulation registered a SIMULATED WisePOS E before the runtime started.)
asio::awaitable<void> ReaderSession::connect_smart_reader(std::function<void(Status)> done) {
  sync::ListParams params(100);
  sync::RequestOptions list_options(core_.account_id());
  auto page = co_await core_.client->async_list_readers(std::move(params), std::move(list_options));
  if (core_.stop_requested) co_return;
  if (!page) {
    no_reader("cannot list the account's smart readers: " + page.error().message, done);
    co_return;
  }
  auto chosen = choose_smart_reader(page->data, spec_.stripe_reader_id, core_.config.location_id);
  if (!chosen) {
    no_reader(chosen.error().message, done);
    co_return;
  }
  smart_reader_id_ = chosen->id;
  log::info("app.smart_reader_chosen", {{"reader", chosen->id}, {"label", chosen->label}, {"simulated", smart_simulated()}});
  terminal::ReaderInfo info;
  info.id = chosen->id;
  info.label = chosen->label;
  info.model = chosen->device_type;
  info.serial = chosen->serial_number;
  info.firmware_version = chosen->device_sw_version;
  info.driver = "stripe";
  connect_to(info, std::move(done));
}

// ---- status and events ---------------------------------------------------------------------

// Fresh status from the reader; `answer` also reports the back-office command's end.
void ReaderSession::refresh(bool answer) {
  reader_->async_refresh_status(5s, [this, answer](Result<terminal::ReaderStatus> st) {
    post_details();
    if (answer) {
      core_.emit(pos::ReaderCommandDone{pos::ReaderCommandKind::RefreshStatus, static_cast<bool>(st),
                                        st ? std::string() : st.error().message});
    }
  });
}

// The back office's view of the reader, from the driver's last known status.
void ReaderSession::post_details(int update_progress) {
  if (!reader_) return;
  const terminal::ReaderStatus st = reader_->status();
  pos::ReaderDetails d;
  d.connection = std::string(terminal::to_string(st.connection));
  d.battery_percent = st.battery_percent;
  d.charging = st.charging;
  d.firmware_version = st.firmware_version;
  d.update_required = st.update_required;
  d.update_progress = update_progress;
  d.reader_online = st.reader_online;
  d.offline_capable = st.offline_capable;
  d.offline_stored = st.offline_stored;
  d.offline_capacity = st.offline_capacity;
  core_.emit(pos::ReaderDetailsUpdated{d});
}

void ReaderSession::on_event(const terminal::ReaderEvent& e) {
  using K = terminal::ReaderEventKind;
  switch (e.kind) {
    case K::Disconnected:
      core_.emit(pos::ReaderStatusChanged{false, label_, "disconnected"});
      post_details();
      return;
    case K::Reconnected:
      core_.emit(pos::ReaderStatusChanged{true, label_, "reconnected"});
      post_details();
      return;
    case K::ReconnectFailed:
      core_.emit(pos::ReaderStatusChanged{false, label_, "reconnect failed"});
      post_details();
      return;
    case K::FirmwareProgress: post_details(e.value); return;
    case K::StatusChanged:
    case K::BatteryLow:
    case K::UpdateRequired:
    case K::ReconnectAttempt: post_details(); return;
    case K::ProtocolError: return;
    default: break;
  }
  if (collecting_attempt_.empty()) return;
  core_.emit(pos::ReaderPrompt{collecting_attempt_, prompt_kind(e.kind), prompt_text(e)});
}

// ---- collect and cancel --------------------------------------------------------------------

void ReaderSession::start_collect(const pos::StartCollect& e) {
  if (!collecting_attempt_.empty()) {
    core_.emit(pos::CollectFailed{e.attempt_id, "the reader is busy with another payment"});
    return;
  }
  auto currency = pos::Currency::parse(e.currency);
  if (!currency) {
    core_.emit(pos::CollectFailed{e.attempt_id, currency.error().message});
    return;
  }
  if (smart_payment_) {
    start_smart_collect(e);
    return;
  }
  terminal::CollectOptions options;
  options.offline_allowed = e.offline_allowed;
  collecting_attempt_ = e.attempt_id;
  // A SIMULATED customer decides which card to present before the collect reaches the device.
  if (device_ != nullptr) core_.simulation->collect_starting(CollectStarted{e.attempt_id, e.amount, e.currency, {}});
  core_.emit(pos::ReaderPrompt{e.attempt_id, pos::ReaderPromptKind::PresentCard, "Present card"});
  const std::string id = e.attempt_id;
  collect_handle_ = reader_->async_collect(pos::Money(e.amount, *currency), options,
                                           [this, id](Result<terminal::CollectOutcome> r) { on_collected(id, std::move(r)); });
}

void ReaderSession::collect_ended(const std::string& id) {
  if (collecting_attempt_ == id) collecting_attempt_.clear();
  if (simulated()) core_.simulation->collect_ended(id);
}

void ReaderSession::on_collected(const std::string& id, Result<terminal::CollectOutcome> r) {
  collect_handle_ = {};
  collect_ended(id);
  if (!r) {
    if (r.error().kind == ErrorKind::OutcomeUnknown) {
      core_.emit(pos::PaymentOutcomeUnknown{id, r.error().message});
    } else {
      core_.emit(pos::CollectFailed{id, r.error().message});
    }
    return;
  }
  std::visit(
      [&](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, terminal::ApprovedToForward>) {
          if (o.stored_offline) {
            core_.emit(pos::PaymentStoredOffline{id, o.payment_method, o.card, false});
          } else {
            core_.emit(pos::CardCollected{id, o.payment_method, o.card, false});
          }
        } else if constexpr (std::is_same_v<T, terminal::Declined>) {
          core_.emit(pos::PaymentDeclined{id, o.decline_code, o.message, {}});
        } else if constexpr (std::is_same_v<T, terminal::Cancelled>) {
          core_.emit(pos::CollectCanceled{id});
        } else {
          core_.emit(pos::PaymentOutcomeUnknown{id, o.reason});
        }
      },
      *r);
}

// Smart reader: the chain creates the keyed PaymentIntent, records it with its safety-net
// operation, processes it on the reader and decides from the PaymentIntent; the outcome goes
// to the reducer as to_action(). No EnqueueOperation follows an approval (the reducer emits
// none for PaymentApproved), so the card is charged once. A smart reader cannot store
// payments: offline_allowed does not apply, and while the register is offline the collect is
// refused at once with the reason (nothing is sent, nothing charged).
void ReaderSession::start_smart_collect(const pos::StartCollect& e) {
  const std::string id = e.attempt_id;
  if (sync_.online() == false) {
    log::info("app.smart.offline_refused", {{"attempt", id}});
    core_.emit(pos::CollectFailed{id, "the smart reader needs Stripe and the register is offline (it cannot store "
                                      "payments); nothing was charged. Take cash or wait for the connection"});
    return;
  }
  if (reader_->status().connection != terminal::ConnectionState::Connected) {
    // Refused before a PaymentIntent is created for a reader that could not process it.
    core_.emit(pos::CollectFailed{id, "the smart reader is not connected; nothing was charged"});
    return;
  }
  collecting_attempt_ = id;
  core_.emit(pos::ReaderPrompt{id, pos::ReaderPromptKind::PresentCard, "Present card on the smart reader"});
  Status started = smart_payment_->start(id, [this, id](SmartPaymentOutcome o) {
    collect_ended(id);
    if (o.kind == SmartPaymentOutcome::Kind::NotCharged || o.kind == SmartPaymentOutcome::Kind::Unknown) {
      log::warn("app.smart.not_approved", {{"attempt", id}, {"outcome", std::string(to_string(o.kind))}, {"detail", o.message}});
    }
    core_.emit(to_action(id, o));
  });
  if (!started) {
    collecting_attempt_.clear();
    core_.emit(pos::CollectFailed{id, started.error().message});
    return;
  }
  // A SIMULATED customer at a simulated smart reader presents a card through the simulator.
  if (smart_simulated()) core_.simulation->collect_starting(CollectStarted{id, e.amount, e.currency, smart_reader_id_});
}

void ReaderSession::cancel_collect() {
  if (smart_payment_) {
    // Before the reader was asked nothing is sent; on the reader, cancel_action (an approval
    // already decided stays an approval).
    if (Status s = smart_payment_->cancel(); !s) log::info("app.smart.cancel_ignored", {{"why", s.error().message}});
    return;
  }
  collect_handle_.cancel();
}

// ---- reader commands (back office) ---------------------------------------------------------

// Reader commands never fail the effect list (nothing durable): the outcome comes back as
// ReaderCommandDone.
void ReaderSession::command(const pos::ReaderCommand& e) {
  using K = pos::ReaderCommandKind;
  auto done = [this, kind = e.command](Status s, std::string message = {}) {
    core_.emit(pos::ReaderCommandDone{kind, static_cast<bool>(s), s ? std::move(message) : s.error().message});
  };
  const bool busy = !collecting_attempt_.empty();  // the driver takes one operation at a time
  switch (e.command) {
    case K::Connect: connect_then([done](Status s) { done(std::move(s)); }); break;
    case K::Disconnect:
      if (busy) {
        done(fail(ErrorKind::FailedPrecondition, "the reader is taking a payment"));
        break;
      }
      reader_->async_disconnect([this, done](Status s) {
        if (s) core_.emit(pos::ReaderStatusChanged{false, label_, "disconnected by a manager"});
        post_details();
        done(std::move(s));
      });
      break;
    case K::InstallUpdate:
      if (busy) {
        done(fail(ErrorKind::FailedPrecondition, "the reader is taking a payment"));
        break;
      }
      reader_->async_install_update(5min, [this, done](Status s) {
        post_details();
        done(std::move(s), reader_ ? "firmware " + reader_->status().firmware_version : std::string());
      });
      break;
    case K::RefreshStatus:
      if (busy) {
        post_details();
        done(ok(), "last reported status (the reader is taking a payment)");
      } else {
        refresh(true);
      }
      break;
  }
}

// ---- stop ----------------------------------------------------------------------------------

void ReaderSession::begin_stop() {
  collect_handle_.cancel();
  if (reader_ && !smart_api_) reader_->async_disconnect([](Status) {});
}

void ReaderSession::drop_chain_and_reader() {
  smart_payment_.reset();  // a payment still on the reader is recovered by its safety-net operation
  reader_.reset();
}

void ReaderSession::teardown() {
  collect_handle_ = {};
  smart_payment_.reset();
  reader_.reset();
  usb_.reset();
  smart_api_.reset();
  device_ = nullptr;
}

}  // namespace till::app::detail
