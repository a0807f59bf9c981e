#include "till/base/log.hpp"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "till/base/secret.hpp"

namespace till::log {
namespace {

std::mutex g_mutex;
std::shared_ptr<spdlog::logger> g_logger;  // guarded by g_mutex for replacement
Level g_level = Level::Info;
std::string g_common;  // ,"key":"value"... appended to every line; guarded by g_mutex

// Info and debug lines reach the file in batches: this thread flushes the logger every
// kFlushEvery, so a busy Stripe client does not pay a write() system call per call. Warnings and
// errors are flushed as they are written; shutdown() flushes the rest. A crash can lose at most
// the last kFlushEvery of info lines, never a warning.
constexpr auto kFlushEvery = std::chrono::milliseconds(200);

class Flusher {
 public:
  ~Flusher() { stop(); }
  void start(std::shared_ptr<spdlog::logger> logger) {
    stop();
    stopping_ = false;
    thread_ = std::thread([this, logger = std::move(logger)] {
      std::unique_lock lock(mutex_);
      while (!cv_.wait_for(lock, kFlushEvery, [this] { return stopping_; })) logger->flush();
    });
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};
Flusher g_flusher;  // after g_logger: destroyed (joined) first

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

// Appends `s` JSON-escaped, copying runs that need no escape in one go.
void append_escaped(std::string& out, std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    static constexpr auto kPlain = [] {
      std::array<bool, 256> t{};
      for (int c = 0x20; c < 256; ++c) t[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
      return t;
    }();
    std::size_t run = i;
    while (run < s.size() && kPlain[static_cast<unsigned char>(s[run])]) ++run;
    out.append(s, i, run - i);
    if (run >= s.size()) break;
    const auto c = static_cast<unsigned char>(s[run]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      }
    }
    i = run + 1;
  }
}

}  // namespace

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  append_escaped(out, s);
  return out;
}

// Appends `text` with its secrets masked (redact_secrets) and then JSON-escaped. Masking each
// text before escaping it, rather than the finished line, reads only the text that can hold a
// secret and also catches one right after an escaped character ("\nsk_live_..." escapes to
// "\\nsk_live_...", where the 'n' would hide the token boundary).
void append_text(std::string& line, std::string_view text) {
  if (!has_secret(text)) {
    append_escaped(line, text);
  } else {
    append_escaped(line, redact_secrets(text));
  }
}

std::string format_line(Level level, std::string_view event, Fields fields) {
  std::string line;
  line.reserve(512);
  line += "{\"level\":\"";
  line += level_name(level);
  line += "\",\"event\":\"";
  append_text(line, event);
  line += '"';
  for (const auto& f : fields) {
    line += ",\"";
    append_text(line, f.key);
    line += "\":";
    if (const auto* i = std::get_if<std::int64_t>(&f.value.v)) {
      char buf[24];
      const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *i);
      (void)ec;
      line.append(buf, end);
    } else if (const auto* b = std::get_if<bool>(&f.value.v)) {
      line += *b ? "true" : "false";
    } else {
      line += '"';
      append_text(line, f.value.text());
      line += '"';
    }
  }
  line += '}';
  return line;
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
  logger->flush_on(spdlog::level::warn);
  g_flusher.start(logger);
  std::lock_guard lock(g_mutex);
  g_logger = std::move(logger);
  g_level = config.level;
  return ok();
}

void shutdown() {
  g_flusher.stop();
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
