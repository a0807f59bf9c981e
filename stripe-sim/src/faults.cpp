// The spelling of faults on the command line and the control endpoint (config.hpp).

#include <stdexcept>
#include <vector>

#include "till/stripesim/config.hpp"

namespace till::stripesim {

std::string_view to_string(FaultKind kind) noexcept {
  switch (kind) {
    case FaultKind::Unavailable:
      return "unavailable";
    case FaultKind::ServerError:
      return "server_error";
    case FaultKind::RateLimit:
      return "rate_limit";
    case FaultKind::LockTimeout:
      return "lock_timeout";
    case FaultKind::Latency:
      return "latency";
    case FaultKind::ResetBeforeRead:
      return "reset";
    case FaultKind::LostAfterCommit:
      return "lost_after_commit";
  }
  return "unknown";
}

Result<FaultSpec> parse_fault(std::string_view spec) {
  std::vector<std::string_view> parts;
  while (true) {
    const auto colon = spec.find(':');
    parts.push_back(spec.substr(0, colon));
    if (colon == std::string_view::npos) break;
    spec.remove_prefix(colon + 1);
  }
  FaultSpec f;
  const std::string_view kind = parts.front();
  if (kind == "unavailable" || kind == "5xx" || kind == "503") {
    f.kind = FaultKind::Unavailable;
  } else if (kind == "server_error" || kind == "500") {
    f.kind = FaultKind::ServerError;
  } else if (kind == "rate_limit" || kind == "429") {
    f.kind = FaultKind::RateLimit;
  } else if (kind == "lock_timeout") {
    f.kind = FaultKind::LockTimeout;
  } else if (kind == "latency") {
    f.kind = FaultKind::Latency;
  } else if (kind == "reset") {
    f.kind = FaultKind::ResetBeforeRead;
  } else if (kind == "lost_after_commit" || kind == "lost") {
    f.kind = FaultKind::LostAfterCommit;
  } else {
    return fail(ErrorKind::InvalidArgument, "unknown fault kind '" + std::string(kind) + "'");
  }
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string_view p = parts[i];
    if (p == "post") {
      f.post_only = true;
      continue;
    }
    const auto eq = p.find('=');
    if (eq == std::string_view::npos) {
      return fail(ErrorKind::InvalidArgument, "fault option without '=': " + std::string(p));
    }
    const std::string_view key = p.substr(0, eq);
    const std::string value(p.substr(eq + 1));
    try {
      std::size_t used = 0;
      if (key == "p") {
        f.probability = std::stod(value, &used);
        if (f.probability < 0 || f.probability > 1) throw std::out_of_range("p");
      } else if (key == "n") {
        f.nth = std::stoull(value, &used);
      } else if (key == "ms") {
        f.latency = std::chrono::milliseconds(std::stoll(value, &used));
      } else {
        return fail(ErrorKind::InvalidArgument, "unknown fault option " + std::string(key));
      }
      if (used != value.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      return fail(ErrorKind::InvalidArgument, "bad fault option value: " + std::string(p));
    }
  }
  if (f.kind == FaultKind::Latency && f.latency.count() <= 0) {
    return fail(ErrorKind::InvalidArgument, "latency needs ms=N");
  }
  return f;
}

}  // namespace till::stripesim
