#include "till/base/data_dir.hpp"

#include <cstdlib>

namespace till {

std::string_view to_string(DataDir::Source source) noexcept {
  switch (source) {
    case DataDir::Source::Flag: return "--data-dir";
    case DataDir::Source::Environment: return "TILL_DATA_DIR";
    case DataDir::Source::XdgDataHome: return "XDG_DATA_HOME";
    case DataDir::Source::Home: return "HOME";
  }
  return "HOME";
}

Result<DataDir> resolve_data_dir(std::string_view flag, const GetEnv& getenv) {
  const auto env = [&getenv](const char* name) -> std::string {
    const char* v = getenv ? getenv(name) : std::getenv(name);
    return v != nullptr ? std::string(v) : std::string();
  };
  if (!flag.empty()) return DataDir{std::string(flag), DataDir::Source::Flag};
  if (std::string dir = env("TILL_DATA_DIR"); !dir.empty()) return DataDir{std::move(dir), DataDir::Source::Environment};
  if (std::string xdg = env("XDG_DATA_HOME"); !xdg.empty() && xdg.front() == '/') {
    if (xdg.back() != '/') xdg += '/';
    return DataDir{xdg + "till", DataDir::Source::XdgDataHome};
  }
  if (std::string home = env("HOME"); !home.empty()) {
    if (home.back() != '/') home += '/';
    return DataDir{home + ".local/share/till", DataDir::Source::Home};
  }
  return fail(ErrorKind::FailedPrecondition,
              "no data folder: pass --data-dir DIR or set TILL_DATA_DIR (neither XDG_DATA_HOME nor HOME is set)");
}

}  // namespace till
