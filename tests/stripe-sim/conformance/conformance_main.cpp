// SDK conformance: Stripe's official Node SDK (pinned by package-lock.json, installed with
// `npm ci` into the build tree at test time) drives an in-process till-stripe-sim; then Till's
// own webhook verifier checks a header made by the SDK's generateTestHeaderString.
//
//   till_stripesim_conformance <source dir with package*.json + conformance.mjs> <work dir>
//
// Exit 0 pass, 1 fail, 77 skipped (CTest SKIP_RETURN_CODE) only when node or npm is absent.
// A plain main rather than Catch2: the test must be able to report "skipped" to CTest.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "till/base/secret.hpp"
#include "till/stripesim/server.hpp"
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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: till_stripesim_conformance <conformance source dir> <work dir>\n";
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

  till::stripesim::ServerOptions options;
  options.sim.api_keys = {"sk_test_till_conformance_key_0001"};
  options.sim.connected_accounts = {"acct_1TillConformance001"};
  options.sim.rate_limit_test = 0;  // the script's burst is not what is being tested
  auto server = till::stripesim::Server::start(options);
  if (!server) return fail(server.error().describe());

  const fs::path result = work / "sdk-signature.json";
  fs::remove(result, ec);
  const std::string run = "cd '" + work.string() + "' && SIM_PORT=" +
                          std::to_string((*server)->port()) +
                          " SIM_KEY=sk_test_till_conformance_key_0001"
                          " SIM_ACCOUNT=acct_1TillConformance001 RESULT_FILE='" +
                          result.string() + "' node conformance.mjs";
  const int rc = std::system(run.c_str());
  (*server)->stop();
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
