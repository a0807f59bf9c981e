// till-kiosk: the shop-counter front end. Until app/ wires the store, reader drivers and Stripe
// client, the kiosk runs against till::ui::SimulatedEffects (a SIMULATED reader and Stripe, in
// memory) and says so in its status bar and on the console.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "till/base/clock.hpp"
#include "till/base/random.hpp"
#include "till/ui/harness.hpp"
#include "till/ui/kiosk.hpp"
#include "till/ui/script.hpp"
#include "till/ui/simulated.hpp"

namespace {

using namespace till;
using namespace till::ui;

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A small panel for a human trying the kiosk without hardware: it plays the customer, the
// reader and Stripe. Program code, not a view: it touches the simulated world directly.
void draw_simulator_panel(SimulatedEffects& world, bool& online, bool& reader) {
  const ImVec2 size(300, 0);
  ImGui::SetNextWindowPos(ImVec2(ImGui::GetIO().DisplaySize.x - 310, ImGui::GetIO().DisplaySize.y - 10),
                          ImGuiCond_Always, ImVec2(0, 1));
  ImGui::SetNextWindowSize(size);
  ImGui::SetNextWindowCollapsed(true, ImGuiCond_Once);
  if (ImGui::Begin("SIMULATOR (not the kiosk)", nullptr, ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize)) {
    if (ImGui::Button("Present Visa 4242")) (void)world.present_card("visa", "4242");
    if (ImGui::Button("Present Mastercard 5100")) (void)world.present_card("mastercard", "5100");
    if (ImGui::Button("Reader times out")) (void)world.fail_collect("timed out waiting for a card");
    if (ImGui::Button("Next: decline (insufficient funds)")) {
      world.set_next_outcome({SimulatedEffects::Outcome::Kind::Decline, "insufficient_funds"});
    }
    if (ImGui::Button("Next: no answer (in doubt)")) world.set_next_outcome({SimulatedEffects::Outcome::Kind::Unknown, ""});
    if (ImGui::Button("Resolve in-doubt: approved")) world.resolve_in_doubt(true);
    if (ImGui::Button(online ? "Go offline" : "Go online")) {
      online = !online;
      world.set_online(online);
    }
    if (ImGui::Button(reader ? "Disconnect reader" : "Connect reader")) {
      reader = !reader;
      world.connect_reader(reader);
    }
  }
  ImGui::End();
}

int run_headless_demo(Kiosk& kiosk, SimulatedEffects& world, std::vector<ScriptStep> steps) {
  std::cout << "till-kiosk " << TILL_VERSION
            << " --headless-demo: no window. Running the demo sale through the real views (headless ImGui\n"
               "frames, clicks by label) and the pos checkout reducer. The card reader and Stripe are SIMULATED\n"
               "(till::ui::SimulatedEffects); nothing is written to disk.\n\n";
  auto out = run_script_headless(std::move(steps), kiosk, world);
  if (!out) {
    std::cerr << "headless demo FAILED: " << out.error().message << "\n";
    return 1;
  }
  for (const auto& line : *out) std::cout << line << (line.empty() || line.back() != '\n' ? "\n" : "");
  const DayReport day = world.day_report();
  std::cout << "\nDemo finished: " << day.sales_count << " sales paid, " << world.receipts().size()
            << " receipts printed, " << world.operations().size() << " outbox operations.\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"till-kiosk: the Till point-of-sale front end (Dear ImGui)"};
  app.set_version_flag("--version", std::string("till-kiosk ") + TILL_VERSION);
  DisplayConfig display;
  std::string data_dir;
  std::string script_path;
  std::string screenshot_dir;
  bool headless_demo = false;
  bool demo_sale = false;
  app.add_option("--data-dir", data_dir, "Data folder (reserved: the store is wired in by app/, not yet)");
  app.add_option("--width", display.width, "Window width")->check(CLI::Range(640, 7680));
  app.add_option("--height", display.height, "Window height")->check(CLI::Range(480, 4320));
  app.add_option("--font-scale", display.font_scale, "Text size multiplier")->check(CLI::Range(0.5, 3.0));
  app.add_option("--font", display.font_path, "TrueType font file (default: DejaVu Sans if installed)");
  app.add_flag("--headless-demo", headless_demo, "No display: run the demo sale headless and print the receipts");
  app.add_flag("--demo-sale", demo_sale, "Run the demo sale in the window, then stay open");
  app.add_option("--script", script_path, "Run a kiosk script (see ui/README.md) in the window, then exit");
  app.add_option("--screenshots", screenshot_dir, "Save the script's screenshots (default script: the demo) here, then exit");
  CLI11_PARSE(app, argc, argv);

  std::vector<ScriptStep> steps;
  const bool scripted = demo_sale || headless_demo || !script_path.empty() || !screenshot_dir.empty();
  if (scripted) {
    std::string text(demo_script());
    if (!script_path.empty()) {
      auto file = read_file(script_path);
      if (!file) {
        std::cerr << "till-kiosk: cannot read script " << script_path << "\n";
        return 2;
      }
      text = *file;
    }
    auto parsed = parse_script(text);
    if (!parsed) {
      std::cerr << "till-kiosk: " << parsed.error().message << "\n";
      return 2;
    }
    steps = std::move(*parsed);
  }
  if (!screenshot_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(screenshot_dir, ec);
    if (ec) {
      std::cerr << "till-kiosk: cannot create " << screenshot_dir << ": " << ec.message() << "\n";
      return 2;
    }
  }

  const Clock& clock = SystemClock::instance();
  Kiosk kiosk(demo_config(), clock, SystemRandom::instance(), nullptr);
  SimulatedEffects world([&kiosk](pos::Action a) { kiosk.post(std::move(a)); }, clock);
  kiosk.set_sink(&world);

  if (headless_demo) return run_headless_demo(kiosk, world, std::move(steps));

  display.vsync = !scripted;
  auto window = Window::open(display);
  if (!window) {
    std::cerr << "till-kiosk: " << window.error().message
              << "\n  (without a display, try: till-kiosk --headless-demo, or run under xvfb-run)\n";
    return 2;
  }
  std::cerr << "till-kiosk: SIMULATED reader and Stripe (till::ui::SimulatedEffects); manager PIN 1234 (demo)\n";
  std::unique_ptr<ScriptRunner> runner;
  if (scripted) runner = std::make_unique<ScriptRunner>(std::move(steps), kiosk, world, screenshot_dir, !screenshot_dir.empty());
  const bool exit_when_done = !script_path.empty() || !screenshot_dir.empty();
  bool online = true;
  bool reader = true;
  if (!runner) {
    world.connect_reader(true);
    world.set_online(true);
  }
  FrameLog log;
  while (!(*window)->should_close()) {
    (*window)->begin_frame(
        [](ImGuiIO& io, void* user) {
          if (user != nullptr) static_cast<ScriptRunner*>(user)->before_frame(io);
        },
        runner.get());
    const std::size_t applied = kiosk.process_inbox();
    log.clear();
    kiosk.draw((*window)->fonts(), &log);
    std::string shot;
    if (runner) {
      shot = runner->after_frame(applied, log);
    } else {
      kiosk.set_day_report(world.day_report());
      draw_simulator_panel(world, online, reader);
    }
    if (Status s = (*window)->end_frame(shot); !s) {
      std::cerr << "till-kiosk: " << s.error().message << "\n";
      return 1;
    }
    if (!shot.empty()) std::cerr << "till-kiosk: saved " << shot << "\n";
    if (runner && runner->done()) {
      for (const auto& line : runner->output()) std::cout << line << "\n";
      if (runner->error()) {
        std::cerr << "till-kiosk: script FAILED: " << runner->error()->message << "\n";
        return 1;
      }
      if (exit_when_done) break;
      runner.reset();  // --demo-sale: the cashier takes over
    }
  }
  return 0;
}
