#include "till/hwsim/console.hpp"

#include <charconv>
#include <sstream>
#include <vector>

namespace till::hwsim {
namespace {

std::vector<std::string> split(std::string_view line) {
  std::vector<std::string> out;
  std::istringstream in{std::string(line)};
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::optional<int> to_int(const std::string& s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<bool> to_bool(const std::string& s) {
  if (s == "on" || s == "true" || s == "yes" || s == "1") return true;
  if (s == "off" || s == "false" || s == "no" || s == "0") return false;
  return std::nullopt;
}

}  // namespace

std::string console_help() {
  return "commands:\n"
         "  card <name|number> [contact|contactless|swipe]   present a test card (aliases: insert, tap, swipe)\n"
         "  pin                     the customer enters their PIN (digits, if typed, are discarded)\n"
         "  remove                  the customer pulls the card out\n"
         "  unplug | plug           pull / reconnect the reader's cable\n"
         "  battery <0-100>         set the battery level\n"
         "  update-required [on|off]  require a firmware update before payments\n"
         "  online <on|off>         the reader's own network (off: store and forward)\n"
         "  slow <ms>               delay every frame to the host by <ms>\n"
         "  garbage <n>             precede the next <n> frames with noise and a corrupted copy\n"
         "  cards                   list the test cards\n"
         "  status                  show the reader's state\n"
         "  help | quit\n";
}

Result<std::string> run_console_command(ReaderDevice& device, std::string_view line) {
  const auto words = split(line);
  if (words.empty()) return std::string{};
  const std::string& cmd = words[0];
  auto need = [&](std::size_t n) { return words.size() >= n; };

  if (cmd == "help" || cmd == "?") return console_help();
  if (cmd == "card" || cmd == "present" || cmd == "insert" || cmd == "tap" || cmd == "swipe") {
    if (!need(2)) return fail(ErrorKind::InvalidArgument, cmd + ": which card? (try: cards)");
    ReadMethod method = cmd == "tap" ? ReadMethod::Contactless : cmd == "swipe" ? ReadMethod::Swipe : ReadMethod::Contact;
    // A number may be typed with spaces: everything up to an optional trailing method is the card.
    std::size_t end = words.size();
    if (cmd == "card" || cmd == "present") {
      if (auto m = parse_read_method(words.back()); m && words.size() > 2) {
        method = *m;
        --end;
      }
    }
    std::string key;
    for (std::size_t i = 1; i < end; ++i) key += (i > 1 ? " " : "") + words[i];
    const TestCard* card = find_test_card(key);
    if (card == nullptr) return fail(ErrorKind::NotFound, "unknown test card (try: cards)");
    if (auto st = device.present_card(key, method); !st) return tl::unexpected(st.error());
    return "presented " + std::string(card->brand) + " ending " + std::string(card->last4()) + " (" +
           std::string(to_string(method)) + ")";
  }
  if (cmd == "pin") {
    if (auto st = device.enter_pin(); !st) return tl::unexpected(st.error());
    return std::string("PIN entered");
  }
  if (cmd == "remove") {
    if (auto st = device.remove_card(); !st) return tl::unexpected(st.error());
    return std::string("card removed");
  }
  if (cmd == "unplug") {
    device.unplug();
    return std::string("unplugged");
  }
  if (cmd == "plug") {
    device.plug();
    return std::string("plugged in");
  }
  if (cmd == "battery") {
    auto v = need(2) ? to_int(words[1]) : std::nullopt;
    if (!v || *v < 0 || *v > 100) return fail(ErrorKind::InvalidArgument, "battery: give a level 0-100");
    device.set_battery(*v);
    return "battery " + std::to_string(*v) + "%";
  }
  if (cmd == "update-required") {
    auto v = need(2) ? to_bool(words[1]) : std::optional<bool>(true);
    if (!v) return fail(ErrorKind::InvalidArgument, "update-required: on or off");
    device.require_update(*v);
    return std::string(*v ? "firmware update required" : "firmware update no longer required");
  }
  if (cmd == "online") {
    auto v = need(2) ? to_bool(words[1]) : std::nullopt;
    if (!v) return fail(ErrorKind::InvalidArgument, "online: on or off");
    device.set_online(*v);
    return std::string(*v ? "reader online" : "reader offline (store and forward)");
  }
  if (cmd == "slow") {
    auto v = need(2) ? to_int(words[1]) : std::nullopt;
    if (!v || *v < 0 || *v > 600'000) return fail(ErrorKind::InvalidArgument, "slow: give a delay in ms");
    device.set_response_delay(std::chrono::milliseconds{*v});
    return "responses delayed by " + std::to_string(*v) + " ms";
  }
  if (cmd == "garbage") {
    auto v = need(2) ? to_int(words[1]) : std::nullopt;
    if (!v || *v < 0 || *v > 1000) return fail(ErrorKind::InvalidArgument, "garbage: give a frame count");
    device.inject_garbage(*v);
    return "the next " + std::to_string(*v) + " frames get noise and a corrupted copy";
  }
  if (cmd == "cards") {
    std::string out;
    for (const auto& c : test_cards()) {
      out += std::string(c.name) + " (" + std::string(c.brand) + " ..." + std::string(c.last4()) + ")";
      if (!c.decline_code.empty()) out += " declines " + std::string(c.decline_code);
      if (c.pin == PinKind::Offline) out += " offline PIN";
      if (c.pin == PinKind::Online) out += " online PIN";
      out += "\n";
    }
    return out;
  }
  if (cmd == "status") {
    const auto& c = device.config();
    std::string s = std::string(device.plugged() ? "plugged" : "unplugged") + ", " +
                    (device.attached() ? "host connected" : "no host") + ", " +
                    (device.waiting_for_card()  ? "waiting for a card"
                     : device.waiting_for_pin() ? "waiting for a PIN"
                     : device.collecting()      ? "payment in progress"
                                                : "idle") +
                    ", battery " + std::to_string(c.battery_percent) + "%, firmware " + c.firmware_version +
                    (c.update_required ? " (update required)" : "") + ", " + (c.online ? "online" : "offline") +
                    ", offline stored " + std::to_string(device.offline_stored()) + "/" +
                    std::to_string(c.offline_capacity) + ", scripted payments left " +
                    std::to_string(device.scripted_remaining());
    return s;
  }
  return fail(ErrorKind::InvalidArgument, "unknown command \"" + cmd + "\" (try: help)");
}

}  // namespace till::hwsim
