#include "till/base/log.hpp"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <vector>

#include "till/base/secret.hpp"

namespace till::log {
namespace {

std::mutex g_mutex;
std::shared_ptr<spdlog::logger> g_logger;  // guarded by g_mutex for replacement
Level g_level = Level::Info;
std::string g_common;  // ,"key":"value"... appended to every line; guarded by g_mutex

std::string_view level_name(Level l) {
  switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
  }
  return "info";
}

spdlog::level::level_enum to_spd(Level l) {
  switch (l) {
    case Level::Debug: return spdlog::level::debug;
    case Level::Info: return spdlog::level::info;
    case Level::Warn: return spdlog::level::warn;
    case Level::Error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out;
}

std::string format_line(Level level, std::string_view event, Fields fields) {
  std::string line = "{\"level\":\"";
  line += level_name(level);
  line += "\",\"event\":\"";
  line += json_escape(event);
  line += '"';
  for (const auto& f : fields) {
    line += ",\"";
    line += json_escape(f.key);
    line += "\":";
    if (const auto* i = std::get_if<std::int64_t>(&f.value.v)) {
      line += std::to_string(*i);
    } else if (const auto* b = std::get_if<bool>(&f.value.v)) {
      line += *b ? "true" : "false";
    } else {
      line += '"';
      line += json_escape(std::get<std::string>(f.value.v));
      line += '"';
    }
  }
  line += '}';
  return redact_secrets(line);
}

Status init(const Config& config) {
  std::vector<spdlog::sink_ptr> sinks;
  try {
    if (!config.path.empty()) {
      sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
          config.path, config.max_bytes, config.max_files));
    }
    if (config.also_stderr || config.path.empty()) {
      sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
    }
  } catch (const spdlog::spdlog_ex& e) {
    return fail(ErrorKind::Unavailable, std::string("cannot open log file: ") + e.what());
  }
  auto logger = std::make_shared<spdlog::logger>("till", sinks.begin(), sinks.end());
  // The timestamp is the only thing spdlog adds; the rest of the JSON object is ours.
  logger->set_pattern("{\"ts\":\"%Y-%m-%dT%H:%M:%S.%eZ\",%v", spdlog::pattern_time_type::utc);
  logger->set_level(to_spd(config.level));
  logger->flush_on(spdlog::level::info);
  std::lock_guard lock(g_mutex);
  g_logger = std::move(logger);
  g_level = config.level;
  return ok();
}

void shutdown() {
  std::lock_guard lock(g_mutex);
  if (g_logger) g_logger->flush();
  g_logger.reset();
}

void set_level(Level level) {
  std::lock_guard lock(g_mutex);
  g_level = level;
  if (g_logger) g_logger->set_level(to_spd(level));
}

void set_common_fields(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  std::string common;
  for (const auto& [key, value] : fields) {
    common += ",\"" + json_escape(key) + "\":\"" + json_escape(value) + "\"";
  }
  common = redact_secrets(common);
  std::lock_guard lock(g_mutex);
  g_common = std::move(common);
}

void write(Level level, std::string_view event, Fields fields) {
  std::shared_ptr<spdlog::logger> logger;
  std::string common;
  {
    std::lock_guard lock(g_mutex);
    if (level < g_level) return;
    logger = g_logger;
    common = g_common;
  }
  std::string line = format_line(level, event, fields);
  if (!common.empty()) line.insert(line.size() - 1, common);  // before the closing brace
  if (logger) {
    // Drop the leading '{' because the pattern already opened the object.
    logger->log(to_spd(level), std::string_view(line).substr(1));
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

}  // namespace till::log
