// One owner for the attempt state (issue 12): no code but the store's attempt repository writes
// the state column of payment_attempts. Everything else sends an AttemptEvent
// (pos/attempt.hpp) through store::AttemptRepository::update, which asks pos::next_state.
//
// The check reads the source tree (TILL_SOURCE_DIR) the way a reviewer's grep would: SQL text is
// joined across C++ string-literal breaks, then searched for an INSERT (or REPLACE) into
// payment_attempts, or an UPDATE of payment_attempts whose SET list names `state`.

#include <catch2/catch.hpp>
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const std::string kTable = std::string("payment") + "_attempts";  // split: this file must not match itself

// The files allowed to write the column, each with its reason.
const std::set<std::string> kAllowed = {
    "pos/store/src/attempts.cpp",         // the attempt repository: the one writer
    "tests/store/migrations_test.cpp",    // builds databases as OLDER builds left them (raw fixture rows)
};

// Lower-case, string-literal breaks ("...SET "\n   "state = ?") joined, whitespace collapsed.
std::string normalized(const std::string& text) {
  std::string joined = std::regex_replace(text, std::regex("\"\\s*\\n\\s*\""), "");
  std::string out;
  out.reserve(joined.size());
  bool space = false;
  for (char ch : joined) {
    const bool ws = std::isspace(static_cast<unsigned char>(ch)) != 0;
    if (ws) {
      if (!space) out += ' ';
      space = true;
      continue;
    }
    space = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  return out;
}

// The writes of the attempt state that `text` contains (empty: none).
std::vector<std::string> state_writes(const std::string& text) {
  const std::string s = normalized(text);
  std::vector<std::string> found;
  const std::regex insert("(insert( or (replace|ignore|abort|fail|rollback))?|replace) into " + kTable + "\\b");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), insert); it != std::sregex_iterator(); ++it) {
    found.push_back(it->str());
  }
  // UPDATE payment_attempts SET ... up to WHERE (or the end of the statement): `state` as a
  // column of its own (not card_state, not states).
  const std::regex update("update( or [a-z]+)? " + kTable + " set ([^;]*?)( where |;|\"\\)|$)");
  const std::regex state_column("(^|[^a-z_])state\\s*=");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), update); it != std::sregex_iterator(); ++it) {
    const std::string set_list = (*it)[2].str();
    if (std::regex_search(set_list, state_column)) found.push_back(it->str().substr(0, 80));
  }
  return found;
}

bool scanned(const fs::path& p) {
  static const std::set<std::string> kExt = {".cpp", ".hpp", ".h", ".c", ".cc", ".sql", ".py", ".sh", ".in"};
  return kExt.count(p.extension().string()) != 0;
}

bool skipped_dir(const std::string& name) {
  return name == ".git" || name.starts_with("build") || name == "third_party" || name == "_deps";
}

}  // namespace

TEST_CASE("the state-write matcher finds the SQL that writes an attempt's state and nothing else") {
  const std::string t = kTable;
  CHECK(state_writes("INSERT INTO " + t + " (id, state) VALUES (?, ?)").size() == 1);
  CHECK(state_writes("insert or replace into " + t + " values (1)").size() == 1);
  CHECK(state_writes("\"UPDATE " + t + " SET offline = ?, \"\n   \"state = ? WHERE id = ?\"").size() == 1);
  CHECK(state_writes("UPDATE " + t + " SET state='approved'").size() == 1);
  CHECK(state_writes("UPDATE " + t + " SET card_brand = ? WHERE state = 'approved'").empty());
  CHECK(state_writes("UPDATE " + t + " SET card_state = ? WHERE id = ?").empty());
  CHECK(state_writes("SELECT state FROM " + t + " WHERE id = ?").empty());
  CHECK(state_writes("INSERT INTO attention_items SELECT * FROM " + t).empty());
}

TEST_CASE("nothing but the store's attempt repository writes the state column of payment_attempts") {
  const fs::path root = TILL_SOURCE_DIR;
  REQUIRE(fs::exists(root / "pos/store/src/attempts.cpp"));
  std::vector<std::string> offenders;
  std::set<std::string> writers;
  int files = 0;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_directory() && skipped_dir(it->path().filename().string())) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || !scanned(it->path())) continue;
    std::ifstream in(it->path(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ++files;
    const auto writes = state_writes(text);
    if (writes.empty()) continue;
    const std::string rel = fs::relative(it->path(), root).generic_string();
    writers.insert(rel);
    if (kAllowed.count(rel) == 0) {
      for (const auto& w : writes) offenders.push_back(rel + ": " + w);
    }
  }
  INFO("scanned " << files << " files");
  CHECK(files > 100);
  // The repository itself is found: the scan sees the one writer it must see.
  CHECK(writers.count("pos/store/src/attempts.cpp") == 1);
  for (const auto& o : offenders) UNSCOPED_INFO(o);
  CHECK(offenders.empty());
}
