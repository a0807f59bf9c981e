// Start-up and wiring (core.hpp): Runtime's public calls, the store and its deferred check, the
// data key, the Stripe client, the Simulation seam, and the stop sequence.

#include "till/app/runtime.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <thread>

#include "core.hpp"
#include "reader_session.hpp"
#include "sync_bridge.hpp"
#include "till/app/reader_spec.hpp"
#include "till/base/log.hpp"
#include "ui_bridge.hpp"

namespace till::app {
namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

void detail::Core::spawn_helper(asio::awaitable<void> work) {
  ++helpers_running;
  asio::co_spawn(io, std::move(work), [this](std::exception_ptr) { --helpers_running; });
}

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

}  // namespace

struct Runtime::Impl final : CoreAccess {
  detail::Core core;
  detail::SyncBridge sync{core};
  detail::ReaderSession reader;
  detail::UiBridge ui;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread core_thread;
  // The database check (quick_check) on its own read-only connection, off the start-up path.
  std::thread check_thread;
  bool stopped = false;
  bool attached = false;  // the Simulation holds the core thread (core thread only)

  Impl(ReaderSpec spec, std::vector<PrinterConfig> printers)
      : reader(core, sync, std::move(spec)), ui(core, reader, sync, std::move(printers)) {}

  // ---- CoreAccess (the Simulation's view of the core thread) ----
  void post(std::function<void()> fn) override {
    asio::post(core.io, [this, fn = std::move(fn)] {
      if (attached) fn();
    });
  }
  void after(std::chrono::milliseconds delay, std::function<void()> fn) override {
    auto timer = std::make_shared<asio::steady_timer>(core.io, delay);
    timer->async_wait([this, timer, fn = std::move(fn)](boost::system::error_code ec) {
      if (!ec && attached && !core.stop_requested) fn();
    });
  }
  void check_connectivity_now() override { sync.check_now(); }

  // Core thread: everything that talks to disk, Stripe or the reader.
  Status open_on_core() {
    auto data_key = load_or_create_data_key(core.config.data_dir, *core.random);
    if (!data_key) return fail(data_key.error());
    store::OpenOptions so;
    so.data_key = *data_key;
    // quick_check reads every page (about a second with 100,000 sales, bench/kiosk_startup_bench):
    // the kiosk's first frame does not wait for it; start_store_check() runs it beside the writer
    // and no tender is taken, and nothing is sent to Stripe, until it passed.
    so.integrity_check = store::IntegrityCheck::Deferred;
    auto s = store::Store::open(core.store_path, *core.clock, so);
    if (!s) return fail(s.error());
    core.store.emplace(std::move(*s));
    auto identity = store::claim_register_identity(
        *core.store, {core.config.register_id, core.config.register_name}, *core.random);
    if (!identity) return fail(identity.error());
    core.identity = std::move(*identity);

    sync::StripeConfig sc;
    sc.http.base_url = core.stripe.base_url;
    sc.http.extra_ca_file = core.stripe.ca_file;
    sc.api_key = core.stripe.api_key;
    sc.app.version = TILL_APP_VERSION;
    sc.app.url = "https://github.com/till-pos/till";
    auto c = sync::StripeClient::create(core.io, std::move(sc),
                                        sync::StripeClient::Deps{nullptr, nullptr, nullptr, core.clock});
    if (!c) return fail(c.error());
    core.client = std::move(*c);

    sync.create_engine();
    start_store_check();
    if (core.simulation != nullptr) {
      core.simulation->attach(*this);
      attached = true;
    }
    if (Status r = reader.open(); !r) return r;
    sync.post_offline_status();
    return ok();
  }

  // Core thread, once the store is open: quick_check on a read-only connection of its own (WAL:
  // it reads a snapshot and never blocks the writer), on a thread of its own. Its answer comes
  // back to the core thread: the kiosk is told, and the sync loop starts only on a sound file.
  void start_store_check() {
    core.emit(pos::StoreCheckStarted{});
    check_thread = std::thread([this, path = core.store_path, c = core.clock] {
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
      asio::post(core.io, [this, checked = std::move(checked), ms] { on_store_checked(checked, ms); });
    });
  }

  void on_store_checked(const Status& checked, std::chrono::milliseconds took) {
    if (!checked) {
      log::error("app.store_check_failed", {{"error", checked.error().describe()}, {"ms", took.count()}});
      core.emit(pos::StoreChecked{false, checked.error().message});
      return;  // nothing is sent from a damaged file: the engine never starts
    }
    log::info("app.store_checked", {{"ms", took.count()}});
    core.emit(pos::StoreChecked{true, {}});
    sync.start();
  }

  // Core thread: destroy in dependency order (the reader and engine use the client and store;
  // the Simulation's device outlives the reader).
  void teardown() {
    reader.teardown();
    if (attached) core.simulation->detach();
    attached = false;
    sync.reset();
    core.client.reset();
    core.store.reset();
  }

  // Runs fn on the core thread and waits for it (start-up and shut-down only).
  template <class F>
  auto on_core(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    asio::post(core.io, [&task] { task(); });
    return result.get();
  }
};

namespace {

// Where the runtime's Stripe calls go: api.stripe.com (or api_base) with the configured key, or
// the Simulation's stand-in when no key is configured.
Result<StripeEndpoint> choose_stripe(const RuntimeConfig& config, const Clock& clock) {
  if (config.api_key.empty()) {
    if (config.simulation == nullptr) {
      return fail(ErrorKind::FailedPrecondition,
                  "no STRIPE_API_KEY configured and no Stripe simulator plugged into this runtime");
    }
    return config.simulation->start_stripe(clock);
  }
  if (config.account_id.empty()) {
    return fail(ErrorKind::InvalidArgument, "TILL_ACCOUNT (acct_...) is required with a Stripe key");
  }
  StripeEndpoint live;
  live.base_url = config.api_base.empty() ? std::string(sync::kStripeApiBase) : config.api_base;
  live.api_key = config.api_key;
  live.account_id = config.account_id;
  live.ca_file = config.ca_file;
  live.mode = "live Stripe API (" + live.base_url + ")";
  return live;
}

}  // namespace

Runtime::Runtime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Runtime::~Runtime() { stop(); }

Result<std::unique_ptr<Runtime>> Runtime::start(RuntimeConfig config, Post post) {
  if (config.data_dir.empty()) return fail(ErrorKind::InvalidArgument, "no data directory configured");
  auto spec = parse_reader_spec(config.reader);
  if (!spec) return fail(spec.error());
  std::error_code ec;
  fs::create_directories(config.data_dir, ec);
  if (ec) return fail(ErrorKind::Unavailable, "cannot create " + config.data_dir + ": " + ec.message());
  std::vector<PrinterConfig> printers;
  for (const auto& p : config.printers) {
    auto printer = parse_printer_spec(p, config.data_dir);
    if (!printer) return fail(printer.error());
    printers.push_back(std::move(*printer));
  }
  auto fee = sync::FeeRule::parse(config.fee_rule);
  if (!fee) return fail(fee.error());

  auto impl = std::make_unique<Impl>(*spec, std::move(printers));
  detail::Core& core = impl->core;
  core.clock = config.clock ? config.clock : &SystemClock::instance();
  core.random = std::make_unique<SystemRandom>();
  core.store_path = (fs::path(config.data_dir) / "till.db").string();
  core.pi_options.fee = *fee;
  core.pi_options.capture_method = config.capture_method;
  core.simulation = config.simulation;
  auto stripe = choose_stripe(config, *core.clock);
  if (!stripe) return fail(stripe.error());
  core.stripe = std::move(*stripe);
  core.stripe_simulated = config.api_key.empty();
  core.config = std::move(config);
  core.post = std::move(post);

  impl->work.emplace(asio::make_work_guard(core.io));
  Impl* raw = impl.get();
  impl->core_thread = std::thread([raw] { raw->core.io.run(); });
  Status opened = raw->on_core([raw] { return raw->open_on_core(); });
  std::unique_ptr<Runtime> runtime(new Runtime(std::move(impl)));
  if (!opened) {
    runtime->stop();
    return fail(opened.error());
  }
  log::info("app.started", {{"register", runtime->register_id()}, {"register_name", runtime->register_name()},
                            {"mode", runtime->mode()}, {"db", runtime->store_path()}, {"account", runtime->account_id()},
                            {"reader", runtime->reader_spec()}});
  return runtime;
}

void Runtime::run(std::vector<pos::Effect> effects) {
  Impl* impl = impl_.get();
  asio::post(impl->core.io, [impl, effects = std::move(effects)] { impl->ui.execute(effects); });
}

// The engine finishes the operations in flight (each has its own deadline); stop waits for it,
// bounded, then tears down on the core thread that owns everything. The Stripe client must
// outlive every call in flight: the runtime's own helpers, a smart-reader chain's create call,
// then (once the chain and the reader are gone, so no call starts) the smart reader's calls.
void Runtime::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  Impl* impl = impl_.get();
  if (impl->core_thread.joinable()) {
    impl->on_core([impl] {
      impl->core.stop_requested = true;
      impl->reader.begin_stop();
      impl->sync.stop();
      return 0;
    });
    auto wait_for = [impl](auto idle) {
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (!impl->on_core(idle) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
    };
    wait_for([impl] { return impl->sync.done() && impl->core.helpers_running == 0 && !impl->reader.chain_call_in_flight(); });
    if (impl->reader.smart()) {
      impl->on_core([impl] {
        impl->reader.drop_chain_and_reader();
        return 0;
      });
      wait_for([impl] { return impl->reader.smart_calls_in_flight() == 0; });
    }
    impl->on_core([impl] {
      impl->teardown();
      return 0;
    });
    impl->work.reset();
    impl->core.io.stop();
    impl->core_thread.join();
  }
  // A check still reading a large file finishes first (it holds no lock; its answer, posted to
  // the stopped io_context, is dropped).
  if (impl->check_thread.joinable()) impl->check_thread.join();
  log::info("app.stopped", {});
}

const std::string& Runtime::register_id() const { return impl_->core.identity.id; }
const std::string& Runtime::register_name() const { return impl_->core.identity.name; }
const std::string& Runtime::account_id() const { return impl_->core.account_id(); }
std::string Runtime::mode() const { return impl_->core.stripe.mode; }
std::string Runtime::store_path() const { return impl_->core.store_path; }
std::string Runtime::stripe_base_url() const { return impl_->core.stripe.base_url; }
std::string Runtime::reader_spec() const { return format_reader_spec(impl_->reader.spec()); }

std::vector<std::string> Runtime::sync_summary(const std::vector<std::string>& sale_ids) {
  Impl* impl = impl_.get();
  if (impl->stopped) return {};
  return impl->on_core([impl, sale_ids] {
    std::vector<std::string> lines;
    for (const auto& sale : sale_ids) {
      auto ops = impl->core.store->outbox().for_sale(sale);
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
