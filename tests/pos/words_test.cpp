// The cashier's words (pos/words.hpp): the glossary lists every string the reducer emits, none of
// them is engineer text, and the reducer writes an attempt's state in one place only.
#include "till/pos/words.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "till/pos/attempt.hpp"

using namespace till::pos;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const fs::path kPos = fs::path(TILL_SOURCE_DIR) / "pos";

}  // namespace

TEST_CASE("the in-doubt line is the attempt machine's in-doubt words and says do not retry the card") {
  const CashierWords w = cashier_words(AttemptState::InDoubt, "outcome_unknown: read response: Connection reset by peer");
  CHECK(std::string(kInDoubtText) == w.headline + ": " + w.advice);
  CHECK_THAT(std::string(kInDoubtText), Catch::StartsWith("Outcome unknown") && Catch::Contains("Do not retry the card"));
  CHECK(std::string(kInDoubtText).find("eclin") == std::string::npos);
}

TEST_CASE("fill puts each argument in its placeholder, in order") {
  CHECK(words::fill(words::kCashTaken, {"USD 5.00", "USD 8.12"}) == "Cash USD 5.00 taken; balance due USD 8.12");
  CHECK(words::fill("{} and {}", {"a"}) == "a and {}");  // a placeholder without an argument stays
  CHECK(words::fill("no placeholder", {"x"}) == "no placeholder");
  CHECK(words::fill("{", {"x"}) == "{");
}

TEST_CASE("the glossary lists every constant of words.hpp, the attempt words and the decline advice") {
  const auto g = words::glossary();
  std::set<std::string> keys;
  std::set<std::string> texts;
  for (const auto& e : g) {
    INFO(e.key);
    CHECK(keys.insert(e.key).second);  // keys are unique
    CHECK_FALSE(e.text.empty());
    texts.insert(e.text);
  }
  // Every `inline constexpr std::string_view kName =` of the header has its row (words.cpp).
  const std::string header = read(kPos / "include/till/pos/words.hpp");
  const std::regex constant(R"(inline constexpr std::string_view k\w+ =)");
  const auto n = std::distance(std::sregex_iterator(header.begin(), header.end(), constant), std::sregex_iterator());
  std::size_t fixed = 0;
  for (const auto& e : g) {
    if (e.key.find('.') == std::string::npos && e.key != "in_doubt") ++fixed;
  }
  CHECK(static_cast<long>(fixed) == n);
  CHECK(keys.count("in_doubt") == 1);
  for (AttemptState s : {AttemptState::Collecting, AttemptState::StoredOffline, AttemptState::Submitting,
                         AttemptState::InDoubt, AttemptState::Approved, AttemptState::Declined,
                         AttemptState::DeclinedAfterForward, AttemptState::Canceled}) {
    const CashierWords w = cashier_words(s);
    CHECK(texts.count(w.headline) == 1);
    CHECK(texts.count(w.advice) == 1);
  }
  // The words that depend on how an attempt was canceled are listed too.
  CHECK(keys.count("attempt.canceled.reader_failed.headline") == 1);
  CHECK(keys.count("attempt.canceled.offline_refused.advice") == 1);
  CHECK(keys.count("attempt.canceled.canceled.headline") == 1);
  CHECK(texts.count(decline_advice("insufficient_funds")) == 1);
  CHECK(texts.count(decline_advice("some_new_code")) == 1);
}

TEST_CASE("no cashier word is engineer text: no codes, ids or transport words") {
  const std::regex code(R"([a-z0-9]+_[a-z0-9_]+)");  // insufficient_funds, outcome_unknown, pi_...
  for (const auto& e : words::glossary()) {
    INFO(e.key << ": " << e.text);
    CHECK_FALSE(std::regex_search(e.text, code));
    for (const char* engineer : {"pi_", "acct_", "req_", "http", "HTTP", "errno", "sqlite", "timeout", "exception"}) {
      CHECK(e.text.find(engineer) == std::string::npos);
    }
    // Only the words for a decline say declined; never those for an unknown outcome.
    if (e.key.rfind("attempt.in_doubt", 0) == 0 || e.key == "in_doubt") {
      CHECK(e.text.find("eclin") == std::string::npos);
    }
  }
}

TEST_CASE("the reducer writes an attempt's state in one place, next_state's answer, besides creating one") {
  // Any `x.state = AttemptState::...` or `x->state = ...` in the reducer must be the single
  // write in Reducer::apply or one of the two creations (a card attempt collecting, cash
  // approved), each marked in the code. Sale states are not attempts.
  const std::regex write(R"((\.|->)state\s*=[^=])");
  int applies = 0, creations = 0;
  for (const auto& f : fs::directory_iterator(kPos / "src/checkout")) {
    std::istringstream lines(read(f.path()));
    std::string line;
    int number = 0;
    while (std::getline(lines, line)) {
      ++number;
      if (!std::regex_search(line, write) || line.find("SaleState::") != std::string::npos) continue;
      INFO(f.path().filename().string() << ":" << number << ": " << line);
      const bool apply = line.find("// the one write of an attempt's state") != std::string::npos;
      const bool creation = line.find("// creation:") != std::string::npos;
      CHECK((apply || creation));
      applies += apply;
      creations += creation;
    }
  }
  CHECK(applies == 1);
  CHECK(creations == 2);
}
