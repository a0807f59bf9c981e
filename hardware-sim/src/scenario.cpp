#include "till/hwsim/scenario.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace till::hwsim {
namespace {

using nlohmann::json;

struct Ctx {
  std::string source;
  std::string error;
  bool fail(const std::string& path, const std::string& msg) {
    if (error.empty()) error = source + ": " + path + ": " + msg;
    return false;
  }
};

bool only_keys(Ctx& cx, const json& obj, const std::string& path, std::initializer_list<const char*> keys) {
  std::set<std::string> allowed(keys.begin(), keys.end());
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (!allowed.count(it.key())) return cx.fail(path, "unknown key \"" + it.key() + "\"");
  return true;
}

bool get_string(Ctx& cx, const json& obj, const std::string& path, const char* key, std::string& out) {
  if (!obj.contains(key)) return true;
  if (!obj[key].is_string()) return cx.fail(path + "." + key, "must be a string");
  out = obj[key].get<std::string>();
  return true;
}

bool get_bool(Ctx& cx, const json& obj, const std::string& path, const char* key, bool& out) {
  if (!obj.contains(key)) return true;
  if (!obj[key].is_boolean()) return cx.fail(path + "." + key, "must be true or false");
  out = obj[key].get<bool>();
  return true;
}

bool get_int(Ctx& cx, const json& obj, const std::string& path, const char* key, std::int64_t lo, std::int64_t hi,
             std::int64_t& out) {
  if (!obj.contains(key)) return true;
  const json& v = obj[key];
  if (!v.is_number_integer()) return cx.fail(path + "." + key, "must be an integer");
  const auto x = v.get<std::int64_t>();
  if (x < lo || x > hi)
    return cx.fail(path + "." + key, "must be in " + std::to_string(lo) + ".." + std::to_string(hi));
  out = x;
  return true;
}

bool get_ms(Ctx& cx, const json& obj, const std::string& path, const char* key, std::chrono::milliseconds& out) {
  std::int64_t v = out.count();
  if (!get_int(cx, obj, path, key, 0, 600'000, v)) return false;
  out = std::chrono::milliseconds{v};
  return true;
}

bool valid_expect(const std::string& e) {
  static const std::set<std::string> kPlain{"approved", "approved_offline", "cancelled", "outcome_unknown"};
  static const std::set<std::string> kKinds{"invalid_argument", "failed_precondition", "unavailable",
                                            "resource_exhausted", "internal"};
  if (kPlain.count(e)) return true;
  if (e.rfind("declined:", 0) == 0) return e.size() > 9;
  if (e.rfind("error:", 0) == 0) return kKinds.count(e.substr(6)) > 0;
  return false;
}

bool parse_reader(Ctx& cx, const json& r, DeviceConfig& c) {
  const std::string path = "reader";
  if (!r.is_object()) return cx.fail(path, "must be an object");
  if (!only_keys(cx, r, path,
                 {"model", "serial", "firmware", "available_firmware", "battery", "charging", "online",
                  "offline_capable", "offline_capacity", "update_required", "auto_pin", "present_delay_ms",
                  "read_delay_ms", "authorize_delay_ms", "response_delay_ms", "firmware_step_ms"}))
    return false;
  std::int64_t battery = c.battery_percent, capacity = c.offline_capacity;
  return get_string(cx, r, path, "model", c.model) && get_string(cx, r, path, "serial", c.serial) &&
         get_string(cx, r, path, "firmware", c.firmware_version) &&
         get_string(cx, r, path, "available_firmware", c.available_firmware) &&
         get_int(cx, r, path, "battery", 0, 100, battery) && get_bool(cx, r, path, "charging", c.charging) &&
         get_bool(cx, r, path, "online", c.online) && get_bool(cx, r, path, "offline_capable", c.offline_capable) &&
         get_int(cx, r, path, "offline_capacity", 0, 65535, capacity) &&
         get_bool(cx, r, path, "update_required", c.update_required) && get_bool(cx, r, path, "auto_pin", c.auto_pin) &&
         get_ms(cx, r, path, "present_delay_ms", c.present_delay) && get_ms(cx, r, path, "read_delay_ms", c.read_delay) &&
         get_ms(cx, r, path, "authorize_delay_ms", c.authorize_delay) &&
         get_ms(cx, r, path, "response_delay_ms", c.response_delay) &&
         get_ms(cx, r, path, "firmware_step_ms", c.firmware_step) &&
         ((c.battery_percent = static_cast<int>(battery)), (c.offline_capacity = static_cast<int>(capacity)), true);
}

bool parse_step(Ctx& cx, const json& s, const std::string& path, ScenarioStep& step) {
  if (!s.is_object()) return cx.fail(path, "must be an object");
  if (!only_keys(cx, s, path,
                 {"amount", "currency", "offline_allowed", "deadline_ms", "card", "method", "fault", "battery", "online",
                  "response_delay_ms", "garbage_frames", "require_update", "expect", "note"}))
    return false;
  std::int64_t deadline = step.deadline_ms;
  if (!get_int(cx, s, path, "amount", 1, 99'999'999, step.amount) ||
      !get_string(cx, s, path, "currency", step.currency) ||
      !get_bool(cx, s, path, "offline_allowed", step.offline_allowed) ||
      !get_int(cx, s, path, "deadline_ms", 1, 600'000, deadline))
    return false;
  step.deadline_ms = deadline;
  if (step.currency.size() != 3) return cx.fail(path + ".currency", "must be a 3-letter ISO code");
  ScriptedPayment& p = step.payment;
  if (!get_string(cx, s, path, "card", p.card)) return false;
  if (!p.card.empty() && find_test_card(p.card) == nullptr)
    return cx.fail(path + ".card", "unknown test card (see hardware-sim/README.md for the list)");
  std::string text;
  if (s.contains("method")) {
    if (!get_string(cx, s, path, "method", text)) return false;
    auto m = parse_read_method(text);
    if (!m) return cx.fail(path + ".method", "must be contact, contactless or swipe");
    p.method = *m;
  }
  if (s.contains("fault")) {
    text.clear();
    if (!get_string(cx, s, path, "fault", text)) return false;
    auto f = parse_fault(text);
    if (!f)
      return cx.fail(path + ".fault",
                     "unknown fault \"" + text +
                         "\" (none, card_removed, card_read_failed, timeout, unresponsive, "
                         "disconnect_before_authorization, disconnect_after_authorization, reader_busy)");
    p.fault = *f;
  }
  std::int64_t v = 0;
  if (s.contains("battery")) {
    if (!get_int(cx, s, path, "battery", 0, 100, v)) return false;
    p.battery_percent = static_cast<int>(v);
  }
  if (s.contains("online")) {
    bool b = true;
    if (!get_bool(cx, s, path, "online", b)) return false;
    p.online = b;
  }
  if (s.contains("response_delay_ms")) {
    std::chrono::milliseconds d{0};
    if (!get_ms(cx, s, path, "response_delay_ms", d)) return false;
    p.response_delay = d;
  }
  v = 0;
  if (!get_int(cx, s, path, "garbage_frames", 0, 1000, v)) return false;
  p.garbage_frames = static_cast<int>(v);
  if (!get_bool(cx, s, path, "require_update", p.require_update)) return false;
  std::string note;
  if (!get_string(cx, s, path, "note", note)) return false;
  if (!s.contains("expect")) return cx.fail(path + ".expect", "is required");
  if (!get_string(cx, s, path, "expect", step.expect)) return false;
  if (!valid_expect(step.expect))
    return cx.fail(path + ".expect",
                   "must be approved, approved_offline, declined:<code>, cancelled, outcome_unknown or error:<kind>");
  return true;
}

}  // namespace

Result<Scenario> parse_scenario(std::string_view text, std::string_view source) {
  Ctx cx{std::string(source), {}};
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail(ErrorKind::InvalidArgument, cx.source + ": not valid JSON");
  if (!doc.is_object()) return fail(ErrorKind::InvalidArgument, cx.source + ": the top level must be an object");
  Scenario sc;
  std::int64_t seed = 1;
  const bool good = only_keys(cx, doc, "$", {"name", "description", "seed", "reader", "steps"}) &&
                    get_string(cx, doc, "$", "name", sc.name) &&
                    get_string(cx, doc, "$", "description", sc.description) &&
                    get_int(cx, doc, "$", "seed", 0, INT64_MAX, seed) &&
                    (!doc.contains("reader") || parse_reader(cx, doc["reader"], sc.reader));
  if (!good) return fail(ErrorKind::InvalidArgument, cx.error);
  sc.reader.seed = static_cast<std::uint64_t>(seed);
  if (sc.name.empty()) return fail(ErrorKind::InvalidArgument, cx.source + ": $.name: is required");
  if (!doc.contains("steps") || !doc["steps"].is_array() || doc["steps"].empty())
    return fail(ErrorKind::InvalidArgument, cx.source + ": $.steps: must be a non-empty array");
  for (std::size_t i = 0; i < doc["steps"].size(); ++i) {
    ScenarioStep step;
    if (!parse_step(cx, doc["steps"][i], "steps[" + std::to_string(i) + "]", step))
      return fail(ErrorKind::InvalidArgument, cx.error);
    sc.steps.push_back(std::move(step));
  }
  return sc;
}

Result<Scenario> load_scenario_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorKind::NotFound, path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_scenario(ss.str(), path);
}

void apply_scenario(ReaderDevice& device, const Scenario& scenario) {
  for (const auto& s : scenario.steps) device.queue_payment(s.payment);
}

}  // namespace till::hwsim
