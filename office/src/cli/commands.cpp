#include "commands.hpp"

#include <csignal>
#include <filesystem>
#include <regex>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <pthread.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include "till/base/log.hpp"
#include "till/office/ingest.hpp"
#include "till/office/migrations.hpp"
#include "till/office/outbox.hpp"
#include "till/office/rate_bucket.hpp"
#include "till/office/sender.hpp"
#include "till/office/registry.hpp"
#include "till/office/server.hpp"
#include "till/office/tls.hpp"
#include "till/sync/keys.hpp"
#include "till/sync/stripe_client.hpp"

namespace till::office::cli {

namespace {

int report(std::ostream& out, const Error& e) {
  out << "till-office: " << e.message << "\n";
  switch (e.kind) {
    case ErrorKind::InvalidArgument: return 2;
    case ErrorKind::NotFound: return 3;
    case ErrorKind::Unavailable: return 4;
    default: return 1;
  }
}

// What every command needs: a small pool on the database and the registry over it.
struct Context {
  explicit Context(const Common& c, std::size_t pool_size = 2)
      : pool(pg::PoolConfig{c.db, pool_size, std::chrono::milliseconds(10'000), "till-office"}),
        registry(pool, SystemClock::instance(), SystemRandom::instance()) {}
  pg::Pool pool;
  Registry registry;
};

Status need_db(const Common& c) {
  if (c.db.empty()) {
    return fail(ErrorKind::InvalidArgument, "no database: pass --db \"postgresql://...\" or set TILL_OFFICE_DB");
  }
  return ok();
}

// Schema check for commands other than migrate and serve: they never migrate by surprise.
Status schema_ready(Context& ctx) {
  auto conn = ctx.pool.acquire();
  if (!conn) return fail(conn.error());
  return check_schema(**conn);
}

std::string opt_time(const std::optional<Timestamp>& t) { return t ? pg::format_timestamp(*t) : "-"; }

// The sender loop of `serve`: its own io_context and StripeClient, one pass after another,
// waiting a second (or until told to stop) when there was nothing to send.
void run_sender(pg::Pool& pool, const sync::StripeConfig& stripe, const SharedBucketConfig& bucket,
                std::atomic<bool>& stopping, std::mutex& stop_mutex, std::condition_variable& stop_cv) {
  boost::asio::io_context io;
  sync::StripeClientDeps deps;
  TimerSleeper sleeper;
  deps.sleeper = &sleeper;
  // The shared bucket in PostgreSQL paces; the client's own limiter must not add waits.
  deps.limiter = std::make_shared<sync::RateLimiter>(sync::RateLimiterConfig{1e6, 1e6}, SystemClock::instance());
  auto client = sync::StripeClient::create(io, stripe, deps);
  if (!client) {
    log::error("office.stripe_client_failed", {{"error", client.error().message}});
    return;
  }
  SharedRateLimiter limiter(pool, SystemClock::instance(), bucket);
  if (auto st = limiter.ensure("platform"); !st) log::error("office.rate_bucket_failed", {{"error", st.error().message}});
  Outbox outbox(pool, SystemClock::instance());
  char hostname_buf[256] = {};
  gethostname(hostname_buf, sizeof hostname_buf - 1);
  SenderConfig config;
  config.worker = std::string(hostname_buf) + ":" + std::to_string(getpid());
  Sender sender(outbox, limiter, **client, sleeper, SystemClock::instance(), SystemRandom::instance(), config);
  while (!stopping) {
    auto pass = sender.run_once();
    if (!pass) log::warn("office.sender_pass_failed", {{"error", pass.error().message}});
    if (!pass || pass->claimed == 0) {
      std::unique_lock lock(stop_mutex);
      stop_cv.wait_for(lock, std::chrono::seconds(1), [&] { return stopping.load(); });
    }
  }
}

}  // namespace

std::optional<std::pair<std::int64_t, int>> parse_fee(const std::string& text) {
  std::smatch m;
  static const std::regex both(R"((\d{1,9})\+(\d{1,5})bp)"), bps(R"((\d{1,5})bp)"), fixed(R"((\d{1,9}))");
  if (std::regex_match(text, m, both)) return std::pair{std::stoll(m[1]), std::stoi(m[2])};
  if (std::regex_match(text, m, bps)) return std::pair{std::int64_t{0}, std::stoi(m[1])};
  if (std::regex_match(text, m, fixed)) return std::pair{std::stoll(m[1]), 0};
  return std::nullopt;
}

int migrate(const Common& c, std::ostream& out) {
  if (auto st = need_db(c); !st) return report(out, st.error());
  auto conn = pg::Connection::open(c.db);
  if (!conn) return report(out, conn.error());
  auto r = office::migrate(**conn, SystemClock::instance());
  if (!r) return report(out, r.error());
  if (r->applied.empty()) {
    out << "schema is up to date (version " << r->to_version << ")\n";
  } else {
    out << "schema migrated from version " << r->from_version << " to " << r->to_version << "\n";
  }
  return 0;
}

int merchant_add(const Common& c, const MerchantAdd& m, std::ostream& out) {
  if (auto st = need_db(c); !st) return report(out, st.error());
  const auto fee = parse_fee(m.fee);
  if (!fee) return report(out, Error{ErrorKind::InvalidArgument, "--fee must look like 30+290bp, 290bp or 30", {}});
  Context ctx(c);
  if (auto st = schema_ready(ctx); !st) return report(out, st.error());
  auto r = ctx.registry.add_merchant(MerchantSpec{m.name, m.account, fee->first, fee->second, m.capture}, c.actor);
  if (!r) return report(out, r.error());
  out << "merchant " << r->id << " (" << r->name << ", " << r->stripe_account << ", fee " << r->fee_fixed << "+"
      << r->fee_bps << "bp, capture " << r->capture_method << ")\n";
  return 0;
}

int store_add(const Common& c, const StoreAdd& s, std::ostream& out) {
  if (auto st = need_db(c); !st) return report(out, st.error());
  Context ctx(c);
  if (auto st = schema_ready(ctx); !st) return report(out, st.error());
  StoreSpec spec{s.merchant, s.name, s.currency, s.locale,
                 OfflineCaps{s.max_per_payment, s.max_total, s.max_count, s.max_age_seconds}};
  auto r = ctx.registry.add_store(spec, c.actor);
  if (!r) return report(out, r.error());
  out << "store " << r->id << " (" << r->name << ", " << r->currency << ", " << r->locale << ")\n";
  return 0;
}

int register_add(const Common& c, const RegisterAdd& r, std::ostream& out) {
  if (auto st = need_db(c); !st) return report(out, st.error());
  if (c.data_dir.empty()) {
    return report(out, Error{ErrorKind::InvalidArgument, "--data-dir is needed to print the certificate fingerprint", {}});
  }
  // The register pins this certificate, so it must exist before the code is handed out.
  auto tls = ensure_self_signed(c.data_dir);
  if (!tls) return report(out, tls.error());
  Context ctx(c);
  if (auto st = schema_ready(ctx); !st) return report(out, st.error());
  auto added = ctx.registry.add_register(r.store, r.name, c.actor);
  if (!added) return report(out, added.error());
  out << "register " << added->register_id << " (" << r.name << ") awaits enrolment\n"
      << "enrolment code:          " << added->enrolment_code.reveal() << "  (single use, expires "
      << pg::format_timestamp(added->expires_at) << ")\n"
      << "certificate fingerprint: sha256:" << tls->fingerprint << "\n";
  return 0;
}

int register_revoke(const Common& c, const std::string& register_id, std::ostream& out) {
  if (auto st = need_db(c); !st) return report(out, st.error());
  Context ctx(c);
  if (auto st = schema_ready(ctx); !st) return report(out, st.error());
  if (auto st = ctx.registry.revoke_register(register_id, c.actor); !st) return report(out, st.error());
  out << "register " << register_id << " revoked: its credential no longer works\n";
  return 0;
}

int register_list(const Common& c, const std::string& store_id, std::ostream& out) {
  if (auto st = need_db(c); !st) return report(out, st.error());
  Context ctx(c);
  if (auto st = schema_ready(ctx); !st) return report(out, st.error());
  auto list = ctx.registry.list_registers(store_id);
  if (!list) return report(out, list.error());
  out << "register              store                 state               last seen                   name\n";
  for (const auto& r : *list) {
    out << r.id << "  " << r.store_id << "  " << r.state << std::string(20 - std::min<std::size_t>(19, r.state.size()), ' ')
        << opt_time(r.last_seen_at) << std::string(28 - std::min<std::size_t>(27, opt_time(r.last_seen_at).size()), ' ')
        << r.name << (r.device_name.empty() ? "" : " [" + r.device_name + "]") << "\n";
  }
  return 0;
}

int conflicts_list(const Common& c, std::ostream& out) {
  if (auto st = need_db(c); !st) return report(out, st.error());
  Context ctx(c);
  if (auto st = schema_ready(ctx); !st) return report(out, st.error());
  Ingest ingest(ctx.pool, SystemClock::instance());
  auto list = ingest.open_conflicts();
  if (!list) return report(out, list.error());
  out << list->size() << " open conflict(s): the stored record was kept, these versions were refused\n";
  for (const auto& x : *list) {
    out << "#" << x.id << "  " << pg::format_timestamp(x.received_at) << "  " << x.register_id << "  " << x.kind
        << " " << x.record_id << "\n    received: " << x.received_json << "\n";
  }
  return 0;
}

// Serve: migrate (unless told not to), TLS material, the HTTPS server and the sender, until a
// signal. Long because start-up is a sequence of checks, each with its own refusal; it reads
// top to bottom.
int serve(const Common& c, const Serve& s, std::ostream& out) {
  if (auto st = need_db(c); !st) return report(out, st.error());
  if (c.data_dir.empty()) return report(out, Error{ErrorKind::InvalidArgument, "--data-dir is required", {}});
  std::error_code ec;
  std::filesystem::create_directories(c.data_dir, ec);
  log::Config lc;
  lc.path = (std::filesystem::path(c.data_dir) / "office.log").string();
  lc.also_stderr = true;
  if (auto st = log::init(lc); !st) return report(out, st.error());

  const auto colon = s.listen.rfind(':');
  if (colon == std::string::npos) return report(out, Error{ErrorKind::InvalidArgument, "--listen must be HOST:PORT", {}});
  std::string host = s.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(s.listen.substr(colon + 1));
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) return report(out, Error{ErrorKind::InvalidArgument, "--listen port must be 0-65535", {}});

  // The Stripe key: read here and only here. Absent, Stripe operations wait in the outbox.
  auto key = sync::load_api_key(sync::process_env(), s.stripe_key_file);
  if (!key && key.error().kind != ErrorKind::NotFound) return report(out, key.error());
  if (key) {
    log::info("office.stripe_key", {{"key", key->masked()}, {"url", s.stripe_url}});
  } else {
    log::warn("office.no_stripe_key", {{"message", "no STRIPE_API_KEY or --key-file: Stripe operations wait"}});
  }

  Context ctx(c, s.threads + 2);
  {
    auto conn = ctx.pool.acquire();
    if (!conn) return report(out, conn.error());
    if (s.migrate) {
      auto m = office::migrate(**conn, SystemClock::instance());
      if (!m) return report(out, m.error());
    } else if (auto st = check_schema(**conn); !st) {
      return report(out, st.error());
    }
  }
  auto tls = (s.cert_file.empty() && s.key_file.empty()) ? ensure_self_signed(c.data_dir, {host})
                                                          : load_tls_files(s.cert_file, s.key_file);
  if (!tls) return report(out, tls.error());
  if (tls->generated) log::info("office.certificate_generated", {{"file", tls->cert_file.string()}});

  // Block the stop signals before any thread starts, so only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Reader-minted card tokens exist only in till-stripe-sim's world (office/README.md).
  IngestConfig ic;
  ic.accept_reader_tokens = s.stripe_url.find("api.stripe.com") == std::string::npos;
  Ingest ingest(ctx.pool, SystemClock::instance(), ic);
  Api api(ctx.registry, &ingest);
  ServerConfig sc;
  sc.host = host;
  sc.port = static_cast<std::uint16_t>(port);
  sc.cert_file = tls->cert_file.string();
  sc.key_file = tls->key_file.string();
  sc.threads = s.threads;
  auto server = Server::start(sc, api);
  if (!server) return report(out, server.error());

  // The sender: only with a key. It runs on its own thread and io_context.
  std::atomic<bool> stopping{false};
  std::thread sender_thread;
  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  if (key) {
    sync::StripeConfig stripe;
    stripe.http.base_url = s.stripe_url;
    stripe.http.extra_ca_file = s.stripe_ca_file;
    stripe.api_key = *key;
    stripe.app = sync::AppInfo{"Till", TILL_VERSION, "https://github.com/till-pos/till", s.partner_id};
    auto bucket = SharedBucketConfig::for_key(key->reveal());
    if (s.rate_per_second > 0) bucket.max_rate = s.rate_per_second;
    sender_thread = std::thread([&, stripe, bucket] {
      run_sender(ctx.pool, stripe, bucket, stopping, stop_mutex, stop_cv);
    });
  }
  out << "till-office listening on " << (*server)->base_url() << "\n"
      << "certificate fingerprint: sha256:" << tls->fingerprint << "\n"
      << std::flush;
  int sig = 0;
  sigwait(&signals, &sig);
  log::info("office.stopping", {{"signal", sig}});
  (*server)->stop();
  {
    std::lock_guard lock(stop_mutex);
    stopping = true;
  }
  stop_cv.notify_all();
  if (sender_thread.joinable()) sender_thread.join();
  log::shutdown();
  return 0;
}

}  // namespace till::office::cli
