// SDK conformance: Stripe's official Node SDK (pinned by package-lock.json, installed with
// `npm ci` into the build tree at test time) drives an in-process till-stripe-sim; then Till's
// own webhook verifier checks a header made by the SDK's generateTestHeaderString.
//
//   till_stripesim_conformance <source dir with package*.json + conformance.mjs> <work dir>
//                              <path to till-stripe-sim>
//
// The program is started as a child process with flags (keys, account, rate limit off), so its
// command line and its "listening on" line are exercised too.
// Exit 0 pass, 1 fail, 77 skipped (CTest SKIP_RETURN_CODE) only when node or npm is absent.
// A plain main rather than Catch2: the test must be able to report "skipped" to CTest.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "till/base/secret.hpp"
#include "till/sync/webhook.hpp"

namespace fs = std::filesystem;

namespace {

bool have(const char* tool) {
  const std::string cmd = std::string("command -v ") + tool + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

int fail(const std::string& why) {
  std::cerr << "SDK conformance FAILED: " << why << "\n";
  return 1;
}

// till-stripe-sim as a child; stops it (SIGTERM, then waits) when destroyed.
struct SimProcess {
  pid_t pid = -1;
  int port = 0;

  bool start(const std::string& program) {
    int fds[2];
    if (pipe(fds) != 0) return false;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<std::string> args = {program,
                                     "--port",
                                     "0",
                                     "--api-key",
                                     "sk_test_till_conformance_key_0001",
                                     "--account",
                                     "acct_1TillConformance001",
                                     "--rate-limit",
                                     "0",
                                     "--seed",
                                     "11"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      pid = -1;
      return false;
    }
    // First line: "listening on 127.0.0.1:PORT".
    std::string line;
    char c = 0;
    while (read(fds[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    close(fds[0]);
    const std::string prefix = "listening on 127.0.0.1:";
    if (line.rfind(prefix, 0) != 0) return false;
    port = std::atoi(line.c_str() + prefix.size());
    return port > 0;
  }

  ~SimProcess() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      int status = 0;
      waitpid(pid, &status, 0);
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: till_stripesim_conformance <conformance source dir> <work dir> "
                 "<till-stripe-sim>\n";
    return 2;
  }
  if (!have("node") || !have("npm")) {
    std::cout << "SKIPPED: node and npm are needed for the Stripe Node SDK conformance test "
                 "(install Node 20 + npm to run it)\n";
    return 77;
  }
  const fs::path src = argv[1];
  const fs::path work = argv[2];
  std::error_code ec;
  fs::create_directories(work, ec);
  for (const char* f : {"package.json", "package-lock.json", "conformance.mjs"}) {
    fs::copy_file(src / f, work / f, fs::copy_options::overwrite_existing, ec);
    if (ec) return fail(std::string("copy ") + f + ": " + ec.message());
  }
  const std::string install =
      "cd '" + work.string() + "' && npm ci --no-audit --no-fund --loglevel=error >npm-ci.log 2>&1";
  if (std::system(install.c_str()) != 0) {
    return fail("npm ci failed (see " + (work / "npm-ci.log").string() + ")");
  }

  SimProcess sim;  // rate limit off: the script's burst is not what is being tested
  if (!sim.start(argv[3])) return fail(std::string("could not start ") + argv[3]);

  const fs::path result = work / "sdk-signature.json";
  fs::remove(result, ec);
  const std::string run = "cd '" + work.string() + "' && SIM_PORT=" + std::to_string(sim.port) +
                          " SIM_KEY=sk_test_till_conformance_key_0001"
                          " SIM_ACCOUNT=acct_1TillConformance001 RESULT_FILE='" +
                          result.string() + "' node conformance.mjs";
  const int rc = std::system(run.c_str());
  if (rc != 0) return fail("the Node SDK script reported a failure (output above)");

  std::ifstream in(result);
  std::stringstream text;
  text << in.rdbuf();
  const auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) return fail("no result file from the SDK script");
  const std::string payload = j["payload"];
  const std::string header = j["header"];
  const till::Secret secret(j["secret"].get<std::string>());
  const auto at = till::from_unix_ms(j["timestamp"].get<std::int64_t>() * 1000 + 1000);
  if (auto ok = till::sync::verify_signature(header, payload, secret, at); !ok) {
    return fail("Till's verifier rejected the SDK's test header: " + ok.error().describe());
  }
  if (till::sync::verify_signature(header, payload + " ", secret, at)) {
    return fail("Till's verifier accepted an altered payload with the SDK's header");
  }
  std::cout << "Till's verify_signature accepts the SDK's generateTestHeaderString header\n";
  std::cout << "SDK conformance passed\n";
  return 0;
}
