// till-office, the program, as a child process against the test cluster: --version, migrate,
// merchant/store/register commands, and serve (enrolment over HTTPS with the printed code and
// fingerprint, clean exit on SIGTERM).

#include <csignal>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include "server_fixture.hpp"
#include "till/office/ingest.hpp"
#include "till/stripesim/server.hpp"

using namespace till;
using namespace till::office;
using till::office::test::RunningOffice;
using till::office::test::TestCluster;

namespace {

struct Run {
  int code = -1;
  std::string out;
};

// Runs till-office with `args` (a shell-quoted string) and the database in TILL_OFFICE_DB.
Run run_office(const std::string& db, const std::string& args) {
  const std::string out_file = std::filesystem::temp_directory_path() / ("till-office-cli-" + std::to_string(getpid()));
  const std::string cmd = "TILL_OFFICE_DB='" + db + "' " TILL_OFFICE_PROGRAM " " + args + " >" + out_file + " 2>&1";
  const int status = std::system(cmd.c_str());
  std::ifstream in(out_file);
  std::stringstream s;
  s << in.rdbuf();
  std::remove(out_file.c_str());
  return Run{WIFEXITED(status) ? WEXITSTATUS(status) : -1, s.str()};
}

std::string capture(const std::string& text, const std::string& pattern) {
  std::smatch m;
  REQUIRE(std::regex_search(text, m, std::regex(pattern)));
  return m[1];
}

}  // namespace

TEST_CASE("till-office answers --version") {
  auto r = run_office("", "--version");
  CHECK(r.code == 0);
  CHECK(r.out.find("till-office " TILL_VERSION_STRING) != std::string::npos);
}

TEST_CASE("the admin commands set up a merchant, a store and a register, list and revoke it") {
  const auto db = TestCluster::get().fresh_database();
  const auto dir = RunningOffice::make_dir();
  auto unmigrated = run_office(db, "merchant add --name Shop --account acct_123");
  CHECK(unmigrated.code != 0);
  CHECK(unmigrated.out.find("till-office migrate") != std::string::npos);

  auto m = run_office(db, "migrate");
  REQUIRE(m.code == 0);
  CHECK(m.out.find("migrated from version 0") != std::string::npos);
  CHECK(run_office(db, "migrate").out.find("up to date") != std::string::npos);

  auto merchant = run_office(db, "merchant add --name 'Corner Shop' --account acct_123 --fee 30+290bp");
  REQUIRE(merchant.code == 0);
  const auto merchant_id = capture(merchant.out, R"(merchant (mer_[0-9a-f]{16}))");
  CHECK(run_office(db, "merchant add --name X --account acct_123").code != 0);
  CHECK(run_office(db, "merchant add --name X --account acct_9 --fee lots").code == 2);

  auto store = run_office(db, "store add --merchant " + merchant_id + " --name Main --currency eur");
  REQUIRE(store.code == 0);
  const auto store_id = capture(store.out, R"(store (sto_[0-9a-f]{16}))");

  auto reg = run_office(db, "--data-dir " + dir.string() + " register add --store " + store_id + " --name 'Front till'");
  REQUIRE(reg.code == 0);
  const auto register_id = capture(reg.out, R"(register (reg_[0-9a-f]{16}))");
  capture(reg.out, R"(enrolment code: +([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}))");
  const auto fingerprint = capture(reg.out, R"(fingerprint: sha256:([0-9a-f]{64}))");
  auto tls = load_tls_files(dir / "office-cert.pem", dir / "office-key.pem");
  REQUIRE(tls);
  CHECK(tls->fingerprint == fingerprint);

  auto list = run_office(db, "register list --store " + store_id);
  REQUIRE(list.code == 0);
  CHECK(list.out.find(register_id) != std::string::npos);
  CHECK(list.out.find("awaiting_enrolment") != std::string::npos);
  REQUIRE(run_office(db, "register revoke " + register_id).code == 0);
  CHECK(run_office(db, "register list").out.find("revoked") != std::string::npos);
  CHECK(run_office(db, "register revoke reg_ffffffffffffffff").code == 3);
  std::filesystem::remove_all(dir);
}

namespace {

// till-office serve as a child process; reads its stdout until the fingerprint line.
struct ServeChild {
  ServeChild(const std::string& db, const std::filesystem::path& dir, const std::vector<std::string>& extra,
             const std::string& stripe_key = {}) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      setenv("TILL_OFFICE_DB", db.c_str(), 1);
      if (stripe_key.empty()) unsetenv("STRIPE_API_KEY");
      else setenv("STRIPE_API_KEY", stripe_key.c_str(), 1);
      std::vector<std::string> args = {"till-office", "--data-dir", dir.string(), "serve", "--listen", "127.0.0.1:0",
                                       "--threads", "2"};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(TILL_OFFICE_PROGRAM, argv.data());
      _exit(127);
    }
    close(fds[1]);
    fd = fds[0];
    char buf[256];
    while (out.find("fingerprint") == std::string::npos ||
           out.find('\n', out.find("fingerprint")) == std::string::npos) {
      const auto n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  int stop() {
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  pid_t pid = -1;
  int fd = -1;
  std::string out;
};

}  // namespace

TEST_CASE("till-office serve migrates, makes its certificate, enrols a register and stops on SIGTERM") {
  const auto db = TestCluster::get().fresh_database();
  const auto dir = RunningOffice::make_dir();
  REQUIRE(run_office(db, "migrate").code == 0);
  auto merchant = run_office(db, "merchant add --name Shop --account acct_1");
  const auto store = run_office(db, "store add --merchant " + capture(merchant.out, R"(merchant (mer_\w+))") +
                                    " --name S --currency usd");
  auto reg = run_office(db, "--data-dir " + dir.string() + " register add --store " +
                            capture(store.out, R"(store (sto_\w+))") + " --name T");
  const auto code = capture(reg.out, R"(enrolment code: +(\S+))");

  int pipe_fd[2];
  REQUIRE(pipe(pipe_fd) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(pipe_fd[1], 1);
    close(pipe_fd[0]);
    setenv("TILL_OFFICE_DB", db.c_str(), 1);
    unsetenv("STRIPE_API_KEY");
    execl(TILL_OFFICE_PROGRAM, "till-office", "--data-dir", dir.c_str(), "serve", "--listen", "127.0.0.1:0",
          "--threads", "2", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(pipe_fd[1]);
  std::string out;
  char buf[256];
  while (out.find("fingerprint") == std::string::npos || out.find('\n', out.find("fingerprint")) == std::string::npos) {
    const auto n = read(pipe_fd[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  const auto port = capture(out, R"(listening on https://127\.0\.0\.1:(\d+))");
  CHECK(capture(out, R"(fingerprint: sha256:([0-9a-f]{64}))") == capture(reg.out, R"(sha256:([0-9a-f]{64}))"));

  boost::asio::io_context io;
  sync::HttpConfig hc;
  hc.base_url = "https://127.0.0.1:" + port;
  hc.extra_ca_file = (dir / "office-cert.pem").string();
  auto client = sync::HttpClient::create(io, hc);
  REQUIRE(client);
  const std::string body = nlohmann::json{{"code", code}, {"name", "pc"}}.dump();
  auto r = sync::run_blocking(io, (*client)->async_send(sync::HttpRequest(
                                      "POST", "/register/v1/enrol", {{"Content-Type", "application/json"}}, body)));
  REQUIRE(r);
  CHECK(r->status == 201);
  client->reset();

  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  close(pipe_fd[0]);
  // The log never holds the credential the register was given.
  const std::string credential = nlohmann::json::parse(r->body)["credential"];
  std::ifstream log(dir / "office.log");
  std::stringstream s;
  s << log.rdbuf();
  CHECK(s.str().find("office.enrolled") != std::string::npos);
  CHECK(s.str().find(credential.substr(8)) == std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("till-office serve with a Stripe key forwards an uploaded offline card payment to till-stripe-sim") {
  stripesim::ServerOptions so;
  so.sim.rate_limit_test = 0;
  auto sim = stripesim::Server::start(so);
  REQUIRE(sim);
  const auto db = TestCluster::get().fresh_database();
  const auto dir = RunningOffice::make_dir();
  REQUIRE(run_office(db, "migrate").code == 0);
  auto merchant = run_office(db, "merchant add --name Shop --account acct_1TillMerchant00001 --fee 0+100bp");
  const auto store = run_office(db, "store add --merchant " + capture(merchant.out, R"(merchant (mer_\w+))") +
                                        " --name S --currency usd");
  const auto store_id = capture(store.out, R"(store (sto_\w+))");
  auto reg = run_office(db, "--data-dir " + dir.string() + " register add --store " + store_id + " --name T");
  const auto code = capture(reg.out, R"(enrolment code: +(\S+))");

  ServeChild child(db, dir, {"--stripe-url", (*sim)->base_url(), "--partner-id", "pp_partner_till"},
                   so.sim.api_keys.front());
  const auto port = capture(child.out, R"(listening on https://127\.0\.0\.1:(\d+))");
  boost::asio::io_context io;
  sync::HttpConfig hc;
  hc.base_url = "https://127.0.0.1:" + port;
  hc.extra_ca_file = (dir / "office-cert.pem").string();
  auto client = sync::HttpClient::create(io, hc);
  REQUIRE(client);
  auto post = [&](const std::string& path, const std::string& body, const std::string& credential) {
    std::vector<sync::HttpHeader> h = {{"Content-Type", "application/json"}};
    if (!credential.empty()) h.push_back({"Authorization", "Bearer " + credential});
    return sync::run_blocking(io, (*client)->async_send(sync::HttpRequest("POST", path, h, body)));
  };
  auto enrolled = post("/register/v1/enrol", nlohmann::json{{"code", code}, {"name", "pc"}}.dump(), "");
  REQUIRE(enrolled);
  REQUIRE(enrolled->status == 201);
  const auto e = nlohmann::json::parse(enrolled->body);
  const nlohmann::json batch = {
      {"register_id", e["register_id"]},
      {"store_id", store_id},
      {"records",
       {{{"kind", "sale"}, {"id", "s-1"}, {"created_at_ms", 1'790'000'000'000}, {"currency", "usd"},
         {"subtotal", 5000}, {"discount_total", 0}, {"tax_total", 0}, {"tip", 0}, {"total", 5000},
         {"lines", nlohmann::json::array()}},
        {{"kind", "payment"}, {"id", "a-1"}, {"sale_id", "s-1"}, {"tender", "card"}, {"amount", 5000},
         {"currency", "usd"}, {"outcome", "stored_offline"}, {"taken_at_ms", 1'790'000'000'100},
         {"payment_method", "pm_test_visa"}}}}};
  auto synced = post("/register/v1/sync", batch.dump(), e["credential"]);
  REQUIRE(synced);
  CHECK(synced->status == 200);
  client->reset();

  // Wait (on the outcome, with a generous bound) for the office's sender to forward it.
  auto conn = pg::Connection::open(db);
  REQUIRE(conn);
  std::string state;
  for (int i = 0; i < 600 && state != "succeeded"; ++i) {
    auto r = (*conn)->exec("SELECT office_state FROM payments WHERE id = 'a-1'");
    REQUIRE(r);
    state = r->empty() ? "" : (*r)[0].text(0);
    if (state != "succeeded") usleep(50'000);
  }
  CHECK(state == "succeeded");
  const auto ledger = (*sim)->ledger();
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].account == "acct_1TillMerchant00001");
  CHECK(ledger[0].application_fee_amount == 50);
  CHECK(child.stop() == 0);
  // The key reached the log only masked.
  std::ifstream log(dir / "office.log");
  std::stringstream s;
  s << log.rdbuf();
  CHECK(s.str().find(so.sim.api_keys.front()) == std::string::npos);
  CHECK(s.str().find("office.stripe_key") != std::string::npos);
  (*sim)->stop();
  std::filesystem::remove_all(dir);
}

TEST_CASE("till-office serve refuses a Stripe key file readable by others") {
  const auto db = TestCluster::get().fresh_database();
  const auto dir = RunningOffice::make_dir();
  const auto key = dir / "stripe.key";
  { std::ofstream(key) << "sk_test_0123456789abcdef\n"; }
  chmod(key.c_str(), 0644);
  auto r = run_office(db, "--data-dir " + dir.string() + " serve --listen 127.0.0.1:0 --key-file " + key.string());
  CHECK(r.code != 0);
  CHECK(r.out.find("chmod") != std::string::npos);
  CHECK(r.out.find("0123456789abcdef") == std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("till-office conflicts list shows a refused version of a record for review") {
  till::office::test::OfficeDb db;
  auto store = db.add_store();
  auto [who, credential] = db.enrolled_register(store);
  Ingest in(db.pool, db.clock);
  auto sale = [&](std::int64_t total) {
    const nlohmann::json b = {
        {"register_id", who.register_id},
        {"store_id", who.store_id},
        {"records", {{{"kind", "sale"}, {"id", "s-77"}, {"created_at_ms", 1'790'000'000'000}, {"currency", "usd"},
                      {"subtotal", total}, {"discount_total", 0}, {"tax_total", 0}, {"tip", 0}, {"total", total},
                      {"lines", nlohmann::json::array()}}}}};
    auto parsed = parse_batch(b.dump());
    REQUIRE(parsed);
    REQUIRE(in.ingest(who, *parsed));
  };
  CHECK(run_office(db.conninfo, "conflicts list").out.find("0 open conflict") != std::string::npos);
  sale(100);
  sale(999);
  auto r = run_office(db.conninfo, "conflicts list");
  CHECK(r.code == 0);
  CHECK(r.out.find("1 open conflict") != std::string::npos);
  CHECK(r.out.find("sale s-77") != std::string::npos);
  CHECK(r.out.find("\"total\": 999") != std::string::npos);  // jsonb prints with spaces
}
