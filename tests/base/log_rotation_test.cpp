// The log file rotates by size and keeps a bounded number of files (stripe.md §10: rotated logs
// with request ids). What rotation must guarantee: no file grows past the limit, at most
// max_files old files stay beside the current one, every kept line is whole, and the files read
// oldest to newest give the latest lines in order with none missing between them.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>
#include <unistd.h>

#include "till/base/log.hpp"

using namespace till;
namespace fs = std::filesystem;

TEST_CASE("the log rotates at its size limit, keeps the configured number of files, and no kept line is cut") {
  const fs::path dir = fs::temp_directory_path() / ("till_log_rotation_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path file = dir / "till.log";
  constexpr std::size_t kMaxBytes = 4096;
  constexpr std::size_t kMaxFiles = 3;
  REQUIRE(log::init({file.string(), kMaxBytes, kMaxFiles, log::Level::Info, false}));
  constexpr int kLines = 1000;  // about 150 bytes each: far more than four files hold
  for (int i = 0; i < kLines; ++i) {
    log::info("rotation.line", {{"n", i}, {"request_id", "req_" + std::to_string(i)}, {"pad", std::string(60, 'x')}});
  }
  log::shutdown();

  // spdlog's names: till.log (current), till.1.log (newest rotated) ... till.<max_files>.log.
  std::vector<fs::path> files;
  for (std::size_t k = kMaxFiles; k >= 1; --k) files.push_back(dir / ("till." + std::to_string(k) + ".log"));
  files.push_back(file);
  for (const auto& f : files) {
    INFO(f);
    REQUIRE(fs::exists(f));
    CHECK(fs::file_size(f) > 0);
    CHECK(fs::file_size(f) <= kMaxBytes);
  }
  CHECK_FALSE(fs::exists(dir / ("till." + std::to_string(kMaxFiles + 1) + ".log")));

  const std::regex line_shape(R"re(^\{"ts":"[^"]+",.*"event":"rotation\.line","n":([0-9]+),"request_id":"req_([0-9]+)",.*\}$)re");
  std::vector<int> seen;
  for (const auto& f : files) {
    std::ifstream in(f);
    for (std::string l; std::getline(in, l);) {
      std::smatch m;
      INFO(f << ": " << l);
      REQUIRE(std::regex_match(l, m, line_shape));  // a whole line, with its request id
      CHECK(m[1].str() == m[2].str());
      seen.push_back(std::stoi(m[1].str()));
    }
  }
  REQUIRE(seen.size() > 4);
  CHECK(seen.back() == kLines - 1);  // the newest line is in the current file
  CHECK(seen.front() > 0);           // the oldest went: the disk use is bounded
  for (std::size_t i = 1; i < seen.size(); ++i) {
    INFO("line " << i);
    CHECK(seen[i] == seen[i - 1] + 1);  // oldest to newest, none missing between the kept ones
  }
  fs::remove_all(dir);
}
