// till-sync, the program (issue 4), run as a child process against a database the test prepares
// and an in-process till-stripe-sim: exit codes, --json output, the single-writer rule, retry and
// resolve with audit, the day report and reconciliation, and the daemon with its webhook endpoint.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine_fixture.hpp"
#include "till/sync/http.hpp"
#include "till/sync/webhook.hpp"

using namespace till;
using namespace till::sync;
using namespace till::sync::testing;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string today() {
  const std::time_t t = static_cast<std::time_t>(to_unix_ms(SystemClock::instance().now()) / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

struct Ran {
  int code = -1;
  std::string out;
  std::string err;
  Json json() const { return Json::parse(out, nullptr, false); }
};

struct CliHarness {
  TempDir dir;
  std::unique_ptr<stripesim::Server> sim;
  std::string db;
  SeededRandom ids{1234};
  int runs = 0;

  CliHarness() {
    log::set_level(log::Level::Error);
    stripesim::ServerOptions so;
    so.sim.connected_accounts = {kAccount, kOtherAccount};
    so.sim.rate_limit_test = 0;
    so.sim.rate_limit_live = 0;
    sim = stripesim::Server::start(so).value();
    db = dir.file("register.db");
  }

  // Queues card payments (the kiosk's part), then closes the database.
  std::vector<Queued> seed(const std::vector<PaymentSpec>& specs) {
    store::OpenOptions oo;
    oo.data_key = test_data_key();
    auto st = store::Store::open(db, SystemClock::instance(), oo).value();
    std::vector<Queued> out;
    for (const auto& spec : specs) {
      Queued q;
      q.sale = make_sale(new_uuid_v4(ids), spec.account, spec.amount, SystemClock::instance().now());
      REQUIRE(st.sales().persist(q.sale));
      auto& a = q.attempt;
      a.id = new_uuid_v4(ids);
      a.sale_id = q.sale.id;
      a.amount = spec.amount;
      a.currency = "usd";
      a.account_id = spec.account;
      a.idempotency_key = new_uuid_v4(ids);
      a.offline = spec.offline;
      a.state = spec.offline ? pos::AttemptState::StoredOffline : pos::AttemptState::Submitting;
      a.payment_method = spec.payment_method;
      REQUIRE(st.attempts().create(a));
      PaymentIntentOptions po;
      po.fee = kFee;
      q.op_id = st.outbox().enqueue(make_payment_intent_operation(q.sale, a, po, SystemClock::instance().now()).value())
                    .value();
      out.push_back(q);
    }
    return out;
  }

  pid_t spawn(const std::vector<std::string>& args, const std::string& out_file, const std::string& err_file,
              bool with_key = true) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int o = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int e = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(o, STDOUT_FILENO);
      ::dup2(e, STDERR_FILENO);
      if (with_key) {
        ::setenv("STRIPE_API_KEY", kKey, 1);
      } else {
        ::unsetenv("STRIPE_API_KEY");
      }
      ::setenv("TILL_DATA_KEY", kDataKeyHex, 1);
      ::setenv("STRIPE_WEBHOOK_SECRET", "whsec_cli_test_secret", 1);
      std::vector<std::string> full{TILL_SYNC_PROGRAM, "--db", db, "--api-base", sim->base_url()};
      full.insert(full.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& s : full) argv.push_back(s.data());
      argv.push_back(nullptr);
      ::execv(TILL_SYNC_PROGRAM, argv.data());
      ::_exit(127);
    }
    return pid;
  }

  Ran run(const std::vector<std::string>& args, bool with_key = true) {
    const std::string o = dir.file("out" + std::to_string(runs));
    const std::string e = dir.file("err" + std::to_string(runs++));
    const pid_t pid = spawn(args, o, e, with_key);
    int status = 0;
    ::waitpid(pid, &status, 0);
    Ran r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(o);
    r.err = slurp(e);
    return r;
  }
};

}  // namespace

TEST_CASE("till-sync answers --version and refuses a missing subcommand with exit 2", "[cli]") {
  CliHarness h;
  const Ran v = h.run({"--version"});
  CHECK(v.code == 0);
  CHECK_THAT(v.out, Catch::Contains("till-sync 0."));
  CHECK(h.run({}).code == 2);
  CHECK(h.run({"drain"}).code == 2);  // --once is required
}

TEST_CASE("drain --once sends everything due and prints a summary; status is then healthy", "[cli]") {
  CliHarness h;
  const auto qs = h.seed({{.amount = 1200}, {.amount = 1300, .account = kOtherAccount}, {.amount = 2200, .offline = true}});
  const Ran d = h.run({"--json", "drain", "--once"});
  INFO(d.err);
  CHECK(d.code == 0);
  const Json j = d.json();
  CHECK(j["done"] == 3);
  CHECK(j["dead"] == 0);
  CHECK(j["left_pending"] == 0);
  CHECK(h.sim->ledger().size() == 3);

  const Ran s = h.run({"--json", "status"});
  CHECK(s.code == 0);
  const Json sj = s.json();
  CHECK(sj["operations"]["done"] == 3);
  CHECK(sj["attempts"]["approved"] == 3);
  CHECK(sj["needs_attention"] == false);
  const Ran human = h.run({"status"});
  CHECK(human.code == 0);
  CHECK_THAT(human.out, Catch::Contains("done=3"));
}

TEST_CASE("a dead operation makes status exit 4; retry and resolve --handled-outside are audited", "[cli]") {
  CliHarness h;
  const auto qs = h.seed({{.payment_method = "pm_does_not_exist"}, {.amount = 900}});
  const Ran d = h.run({"drain", "--once"});
  CHECK(d.code == 4);
  CHECK_THAT(d.out, Catch::Contains("1 dead"));
  const Ran s = h.run({"--json", "status"});
  CHECK(s.code == 4);
  REQUIRE(s.json()["dead"].size() == 1);
  CHECK(s.json()["dead"][0]["id"] == qs[0].op_id);

  const std::string id = std::to_string(qs[0].op_id);
  CHECK(h.run({"--actor", "alice", "retry", id, "--reason", "token re-read"}).code == 0);
  CHECK(h.run({"drain", "--once"}).code == 4);  // Stripe still says no
  CHECK(h.run({"retry", std::to_string(qs[1].op_id)}).code == 6);  // done, not dead
  CHECK(h.run({"retry", "9999"}).code == 6);
  CHECK(h.run({"resolve", id}).code == 2);  // the reason is required
  const Ran r = h.run({"--actor", "bob", "resolve", id, "--handled-outside", "customer paid cash instead"});
  CHECK(r.code == 0);
  CHECK(h.run({"status"}).code == 0);

  store::OpenOptions ro;
  ro.mode = store::OpenMode::ReadOnly;
  ro.data_key = test_data_key();
  auto st = store::Store::open(h.db, SystemClock::instance(), ro).value();
  bool retried = false;
  bool resolved = false;
  for (const auto& e : st.journal().audit().value_or(std::vector<store::AuditEntry>{})) {
    retried = retried || (e.action == "operation.retry" && e.actor == "alice" && e.detail == "token re-read");
    resolved = resolved || (e.action == "operation.resolved_outside" && e.actor == "bob" &&
                            e.detail == "customer paid cash instead");
  }
  CHECK(retried);
  CHECK(resolved);
  CHECK(st.outbox().get(qs[0].op_id).value().state == pos::OutboxState::Done);
}

TEST_CASE("while another process is the writer, drain refuses (exit 3) and status still works", "[cli]") {
  CliHarness h;
  h.seed({{.amount = 1500}});
  store::OpenOptions oo;
  oo.data_key = test_data_key();
  auto writer = store::Store::open(h.db, SystemClock::instance(), oo).value();
  const Ran d = h.run({"drain", "--once"});
  CHECK(d.code == 3);
  CHECK_THAT(d.err, Catch::Contains("in use"));
  CHECK(h.sim->ledger().empty());
  const Ran s = h.run({"--json", "status"});
  CHECK(s.code == 0);
  CHECK(s.json()["operations"]["pending"] == 1);
}

TEST_CASE("without an API key till-sync exits 7 and sends nothing", "[cli]") {
  CliHarness h;
  h.seed({{.amount = 1500}});
  const Ran d = h.run({"drain", "--once"}, false);
  CHECK(d.code == 7);
  CHECK_THAT(d.err, Catch::Contains("STRIPE_API_KEY"));
  CHECK(h.sim->ledger().empty());
}

TEST_CASE("report --day gives totals per tender, tax rate and fees, and writes CSV", "[cli]") {
  CliHarness h;
  h.seed({{.amount = 1100}, {.amount = 2200}, {.amount = 3300, .offline = true}, {.payment_method = "pm_card_chargeDeclined"}});
  REQUIRE(h.run({"drain", "--once"}).code == 0);
  const std::string csv = h.dir.file("day.csv");
  const Ran r = h.run({"--json", "report", "--day", today(), "--csv", csv});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const Json j = r.json();
  REQUIRE(j["currencies"].size() == 1);
  CHECK(j["currencies"][0]["sales"] == 3);
  CHECK(j["currencies"][0]["gross"] == 6600);
  CHECK(j["currencies"][0]["open"] == 1);  // the declined sale is still tendering
  REQUIRE(j["tenders"].size() == 1);
  CHECK(j["tenders"][0]["tender"] == "card");
  CHECK(j["tenders"][0]["count"] == 3);
  CHECK(j["fees"][0]["application_fees"] ==
        kFee.fee_for(1100).value() + kFee.fee_for(2200).value() + kFee.fee_for(3300).value());
  CHECK(j["attempts"]["declined"] == 1);
  std::int64_t tax = 0;
  for (const auto& t : j["tax_rates"]) tax += t["tax"].get<std::int64_t>();
  CHECK(tax == j["currencies"][0]["tax"]);
  const std::string text = slurp(csv);
  CHECK(text.starts_with("section,currency,key,rate_ppm,count,amount,net,tax\n"));
  CHECK_THAT(text, Catch::Contains("tender,usd,card,0,3,6600"));
  CHECK(h.run({"report", "--day", "2026-02-30"}).code == 2);
}

TEST_CASE("reconcile is clean after a drain and reports what Stripe holds that the register does not",
          "[cli]") {
  CliHarness h;
  h.seed({{.amount = 1100}, {.amount = 1200, .account = kOtherAccount}});
  REQUIRE(h.run({"drain", "--once"}).code == 0);
  const Ran clean = h.run({"--json", "reconcile", "--from", today(), "--to", today()});
  INFO(clean.err);
  CHECK(clean.code == 0);
  CHECK(clean.json()["matched"] == 2);
  CHECK(clean.json()["findings"].empty());

  // A payment made elsewhere with this register's id (e.g. a restored backup missing a sale).
  auto r = h.sim->api().handle(stripesim::Request{
      "POST", "/v1/payment_intents",
      {{"Authorization", std::string("Bearer ") + kKey}, {"Stripe-Account", kAccount}, {"Idempotency-Key", "x-1"}},
      "amount=4000&currency=usd&payment_method=pm_card_visa&confirm=true&metadata[sale_id]=ghost&metadata[register_id]=reg-1&metadata[attempt]=1"});
  REQUIRE(r.status == 200);
  const Ran found = h.run({"--json", "reconcile", "--from", today(), "--to", today()});
  CHECK(found.code == 5);
  const Json f = found.json()["findings"];
  REQUIRE(f.size() == 1);
  CHECK(f[0]["kind"] == "missing_locally");
  CHECK(f[0]["sale_id"] == "ghost");
}

TEST_CASE("run drains continuously, serves the signed webhook endpoint and stops cleanly on SIGTERM", "[cli]") {
  CliHarness h;
  h.seed({{.amount = 1400}, {.amount = 1500}});
  const std::string out = h.dir.file("run.out");
  const std::string err = h.dir.file("run.err");
  const pid_t pid = h.spawn({"run", "--listen", "127.0.0.1:0"}, out, err);
  // Bounded waits on a real process.
  std::string url;
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (url.empty() && std::chrono::steady_clock::now() < give_up) {
    const std::string text = slurp(out);
    if (const auto at = text.find("webhooks at "); at != std::string::npos) {
      const auto end = text.find(". Ctrl-C", at);
      if (end != std::string::npos) url = text.substr(at + 12, end - at - 12);
    }
    if (url.empty()) std::this_thread::sleep_for(20ms);
  }
  INFO(slurp(err));
  REQUIRE_FALSE(url.empty());
  while (h.sim->ledger().size() < 2 && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(20ms);
  CHECK(h.sim->ledger().size() == 2);

  boost::asio::io_context io;
  const auto hostport = url.substr(7, url.find('/', 7) - 7);
  HttpConfig hc;
  hc.base_url = "http://" + hostport;
  auto http = HttpClient::create(io, hc).value();
  const std::string body =
      R"({"id":"evt_cli_1","object":"event","type":"account.updated","account":"acct_1TillMerchant00001","data":{"object":{"id":"acct_1TillMerchant00001","object":"account"}}})";
  const auto t = to_unix_ms(SystemClock::instance().now()) / 1000;
  HttpRequest good{"POST", "/webhooks/stripe",
                   {{"Stripe-Signature", sign_payload(Secret("whsec_cli_test_secret"), t, body)}}, body};
  HttpRequest bad{"POST", "/webhooks/stripe", {{"Stripe-Signature", "t=1,v1=abc"}}, body};
  CHECK(run_blocking(io, http->async_send(good)).value().status == 200);
  CHECK(run_blocking(io, http->async_send(bad)).value().status == 400);

  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const Ran s = h.run({"--json", "status"});
  CHECK(s.json()["operations"]["done"] == 2);
}
