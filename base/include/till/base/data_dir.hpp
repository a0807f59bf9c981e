#pragma once
// Where a program keeps its data (the register's database, log, receipts, data key): one rule for
// every Till program, in this order:
//
//   1. the command line's --data-dir DIR (or whatever folder flag the program takes);
//   2. the environment variable TILL_DATA_DIR;
//   3. the XDG base directory default: $XDG_DATA_HOME/till, else $HOME/.local/share/till.
//
// An empty value counts as unset at every step. XDG_DATA_HOME is ignored unless it is an absolute
// path (the XDG Base Directory Specification says relative values are invalid). Nothing is created
// here: the caller creates the folder when it writes.
//
// Pure apart from the environment it is handed; any thread.

#include <functional>
#include <string>
#include <string_view>

#include "till/base/result.hpp"

namespace till {

struct DataDir {
  enum class Source {
    Flag,         // --data-dir
    Environment,  // TILL_DATA_DIR
    XdgDataHome,  // $XDG_DATA_HOME/till
    Home,         // $HOME/.local/share/till
  };
  std::string path;
  Source source = Source::Home;
};
std::string_view to_string(DataDir::Source source) noexcept;  // "--data-dir", "TILL_DATA_DIR", ...

// Reads one environment variable; nullptr when unset. The default is std::getenv.
using GetEnv = std::function<const char*(const char*)>;

// The data folder by the rule above. FailedPrecondition (naming --data-dir and TILL_DATA_DIR) when
// no step gives one: no flag, no TILL_DATA_DIR, no usable XDG_DATA_HOME and no HOME.
Result<DataDir> resolve_data_dir(std::string_view flag, const GetEnv& getenv = {});

}  // namespace till
