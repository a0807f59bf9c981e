#include "till/base/log.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>
#include <unistd.h>

using namespace till;

TEST_CASE("a log line is a JSON object with escaped fields") {
  const std::string line = log::format_line(log::Level::Info, "stripe.request",
                                            {{"method", "POST"}, {"status", 200}, {"replayed", true},
                                             {"note", "a \"quoted\"\nline"}});
  CHECK(line ==
        R"({"level":"info","event":"stripe.request","method":"POST","status":200,"replayed":true,"note":"a \"quoted\"\nline"})");
}

TEST_CASE("every character JSON needs escaped is escaped, the rest is copied as it is") {
  const std::string raw = std::string("tab\tcr\rnl\nq\"bs\\ nul") + '\0' + "\x01\x1f\x7f é end";
  CHECK(log::json_escape(raw) == "tab\\tcr\\rnl\\nq\\\"bs\\\\ nul\\u0000\\u0001\\u001f\x7f é end");
  CHECK(log::json_escape("") == "");
  CHECK(log::format_line(log::Level::Warn, "e\"v", {{"k\n", raw}, {"n", std::int64_t{-9223372036854775807 - 1}}}) ==
        "{\"level\":\"warn\",\"event\":\"e\\\"v\",\"k\\n\":\"" + log::json_escape(raw) +
            "\",\"n\":-9223372036854775808}");
}

TEST_CASE("a secret is masked in keys and values, also right after a character that is escaped") {
  const std::string line = log::format_line(
      log::Level::Info, "e", {{"note", "line\nsk_live_" "abcdefghijklmnopqrst9999"}, {"whsec_" "keykeykeykeykey1", 1},
                              {"cs", "pi_3Abc_secret_VerySecretValue"}});
  CHECK(line.find("abcdefghijklmnop") == std::string::npos);
  CHECK(line.find("keykeykeykey") == std::string::npos);
  CHECK(line.find("VerySecretValue") == std::string::npos);
  CHECK(line.find("line\\nsk_live_...9999") != std::string::npos);
  CHECK(line.find("pi_3Abc_secret_****") != std::string::npos);
}

TEST_CASE("secrets planted in log fields never reach the log file") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("till_log_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "till.log";
  REQUIRE(log::init({file.string(), 1 << 20, 2, log::Level::Debug, false}));
  log::info("planted", {{"api_key", "sk_test_" "PLANTEDPLANTEDPLANTED1234"},
                        {"webhook", "whsec_" "PLANTEDPLANTEDPLANTED5678"}});
  log::debug("request", {{"request_id", "req_abc"}});
  log::shutdown();
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string content = ss.str();
  CHECK(content.find("PLANTED") == std::string::npos);
  CHECK(content.find("sk_test_...1234") != std::string::npos);
  CHECK(content.find("\"request_id\":\"req_abc\"") != std::string::npos);
  CHECK(content.find("{\"ts\":\"") == 0);
  fs::remove_all(dir);
}

TEST_CASE("common fields such as the register's id go into every later line until cleared") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("till_log_common_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "till.log";
  REQUIRE(log::init({file.string(), 1 << 20, 2, log::Level::Info, false}));
  log::info("before", {});
  log::set_common_fields({{"register", "reg_0123abcd"}, {"register_name", "Front \"counter\""}});
  log::info("sale.saved", {{"sale", "s-1"}});
  log::set_common_fields({});
  log::info("after", {});
  log::shutdown();
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].find("register") == std::string::npos);
  CHECK(lines[1].find(R"("event":"sale.saved","sale":"s-1","register":"reg_0123abcd","register_name":"Front \"counter\""})") !=
        std::string::npos);
  CHECK(lines[2].find("register") == std::string::npos);
  fs::remove_all(dir);
}
