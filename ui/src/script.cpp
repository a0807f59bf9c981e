#include "till/ui/script.hpp"

#include <algorithm>
#include <cfloat>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "till/ui/harness.hpp"

namespace till::ui {
namespace {

// A check that does not hold yet: retried every frame until the step timeout.
Status not_yet(std::string why) { return fail(ErrorKind::Unavailable, std::move(why)); }

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
  if (name == "f3") return kKeyF3;
  if (name == "f4") return kKeyF4;
  if (name == "f6") return kKeyF6;
  if (name == "f5") return kKeyF5;
  if (name == "f9") return kKeyF9;
  return -1;
}

struct VerbSpec {
  std::string_view verb;
  std::size_t min_args;
};
constexpr VerbSpec kVerbs[] = {
    {"card", 1},  {"queue-card", 1}, {"online", 0}, {"offline", 0}, {"stripe", 1}, {"reader", 1},
    {"type-receipt", 1},
    {"tap", 1},   {"type", 1},       {"key", 1},    {"scan", 1},    {"add", 1},    {"expect", 2},
    {"screenshot", 1}, {"print", 1}, {"wait", 1},
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

// One raw string, read as a script (over 80 lines because it is the whole demo, in order).
std::string_view demo_script() {
  return R"(# Till demo: everything below runs through the real views, pos::update and app::Runtime (the
# store, the reader driver, the sync engine). The customer, the reader device, the network and
# Stripe (till-stripe-sim on 127.0.0.1) are SIMULATED.
expect text READER OK
# No tender is taken until the database check (quick_check, off the start-up path) passed.
expect no-text CHECKING DATABASE
expect screen sell
# 1. An approved card sale: two lattes by touch, a croissant by the wedge scanner, a 15% tip.
tap Latte
tap Latte
scan 2000000000145
expect text Butter Croissant
expect text TOTAL
screenshot 01-sell
tap line: Latte
expect button Apply line discount
screenshot 02-line-editor
tap Done
tap Discount/tip (F3)
tap 15%
expect text Total now
screenshot 03-sale-options
tap Done
tap Charge card (F2)
expect screen payment
expect text Present card
screenshot 04-payment
card visa
expect screen receipt
expect text OK PAID
expect text APPROVED
screenshot 05-receipt-approved
print receipt
tap Customer email
type ada@example.com
tap Email receipt
expect text Receipt queued for email
tap New sale (F5)
# 2. Declined by the card's bank, then another card. The mocha is found by the search field
# (Enter adds the one product that matches): on a small screen its tile may be out of view.
tap Search products
type mocha
key enter
expect button line: Mocha
tap Charge card (F2)
expect text Present card
card insufficient_funds
expect text Insufficient funds
expect button Try another card
screenshot 06-declined
tap Try another card
expect text Present card
card mastercard
expect screen receipt
tap New sale (F5)
# 3. Stripe takes the payment but its answer is lost: in doubt, no retry button. When answers
# flow again the engine re-sends with the same key and Stripe replays its answer (one charge).
tap Cappuccino
stripe lose-answers
tap Charge card (F2)
expect text Present card
card amex
expect text Outcome unknown
expect no-button Try another card
expect no-button Cancel payment
screenshot 07-in-doubt
stripe answers
expect screen receipt
expect text OK PAID
print receipt
tap New sale (F5)
# 4. Offline: the payment is stored within the caps; the staff banner shows it.
offline
expect text OFFLINE (STAFF ONLY)
tap Americano
tap Charge card (F2)
expect text Present card
card visa
expect screen receipt
expect text STORED OFFLINE
tap New sale (F5)
tap Espresso
expect text 1 payment stored
screenshot 08-offline-banner
tap Cash (F6)
expect button Take cash
screenshot 09-cash
tap Close
tap Clear cart
# Back online: the stored payment is forwarded and approved.
online
expect text ONLINE
expect no-text 1 payment stored
# 5. Back office behind the manager PIN.
tap Manager (F9)
expect button OK
screenshot 10-manager-pin
type 1234
tap OK
expect screen back_office
expect text done:
screenshot 11-back-office
tap Needs attention (0)
expect text Nothing needs attention
screenshot 12-back-office-attention
tap Readers
expect text OK CONNECTED
expect text Firmware
tap Install update
expect text Reader: update done
screenshot 13-back-office-readers
tap Refunds
tap Receipt number (sale id, 8+ characters)
type-receipt 1
tap Find sale
expect text refundable
tap Amount
type 1.00
tap Refund amount
expect text Refund of USD 1.00 queued
screenshot 14-back-office-refund
tap Settings
expect text API key
screenshot 15-back-office-settings
tap End of day
expect text End of day 20
expect text Declined attempts
screenshot 16-back-office-end-of-day
tap Close back office
print sync
)";
}

ScriptRunner::ScriptRunner(std::vector<ScriptStep> steps, Kiosk& kiosk, ScriptWorld& world, std::string screenshot_dir,
                           bool can_screenshot, std::chrono::milliseconds step_timeout)
    : steps_(std::move(steps)),
      kiosk_(kiosk),
      world_(world),
      dir_(std::move(screenshot_dir)),
      can_screenshot_(can_screenshot),
      step_timeout_(step_timeout) {}

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
  if (const auto& sale = kiosk_.model().sale;
      sale && std::find(sale_ids_.begin(), sale_ids_.end(), sale->id) == sale_ids_.end()) {
    sale_ids_.push_back(sale->id);
  }
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
  if (next_ >= steps_.size()) {
    if (quiet_frames_ >= 2) done_ = true;
    return {};
  }
  const ScriptStep& step = steps_[next_];
  const auto now = Steady::now();
  if (!step_started_) step_started_ = now;
  const bool timed_out = now - *step_started_ > step_timeout_;
  if (quiet_frames_ < 2) {
    if (timed_out) failed(step, "the kiosk never settled");
    return {};
  }
  if (step.verb == "screenshot") {
    ++next_;
    step_started_.reset();
    quiet_frames_ = 0;
    if (!can_screenshot_) {
      output_.push_back("screenshot " + step.args[0] + ": skipped (no window)");
      return {};
    }
    std::string path = dir_ + "/" + step.args[0] + ".png";
    screenshots_.push_back(path);
    return path;
  }
  Status s = execute(step, log);
  if (s) {
    ++next_;
    step_started_.reset();
    quiet_frames_ = 0;
    return {};
  }
  // A check that does not hold yet is tried again next frame, until the step timeout.
  if (s.error().kind == ErrorKind::Unavailable && !timed_out) return {};
  failed(step, s.error().message + (s.error().kind == ErrorKind::Unavailable ? " (waited " +
                                        std::to_string(step_timeout_.count()) + " ms)" : std::string()),
         &log);
  return {};
}

Status ScriptRunner::execute(const ScriptStep& step, const FrameLog& log) {
  const std::string& v = step.verb;
  const auto& a = step.args;
  if (v == "card") {
    return world_.present_card(a[0]);
  } else if (v == "queue-card") {
    return world_.queue_card(a[0]);
  } else if (v == "online" || v == "offline") {
    return world_.set_outage(v == "offline");
  } else if (v == "stripe") {
    if (a[0] != "lose-answers" && a[0] != "answers") {
      return fail(ErrorKind::InvalidArgument, "stripe lose-answers|answers");
    }
    return world_.set_lost_answers(a[0] == "lose-answers");
  } else if (v == "reader") {
    if (a[0] != "unplug" && a[0] != "plug") return fail(ErrorKind::InvalidArgument, "reader unplug|plug");
    return world_.set_reader_unplugged(a[0] == "unplug");
  } else if (v == "tap") {
    const LoggedItem* item = find_button(log, step.rest);
    if (item == nullptr) return not_yet("no button '" + step.rest + "' on screen");
    if (!item->enabled) return not_yet("button '" + step.rest + "' is disabled");
    // A finger taps what it sees: the middle of the part its scrolling region shows.
    const ImVec2 min(std::max(item->min.x, item->clip_min.x), std::max(item->min.y, item->clip_min.y));
    const ImVec2 max(std::min(item->max.x, item->clip_max.x), std::min(item->max.y, item->clip_max.y));
    if (max.x - min.x < 2.0f || max.y - min.y < 2.0f) {
      return not_yet("button '" + step.rest + "' is scrolled out of view (search for it, or use add)");
    }
    target_ = ImVec2((min.x + max.x) * 0.5f, (min.y + max.y) * 0.5f);
    input_ = Input::Hover;
  } else if (v == "type") {
    pending_chars_ = step.rest;
  } else if (v == "type-receipt") {
    const int n = std::atoi(a[0].c_str());
    if (n < 1 || static_cast<std::size_t>(n) > sale_ids_.size()) {
      return fail(ErrorKind::InvalidArgument, "no sale " + a[0] + " in this script yet");
    }
    pending_chars_ = sale_ids_[static_cast<std::size_t>(n) - 1].substr(0, 8);  // the printed receipt number
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
      if (pos::to_string(kiosk_.model().screen) != what) return not_yet("expected screen " + what);
    } else if (a[0] == "text") {
      if (!log.shows(what)) return not_yet("expected text '" + what + "'");
    } else if (a[0] == "no-text") {
      if (log.shows(what)) return not_yet("unexpected text '" + what + "'");
    } else if (a[0] == "button") {
      if (find_button(log, what) == nullptr) return not_yet("expected button '" + what + "'");
    } else if (a[0] == "no-button") {
      if (find_button(log, what) != nullptr) return not_yet("unexpected button '" + what + "'");
    } else {
      return fail(ErrorKind::InvalidArgument, "expect screen|text|no-text|button|no-button");
    }
  } else if (v == "print") {
    if (a[0] == "receipt") {
      output_.push_back(kiosk_.model().last_receipt);
    } else if (a[0] == "sync") {
      output_.push_back("Sync outcome (the store's outbox; Stripe is SIMULATED by till-stripe-sim):");
      for (const auto& line : world_.sync_summary(sale_ids_)) output_.push_back("  " + line);
    } else {
      return fail(ErrorKind::InvalidArgument, "print receipt|sync");
    }
  } else if (v == "wait") {
    wait_frames_ = std::max(0, std::atoi(a[0].c_str()));
  }
  return ok();
}

Result<std::vector<std::string>> run_script_headless(std::vector<ScriptStep> steps, Kiosk& kiosk, ScriptWorld& world,
                                                     std::chrono::milliseconds step_timeout,
                                                     std::vector<std::string>* sales) {
  auto opened = HeadlessContext::open();
  if (!opened) return fail(opened.error());
  HeadlessContext& ctx = **opened;
  ScriptRunner runner(std::move(steps), kiosk, world, "", false, step_timeout);
  FrameLog log;
  while (!runner.done()) {
    runner.before_frame(ImGui::GetIO());
    ctx.new_frame();
    const std::size_t applied = kiosk.process_inbox();
    log.clear();
    kiosk.draw(ctx.fonts(), &log);
    ctx.end_frame();
    runner.after_frame(applied, log);
    // Nothing happened this frame: let the world's threads (the runtime's core thread) work.
    if (applied == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (sales != nullptr) *sales = runner.sale_ids();
  if (runner.error()) return fail(*runner.error());
  return runner.output();
}

}  // namespace till::ui
