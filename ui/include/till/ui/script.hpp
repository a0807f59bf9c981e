#pragma once
// The kiosk's test hook: a small line-based script that drives the real kiosk frame by frame,
// the way a cashier and a customer would. It clicks buttons by their label (through
// io.MousePos/MouseDown, so the click goes through the real widgets), types like a keyboard-wedge
// scanner, plays the SIMULATED world around the kiosk through a ScriptWorld (the customer's card,
// the shop's network, Stripe's lost answers, the reader's cable), checks what the screen shows,
// and asks for screenshots. Used by `till-kiosk --script FILE`, `--demo-sale`, `--screenshots DIR`
// and by the UI tests, on app::Runtime (ui/include/till/ui/runtime_world.hpp).
//
// The world is asynchronous (the runtime answers on its core thread), so `expect` and `tap` wait:
// each is retried every frame until it holds (or the button is there and enabled), and fails
// after the step timeout.
//
//   # comment
//   card <name>         the customer presents this test card now (visa, mastercard, amex,
//                       insufficient_funds, expired_card, ... : hardware-sim/test_cards)
//   queue-card <name>   the next collect is answered with this card by itself
//   offline | online    SIMULATED outage of the shop's internet starts / ends
//   stripe lose-answers | stripe answers     Stripe applies writes but its answers are lost / flow
//   reader unplug | reader plug
//   tap <label>        a button, a tab or a cart line ("line: Latte") whose label is <label> (or starts
//                      with "<label>\n", for product tiles)
//   type <text>        characters into the focused field (or the wedge scanner)
//   type-receipt <n>   types the receipt number (first 8 characters of the id) of the script's nth sale
//   key enter|escape|f2|f3|f4|f5|f6|f9      scan <digits> (= type <digits> + key enter)
//   add <product_id> [qty]            dispatch AddProduct directly
//   expect screen sell|payment|receipt|back_office     expect text <substring>
//   expect no-button <label>          expect button <label>
//   screenshot <name>  saves <dir>/<name>.png (window mode only; headless notes it and goes on)
//   print receipt | print sync        output (the receipt on screen; the sales' outbox operations)
//   wait <frames>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <imgui.h>

#include "till/base/result.hpp"
#include "till/ui/kiosk.hpp"
#include "till/ui/widgets.hpp"

namespace till::ui {

// What a script can do to the world around the kiosk. Implemented over app::Runtime's SIMULATED
// hooks (RuntimeWorld); tests may implement it with a recording double. Called on the UI thread;
// each returns at once (the world answers later, through the kiosk's inbox).
class ScriptWorld {
 public:
  virtual ~ScriptWorld() = default;
  virtual Status present_card(const std::string& card) = 0;
  virtual Status queue_card(const std::string& card) = 0;
  virtual Status set_outage(bool down) = 0;
  virtual Status set_lost_answers(bool lost) = 0;
  virtual Status set_reader_unplugged(bool unplugged) = 0;
  // Lines describing what reached Stripe for these sales (print sync).
  virtual std::vector<std::string> sync_summary(const std::vector<std::string>& sale_ids) = 0;
};

struct ScriptStep {
  int line = 0;
  std::string verb;
  std::vector<std::string> args;
  std::string rest;  // everything after the verb, as written
};

// InvalidArgument naming the line for an unknown verb or missing arguments.
Result<std::vector<ScriptStep>> parse_script(std::string_view text);

// The built-in end-to-end demo, written for the demo catalog (app/data/demo_catalog.json) on
// app::Runtime: a sale approved, a decline then another card, an in-doubt payment resolved
// approved by the engine with the same key (one charge), an offline sale stored and forwarded
// when the connection returns, the back office. Screenshots: see kDemoScreenshots.
std::string_view demo_script();
inline constexpr const char* kDemoScreenshots[] = {
    "01-sell", "02-line-editor", "03-sale-options", "04-payment", "05-receipt-approved", "06-declined",
    "07-in-doubt", "08-offline-banner", "09-cash", "10-manager-pin", "11-back-office", "12-back-office-attention",
    "13-back-office-readers", "14-back-office-refund", "15-back-office-settings", "16-back-office-end-of-day"};

// Runs a script against a kiosk and its simulated world. Single-threaded (UI thread). The frame
// loop calls before_frame() before ImGui::NewFrame (after the platform backend), then
// Kiosk::process_inbox(), draws into a cleared FrameLog, then after_frame(); a non-empty return
// is a screenshot to save from this frame.
class ScriptRunner {
 public:
  // `step_timeout`: how long an expect/tap may wait, and a step may take to settle (real time:
  // the world answers from other threads).
  ScriptRunner(std::vector<ScriptStep> steps, Kiosk& kiosk, ScriptWorld& world, std::string screenshot_dir,
               bool can_screenshot, std::chrono::milliseconds step_timeout = std::chrono::seconds(30));

  void before_frame(ImGuiIO& io);
  // `applied` is what process_inbox() returned this frame. Returns a PNG path or "".
  std::string after_frame(std::size_t applied, const FrameLog& log);

  bool done() const noexcept { return done_ || error_.has_value(); }
  const std::optional<Error>& error() const noexcept { return error_; }
  // Lines for the console (print steps, skipped screenshots).
  const std::vector<std::string>& output() const noexcept { return output_; }
  const std::vector<std::string>& screenshots() const noexcept { return screenshots_; }
  // Frames run so far.
  int frames() const noexcept { return frames_; }
  // The sales the kiosk has had while the script ran, in order (for print sync and tests).
  const std::vector<std::string>& sale_ids() const noexcept { return sale_ids_; }

 private:
  using Steady = std::chrono::steady_clock;
  // Ok: done. NotFound / FailedPrecondition from a check: not yet (retried until the timeout).
  Status execute(const ScriptStep& step, const FrameLog& log);
  void failed(const ScriptStep& step, const std::string& why, const FrameLog* log = nullptr);

  std::vector<ScriptStep> steps_;
  std::size_t next_ = 0;
  Kiosk& kiosk_;
  ScriptWorld& world_;
  std::string dir_;
  bool can_screenshot_;
  std::chrono::milliseconds step_timeout_;
  int quiet_frames_ = 0;
  int wait_frames_ = 0;
  int frames_ = 0;
  std::optional<Steady::time_point> step_started_;  // the current step's first try
  std::vector<std::string> sale_ids_;
  // A tap is three frames: hover (tabs ignore a press on the frame the pointer arrives from another
  // item), press, release.
  enum class Input { None, Hover, Press, Release } input_ = Input::None;
  ImVec2 target_{};
  std::string pending_chars_;
  int pending_key_ = -1;
  bool key_down_ = false;
  bool done_ = false;
  std::optional<Error> error_;
  std::vector<std::string> output_;
  std::vector<std::string> screenshots_;
};

// Runs a whole script with a HeadlessContext (no display): every frame is drawn, clicks go
// through the widgets, screenshots are skipped; an idle frame yields the CPU for a millisecond so
// the world's threads can answer. Returns the runner's output lines (and, through `sales`, the
// sale ids seen), or the error.
Result<std::vector<std::string>> run_script_headless(std::vector<ScriptStep> steps, Kiosk& kiosk, ScriptWorld& world,
                                                     std::chrono::milliseconds step_timeout = std::chrono::seconds(30),
                                                     std::vector<std::string>* sales = nullptr);

}  // namespace till::ui
