// Two registers of one shop on one (simulated) Stripe account: each has its own id, each
// PaymentIntent carries its register's id in metadata[register_id], and `till-sync reconcile` of
// each register compares only its own payments, so both reconcile with 0 findings (issue 12: the
// literal reg_1 in every register made each report the other's payments as missing locally).

#include "runtime_harness.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "till/stripesim/server.hpp"

using namespace till;
namespace fs = std::filesystem;
using till::testing::Register;
using till::testing::fresh_dir;
using till::testing::ready;

namespace {

struct Ran {
  int code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// till-sync as a person runs it: a data folder, the simulator's URL, the key in the environment.
Ran till_sync(const fs::path& scratch, const std::vector<std::string>& args) {
  const fs::path out = scratch / "out.txt";
  const fs::path err = scratch / "err.txt";
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(o, STDOUT_FILENO);
    ::dup2(e, STDERR_FILENO);
    ::setenv("STRIPE_API_KEY", stripesim::SimConfig{}.api_keys.front().c_str(), 1);
    ::unsetenv("TILL_DATA_KEY");
    ::unsetenv("TILL_DATA_KEY_FILE");
    ::unsetenv("TILL_DB");
    std::vector<std::string> full{TILL_SYNC_PROGRAM};
    full.insert(full.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : full) argv.push_back(s.data());
    argv.push_back(nullptr);
    ::execv(TILL_SYNC_PROGRAM, argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return Ran{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

std::string utc_day(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

}  // namespace

TEST_CASE("two registers on one Stripe account each reconcile their own payments with 0 findings") {
  auto server = stripesim::Server::start({});
  REQUIRE(server);
  app::SimulatedWorldOptions shared;
  shared.shared_stripe = server->get();
  const auto front_dir = fresh_dir("front");
  const auto back_dir = fresh_dir("back");
  std::string front_id;
  std::string back_id;
  {
    Register front(front_dir, [](app::RuntimeConfig& c) { c.register_name = "Front counter"; }, shared);
    Register back(back_dir, [](app::RuntimeConfig& c) { c.register_name = "Back counter"; }, shared);
    REQUIRE(front.pump_until(ready));
    REQUIRE(back.pump_until(ready));
    front_id = front.runtime().register_id();
    back_id = back.runtime().register_id();
    CHECK(front_id != back_id);
    CHECK(front.runtime().account_id() == back.runtime().account_id());  // one account
    front.sell_one(0);
    back.sell_one(1);
    front.dispatch(pos::NewSale{});
    front.sell_one(2);
  }
  // Stripe holds all three payments on the one account, each with its register's id.
  const auto ledger = (*server)->ledger();
  REQUIRE(ledger.size() == 3);
  int of_front = 0;
  int of_back = 0;
  for (const auto& pi : ledger) {
    REQUIRE(pi.metadata.count("register_id") == 1);
    of_front += pi.metadata.at("register_id") == front_id ? 1 : 0;
    of_back += pi.metadata.at("register_id") == back_id ? 1 : 0;
  }
  CHECK(of_front == 2);
  CHECK(of_back == 1);

  const std::time_t now = std::time(nullptr);
  const std::vector<std::string> range{"reconcile", "--from", utc_day(now - 86'400), "--to", utc_day(now + 86'400)};
  struct Expect {
    fs::path dir;
    std::string id;
    int payments;
  };
  for (const Expect& e : {Expect{front_dir, front_id, 2}, Expect{back_dir, back_id, 1}}) {
    INFO(e.dir.string());
    std::vector<std::string> args{"--data-dir", e.dir.string(), "--api-base", (*server)->base_url(), "--json"};
    args.insert(args.end(), range.begin(), range.end());
    const Ran r = till_sync(e.dir, args);
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    const auto j = nlohmann::json::parse(r.out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    CHECK(j["findings"].empty());
    CHECK(j["local_payments"] == e.payments);
    CHECK(j["remote_payment_intents"] == e.payments);  // the other register's are not counted
    CHECK(j["matched"] == e.payments);
    CHECK(j["registers"] == nlohmann::json::array({e.id}));

    // The human form says which register it reconciled, and `status` names it too.
    std::vector<std::string> text{"--data-dir", e.dir.string(), "--api-base", (*server)->base_url()};
    text.insert(text.end(), range.begin(), range.end());
    const Ran t = till_sync(e.dir, text);
    CHECK(t.code == 0);
    CHECK(t.out.find("(" + e.id + ")") != std::string::npos);
    CHECK(t.out.find("0 finding(s)") != std::string::npos);
    const Ran s = till_sync(e.dir, {"--data-dir", e.dir.string(), "status"});
    CHECK(s.out.find("Register: " + std::string(e.id == front_id ? "Front counter" : "Back counter") + " (" + e.id +
                     ")") != std::string::npos);
  }
  (*server)->stop();
  fs::remove_all(front_dir);
  fs::remove_all(back_dir);
}
