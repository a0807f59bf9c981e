#pragma once
// The kiosk's test hook: a small line-based script that drives the real kiosk frame by frame,
// the way a cashier and a simulated world would. It clicks buttons by their label (through
// io.MousePos/MouseDown, so the click goes through the real widgets), types like a keyboard-wedge
// scanner, changes the simulated world (reader, connectivity, Stripe's answer), checks what the
// screen shows, and asks for screenshots. Used by `till-kiosk --script FILE`, `--demo-sale`,
// `--screenshots DIR` and `--headless-demo`, and by the UI tests.
//
//   # comment
//   reader connect|disconnect        online | offline
//   stripe approve | stripe decline <code> | stripe unknown      (answer to the next payment)
//   card <brand> <last4> [read_method]   reader-fail <reason...>
//   resolve approved | resolve declined <code>                   (the in-doubt resolver)
//   seed-dead <sale_id> <amount_minor> <request_id> <error...>
//   tap <label>        a button, a tab or a cart line ("line: Latte") whose label is <label> (or starts
//                      with "<label>\n", for product tiles)
//   type <text>        characters into the focused field (or the wedge scanner)
//   key enter|escape|f2|f4|f5|f9      scan <digits> (= type <digits> + key enter)
//   add <product_id> [qty]            dispatch AddProduct directly
//   expect screen sell|payment|receipt|back_office     expect text <substring>
//   expect no-button <label>          expect button <label>
//   screenshot <name>  saves <dir>/<name>.png (window mode only; headless notes it and goes on)
//   print receipt | print sync        output for --headless-demo
//   wait <frames>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <imgui.h>

#include "till/base/result.hpp"
#include "till/ui/kiosk.hpp"
#include "till/ui/simulated.hpp"
#include "till/ui/widgets.hpp"

namespace till::ui {

struct ScriptStep {
  int line = 0;
  std::string verb;
  std::vector<std::string> args;
  std::string rest;  // everything after the verb, as written
};

// InvalidArgument naming the line for an unknown verb or missing arguments.
Result<std::vector<ScriptStep>> parse_script(std::string_view text);

// The built-in end-to-end demo: a sale approved, a decline then another card, an in-doubt
// payment resolved approved (no second charge), an offline sale stored, the back office.
// Screenshots: 01-sell, 02-payment, 03-receipt-approved, 04-declined, 05-in-doubt,
// 06-offline-banner, 07-back-office, 08-back-office-attention, 09-back-office-settings,
// 10-back-office-end-of-day.
std::string_view demo_script();

// Runs a script against a kiosk and its simulated world. Single-threaded (UI thread). The frame
// loop calls before_frame() before ImGui::NewFrame (after the platform backend), then
// Kiosk::process_inbox(), draws into a cleared FrameLog, then after_frame(); a non-empty return
// is a screenshot to save from this frame.
class ScriptRunner {
 public:
  ScriptRunner(std::vector<ScriptStep> steps, Kiosk& kiosk, SimulatedEffects& world,
               std::string screenshot_dir, bool can_screenshot);

  void before_frame(ImGuiIO& io);
  // `applied` is what process_inbox() returned this frame. Returns a PNG path or "".
  std::string after_frame(std::size_t applied, const FrameLog& log);

  bool done() const noexcept { return done_ || error_.has_value(); }
  const std::optional<Error>& error() const noexcept { return error_; }
  // Lines for the console (print steps, skipped screenshots).
  const std::vector<std::string>& output() const noexcept { return output_; }
  const std::vector<std::string>& screenshots() const noexcept { return screenshots_; }
  // Frames run so far (a script that never settles fails after a bound instead of hanging).
  int frames() const noexcept { return frames_; }

 private:
  Status execute(const ScriptStep& step, const FrameLog& log);
  void failed(const ScriptStep& step, const std::string& why, const FrameLog* log = nullptr);

  std::vector<ScriptStep> steps_;
  std::size_t next_ = 0;
  Kiosk& kiosk_;
  SimulatedEffects& world_;
  std::string dir_;
  bool can_screenshot_;
  int quiet_frames_ = 0;
  int wait_frames_ = 0;
  int frames_ = 0;
  int stuck_frames_ = 0;
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
// through the widgets, screenshots are skipped. Returns the runner's output lines, or the error.
Result<std::vector<std::string>> run_script_headless(std::vector<ScriptStep> steps, Kiosk& kiosk,
                                                     SimulatedEffects& world, int max_frames = 20'000);

}  // namespace till::ui
