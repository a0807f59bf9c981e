#pragma once
// Structured logging facade. Lines are JSON objects, one per line, written to a size-rotated
// file (spdlog behind this header). Every key and text value of a line passes through
// redact_secrets() before it is escaped.
//
//   till::log::info("stripe.request", {{"method", "POST"}, {"status", 200}, {"request_id", rid}});
//
// Thread-safe. If logging was never initialised, lines go to stderr (tests, tools). In a file,
// warnings and errors are flushed at once; info and debug lines within 200 ms (batched, so a
// busy client pays no write per line), and shutdown() flushes everything.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "till/base/result.hpp"

namespace till::log {

enum class Level { Debug, Info, Warn, Error };

// A field's value. Text is only viewed, not copied, unless it is a temporary std::string: Fields
// live for one call of write(), within the caller's full expression, so the text outlives them.
struct Value {
  std::variant<std::int64_t, bool, std::string_view, std::string> v;
  Value(std::int64_t x) : v(x) {}
  Value(int x) : v(static_cast<std::int64_t>(x)) {}
  Value(unsigned x) : v(static_cast<std::int64_t>(x)) {}
  Value(long long unsigned x) : v(static_cast<std::int64_t>(x)) {}
  Value(bool x) : v(x) {}
  Value(std::string&& x) : v(std::move(x)) {}
  Value(const std::string& x) : v(std::string_view(x)) {}
  Value(std::string_view x) : v(x) {}
  Value(const char* x) : v(std::string_view(x)) {}
  std::string_view text() const {
    if (const auto* s = std::get_if<std::string>(&v)) return *s;
    return std::get<std::string_view>(v);
  }
};
struct Field {
  std::string_view key;
  Value value;
};
using Fields = std::initializer_list<Field>;

struct Config {
  std::string path;                       // empty: stderr only
  std::size_t max_bytes = 10 * 1024 * 1024;
  std::size_t max_files = 5;
  Level level = Level::Info;
  bool also_stderr = false;
};

// Call once at start-up (main thread). Fails if the log file cannot be opened.
Status init(const Config& config);
void shutdown();  // flushes; safe to call twice
void set_level(Level level);
// Text fields written into every later line after the event's own, e.g. the register's id and name
// (the kiosk's main sets them once the register's identity is known). Replaces the previous set;
// an empty list clears it. Values pass through redact_secrets() too. Thread-safe.
void set_common_fields(std::initializer_list<std::pair<std::string_view, std::string_view>> fields);

void write(Level level, std::string_view event, Fields fields = {});
inline void debug(std::string_view e, Fields f = {}) { write(Level::Debug, e, f); }
inline void info(std::string_view e, Fields f = {}) { write(Level::Info, e, f); }
inline void warn(std::string_view e, Fields f = {}) { write(Level::Warn, e, f); }
inline void error(std::string_view e, Fields f = {}) { write(Level::Error, e, f); }

// The JSON line that write() would emit (without timestamp), for tests of formatting.
std::string format_line(Level level, std::string_view event, Fields fields);
std::string json_escape(std::string_view s);

}  // namespace till::log
