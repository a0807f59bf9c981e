// The one data folder rule (base/data_dir.hpp): --data-dir, else TILL_DATA_DIR, else
// $XDG_DATA_HOME/till, else ~/.local/share/till. Every program resolves its folder through it.

#include "till/base/data_dir.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <string>

using namespace till;

namespace {

// An environment of the test's own (the process environment is never read or changed).
GetEnv env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

const std::map<std::string, std::string> kEverything{
    {"TILL_DATA_DIR", "/srv/till-env"}, {"XDG_DATA_HOME", "/home/ada/.data"}, {"HOME", "/home/ada"}};

}  // namespace

TEST_CASE("the --data-dir flag wins over TILL_DATA_DIR, XDG_DATA_HOME and HOME") {
  auto d = resolve_data_dir("/mnt/register", env(kEverything));
  REQUIRE(d);
  CHECK(d->path == "/mnt/register");
  CHECK(d->source == DataDir::Source::Flag);
}

TEST_CASE("without the flag TILL_DATA_DIR wins over the XDG default") {
  auto d = resolve_data_dir("", env(kEverything));
  REQUIRE(d);
  CHECK(d->path == "/srv/till-env");
  CHECK(d->source == DataDir::Source::Environment);
  CHECK(to_string(d->source) == "TILL_DATA_DIR");
}

TEST_CASE("without the flag and TILL_DATA_DIR the folder is XDG_DATA_HOME/till") {
  auto vars = kEverything;
  vars.erase("TILL_DATA_DIR");
  auto d = resolve_data_dir("", env(vars));
  REQUIRE(d);
  CHECK(d->path == "/home/ada/.data/till");
  CHECK(d->source == DataDir::Source::XdgDataHome);
  vars["XDG_DATA_HOME"] = "/home/ada/.data/";  // a trailing slash gives no double slash
  CHECK(resolve_data_dir("", env(vars))->path == "/home/ada/.data/till");
}

TEST_CASE("with no XDG_DATA_HOME the folder is HOME/.local/share/till") {
  auto d = resolve_data_dir("", env({{"HOME", "/home/ada"}}));
  REQUIRE(d);
  CHECK(d->path == "/home/ada/.local/share/till");
  CHECK(d->source == DataDir::Source::Home);
}

TEST_CASE("empty values count as unset and a relative XDG_DATA_HOME is ignored") {
  auto d = resolve_data_dir("", env({{"TILL_DATA_DIR", ""}, {"XDG_DATA_HOME", "relative/data"}, {"HOME", "/home/ada"}}));
  REQUIRE(d);
  CHECK(d->path == "/home/ada/.local/share/till");
  CHECK(d->source == DataDir::Source::Home);
  auto e = resolve_data_dir("", env({{"TILL_DATA_DIR", ""}, {"XDG_DATA_HOME", ""}, {"HOME", "/root"}}));
  REQUIRE(e);
  CHECK(e->path == "/root/.local/share/till");
}

TEST_CASE("with nothing to go on the rule fails and names the two ways to choose a folder") {
  auto d = resolve_data_dir("", env({}));
  REQUIRE_FALSE(d);
  CHECK(d.error().kind == ErrorKind::FailedPrecondition);
  CHECK(d.error().message.find("--data-dir") != std::string::npos);
  CHECK(d.error().message.find("TILL_DATA_DIR") != std::string::npos);
}
