#include "commands.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <nlohmann/json.hpp>

#include "till/base/log.hpp"
#include "till/pos/money.hpp"
#include "till/store/identity.hpp"
#include "till/store/store.hpp"
#include "till/sync/engine.hpp"
#include "till/sync/keys.hpp"
#include "till/sync/reconcile.hpp"
#include "till/sync/report.hpp"
#include "till/sync/webhook_handler.hpp"
#include "till/sync/webhook_server.hpp"

namespace till::sync::cli {

namespace asio = boost::asio;
using Json = nlohmann::json;

namespace {

// ---- formatting ---------------------------------------------------------------------------

std::string iso(Timestamp t) {
  const std::time_t secs = static_cast<std::time_t>(to_unix_ms(t) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string age(std::chrono::milliseconds ms) {
  auto s = ms.count() / 1000;
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  if (s < 86400) return std::to_string(s / 3600) + "h" + std::to_string((s % 3600) / 60) + "m";
  return std::to_string(s / 86400) + "d" + std::to_string((s % 86400) / 3600) + "h";
}

std::string money(std::int64_t minor, const std::string& currency) {
  auto c = pos::Currency::parse(currency);
  if (!c) return std::to_string(minor) + " " + currency + " (minor units)";
  return pos::Money(minor, *c).format() + " " + currency;
}

// "Front counter (reg_0123...)", or why there is none yet.
std::string register_line(const Result<store::RegisterIdentity>& identity) {
  if (!identity) return "none yet (the kiosk claims one when it opens this database)";
  return identity->name + " (" + identity->id + ")";
}

std::string actor_of(const Globals& g) {
  if (!g.actor.empty()) return g.actor;
  if (const char* u = std::getenv("USER"); u != nullptr && *u != '\0') return u;
  return "till-sync";
}

// ---- opening things -----------------------------------------------------------------------

int exit_for_open(const Error& e) {
  switch (e.kind) {
    case ErrorKind::NotFound:
    case ErrorKind::FailedPrecondition:
    case ErrorKind::DataLoss:
    case ErrorKind::Unavailable: return kExitDatabase;
    case ErrorKind::PermissionDenied:
    case ErrorKind::InvalidArgument: return kExitConfig;
    default: return kExitFailure;
  }
}

Result<store::Store> open_store(const Globals& g, store::OpenMode mode) {
  store::OpenOptions o;
  o.mode = mode;
  // The kiosk keeps its data key next to the database (data.key); TILL_DATA_KEY(_FILE) wins.
  const std::string beside = (std::filesystem::path(g.db).parent_path() / "data.key").string();
  auto key = store::DataKey::from_environment(beside);
  if (!key) return fail(key.error());
  o.data_key = *key;
  auto s = store::Store::open(g.db, SystemClock::instance(), o);
  if (!s && mode == store::OpenMode::Writer && s.error().kind == ErrorKind::FailedPrecondition &&
      s.error().message.find("in use") != std::string::npos) {
    Error e = s.error();
    e.message += ". One process writes a register's database (the lock file next to it): stop `till-sync run` "
                 "(or the kiosk hosting the engine) first, or use read-only commands (status, report, reconcile)";
    return fail(std::move(e));
  }
  return s;
}

Result<std::unique_ptr<StripeClient>> make_client(const Globals& g, asio::io_context& io) {
  auto key = load_api_key(process_env(), g.key_file);
  if (!key) return fail(key.error());
  StripeConfig c;
  c.http.base_url = g.api_base;
  c.http.extra_ca_file = g.ca_file;
  c.api_key = *key;
  c.app.name = "Till";
  c.app.version = TILL_VERSION;
  c.app.url = "https://github.com/till-pos/till";
  return StripeClient::create(io, std::move(c));
}

// whsec_... from STRIPE_WEBHOOK_SECRET or a file readable only by its owner.
Result<Secret> load_webhook_secret(const std::string& file) {
  std::string value;
  if (const char* env = std::getenv("STRIPE_WEBHOOK_SECRET"); env != nullptr && *env != '\0') {
    value = env;
  } else if (!file.empty()) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return fail(ErrorKind::NotFound, "webhook secret file " + file + " not found");
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 || st.st_uid != ::geteuid()) {
      return fail(ErrorKind::PermissionDenied,
                  "webhook secret file " + file + " must be a regular file of yours with mode 0600 (chmod 600 " + file + ")");
    }
    std::ifstream in(file);
    std::getline(in, value);
    while (!value.empty() && (value.back() == '\r' || value.back() == ' ' || value.back() == '\n')) value.pop_back();
  } else {
    return fail(ErrorKind::NotFound,
                "no webhook secret: set STRIPE_WEBHOOK_SECRET or --webhook-secret-file (or pass --no-webhooks)");
  }
  if (!value.starts_with("whsec_")) return fail(ErrorKind::InvalidArgument, "the webhook secret must start with whsec_");
  return Secret(value);
}

int report_error(std::ostream& err, const Error& e, int code) {
  err << "till-sync: " << redact_secrets(e.describe()) << "\n";
  return code;
}

Json operation_json(const pos::OutboxOperation& o) {
  return Json{{"id", o.id},
              {"kind", pos::to_string(o.kind)},
              {"sale_id", o.sale_id},
              {"attempt_id", o.attempt_id},
              {"account", o.account_id},
              {"state", pos::to_string(o.state)},
              {"attempts", o.attempts},
              {"last_error", o.last_error},
              {"last_request_id", o.last_request_id},
              {"created_at", iso(o.created_at)}};
}

Json attempt_json(const pos::PaymentAttempt& a) {
  return Json{{"id", a.id},
              {"sale_id", a.sale_id},
              {"number", a.number},
              {"state", pos::to_string(a.state)},
              {"amount", a.amount},
              {"currency", a.currency},
              {"account", a.account_id},
              {"offline", a.offline},
              {"payment_intent", a.payment_intent_id},
              {"updated_at", iso(a.updated_at)}};
}

EngineConfig engine_config(int concurrency, int max_attempts, double retention_hours) {
  EngineConfig c;
  c.concurrency = std::max(1, concurrency);
  c.max_attempts = std::max(1, max_attempts);
  c.key_retention_margin = std::chrono::milliseconds(static_cast<std::int64_t>(retention_hours * 3600'000));
  return c;
}

}  // namespace

// ---- status -------------------------------------------------------------------------------

int cmd_status(const Globals& g, std::ostream& out, std::ostream& err) {
  // Read-only: no lock, never writes, works beside a running writer.
  auto st = open_store(g, store::OpenMode::ReadOnly);
  if (!st) return report_error(err, st.error(), exit_for_open(st.error()));
  auto s = st->reports().status();
  if (!s) return report_error(err, s.error(), kExitFailure);
  const bool attention = !s->dead.empty() || !s->in_doubt.empty() || !s->attention.empty();
  const auto identity = store::read_register_identity(*st);  // NotFound before a kiosk opened it
  if (g.json) {
    Json j;
    j["database"] = g.db;
    j["register"] = identity ? Json{{"id", identity->id}, {"name", identity->name}} : Json(nullptr);
    for (const auto& [state, n] : s->operations) j["operations"][std::string(pos::to_string(state))] = n;
    for (const auto& [state, n] : s->attempts) j["attempts"][std::string(pos::to_string(state))] = n;
    j["oldest_unsent_age_seconds"] = s->oldest_unsent_age ? Json(s->oldest_unsent_age->count() / 1000) : Json(nullptr);
    j["offline_stored"] = Json::array();
    for (const auto& c : s->offline_stored) {
      j["offline_stored"].push_back(
          {{"currency", c.currency}, {"count", c.count}, {"amount", c.amount}, {"oldest", iso(c.oldest)}});
    }
    j["in_doubt"] = Json::array();
    for (const auto& a : s->in_doubt) j["in_doubt"].push_back(attempt_json(a));
    j["dead"] = Json::array();
    for (const auto& o : s->dead) j["dead"].push_back(operation_json(o));
    j["attention"] = Json::array();
    for (const auto& a : s->attention) {
      j["attention"].push_back({{"id", a.id},
                                {"sale_id", a.sale_id},
                                {"attempt_id", a.attempt_id},
                                {"reason", a.reason},
                                {"amount", a.amount},
                                {"currency", a.currency},
                                {"decline_code", a.decline_code},
                                {"customer_contact", a.customer_contact},
                                {"created_at", iso(a.created_at)}});
    }
    j["needs_attention"] = attention;
    out << j.dump(2) << "\n";
    return attention ? kExitAttention : kExitOk;
  }
  out << "Database: " << g.db << "\n";
  out << "Register: " << register_line(identity) << "\n";
  out << "Operations:";
  for (const auto& [state, n] : s->operations) out << " " << pos::to_string(state) << "=" << n;
  out << "\nAttempts:  ";
  for (const auto& [state, n] : s->attempts) out << " " << pos::to_string(state) << "=" << n;
  out << "\nOldest unsent: "
      << (s->oldest_unsent_age ? age(*s->oldest_unsent_age) + " (since " + iso(*s->oldest_unsent_created_at) + ")"
                               : std::string("none"))
      << "\n";
  out << "Stored offline, not yet answered by Stripe:";
  if (s->offline_stored.empty()) out << " none";
  out << "\n";
  for (const auto& c : s->offline_stored) {
    out << "  " << c.currency << ": " << c.count << " payment(s), " << money(c.amount, c.currency) << ", oldest "
        << iso(c.oldest) << "\n";
  }
  out << "In doubt (" << s->in_doubt.size() << "):\n";
  for (const auto& a : s->in_doubt) {
    out << "  attempt " << a.id << " sale " << a.sale_id << " " << money(a.amount, a.currency) << " " << a.account_id
        << (a.payment_intent_id.empty() ? "" : " " + a.payment_intent_id) << " since " << iso(a.updated_at) << "\n";
  }
  out << "Dead operations (" << s->dead.size() << "):\n";
  for (const auto& o : s->dead) {
    out << "  #" << o.id << " " << pos::to_string(o.kind) << " sale " << o.sale_id << " after " << o.attempts
        << " attempt(s): " << o.last_error << "\n";
  }
  out << "Attention (" << s->attention.size() << "):\n";
  for (const auto& a : s->attention) {
    out << "  #" << a.id << " " << a.reason << " sale " << a.sale_id << " " << money(a.amount, a.currency)
        << (a.decline_code.empty() ? "" : " (" + a.decline_code + ")") << " contact: "
        << (a.customer_contact.empty() ? "none" : a.customer_contact) << "\n";
  }
  if (attention) out << "Needs attention: see `till-sync retry ID` / `till-sync resolve ID --handled-outside`.\n";
  return attention ? kExitAttention : kExitOk;
}

// ---- drain --once -------------------------------------------------------------------------

int cmd_drain(const Globals& g, int concurrency, int max_operations, bool progress, std::ostream& out,
              std::ostream& err) {
  auto st = open_store(g, store::OpenMode::Writer);
  if (!st) return report_error(err, st.error(), exit_for_open(st.error()));
  asio::io_context io;
  auto client = make_client(g, io);
  if (!client) return report_error(err, client.error(), kExitConfig);
  auto before = st->reports().status();
  if (!before) return report_error(err, before.error(), kExitFailure);
  const std::int64_t total = before->operations.at(pos::OutboxState::Pending) +
                             before->operations.at(pos::OutboxState::FailedRetryable);

  Engine engine(*st, **client, SystemClock::instance(), SystemRandom::instance(), engine_config(concurrency, 20, 23));
  std::int64_t seen = 0;
  std::map<std::string, int> outcomes;
  const auto draw = [&](bool final_line) {
    if (!progress) return;
    constexpr int kWidth = 30;
    const std::int64_t denom = std::max<std::int64_t>(total, seen);
    const int filled = denom == 0 ? kWidth : static_cast<int>(kWidth * seen / denom);
    err << "\r[" << std::string(static_cast<std::size_t>(filled), '#')
        << std::string(static_cast<std::size_t>(kWidth - filled), '.') << "] " << seen << "/" << denom
        << "  done " << outcomes["done"] << "  retry " << outcomes["retry"] << "  dead " << outcomes["dead"]
        << (final_line ? "\n" : "") << std::flush;
  };
  engine.set_observer([&](const OperationReport& r) {
    ++seen;
    ++outcomes[std::string(to_string(r.outcome))];
    draw(false);
  });
  draw(false);
  const DrainSummary sum = run_blocking(io, engine.async_drain_once(max_operations));
  draw(true);
  auto after = st->reports().status();
  if (!after) return report_error(err, after.error(), kExitFailure);
  const bool attention = !after->dead.empty() || !after->in_doubt.empty();
  if (g.json) {
    out << Json{{"claimed", sum.claimed},
                {"done", sum.done},
                {"retry", sum.retry},
                {"dead", sum.dead},
                {"stuck", sum.stuck},
                {"in_doubt", sum.in_doubt},
                {"rate_limited", sum.rate_limited},
                {"looked_up", sum.looked_up},
                {"store_errors", sum.store_errors},
                {"left_pending", after->operations.at(pos::OutboxState::Pending) +
                                     after->operations.at(pos::OutboxState::FailedRetryable)},
                {"dead_total", after->dead.size()},
                {"in_doubt_total", after->in_doubt.size()}}
               .dump(2)
        << "\n";
  } else {
    out << "Drained " << sum.claimed << " operation(s): " << sum.done << " done, " << sum.retry << " to retry, "
        << sum.dead << " dead" << (sum.stuck ? ", " + std::to_string(sum.stuck) + " not recorded" : std::string())
        << ". " << sum.rate_limited << " rate-limited answer(s), " << sum.looked_up << " resolved by lookup.\n";
    out << "Left: " << after->operations.at(pos::OutboxState::Pending) << " pending, "
        << after->operations.at(pos::OutboxState::FailedRetryable) << " backing off; " << after->dead.size()
        << " dead, " << after->in_doubt.size() << " in doubt in total.\n";
  }
  if (sum.store_errors > 0) return kExitFailure;
  return attention ? kExitAttention : kExitOk;
}

// ---- run -------------------------------------------------------------------------------------

int cmd_run(const Globals& g, const RunOptions& o, std::ostream& out, std::ostream& err) {
  auto st = open_store(g, store::OpenMode::Writer);
  if (!st) return report_error(err, st.error(), exit_for_open(st.error()));
  asio::io_context io;
  auto client = make_client(g, io);
  if (!client) return report_error(err, client.error(), kExitConfig);
  Engine engine(*st, **client, SystemClock::instance(), SystemRandom::instance(),
                engine_config(o.concurrency, o.max_attempts, o.key_retention_hours));

  std::optional<WebhookHandler> handler;
  std::unique_ptr<WebhookServer> server;
  if (!o.no_webhooks) {
    auto secret = load_webhook_secret(o.webhook_secret_file);
    if (!secret) return report_error(err, secret.error(), kExitConfig);
    WebhookHandlerConfig hc;
    hc.secret = *secret;
    handler.emplace(*st, SystemClock::instance(), hc);
    WebhookServerConfig wc;
    const auto colon = o.listen.rfind(':');
    if (colon == std::string::npos) {
      err << "till-sync: --listen must be HOST:PORT\n";
      return kExitUsage;
    }
    wc.host = o.listen.substr(0, colon);
    wc.port = static_cast<std::uint16_t>(std::atoi(o.listen.c_str() + colon + 1));
    wc.path = o.webhook_path;
    auto s = WebhookServer::start(io, wc, [&](std::string_view body, std::string_view sig) {
      const auto r = handler->handle(body, sig);
      // Something a sale depends on changed: let the engine look at the queue (a queued capture).
      engine.wake();
      return WebhookHttpReply{r.http_status, Json{{"result", std::string(to_string(r.kind))}}.dump()};
    });
    if (!s) return report_error(err, s.error(), kExitConfig);
    server = std::move(*s);
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    log::info("till_sync.stopping", {});
    engine.stop();
    if (server) server->stop();
  });
  log::info("till_sync.started", {{"database", g.db}, {"api_base", g.api_base},
                                  {"webhook", server ? server->url() : std::string("off")}});
  out << "till-sync " << TILL_VERSION << " running on " << g.db
      << (server ? "; webhooks at " + server->url() : std::string("; webhooks off")) << ". Ctrl-C stops.\n"
      << std::flush;
  bool finished = false;
  asio::co_spawn(io, engine.async_run(), [&](std::exception_ptr, auto...) {
    finished = true;
    signals.cancel();
    if (server) server->stop();
  });
  io.run();
  return finished ? kExitOk : kExitFailure;
}

// ---- reconcile ------------------------------------------------------------------------------

int cmd_reconcile(const Globals& g, const std::string& from, const std::string& to, std::ostream& out,
                  std::ostream& err) {
  auto lo = parse_day(from);
  auto hi = parse_day(to);
  if (!lo) return report_error(err, lo.error(), kExitUsage);
  if (!hi) return report_error(err, hi.error(), kExitUsage);
  const Timestamp end = *hi + std::chrono::hours(24);  // --to is inclusive
  if (end <= *lo) {
    err << "till-sync: --to is before --from\n";
    return kExitUsage;
  }
  auto st = open_store(g, store::OpenMode::ReadOnly);
  if (!st) return report_error(err, st.error(), exit_for_open(st.error()));
  auto local = local_payments(*st, *lo, end);
  if (!local) return report_error(err, local.error(), kExitFailure);
  // Scoped to this register: the shop's other registers take payments on the same account, and
  // theirs are not missing here (metadata[register_id], reconcile_scope).
  const auto identity = store::read_register_identity(*st);
  if (!identity) err << "till-sync: " << identity.error().message << "; scoping to the registers its sales name\n";
  const std::vector<std::string> registers = reconcile_scope(identity ? identity->id : std::string(), *local);
  std::set<std::string> accounts;
  for (const auto& l : *local) accounts.insert(l.account);
  if (!g.account.empty()) accounts.insert(g.account);
  if (accounts.empty()) {
    err << "till-sync: no local card payments in range and no --account: nothing to compare\n";
    return kExitUsage;
  }
  asio::io_context io;
  auto client = make_client(g, io);
  if (!client) return report_error(err, client.error(), kExitConfig);
  auto remote = run_blocking(io, async_fetch_payment_intents(**client, {accounts.begin(), accounts.end()}, *lo, end));
  if (!remote) return report_error(err, remote.error(), kExitFailure);
  const auto rep = reconcile(
      *local, *remote, [&](const std::string& sale_id) { return st->sales().get(sale_id).has_value(); }, registers);
  if (g.json) {
    Json j{{"from", from}, {"to", to}, {"registers", registers}, {"local_payments", rep.local_payments},
           {"remote_payment_intents", rep.remote_payment_intents}, {"matched", rep.matched}, {"findings", Json::array()}};
    for (const auto& f : rep.findings) {
      j["findings"].push_back({{"kind", to_string(f.kind)},
                               {"sale_id", f.sale_id},
                               {"attempt_id", f.attempt_id},
                               {"account", f.account},
                               {"payment_intents", f.payment_intents},
                               {"detail", f.detail}});
    }
    out << j.dump(2) << "\n";
  } else {
    out << "Register: " << register_line(identity) << "\n";
    out << "Reconciled " << from << " .. " << to << ": " << rep.local_payments << " local card payment(s), "
        << rep.remote_payment_intents << " PaymentIntent(s) at Stripe, " << rep.matched << " matched, "
        << rep.findings.size() << " finding(s).\n";
    for (const auto& f : rep.findings) {
      out << "  " << to_string(f.kind) << "  sale " << f.sale_id << (f.attempt_id.empty() ? "" : " attempt " + f.attempt_id)
          << " " << f.account;
      for (const auto& p : f.payment_intents) out << " " << p;
      out << ": " << f.detail << "\n";
    }
  }
  return rep.clean() ? kExitOk : kExitDiscrepancies;
}

// ---- report -------------------------------------------------------------------------------

int cmd_report(const Globals& g, const std::string& day, const std::string& csv_file, std::ostream& out,
               std::ostream& err) {
  if (auto d = parse_day(day); !d) return report_error(err, d.error(), kExitUsage);
  auto st = open_store(g, store::OpenMode::ReadOnly);
  if (!st) return report_error(err, st.error(), exit_for_open(st.error()));
  auto r = build_day_report(*st, day);
  if (!r) return report_error(err, r.error(), kExitFailure);
  if (!csv_file.empty()) {
    std::ofstream f(csv_file, std::ios::trunc);
    f << day_report_csv(*r);
    if (!f) {
      err << "till-sync: cannot write " << csv_file << "\n";
      return kExitFailure;
    }
  }
  const auto identity = store::read_register_identity(*st);
  if (g.json) {
    Json j{{"day", r->day}};
    j["register"] = identity ? Json{{"id", identity->id}, {"name", identity->name}} : Json(nullptr);
    j["currencies"] = Json::array();
    for (const auto& c : r->currencies) {
      j["currencies"].push_back({{"currency", c.currency}, {"sales", c.sales}, {"gross", c.gross}, {"net", c.net},
                                 {"tax", c.tax}, {"tips", c.tips}, {"discounts", c.discounts}, {"voided", c.voided},
                                 {"open", c.open}});
    }
    j["tenders"] = Json::array();
    for (const auto& t : r->tenders) {
      j["tenders"].push_back({{"tender", t.tender}, {"currency", t.currency}, {"count", t.count}, {"amount", t.amount}});
    }
    j["tax_rates"] = Json::array();
    for (const auto& t : r->tax_rates) {
      j["tax_rates"].push_back({{"currency", t.currency}, {"tax_code", t.tax_code}, {"rate_ppm", t.rate_ppm},
                                {"net", t.net}, {"tax", t.tax}});
    }
    j["fees"] = Json::array();
    for (const auto& f : r->fees) {
      j["fees"].push_back({{"currency", f.currency}, {"payments", f.payments}, {"application_fees", f.application_fees}});
    }
    j["refunds"] = Json::array();
    for (const auto& f : r->refunds) {
      j["refunds"].push_back({{"currency", f.currency}, {"count", f.count}, {"amount", f.amount}, {"pending", f.pending}});
    }
    j["attempts"] = {{"declined", r->attempts.declined},
                     {"declined_after_forward", r->attempts.declined_after_forward},
                     {"in_doubt", r->attempts.in_doubt},
                     {"unsent", r->attempts.unsent}};
    out << j.dump(2) << "\n";
    return kExitOk;
  }
  out << "End of day " << r->day << " (UTC), register " << register_line(identity) << "\n";
  for (const auto& c : r->currencies) {
    out << "  " << c.currency << ": " << c.sales << " sale(s), gross " << money(c.gross, c.currency) << ", net "
        << money(c.net, c.currency) << ", tax " << money(c.tax, c.currency) << ", tips " << money(c.tips, c.currency)
        << ", discounts " << money(c.discounts, c.currency) << "; " << c.voided << " voided, " << c.open << " open\n";
  }
  out << "Tenders:\n";
  for (const auto& t : r->tenders) out << "  " << t.tender << " " << t.count << " x, " << money(t.amount, t.currency) << "\n";
  out << "Tax rates:\n";
  for (const auto& t : r->tax_rates) {
    out << "  " << t.tax_code << " " << (static_cast<double>(t.rate_ppm) / 10'000.0) << "%: net "
        << money(t.net, t.currency) << ", tax " << money(t.tax, t.currency) << "\n";
  }
  out << "Application fees:\n";
  for (const auto& f : r->fees) out << "  " << f.payments << " payment(s), " << money(f.application_fees, f.currency) << "\n";
  out << "Refunds:\n";
  for (const auto& f : r->refunds) {
    out << "  " << f.count << " refunded, " << money(f.amount, f.currency) << "; " << f.pending << " pending\n";
  }
  out << "Attempts: " << r->attempts.declined << " declined, " << r->attempts.declined_after_forward
      << " declined after forward, " << r->attempts.in_doubt << " in doubt, " << r->attempts.unsent << " unsent\n";
  if (!csv_file.empty()) out << "CSV written to " << csv_file << "\n";
  return kExitOk;
}

// ---- retry / resolve ------------------------------------------------------------------------

int cmd_retry(const Globals& g, std::int64_t id, const std::string& reason, std::ostream& out, std::ostream& err) {
  auto st = open_store(g, store::OpenMode::Writer);
  if (!st) return report_error(err, st.error(), exit_for_open(st.error()));
  auto op = st->outbox().get(id);
  if (!op) return report_error(err, op.error(), op.error().kind == ErrorKind::NotFound ? kExitNotFound : kExitFailure);
  if (op->state != pos::OutboxState::Dead) {
    err << "till-sync: operation " << id << " is " << pos::to_string(op->state) << ", not dead; nothing to retry\n";
    return kExitNotFound;
  }
  auto r = st->outbox().retry(id, actor_of(g), reason.empty() ? "retried from till-sync" : reason);
  if (!r) return report_error(err, r.error(), kExitFailure);
  if (g.json) {
    out << Json{{"operation", id}, {"state", "pending"}, {"idempotency_key_unchanged", true}}.dump(2) << "\n";
  } else {
    out << "Operation " << id << " is pending again with the same idempotency key; the engine sends it next.\n";
  }
  return kExitOk;
}

int cmd_resolve(const Globals& g, std::int64_t id, bool attention, const std::string& reason, std::ostream& out,
                std::ostream& err) {
  if (reason.empty()) {
    err << "till-sync: --handled-outside needs a reason (it is written to the audit log)\n";
    return kExitUsage;
  }
  auto st = open_store(g, store::OpenMode::Writer);
  if (!st) return report_error(err, st.error(), exit_for_open(st.error()));
  const std::string who = actor_of(g);
  if (attention) {
    auto r = st->journal().resolve_attention(id, who, reason);
    if (!r) return report_error(err, r.error(), r.error().kind == ErrorKind::NotFound ? kExitNotFound : kExitFailure);
    if (g.json) {
      out << Json{{"attention", id}, {"resolved", true}}.dump(2) << "\n";
    } else {
      out << "Attention item " << id << " resolved by " << who << ".\n";
    }
    return kExitOk;
  }
  auto op = st->outbox().get(id);
  if (!op) return report_error(err, op.error(), op.error().kind == ErrorKind::NotFound ? kExitNotFound : kExitFailure);
  if (op->state != pos::OutboxState::Dead) {
    err << "till-sync: operation " << id << " is " << pos::to_string(op->state)
        << "; only dead operations are resolved by hand\n";
    return kExitNotFound;
  }
  auto r = st->write([&](store::WriteTx& tx) -> Status {
    if (auto a = tx.journal().append_audit(store::AuditEntry{0, {}, who, "operation.resolved_outside", std::to_string(id), reason});
        !a) {
      return fail(a.error());
    }
    return tx.outbox().complete(id, store::OperationOutcome{{}, {}});
  });
  if (!r) return report_error(err, r.error(), kExitFailure);
  if (g.json) {
    out << Json{{"operation", id}, {"state", "done"}, {"handled_outside", reason}, {"actor", who}}.dump(2) << "\n";
  } else {
    out << "Operation " << id << " marked done (handled outside Till: " << reason << "), audited as " << who << ".\n";
  }
  return kExitOk;
}

}  // namespace till::sync::cli
