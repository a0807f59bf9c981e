#include "till/app/runtime.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "till/app/printer.hpp"
#include "till/app/reader_spec.hpp"
#include "till/app/server_driven.hpp"
#include "till/app/smart_reader_payment.hpp"
#include "till/base/log.hpp"
#include "till/base/random.hpp"
#include "till/hwsim/reader_device.hpp"
#include "till/hwsim/test_cards.hpp"
#include "till/store/store.hpp"
#include "till/stripesim/server.hpp"
#include "till/sync/engine.hpp"
#include "till/sync/operations.hpp"
#include "till/sync/report.hpp"
#include "till/sync/stripe_client.hpp"
#include "till/terminal/drivers.hpp"
#include "till/terminal/stripe_reader.hpp"

namespace till::app {
namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// The embedded default keeps a 0600 data key next to the database so offline tokens are sealed
// at rest from the first run; a configured TILL_DATA_KEY (or key file) always wins.
Result<store::DataKey> load_or_create_data_key(const std::string& data_dir, Random& random) {
  const std::string path = (fs::path(data_dir) / "data.key").string();
  auto configured = store::DataKey::from_environment(path);
  if (!configured) return fail(configured.error());
  if (*configured) return **configured;
  std::array<std::uint8_t, store::DataKey::kBytes> bytes{};
  random.fill(bytes);
  const std::string hex = to_hex(bytes) + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorKind::Unavailable, "cannot create " + path + ": " + std::strerror(errno));
  const bool written = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) return fail(ErrorKind::Unavailable, "cannot write " + path);
  log::info("app.data_key_created", {{"path", path}});
  return store::DataKey::from_file(path);
}

// The file name of a printed receipt: the sale id from its "Sale <id>" line (pos/receipt.hpp
// prints it), else "receipt" (the printer sink numbers files so none is overwritten).
std::string receipt_stem(const std::string& text) {
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    if (text.compare(start, 5, "Sale ") == 0 && end > start + 5) return text.substr(start + 5, end - start - 5);
    start = end + 1;
  }
  return "receipt";
}

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

struct Runtime::Impl {
  RuntimeConfig config;
  Post post;
  const Clock* clock = nullptr;
  std::unique_ptr<Random> random;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread core;
  bool stopped = false;

  ReaderSpec spec;                                // config.reader, parsed
  std::unique_ptr<stripesim::Server> sim;         // embedded default only
  std::unique_ptr<hwsim::ReaderDevice> device;    // in-process simulated reader only
  std::shared_ptr<terminal::UsbTransports> usb;   // usb reader only (destroyed after the reader)
  // Smart reader only (core thread): the server-driven API over the client, the chain, and the
  // reader's id once chosen. smart_simulated: on the embedded till-stripe-sim (a simulated
  // customer presents cards through the test helper).
  std::unique_ptr<StripeServerDrivenApi> smart_api;
  std::unique_ptr<SmartReaderPayment> smart_payment;
  std::string smart_reader_id;
  bool smart_simulated = false;
  int helpers_running = 0;                        // the runtime's own coroutines on the client
  std::deque<std::string> queued_cards;           // core thread
  std::optional<store::Store> store;              // core thread
  std::unique_ptr<sync::StripeClient> client;     // core thread
  std::unique_ptr<sync::Engine> engine;           // core thread
  std::unique_ptr<terminal::Reader> reader;       // core thread
  sync::PaymentIntentOptions pi_options;
  std::vector<PrinterConfig> printers;
  std::string account_id;
  std::string mode;
  std::string store_path;
  std::string base_url;

  // Core thread only.
  terminal::CancelHandle collect_handle;
  std::string collecting_attempt;
  std::set<std::string> in_doubt_reported;
  std::string reader_label = "Reader";
  std::optional<bool> online;
  bool engine_done = true;       // the drive loop is not running (not started yet, or returned)
  bool stop_requested = false;
  bool check_now = false;        // run the connectivity check before the next drain
  asio::steady_timer* idle_timer = nullptr;  // set while the drive loop waits
  // The database check (quick_check) on its own read-only connection, off the start-up path.
  std::thread check_thread;

  // Core thread: destroy in dependency order (the reader and engine use the client and store).
  void teardown() {
    collect_handle = {};
    smart_payment.reset();
    reader.reset();
    usb.reset();
    smart_api.reset();
    engine.reset();
    client.reset();
    store.reset();
    device.reset();
  }

  void emit(pos::Action a) {
    if (post) post(std::move(a));
  }

  Status open_on_core(const std::string& base_url, const Secret& key, const std::string& ca_file) {
    auto data_key = load_or_create_data_key(config.data_dir, *random);
    if (!data_key) return fail(data_key.error());
    store::OpenOptions so;
    so.data_key = *data_key;
    // quick_check reads every page (about a second with 100,000 sales, bench/kiosk_startup_bench):
    // the kiosk's first frame does not wait for it; start_store_check() runs it beside the writer
    // and no tender is taken, and nothing is sent to Stripe, until it passed.
    so.integrity_check = store::IntegrityCheck::Deferred;
    auto s = store::Store::open(store_path, *clock, so);
    if (!s) return fail(s.error());
    store.emplace(std::move(*s));

    sync::StripeConfig sc;
    sc.http.base_url = base_url;
    sc.http.extra_ca_file = ca_file;
    sc.api_key = key;
    sc.app.version = TILL_APP_VERSION;
    sc.app.url = "https://github.com/till-pos/till";
    auto c = sync::StripeClient::create(io, std::move(sc), sync::StripeClient::Deps{nullptr, nullptr, nullptr, clock});
    if (!c) return fail(c.error());
    client = std::move(*c);

    engine = std::make_unique<sync::Engine>(*store, *client, *clock, *random);
    engine->set_observer([this](const sync::OperationReport& r) { on_report(r); });
    start_store_check();

    terminal::ProtocolReaderOptions ro;
    ro.reconnect.enabled = true;
    switch (spec.kind) {
      case ReaderSpec::Kind::Simulated: {
        hwsim::DeviceConfig dc;
        dc.seed = config.seed;
        // A person presents the card; give the simulated one a human-ish pace so the cashier
        // sees the prompts.
        dc.present_delay = 400ms;
        dc.read_delay = 300ms;
        dc.authorize_delay = 300ms;
        device = std::make_unique<hwsim::ReaderDevice>(dc);
        reader = terminal::make_sim_reader(io, *device, ro);
        break;
      }
      case ReaderSpec::Kind::Tcp: reader = terminal::make_tcp_reader(io, spec.host, spec.port, ro); break;
      case ReaderSpec::Kind::Usb: {
        terminal::UsbMatch match;
        match.vendor_id = spec.usb_vendor_id;
        match.product_id = spec.usb_product_id;
        match.serial = spec.usb_serial;
        usb = terminal::make_usb_transports(io, std::move(match));
        reader = terminal::make_usb_reader(io, usb, ro);
        break;
      }
      case ReaderSpec::Kind::Stripe: {
        smart_api = std::make_unique<StripeServerDrivenApi>(io, *client, account_id);
        reader = terminal::make_stripe_reader(io, *smart_api, *random);
        SmartReaderPaymentConfig chain;
        chain.payment_intent = pi_options;
        smart_payment = std::make_unique<SmartReaderPayment>(io, *store, *client, *reader, *clock, chain,
                                                             [this] { wake(); });
        break;
      }
    }
    reader->set_event_handler([this](const terminal::ReaderEvent& e) { on_reader_event(e); });
    connect_reader();
    post_offline_status();
    return ok();
  }

  // Core thread, once the store is open: quick_check on a read-only connection of its own (WAL:
  // it reads a snapshot and never blocks the writer), on a thread of its own. Its answer comes
  // back to the core thread: the kiosk is told, and the sync loop starts only on a sound file.
  void start_store_check() {
    emit(pos::StoreCheckStarted{});
    check_thread = std::thread([this, path = store_path, c = clock] {
      const auto started = std::chrono::steady_clock::now();
      store::OpenOptions ro;
      ro.mode = store::OpenMode::ReadOnly;
      ro.integrity_check = store::IntegrityCheck::Deferred;
      Status checked = ok();
      if (auto reader_store = store::Store::open(path, *c, ro); !reader_store) {
        checked = fail(reader_store.error());
      } else {
        checked = reader_store->check_integrity(store::IntegrityCheck::Quick);
      }
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
      asio::post(io, [this, checked = std::move(checked), ms] { on_store_checked(checked, ms); });
    });
  }

  void on_store_checked(const Status& checked, std::chrono::milliseconds took) {
    if (!checked) {
      log::error("app.store_check_failed", {{"error", checked.error().describe()}, {"ms", took.count()}});
      emit(pos::StoreChecked{false, checked.error().message});
      return;  // nothing is sent from a damaged file: the engine never starts
    }
    log::info("app.store_checked", {{"ms", took.count()}});
    emit(pos::StoreChecked{true, {}});
    if (stop_requested || !engine) return;
    engine_done = false;
    asio::co_spawn(io, drive(), [this](std::exception_ptr) { engine_done = true; });
  }

  // The sync loop (instead of Engine::async_run): drain what is due, then wait for the next poll
  // or a wake(). While the register is offline nothing is drained: the loop checks every
  // probe_interval whether Stripe answers again and drains as soon as it does, so stored
  // payments stay stored (and counted against the caps) until there is a connection.
  asio::awaitable<void> drive() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (!stop_requested) {
      if (check_now || online == false) {
        check_now = false;
        const bool up = co_await check_connectivity();
        if (stop_requested) break;
        set_online(up);
        if (up) post_offline_status();
      }
      if (online != false) (void)co_await engine->async_drain_once();
      if (stop_requested) break;
      timer.expires_after(online == false ? config.probe_interval : engine->config().idle_poll);
      idle_timer = &timer;
      (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      idle_timer = nullptr;
    }
    idle_timer = nullptr;
  }

  // Does Stripe answer? A cheap GET that changes nothing; an error answer (401, 403, ...) still
  // proves the way to Stripe is open.
  asio::awaitable<bool> check_connectivity() {
    sync::FormParams none;
    sync::RequestOptions options(account_id);
    auto r = co_await client->async_request("GET", "/v1/account", std::move(none), std::move(options));
    if (r) co_return true;
    const ErrorKind k = r.error().kind;
    co_return k != ErrorKind::Unavailable && k != ErrorKind::OutcomeUnknown;
  }

  void wake() {
    if (idle_timer != nullptr) idle_timer->cancel();
  }

  // SIMULATED customer: presents the card as soon as the device waits for one (the collect may
  // still be on its way to the device), trying every 20 ms, `tries` times.
  void present_when_waiting(const std::string& card, int tries) {
    if (!device || stop_requested) return;
    if (device->waiting_for_card() || tries <= 0) {
      if (Status s = device->present_card(card, hwsim::ReadMethod::Contactless); !s) {
        log::warn("app.sim_present_card_refused", {{"error", s.error().message}});
      }
      return;
    }
    auto timer = std::make_shared<asio::steady_timer>(io, 20ms);
    timer->async_wait([this, timer, card, tries](boost::system::error_code ec) {
      if (!ec) present_when_waiting(card, tries - 1);
    });
  }

  void connect_reader() {
    connect_reader_then([](Status) {});
  }

  // Discover + connect; `done` gets the outcome (core thread).
  void connect_reader_then(std::function<void(Status)> done) {
    if (smart_api) {
      spawn_helper(connect_smart_reader(std::move(done)));
      return;
    }
    reader->async_discover(5s, [this, done](Result<std::vector<terminal::ReaderInfo>> found) {
      if (!found || found->empty()) {
        no_reader(found ? "none found" : found.error().message, done);
        return;
      }
      connect_to(found->front(), done);
    });
  }

  void no_reader(const std::string& why, const std::function<void(Status)>& done) {
    log::warn("app.no_reader", {{"reader", format_reader_spec(spec)}, {"why", why}});
    emit(pos::ReaderStatusChanged{false, "No reader", why});
    done(fail(ErrorKind::Unavailable, "no reader found: " + why));
  }

  void connect_to(const terminal::ReaderInfo& which, std::function<void(Status)> done) {
    reader->async_connect(which, 10s, [this, done](Result<terminal::ReaderInfo> info) {
      if (!info) {
        emit(pos::ReaderStatusChanged{false, "Reader", info.error().message});
        done(fail(info.error()));
        return;
      }
      done(ok());
      reader_label = info->label.empty() ? info->serial : info->label;
      const bool simulated = device || smart_simulated;
      emit(pos::ReaderStatusChanged{true, reader_label, info->driver + (simulated ? " (SIMULATED)" : "")});
      post_reader_details();  // the status the connect reported; no extra driver operation
    });
  }

  // Runs one of the runtime's own coroutines on the client; stop() waits until none runs (the
  // client must outlive its calls).
  void spawn_helper(asio::awaitable<void> work) {
    ++helpers_running;
    asio::co_spawn(io, std::move(work), [this](std::exception_ptr) { --helpers_running; });
  }

  // Smart reader: the account's readers through the client (with their location), the one the
  // setting names (choose_smart_reader), then the driver's connect. On the embedded simulator an
  // account without readers first gets a SIMULATED WisePOS E (and a location for it).
  asio::awaitable<void> connect_smart_reader(std::function<void(Status)> done) {
    sync::ListParams params(100);
    sync::RequestOptions list_options(account_id);
    auto page = co_await client->async_list_readers(std::move(params), std::move(list_options));
    if (stop_requested) co_return;
    if (!page) {
      no_reader("cannot list the account's smart readers: " + page.error().message, done);
      co_return;
    }
    std::vector<sync::Reader> readers = std::move(page->data);
    if (smart_simulated && readers.empty() && spec.stripe_reader_id.empty()) {
      auto created = co_await register_simulated_reader();
      if (stop_requested) co_return;
      if (!created) {
        no_reader("cannot register a simulated reader on till-stripe-sim: " + created.error().message, done);
        co_return;
      }
      readers.push_back(std::move(*created));
    }
    auto chosen = choose_smart_reader(readers, spec.stripe_reader_id, config.location_id);
    if (!chosen) {
      no_reader(chosen.error().message, done);
      co_return;
    }
    smart_reader_id = chosen->id;
    log::info("app.smart_reader_chosen", {{"reader", chosen->id}, {"label", chosen->label}, {"simulated", smart_simulated}});
    terminal::ReaderInfo info;
    info.id = chosen->id;
    info.label = chosen->label;
    info.model = chosen->device_type;
    info.serial = chosen->serial_number;
    info.firmware_version = chosen->device_sw_version;
    info.driver = "stripe";
    connect_to(info, std::move(done));
  }

  // SIMULATED: a location (unless configured) and a simulated WisePOS E on till-stripe-sim, as
  // Stripe's test mode offers them (registration code simulated-wpe).
  asio::awaitable<Result<sync::Reader>> register_simulated_reader() {
    std::string location = config.location_id;
    if (location.empty()) {
      sync::FormParams loc;
      loc.add("display_name", "Till (SIMULATED)")
          .add("address", sync::FormValue::object({{"line1", "1 Main St"}, {"city", "Springfield"}, {"country", "US"}}));
      sync::RequestOptions loc_options(account_id, new_uuid_v4(*random));
      auto created = co_await client->async_create_location(std::move(loc), std::move(loc_options));
      if (!created) co_return fail(created.error());
      location = created->id;
    }
    sync::RequestOptions reader_options(account_id, new_uuid_v4(*random));
    auto reader_created = co_await client->async_create_reader("simulated-wpe", "Counter (SIMULATED)", location,
                                                               std::move(reader_options));
    if (!reader_created) co_return fail(reader_created.error());
    log::info("app.sim_smart_reader_registered", {{"reader", reader_created->id}, {"location", location}});
    co_return std::move(*reader_created);
  }

  // SIMULATED customer at the smart reader: once the reader shows the payment (its action is
  // in progress), the card is presented through till-stripe-sim's present_payment_method test
  // helper. Gives up when the collect ends or after about a minute.
  asio::awaitable<void> present_on_smart_reader(std::string attempt_id, std::string card) {
    const hwsim::TestCard* test_card = hwsim::find_test_card(card);
    if (test_card == nullptr) {
      log::warn("app.sim_unknown_card", {{"attempt", attempt_id}});
      co_return;
    }
    const std::string number(test_card->number);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (int i = 0; i < 600 && !stop_requested && collecting_attempt == attempt_id; ++i) {
      sync::RequestOptions look(account_id);
      auto r = co_await client->async_retrieve_reader(smart_reader_id, std::move(look));
      if (stop_requested || collecting_attempt != attempt_id) co_return;
      if (r && r->action && r->action->status == "in_progress" && r->action->type == "process_payment_intent") {
        sync::RequestOptions present(account_id, new_uuid_v4(*random));
        auto p = co_await client->async_present_payment_method(smart_reader_id, number, std::nullopt, std::move(present));
        if (!p) {
          log::warn("app.sim_present_card_refused", {{"attempt", attempt_id}, {"error", p.error().describe()}});
        } else {
          log::info("app.sim_card_presented", {{"attempt", attempt_id}, {"reader", smart_reader_id}});
        }
        co_return;
      }
      timer.expires_after(100ms);
      (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  // Fresh status from the reader; `answer` also reports the back-office command's end.
  void refresh_reader(bool answer) {
    reader->async_refresh_status(5s, [this, answer](Result<terminal::ReaderStatus> st) {
      post_reader_details();
      if (answer) {
        emit(pos::ReaderCommandDone{pos::ReaderCommandKind::RefreshStatus, static_cast<bool>(st),
                                    st ? std::string() : st.error().message});
      }
    });
  }

  // The back office's view of the reader, from the driver's last known status.
  void post_reader_details(int update_progress = -1) {
    if (!reader) return;
    const terminal::ReaderStatus st = reader->status();
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
    emit(pos::ReaderDetailsUpdated{d});
  }

  void on_reader_event(const terminal::ReaderEvent& e) {
    using K = terminal::ReaderEventKind;
    switch (e.kind) {
      case K::Disconnected:
        emit(pos::ReaderStatusChanged{false, reader_label, "disconnected"});
        post_reader_details();
        return;
      case K::Reconnected:
        emit(pos::ReaderStatusChanged{true, reader_label, "reconnected"});
        post_reader_details();
        return;
      case K::ReconnectFailed:
        emit(pos::ReaderStatusChanged{false, reader_label, "reconnect failed"});
        post_reader_details();
        return;
      case K::FirmwareProgress: post_reader_details(e.value); return;
      case K::StatusChanged:
      case K::BatteryLow:
      case K::UpdateRequired:
      case K::ReconnectAttempt: post_reader_details(); return;
      case K::ProtocolError: return;
      default: break;
    }
    if (collecting_attempt.empty()) return;
    emit(pos::ReaderPrompt{collecting_attempt, prompt_kind(e.kind), prompt_text(e)});
  }

  // ---- effects (core thread) ----

  void execute(const std::vector<pos::Effect>& effects) {
    std::string saved_sale;
    for (const auto& effect : effects) {
      Status s = std::visit([this](const auto& e) { return perform(e); }, effect);
      if (!s && refused_refund(effect, s.error())) {
        // The manager's refund asks for more than is left, or for a payment the store does not
        // know: nothing was queued, and it is no storage failure. The rest of the list (its audit
        // entry, the lookup of what is left) belongs to a refund that did not happen.
        log::warn("app.refund_refused", {{"error", s.error().describe()}});
        emit(pos::RefundRefused{s.error().message});
        return;
      }
      if (!s) {
        log::error("app.effect_failed", {{"error", s.error().describe()}});
        emit(pos::StoreFailed{s.error().message});
        return;  // a card is never collected for a sale or attempt that is not on disk
      }
      if (const auto* p = std::get_if<pos::PersistSale>(&effect)) saved_sale = p->sale.id;
    }
    if (!saved_sale.empty()) emit(pos::SaleSaved{saved_sale});
  }

  static bool refused_refund(const pos::Effect& effect, const Error& error) {
    const auto* enqueue = std::get_if<pos::EnqueueOperation>(&effect);
    if (enqueue == nullptr || enqueue->intent.kind != pos::OperationKind::Refund) return false;
    return error.kind == ErrorKind::FailedPrecondition || error.kind == ErrorKind::NotFound ||
           error.kind == ErrorKind::InvalidArgument;
  }

  Status perform(const pos::PersistSale& e) { return store->sales().persist(e.sale); }
  Status perform(const pos::UpdateSaleState& e) {
    auto s = store->sales().update_state(e.sale_id, e.state);
    if (s || s.error().kind != ErrorKind::FailedPrecondition) return s;
    // The engine may already have recorded Stripe's answer (e.g. paid); the store is ahead.
    auto sale = store->sales().get(e.sale_id);
    if (sale && (sale->state == e.state || pos::is_final(sale->state))) return ok();
    return s;
  }
  Status perform(const pos::CreateAttempt& e) { return store->attempts().create(e.attempt); }
  // BRIDGE until the reducer's UpdateAttempt carries its event (contract, h-pos): the event that
  // makes the state the reducer now holds. Whoever merges second replaces the call with e.event.
  static std::optional<pos::AttemptEvent> event_for_model_state(const pos::PaymentAttempt& a) {
    switch (a.state) {
      case pos::AttemptState::Collecting: return std::nullopt;  // details only
      case pos::AttemptState::StoredOffline: return pos::AttemptEvent::StoredOffline;
      case pos::AttemptState::Submitting: return pos::AttemptEvent::Submitted;
      case pos::AttemptState::InDoubt: return pos::AttemptEvent::NoAnswer;
      case pos::AttemptState::Approved: return pos::AttemptEvent::StripeApproved;
      case pos::AttemptState::Declined:
      case pos::AttemptState::DeclinedAfterForward: return pos::AttemptEvent::StripeDeclined;
      case pos::AttemptState::Canceled: return pos::AttemptEvent::Canceled;
    }
    return std::nullopt;
  }
  Status perform(const pos::UpdateAttempt& e) {
    const auto& a = e.attempt;
    store::AttemptUpdate u;
    u.attempt_id = a.id;
    u.event = event_for_model_state(a);
    if (!a.payment_method.empty()) u.payment_method = a.payment_method;
    u.card = a.card;
    if (!a.payment_intent_id.empty()) u.payment_intent_id = a.payment_intent_id;
    if (!a.decline_code.empty()) u.decline_code = a.decline_code;
    if (!a.failure_message.empty()) u.failure_message = a.failure_message;
    auto s = store->attempts().update(u);
    if (s || s.error().kind != ErrorKind::FailedPrecondition) return s ? ok() : fail(s.error());
    // The store is the truth: the engine recorded Stripe's answer first (the attempt has moved on),
    // so the reducer's view is logged and not applied; it is not a storage failure.
    if (s.error().message.starts_with("refused transition: ")) {
      log::info("app.attempt_moved_on", {{"attempt", a.id}, {"error", s.error().message}});
      return ok();
    }
    return fail(s.error());
  }
  Status perform(const pos::StartCollect& e) {
    if (!collecting_attempt.empty()) {
      emit(pos::CollectFailed{e.attempt_id, "the reader is busy with another payment"});
      return ok();
    }
    auto currency = pos::Currency::parse(e.currency);
    if (!currency) {
      emit(pos::CollectFailed{e.attempt_id, currency.error().message});
      return ok();
    }
    if (smart_payment) return start_smart_collect(e);
    if (device && device->scripted_remaining() == 0) {
      // SIMULATED customer: a queued card, else the demo card, else nobody (present_card()).
      std::string card = config.customer_presents_demo_card ? config.demo_card : std::string();
      if (!queued_cards.empty()) {
        card = queued_cards.front();
        queued_cards.pop_front();
      }
      device->queue_payment(hwsim::scripted_card(card, hwsim::Fault::None, hwsim::ReadMethod::Contactless));
    }
    terminal::CollectOptions options;
    options.offline_allowed = e.offline_allowed;
    collecting_attempt = e.attempt_id;
    emit(pos::ReaderPrompt{e.attempt_id, pos::ReaderPromptKind::PresentCard, "Present card"});
    const std::string id = e.attempt_id;
    collect_handle = reader->async_collect(pos::Money(e.amount, *currency), options,
                                           [this, id](Result<terminal::CollectOutcome> r) { on_collected(id, std::move(r)); });
    return ok();
  }
  void on_collected(const std::string& id, Result<terminal::CollectOutcome> r) {
    collecting_attempt.clear();
    collect_handle = {};
    if (!r) {
      if (r.error().kind == ErrorKind::OutcomeUnknown) {
        emit(pos::PaymentOutcomeUnknown{id, r.error().message});
      } else {
        emit(pos::CollectFailed{id, r.error().message});
      }
      return;
    }
    std::visit(
        [&](const auto& o) {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, terminal::ApprovedToForward>) {
            if (o.stored_offline) {
              emit(pos::PaymentStoredOffline{id, o.payment_method, o.card, false});
            } else {
              emit(pos::CardCollected{id, o.payment_method, o.card, false});
            }
          } else if constexpr (std::is_same_v<T, terminal::Declined>) {
            emit(pos::PaymentDeclined{id, o.decline_code, o.message, {}});
          } else if constexpr (std::is_same_v<T, terminal::Cancelled>) {
            emit(pos::CollectCanceled{id});
          } else {
            emit(pos::PaymentOutcomeUnknown{id, o.reason});
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
  Status start_smart_collect(const pos::StartCollect& e) {
    const std::string id = e.attempt_id;
    if (online == false) {
      log::info("app.smart.offline_refused", {{"attempt", id}});
      emit(pos::CollectFailed{id, "the smart reader needs Stripe and the register is offline (it cannot store "
                                  "payments); nothing was charged. Take cash or wait for the connection"});
      return ok();
    }
    if (reader->status().connection != terminal::ConnectionState::Connected) {
      // Refused before a PaymentIntent is created for a reader that could not process it.
      emit(pos::CollectFailed{id, "the smart reader is not connected; nothing was charged"});
      return ok();
    }
    collecting_attempt = id;
    emit(pos::ReaderPrompt{id, pos::ReaderPromptKind::PresentCard, "Present card on the smart reader"});
    Status started = smart_payment->start(id, [this, id](SmartPaymentOutcome o) {
      if (collecting_attempt == id) collecting_attempt.clear();
      if (o.kind == SmartPaymentOutcome::Kind::NotCharged || o.kind == SmartPaymentOutcome::Kind::Unknown) {
        log::warn("app.smart.not_approved", {{"attempt", id}, {"outcome", std::string(to_string(o.kind))}, {"detail", o.message}});
      }
      emit(to_action(id, o));
    });
    if (!started) {
      collecting_attempt.clear();
      emit(pos::CollectFailed{id, started.error().message});
      return ok();
    }
    if (smart_simulated) {
      // SIMULATED customer: a queued card, else the demo card, else nobody (present_card()).
      std::string card = config.customer_presents_demo_card ? config.demo_card : std::string();
      if (!queued_cards.empty()) {
        card = queued_cards.front();
        queued_cards.pop_front();
      }
      if (!card.empty()) spawn_helper(present_on_smart_reader(id, card));
    }
    return ok();
  }

  Status perform(const pos::CancelCollect&) {
    if (smart_payment) {
      // Before the reader was asked nothing is sent; on the reader, cancel_action (an approval
      // already decided stays an approval).
      if (Status s = smart_payment->cancel(); !s) log::info("app.smart.cancel_ignored", {{"why", s.error().message}});
      return ok();
    }
    collect_handle.cancel();
    return ok();
  }
  // The reducer's intent becomes the exact request here, in one place (sync/operations), from the
  // records on disk and the configured fee rule, so the kiosk and till-sync can never send
  // different params. An intent that disagrees with the attempt on disk is refused (Internal):
  // the list stops and the kiosk shows a storage error instead of sending something unintended.
  Status perform(const pos::EnqueueOperation& e) {
    const pos::OperationIntent& in = e.intent;
    const Timestamp now = clock->now();
    auto mismatch = [&](const std::string& what) {
      return fail(ErrorKind::Internal, "operation intent for attempt " + in.attempt_id + " disagrees with the store: " + what);
    };
    Result<pos::OutboxOperation> built = fail(ErrorKind::InvalidArgument, "unsupported operation kind");
    if (in.kind == pos::OperationKind::CreatePaymentIntent) {
      auto sale = store->sales().get(in.sale_id);
      if (!sale) return fail(sale.error());
      auto attempt = store->attempts().get(in.attempt_id);
      if (!attempt) return fail(attempt.error());
      if (attempt->sale_id != in.sale_id) return mismatch("sale");
      if (attempt->amount != in.amount || attempt->currency != in.currency) return mismatch("amount");
      if (attempt->account_id != in.account_id) return mismatch("account");
      if (attempt->idempotency_key != in.idempotency_key) return mismatch("idempotency key");
      if (attempt->payment_method != in.payment_method) return mismatch("payment method");
      if (attempt->number != in.attempt_number) return mismatch("attempt number");
      sync::PaymentIntentOptions options = pi_options;
      if (!in.capture_method.empty()) options.capture_method = in.capture_method;
      built = sync::make_payment_intent_operation(*sale, *attempt, options, now);
    } else if (in.kind == pos::OperationKind::Refund) {
      // The refunded attempt: named by the intent, or found by its PaymentIntent (a refund typed
      // in by a manager).
      std::optional<pos::PaymentAttempt> attempt;
      if (!in.attempt_id.empty()) {
        auto a = store->attempts().get(in.attempt_id);
        if (!a) return fail(a.error());
        attempt = std::move(*a);
      } else {
        auto a = store->attempts().by_payment_intent(in.payment_intent_id);
        if (!a) return fail(a.error());
        if (!*a) return fail(ErrorKind::NotFound, "no payment of this register has PaymentIntent " + in.payment_intent_id);
        attempt = std::move(**a);
      }
      if (attempt->payment_intent_id != in.payment_intent_id) return mismatch("payment intent");
      if (attempt->currency != in.currency) return mismatch("currency");
      sync::RefundRequest refund;
      refund.amount = in.refund_amount;
      built = sync::make_refund_operation(*attempt, in.payment_intent_id, refund, in.idempotency_key, now);
    }
    if (!built) return fail(built.error());
    auto id = store->outbox().enqueue(*built);
    if (!id) return fail(id.error());
    wake();
    return ok();
  }
  Status perform(const pos::ResolveInDoubt& e) {
    auto attempt = store->attempts().get(e.attempt_id);
    if (!attempt) return ok();
    auto sale_ops = store->outbox().for_sale(attempt->sale_id);
    bool sent = false;
    if (sale_ops) {
      for (const auto& op : *sale_ops) sent = sent || op.attempt_id == e.attempt_id;
    }
    if (!sent && attempt->state == pos::AttemptState::InDoubt) {
      // The reader lost the answer before Till sent anything to Stripe. A PaymentIntent can
      // only exist if Till created it with this attempt's key, and nothing was ever enqueued:
      // the card was not charged. (Server-driven readers always have an operation.)
      store::AttemptUpdate u;
      u.attempt_id = e.attempt_id;
      u.event = pos::AttemptEvent::NotCharged;
      u.failure_message = "reader lost the card before anything reached Stripe; not charged";
      if (auto s = store->attempts().update(u); !s) return fail(s.error());
      emit(pos::InDoubtResolved{e.attempt_id, false, {}, {}, "Nothing reached Stripe: the card was not charged", {}});
      return ok();
    }
    wake();  // the engine retries in-doubt operations with the same key or looks them up
    return ok();
  }
  // Printing is not durable: a printer that fails never stops the effect list (the sale is on
  // disk); the kiosk is told and can reprint.
  Status perform(const pos::PrintReceipt& e) {
    const std::string stem = receipt_stem(e.text);
    for (const auto& p : printers) {
      // From what the receipt was rendered from when the reducer has it: ESC/POS then prints the
      // merchant, TOTAL and the outcome styled, at the printer's own width.
      auto where = e.receipt ? print_receipt(p, *e.receipt) : print_receipt_text(p, stem, e.text);
      if (!where) {
        log::warn("app.print_failed", {{"error", where.error().describe()}});
        emit(pos::PrintFailed{where.error().message});
      } else {
        log::info("app.printed", {{"where", *where}});
      }
    }
    return ok();
  }
  Status perform(const pos::OpenCashDrawer&) {
    bool kicked = false;
    for (const auto& p : printers) {
      if (p.kind == PrinterKind::Device && p.format == PrintFormat::EscPos) {
        if (Status s = open_cash_drawer(p); !s) {
          emit(pos::PrintFailed{"cash drawer: " + s.error().message});
        } else {
          kicked = true;
        }
      }
    }
    if (!kicked) log::info("app.cash_drawer", {{"note", "no drawer on a device printer configured"}});
    return ok();
  }
  Status perform(const pos::QueueEmailReceipt& e) {
    auto id = store->email_receipts().enqueue(e.sale_id, e.address, e.body);
    emit(pos::EmailQueued{static_cast<bool>(id), id ? std::string() : id.error().message});
    return ok();
  }
  Status perform(const pos::LookUpSaleForRefund& e) {
    auto found = store->reports().sale_for_refund(e.receipt_number);
    if (!found) {
      emit(pos::SaleForRefundFailed{found.error().message});
      return ok();
    }
    pos::PastSale past;
    past.sale = found->sale;
    for (const auto& p : found->payments) {
      pos::PastSale::Payment pay;
      pay.attempt_id = p.attempt.id;
      pay.number = p.attempt.number;
      pay.tender = p.attempt.tender;
      pay.state = p.attempt.state;
      pay.brand = p.attempt.card.brand;
      pay.last4 = p.attempt.card.last4;
      pay.payment_intent_id = p.attempt.payment_intent_id;
      pay.captured = p.captured;
      pay.refunded = p.refunded;
      pay.refund_pending = p.refund_pending;
      pay.refundable = p.refundable();
      past.payments.push_back(std::move(pay));
    }
    past.captured = found->captured;
    past.refunded = found->refunded;
    past.refund_pending = found->refund_pending;
    past.refundable = found->refundable;
    emit(pos::SaleForRefundFound{std::move(past)});
    return ok();
  }
  Status perform(const pos::LoadBackOffice&) {
    post_back_office();
    return ok();
  }
  Status perform(const pos::RequeueOperation& e) {
    if (auto s = store->outbox().retry(e.operation_id, "kiosk manager", "retried from the back office"); !s) {
      log::warn("app.retry_failed", {{"operation", e.operation_id}, {"error", s.error().describe()}});
    }
    wake();
    post_back_office();
    return ok();
  }
  Status perform(const pos::MarkOperationHandled& e) {
    auto s = store->write([&](store::WriteTx& tx) -> Status {
      if (auto c = tx.outbox().complete(e.operation_id, {}); !c) return c;
      auto a = tx.journal().append_audit({0, {}, "kiosk manager", "operation.handled_outside", std::to_string(e.operation_id), e.note});
      if (!a) return fail(a.error());
      return ok();
    });
    if (!s) log::warn("app.mark_handled_failed", {{"operation", e.operation_id}, {"error", s.error().describe()}});
    post_back_office();
    return ok();
  }
  // Reader commands never fail the effect list (nothing durable): the outcome comes back as
  // ReaderCommandDone.
  Status perform(const pos::ReaderCommand& e) {
    using K = pos::ReaderCommandKind;
    auto done = [this, kind = e.command](Status s, std::string message = {}) {
      emit(pos::ReaderCommandDone{kind, static_cast<bool>(s), s ? std::move(message) : s.error().message});
    };
    switch (e.command) {
      case K::Connect:
        connect_reader_then([done](Status s) { done(std::move(s)); });
        break;
      case K::Disconnect:
        if (!collecting_attempt.empty()) {
          done(fail(ErrorKind::FailedPrecondition, "the reader is taking a payment"));
          break;
        }
        reader->async_disconnect([this, done](Status s) {
          if (s) emit(pos::ReaderStatusChanged{false, reader_label, "disconnected by a manager"});
          post_reader_details();
          done(std::move(s));
        });
        break;
      case K::InstallUpdate:
        if (!collecting_attempt.empty()) {
          done(fail(ErrorKind::FailedPrecondition, "the reader is taking a payment"));
          break;
        }
        reader->async_install_update(5min, [this, done](Status s) {
          post_reader_details();
          done(std::move(s), reader ? "firmware " + reader->status().firmware_version : std::string());
        });
        break;
      case K::RefreshStatus:
        if (!collecting_attempt.empty()) {  // the driver takes one operation at a time
          post_reader_details();
          done(ok(), "last reported status (the reader is taking a payment)");
        } else {
          refresh_reader(true);
        }
        break;
    }
    return ok();
  }

  // The end-of-day report from the store, with sync's own builder (the ledger the sync uses).
  Status perform(const pos::BuildDayReport& e) {
    auto r = sync::build_day_report(*store, e.day);
    if (!r) {
      emit(pos::DayReportFailed{r.error().message});
      return ok();
    }
    pos::DaySummary d;
    d.day = r->day;
    for (const auto& c : r->currencies) {
      d.currencies.push_back({c.currency, c.sales, c.gross, c.net, c.tax, c.tips, c.discounts, c.voided, c.open});
    }
    for (const auto& t : r->tenders) d.tenders.push_back({t.tender, t.currency, t.count, t.amount});
    for (const auto& t : r->tax_rates) d.tax_rates.push_back({t.currency, t.tax_code, t.rate_ppm, t.net, t.tax});
    for (const auto& f : r->fees) d.fees.push_back({f.currency, f.payments, f.application_fees});
    for (const auto& f : r->refunds) d.refunds.push_back({f.currency, f.count, f.amount, f.pending});
    d.declined = r->attempts.declined;
    d.declined_after_forward = r->attempts.declined_after_forward;
    d.in_doubt = r->attempts.in_doubt;
    d.unsent = r->attempts.unsent;
    emit(pos::DayReportLoaded{std::move(d)});
    return ok();
  }

  Status perform(const pos::Audit& e) {
    auto id = store->journal().append_audit({0, {}, "kiosk", e.event, "", e.detail});
    if (!id) return fail(id.error());
    return ok();
  }

  // ---- results from the sync engine (core thread) ----

  void on_report(const sync::OperationReport& r) {
    if (r.error && (*r.error == ErrorKind::Unavailable || *r.error == ErrorKind::OutcomeUnknown)) {
      set_online(false);
    } else if (r.outcome == sync::OperationReport::Outcome::Done) {
      set_online(true);
    }
    if (!r.attempt_id.empty() && r.attempt_state) {
      auto a = store->attempts().get(r.attempt_id);
      if (a) report_attempt(*a, r.detail);
    }
    post_offline_status();
  }

  void report_attempt(const pos::PaymentAttempt& a, const std::string& detail) {
    using A = pos::AttemptState;
    const bool was_in_doubt = in_doubt_reported.count(a.id) > 0;
    switch (a.state) {
      case A::Approved:
        // A payment stored offline and forwarded now: the sale was completed at the counter
        // back then; only the offline totals change (post_offline_status).
        if (a.offline && !was_in_doubt) break;
        if (was_in_doubt) {
          in_doubt_reported.erase(a.id);
          emit(pos::InDoubtResolved{a.id, true, a.payment_intent_id, {}, {}, a.card});
        } else {
          emit(pos::PaymentApproved{a.id, a.payment_intent_id, a.card});
        }
        break;
      case A::Declined:
      case A::DeclinedAfterForward:
        if (was_in_doubt) {
          in_doubt_reported.erase(a.id);
          emit(pos::InDoubtResolved{a.id, false, a.payment_intent_id, a.decline_code, a.failure_message, a.card});
        } else {
          emit(pos::PaymentDeclined{a.id, a.decline_code, a.failure_message, a.payment_intent_id});
        }
        break;
      case A::InDoubt:
        if (in_doubt_reported.insert(a.id).second) emit(pos::PaymentOutcomeUnknown{a.id, detail});
        break;
      default: break;
    }
  }

  void set_online(bool now_online) {
    if (online == now_online) return;
    online = now_online;
    emit(pos::ConnectivityChanged{now_online});
  }

  void post_offline_status() {
    auto status = store->reports().status();
    if (!status) return;
    pos::StoredTotals totals;
    for (const auto& c : status->offline_stored) {
      totals.by_currency[c.currency] = pos::StoredCurrency{c.count, c.amount};
      totals.count += c.count;
      if (!totals.oldest || c.oldest < *totals.oldest) totals.oldest = c.oldest;
    }
    emit(pos::OfflineStatusUpdated{std::move(totals)});
  }

  void post_back_office() {
    auto status = store->reports().status();
    if (!status) {
      log::warn("app.back_office_failed", {{"error", status.error().describe()}});
      return;
    }
    pos::BackOfficeLoaded loaded;
    auto count = [](const auto& m, auto key) -> std::int64_t {
      auto it = m.find(key);
      return it == m.end() ? 0 : it->second;
    };
    using O = pos::OutboxState;
    loaded.counts.pending = count(status->operations, O::Pending);
    loaded.counts.in_flight = count(status->operations, O::InFlight);
    loaded.counts.failed_retryable = count(status->operations, O::FailedRetryable);
    loaded.counts.dead = count(status->operations, O::Dead);
    loaded.counts.done = count(status->operations, O::Done);
    loaded.counts.stored_offline = count(status->attempts, pos::AttemptState::StoredOffline);
    loaded.counts.in_doubt = count(status->attempts, pos::AttemptState::InDoubt);
    for (const auto& a : status->in_doubt) {
      pos::AttentionItem item;
      item.kind = pos::AttentionItem::Kind::InDoubt;
      item.sale_id = a.sale_id;
      item.attempt_id = a.id;
      item.amount = a.amount;
      item.currency = a.currency;
      item.last_error = a.failure_message;
      item.since = a.updated_at;
      loaded.attention.push_back(std::move(item));
    }
    for (const auto& op : status->dead) {
      pos::AttentionItem item;
      item.kind = pos::AttentionItem::Kind::Dead;
      item.operation_id = op.id;
      item.sale_id = op.sale_id;
      item.attempt_id = op.attempt_id;
      if (auto a = store->attempts().get(op.attempt_id)) {
        item.amount = a->amount;
        item.currency = a->currency;
      }
      item.last_error = op.last_error;
      item.last_request_id = op.last_request_id;
      item.since = op.updated_at;
      loaded.attention.push_back(std::move(item));
    }
    for (const auto& at : status->attention) {
      pos::AttentionItem item;
      item.kind = pos::AttentionItem::Kind::DeclinedAfterForward;
      item.sale_id = at.sale_id;
      item.attempt_id = at.attempt_id;
      item.amount = at.amount;
      item.currency = at.currency;
      item.last_error = at.decline_code;
      item.customer_contact = at.customer_contact;
      item.since = at.created_at;
      loaded.attention.push_back(std::move(item));
    }
    emit(std::move(loaded));
  }

  // Runs fn on the core thread and waits for it (start-up and shut-down only).
  template <class F>
  auto on_core(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    asio::post(io, [&task] { task(); });
    return result.get();
  }
};

Runtime::Runtime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Runtime::~Runtime() { stop(); }

Result<std::unique_ptr<Runtime>> Runtime::start(RuntimeConfig config, Post post) {
  auto impl = std::make_unique<Impl>();
  impl->clock = config.clock ? config.clock : &SystemClock::instance();
  // Ids and idempotency keys that reach Stripe always come from the kernel CSPRNG.
  impl->random = std::make_unique<SystemRandom>();
  if (config.data_dir.empty()) return fail(ErrorKind::InvalidArgument, "no data directory configured");
  auto parsed_reader = parse_reader_spec(config.reader);
  if (!parsed_reader) return fail(parsed_reader.error());
  impl->spec = *parsed_reader;
  std::error_code ec;
  fs::create_directories(config.data_dir, ec);
  if (ec) return fail(ErrorKind::Unavailable, "cannot create " + config.data_dir + ": " + ec.message());
  impl->store_path = (fs::path(config.data_dir) / "till.db").string();

  for (const auto& spec : config.printers) {
    auto printer = parse_printer_spec(spec, config.data_dir);
    if (!printer) return fail(printer.error());
    impl->printers.push_back(std::move(*printer));
  }
  auto fee = sync::FeeRule::parse(config.fee_rule);
  if (!fee) return fail(fee.error());
  impl->pi_options.fee = *fee;
  impl->pi_options.capture_method = config.capture_method;

  std::string base_url = config.api_base.empty() ? std::string(sync::kStripeApiBase) : config.api_base;
  Secret key = config.api_key;
  std::string ca_file = config.ca_file;
  impl->account_id = config.account_id;
  if (config.api_key.empty()) {
    // SIMULATED: the embedded till-stripe-sim on loopback stands in for api.stripe.com.
    stripesim::ServerOptions so;
    so.sim.seed = config.seed;
    so.sim.clock = impl->clock;
    if (!config.account_id.empty()) so.sim.connected_accounts = {config.account_id};
    auto server = stripesim::Server::start(so);
    if (!server) return fail(server.error());
    impl->sim = std::move(*server);
    base_url = impl->sim->base_url();
    key = Secret(so.sim.api_keys.front());
    impl->account_id = so.sim.connected_accounts.front();
    impl->mode = "simulated (till-stripe-sim on " + base_url + ")";
  } else {
    if (impl->account_id.empty()) return fail(ErrorKind::InvalidArgument, "TILL_ACCOUNT (acct_...) is required with a Stripe key");
    impl->mode = "live Stripe API (" + base_url + ")";
  }
  // A smart reader on the embedded simulator is a simulated WisePOS E: its customer is simulated.
  impl->smart_simulated = impl->spec.kind == ReaderSpec::Kind::Stripe && impl->sim != nullptr;
  impl->base_url = base_url;
  impl->config = std::move(config);
  impl->post = std::move(post);

  impl->work.emplace(asio::make_work_guard(impl->io));
  Impl* raw = impl.get();
  impl->core = std::thread([raw] { raw->io.run(); });
  Status opened = raw->on_core([raw, base_url, key, ca_file] { return raw->open_on_core(base_url, key, ca_file); });
  std::unique_ptr<Runtime> runtime(new Runtime(std::move(impl)));
  if (!opened) {
    runtime->stop();
    return fail(opened.error());
  }
  log::info("app.started", {{"mode", runtime->mode()}, {"db", runtime->store_path()}, {"account", runtime->account_id()},
                            {"reader", runtime->reader_spec()}});
  return runtime;
}

void Runtime::run(std::vector<pos::Effect> effects) {
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl, effects = std::move(effects)] { impl->execute(effects); });
}

void Runtime::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  Impl* impl = impl_.get();
  if (impl->core.joinable()) {
    impl->on_core([impl] {
      impl->collect_handle.cancel();
      impl->stop_requested = true;
      if (impl->engine) {
        impl->engine->stop();
        impl->wake();
      } else {
        impl->engine_done = true;
      }
      if (impl->reader && !impl->smart_api) impl->reader->async_disconnect([](Status) {});
      return 0;
    });
    // The engine finishes the operations in flight (each has its own deadline); wait for it,
    // bounded, then tear down on the core thread that owns everything. The Stripe client must
    // outlive every call in flight: the runtime's own helpers, a smart-reader chain's create call,
    // then (once the chain and the reader are gone, so no call starts) the smart reader's calls.
    auto wait_for = [impl](auto idle) {
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (!impl->on_core(idle) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
    };
    wait_for([impl] {
      return impl->engine_done && impl->helpers_running == 0 &&
             !(impl->smart_payment && impl->smart_payment->call_in_flight());
    });
    if (impl->smart_api) {
      impl->on_core([impl] {
        impl->smart_payment.reset();  // a payment still on the reader is recovered by its safety-net operation
        impl->reader.reset();
        return 0;
      });
      wait_for([impl] { return impl->smart_api->calls_in_flight() == 0; });
    }
    impl->on_core([impl] {
      impl->teardown();
      return 0;
    });
    impl->work.reset();
    impl->io.stop();
    impl->core.join();
  }
  // A check still reading a large file finishes first (it holds no lock; its answer, posted to
  // the stopped io_context, is dropped).
  if (impl->check_thread.joinable()) impl->check_thread.join();
  if (impl->sim) impl->sim->stop();
  log::info("app.stopped", {});
}

const std::string& Runtime::account_id() const { return impl_->account_id; }
std::string Runtime::mode() const { return impl_->mode; }
std::string Runtime::store_path() const { return impl_->store_path; }
std::string Runtime::stripe_base_url() const { return impl_->base_url; }
std::string Runtime::reader_spec() const { return format_reader_spec(impl_->spec); }
bool Runtime::simulated_customer() const { return impl_->device != nullptr || impl_->smart_simulated; }

Status Runtime::queue_card(std::string card) {
  if (!simulated_customer()) return fail(ErrorKind::FailedPrecondition, "not a simulated reader");
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl, card = std::move(card)] { impl->queued_cards.push_back(card); });
  return ok();
}

Status Runtime::present_card(std::string card) {
  if (!simulated_customer()) return fail(ErrorKind::FailedPrecondition, "not a simulated reader");
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl, card = std::move(card)] {
    if (impl->smart_simulated) {
      if (impl->collecting_attempt.empty() || impl->stop_requested) {
        log::warn("app.sim_present_card_refused", {{"error", "no payment is waiting for a card"}});
        return;
      }
      impl->spawn_helper(impl->present_on_smart_reader(impl->collecting_attempt, card));
      return;
    }
    impl->present_when_waiting(card, 250);
  });
  return ok();
}

Status Runtime::simulate_outage(bool down) {
  if (!impl_->sim || !simulated_customer()) {
    return fail(ErrorKind::FailedPrecondition, "the outage hook needs the embedded simulators");
  }
  std::vector<stripesim::FaultSpec> faults;
  if (down) {
    stripesim::FaultSpec f;
    f.kind = stripesim::FaultKind::Unavailable;  // no p, no n: every request
    faults.push_back(f);
  }
  impl_->sim->api().set_faults(std::move(faults));
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl, down] {
    log::info("app.sim_outage", {{"down", down}});
    if (impl->device) impl->device->set_online(!down);
    impl->check_now = true;
    impl->wake();
  });
  return ok();
}

Status Runtime::simulate_lost_answers(bool lost) {
  if (!impl_->sim) return fail(ErrorKind::FailedPrecondition, "the lost-answer hook needs the embedded till-stripe-sim");
  std::vector<stripesim::FaultSpec> faults;
  if (lost) {
    // Every POST's connection is reset before it is read (nothing applied), except the next one,
    // which is applied and then dropped unanswered (the later spec wins when both fire). The
    // client's in-call retries with the same key are reset too, so the payment ends in doubt.
    stripesim::FaultSpec reset;
    reset.kind = stripesim::FaultKind::ResetBeforeRead;
    reset.post_only = true;
    faults.push_back(reset);
    stripesim::FaultSpec lost_answer;
    lost_answer.kind = stripesim::FaultKind::LostAfterCommit;
    lost_answer.post_only = true;
    lost_answer.nth = impl_->sim->api().requests_seen() + 1;
    faults.push_back(lost_answer);
  }
  impl_->sim->api().set_faults(std::move(faults));
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl, lost] {
    log::info("app.sim_lost_answers", {{"lost", lost}});
    if (!lost) {
      impl->check_now = true;
      impl->wake();
    }
  });
  return ok();
}

Status Runtime::simulate_reader_unplugged(bool unplugged) {
  if (!impl_->device) return fail(ErrorKind::FailedPrecondition, "not a simulated reader");
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl, unplugged] {
    if (!impl->device) return;
    if (unplugged) {
      impl->device->unplug();
    } else {
      impl->device->plug();
    }
  });
  return ok();
}

std::vector<std::string> Runtime::sync_summary(const std::vector<std::string>& sale_ids) {
  Impl* impl = impl_.get();
  if (impl->stopped) return {};
  return impl->on_core([impl, sale_ids] {
    std::vector<std::string> lines;
    for (const auto& sale : sale_ids) {
      auto ops = impl->store->outbox().for_sale(sale);
      if (!ops) {
        lines.push_back("sale " + sale + ": " + ops.error().message);
        continue;
      }
      for (const auto& op : *ops) {
        lines.push_back(std::string(pos::to_string(op.kind)) + " sale=" + op.sale_id + " " +
                        std::string(pos::to_string(op.state)) +
                        (op.stripe_object_id.empty() ? std::string() : " " + op.stripe_object_id));
      }
    }
    return lines;
  });
}

}  // namespace till::app
