#include "till/ui/script.hpp"

#include <cfloat>
#include <cstdlib>
#include <sstream>

#include "till/ui/harness.hpp"

namespace till::ui {
namespace {

constexpr int kStuckLimit = 600;  // frames without settling before a step is declared stuck

bool label_matches(const std::string& label, const std::string& want) {
  return label == want || (label.size() > want.size() && label.compare(0, want.size(), want) == 0 &&
                           label[want.size()] == '\n');
}

// Exact label first (a cart line "Latte"), then a tile whose first line matches ("Latte\n4.50").
const LoggedItem* find_button(const FrameLog& log, const std::string& want) {
  for (const LoggedItem& item : log.items()) {
    if (item.kind != LoggedItem::Kind::Text && item.label == want) return &item;
  }
  for (const LoggedItem& item : log.items()) {
    if (item.kind != LoggedItem::Kind::Text && label_matches(item.label, want)) return &item;
  }
  return nullptr;
}

int key_index(const std::string& name) {
  ImGuiIO& io = ImGui::GetIO();
  if (name == "enter") return io.KeyMap[ImGuiKey_Enter];
  if (name == "escape") return io.KeyMap[ImGuiKey_Escape];
  if (name == "f2") return kKeyF2;
  if (name == "f4") return kKeyF4;
  if (name == "f5") return kKeyF5;
  if (name == "f9") return kKeyF9;
  return -1;
}

struct VerbSpec {
  std::string_view verb;
  std::size_t min_args;
};
constexpr VerbSpec kVerbs[] = {
    {"reader", 1}, {"online", 0}, {"offline", 0}, {"stripe", 1}, {"card", 2}, {"reader-fail", 1},
    {"resolve", 1}, {"seed-dead", 4}, {"tap", 1}, {"type", 1}, {"key", 1}, {"scan", 1}, {"add", 1},
    {"expect", 2}, {"screenshot", 1}, {"print", 1}, {"wait", 1},
};

}  // namespace

Result<std::vector<ScriptStep>> parse_script(std::string_view text) {
  std::vector<ScriptStep> steps;
  std::istringstream in{std::string(text)};
  std::string raw;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    const auto start = raw.find_first_not_of(" \t\r");
    if (start == std::string::npos || raw[start] == '#') continue;
    std::string line = raw.substr(start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    ScriptStep step;
    step.line = line_no;
    std::istringstream words(line);
    words >> step.verb;
    const auto after = line.find_first_not_of(' ', step.verb.size());
    step.rest = after == std::string::npos ? "" : line.substr(after);
    for (std::string w; words >> w;) step.args.push_back(w);
    const VerbSpec* spec = nullptr;
    for (const auto& v : kVerbs) {
      if (v.verb == step.verb) spec = &v;
    }
    if (spec == nullptr) {
      return fail(ErrorKind::InvalidArgument, "script line " + std::to_string(line_no) + ": unknown verb '" + step.verb + "'");
    }
    if (step.args.size() < spec->min_args) {
      return fail(ErrorKind::InvalidArgument, "script line " + std::to_string(line_no) + ": '" + step.verb + "' needs " +
                                                  std::to_string(spec->min_args) + " argument(s)");
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

std::string_view demo_script() {
  return R"(# Till demo: everything below runs through the real views and pos::update.
# The reader and Stripe are SIMULATED (till::ui::SimulatedEffects).
reader connect
online
expect screen sell
# 1. An approved card sale: two lattes by touch, a croissant by the wedge scanner, a 15% tip.
tap Latte
tap Latte
scan 0012345000065
expect text Croissant
tap 15%
expect text TOTAL
expect text USD 15.30
screenshot 01-sell
stripe approve
tap Charge card (F2)
expect screen payment
expect text Present card
screenshot 02-payment
card visa 4242
expect screen receipt
expect text OK PAID
screenshot 03-receipt-approved
print receipt
tap New sale (F5)
# 2. Declined, then another card.
tap Mocha
stripe decline insufficient_funds
tap Charge card (F2)
card mastercard 5100
expect text Insufficient funds
expect button Try another card
screenshot 04-declined
tap Try another card
card visa 1881
expect screen receipt
tap New sale (F5)
# 3. The answer never comes: in doubt, no retry button, then Stripe says approved (one charge).
tap Cappuccino
stripe unknown
tap Charge card (F2)
card amex 0005
expect text Outcome unknown
expect no-button Try another card
expect no-button Cancel payment
screenshot 05-in-doubt
resolve approved
expect screen receipt
print receipt
tap New sale (F5)
# 4. Offline: a payment stored within the caps; the staff banner shows it.
offline
tap Bagel
tap Charge card (F2)
card visa 4242
expect screen receipt
tap New sale (F5)
tap Espresso
expect text OFFLINE (STAFF ONLY)
expect text 1 payment stored
screenshot 06-offline-banner
# 5. Back office behind the manager PIN.
seed-dead sale_demo_0 1250 req_sim_dead1 invalid_request_error: No such payment_method: 'pm_expired'
tap Manager (F9)
type 1234
tap OK
expect screen back_office
screenshot 07-back-office
tap Needs attention (1)
expect text Stripe request id: req_sim_dead1
screenshot 08-back-office-attention
tap Settings
expect text API key
screenshot 09-back-office-settings
tap End of day
expect text Sales
screenshot 10-back-office-end-of-day
tap Close back office
print sync
)";
}

ScriptRunner::ScriptRunner(std::vector<ScriptStep> steps, Kiosk& kiosk, SimulatedEffects& world,
                           std::string screenshot_dir, bool can_screenshot)
    : steps_(std::move(steps)),
      kiosk_(kiosk),
      world_(world),
      dir_(std::move(screenshot_dir)),
      can_screenshot_(can_screenshot) {}

void ScriptRunner::before_frame(ImGuiIO& io) {
  switch (input_) {
    case Input::Hover:
      io.MousePos = target_;
      io.MouseDown[0] = false;
      break;
    case Input::Press:
      io.MousePos = target_;
      io.MouseDown[0] = true;
      break;
    case Input::Release:
      io.MousePos = target_;
      io.MouseDown[0] = false;
      break;
    case Input::None:
      // Between taps the pointer is nowhere, so screenshots show no stray hover highlight from
      // wherever the display's real cursor happens to be.
      io.MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
      io.MouseDown[0] = false;
      break;
  }
  if (!pending_chars_.empty()) {
    for (char c : pending_chars_) io.AddInputCharacter(static_cast<unsigned int>(static_cast<unsigned char>(c)));
    pending_chars_.clear();
    return;  // keys go in the next frame, as a scanner's Enter follows its digits
  }
  if (pending_key_ >= 0 && pending_key_ < 512) {
    io.KeysDown[pending_key_] = !key_down_;
    if (key_down_) pending_key_ = -1;
    key_down_ = !key_down_;
  }
}

void ScriptRunner::failed(const ScriptStep& step, const std::string& why, const FrameLog* log) {
  std::string message = "script line " + std::to_string(step.line) + " (" + step.verb + " " + step.rest + "): " + why;
  message += " [screen " + std::string(pos::to_string(kiosk_.model().screen)) + ", phase " +
             std::string(pos::to_string(kiosk_.model().phase)) + "]";
  if (log != nullptr) {
    std::string dump = log->dump();
    if (dump.size() > 3000) dump.resize(3000);
    message += "\nOn screen:\n" + dump;
  }
  error_ = Error{ErrorKind::FailedPrecondition, message, std::nullopt};
}

std::string ScriptRunner::after_frame(std::size_t applied, const FrameLog& log) {
  ++frames_;
  kiosk_.set_day_report(world_.day_report());
  if (done()) return {};
  if (input_ == Input::Hover) {
    input_ = Input::Press;
    return {};
  }
  if (input_ == Input::Press) {
    input_ = Input::Release;
    return {};
  }
  if (input_ == Input::Release) {
    input_ = Input::None;
    quiet_frames_ = 0;
    return {};
  }
  if (!pending_chars_.empty() || pending_key_ >= 0) return {};
  quiet_frames_ = (applied == 0 && kiosk_.inbox().empty()) ? quiet_frames_ + 1 : 0;
  if (wait_frames_ > 0) {
    --wait_frames_;
    return {};
  }
  if (quiet_frames_ < 2) {
    if (++stuck_frames_ > kStuckLimit && next_ < steps_.size()) failed(steps_[next_], "the kiosk never settled");
    return {};
  }
  stuck_frames_ = 0;
  if (next_ >= steps_.size()) {
    done_ = true;
    return {};
  }
  const ScriptStep& step = steps_[next_++];
  quiet_frames_ = 0;
  if (step.verb == "screenshot") {
    if (!can_screenshot_) {
      output_.push_back("screenshot " + step.args[0] + ": skipped (no window)");
      return {};
    }
    std::string path = dir_ + "/" + step.args[0] + ".png";
    screenshots_.push_back(path);
    return path;
  }
  if (Status s = execute(step, log); !s) failed(step, s.error().message, &log);
  return {};
}

Status ScriptRunner::execute(const ScriptStep& step, const FrameLog& log) {
  const std::string& v = step.verb;
  const auto& a = step.args;
  if (v == "reader") {
    world_.connect_reader(a[0] == "connect");
  } else if (v == "online" || v == "offline") {
    world_.set_online(v == "online");
  } else if (v == "stripe") {
    SimulatedEffects::Outcome o;
    if (a[0] == "approve") {
      o.kind = SimulatedEffects::Outcome::Kind::Approve;
    } else if (a[0] == "decline") {
      o.kind = SimulatedEffects::Outcome::Kind::Decline;
      o.decline_code = a.size() > 1 ? a[1] : "card_declined";
    } else if (a[0] == "unknown") {
      o.kind = SimulatedEffects::Outcome::Kind::Unknown;
    } else {
      return fail(ErrorKind::InvalidArgument, "stripe approve|decline <code>|unknown");
    }
    world_.set_next_outcome(o);
  } else if (v == "card") {
    return world_.present_card(a[0], a[1], a.size() > 2 ? a[2] : "contactless_emv");
  } else if (v == "reader-fail") {
    return world_.fail_collect(step.rest);
  } else if (v == "resolve") {
    world_.resolve_in_doubt(a[0] == "approved", a.size() > 1 ? a[1] : "");
  } else if (v == "seed-dead") {
    const std::string error = step.rest.substr(step.rest.find(a[2]) + a[2].size() + 1);
    world_.seed_dead_operation(a[0], std::atoll(a[1].c_str()), error, a[2]);
  } else if (v == "tap") {
    const LoggedItem* item = find_button(log, step.rest);
    if (item == nullptr) return fail(ErrorKind::NotFound, "no button '" + step.rest + "' on screen");
    if (!item->enabled) return fail(ErrorKind::FailedPrecondition, "button '" + step.rest + "' is disabled");
    target_ = ImVec2((item->min.x + item->max.x) * 0.5f, (item->min.y + item->max.y) * 0.5f);
    input_ = Input::Hover;
  } else if (v == "type") {
    pending_chars_ = step.rest;
  } else if (v == "key") {
    pending_key_ = key_index(a[0]);
    key_down_ = false;
    if (pending_key_ < 0) return fail(ErrorKind::InvalidArgument, "unknown key '" + a[0] + "'");
  } else if (v == "scan") {
    pending_chars_ = a[0];
    pending_key_ = key_index("enter");
    key_down_ = false;
  } else if (v == "add") {
    kiosk_.post(pos::AddProduct{a[0], a.size() > 1 ? std::atoll(a[1].c_str()) : 1});
  } else if (v == "expect") {
    const std::string what = step.rest.substr(step.rest.find(a[0]) + a[0].size() + 1);
    if (a[0] == "screen") {
      if (pos::to_string(kiosk_.model().screen) != what) {
        return fail(ErrorKind::FailedPrecondition, "expected screen " + what);
      }
    } else if (a[0] == "text") {
      if (!log.shows(what)) return fail(ErrorKind::FailedPrecondition, "expected text '" + what + "'");
    } else if (a[0] == "button") {
      if (find_button(log, what) == nullptr) return fail(ErrorKind::FailedPrecondition, "expected button '" + what + "'");
    } else if (a[0] == "no-button") {
      if (find_button(log, what) != nullptr) return fail(ErrorKind::FailedPrecondition, "unexpected button '" + what + "'");
    } else {
      return fail(ErrorKind::InvalidArgument, "expect screen|text|button|no-button");
    }
  } else if (v == "print") {
    if (a[0] == "receipt") {
      output_.push_back(kiosk_.model().last_receipt);
    } else if (a[0] == "sync") {
      output_.push_back("Sync outcome (SIMULATED Stripe; the real sync engine is not wired in yet):");
      for (const auto& line : world_.sync_summary()) output_.push_back("  " + line);
    } else {
      return fail(ErrorKind::InvalidArgument, "print receipt|sync");
    }
  } else if (v == "wait") {
    wait_frames_ = std::max(0, std::atoi(a[0].c_str()));
  }
  return ok();
}

Result<std::vector<std::string>> run_script_headless(std::vector<ScriptStep> steps, Kiosk& kiosk,
                                                     SimulatedEffects& world, int max_frames) {
  HeadlessContext ctx;
  ScriptRunner runner(std::move(steps), kiosk, world, "", false);
  FrameLog log;
  while (!runner.done()) {
    if (runner.frames() >= max_frames) return fail(ErrorKind::Internal, "script did not finish within the frame bound");
    runner.before_frame(ImGui::GetIO());
    ctx.new_frame();
    const std::size_t applied = kiosk.process_inbox();
    log.clear();
    kiosk.draw(ctx.fonts(), &log);
    ctx.end_frame();
    runner.after_frame(applied, log);
  }
  if (runner.error()) return fail(*runner.error());
  return runner.output();
}

}  // namespace till::ui
