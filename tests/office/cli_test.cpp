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

#include "server_fixture.hpp"

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
