// till-kiosk: the shop-counter front end.
//
// The kiosk itself (a window, or --headless-demo without a display) runs on app::Runtime: the
// real store (SQLite in --data-dir), the reader driver and the sync engine. With no
// STRIPE_API_KEY that means the embedded default: an in-process till-reader-sim device model and
// till-stripe-sim on 127.0.0.1, both SIMULATED and labelled so on screen.
//
// --script / --screenshots / --demo-sale are test hooks: they drive the views against
// till::ui::SimulatedEffects, an in-memory stand-in scripted step by step, and write nothing.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <functional>
#include <chrono>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "till/app/catalog.hpp"
#include "till/app/runtime.hpp"
#include "till/base/clock.hpp"
#include "till/base/log.hpp"
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

// Forwards the kiosk's effects to the app's runtime (the core thread).
class RuntimeSink final : public EffectSink {
 public:
  explicit RuntimeSink(app::Runtime& runtime) : runtime_(runtime) {}
  void run(std::vector<pos::Effect> effects) override { runtime_.run(std::move(effects)); }

 private:
  app::Runtime& runtime_;
};

// Applies what the runtime posts until `done` or the deadline. The headless demo's "frame loop".
bool pump_until(Kiosk& kiosk, const std::function<bool(const pos::Model&)>& done, std::chrono::seconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!done(kiosk.model())) {
    if (std::chrono::steady_clock::now() > end) return false;
    if (kiosk.process_inbox() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// --headless-demo: two sales through the reducer and the real runtime (store, simulated reader,
// sync engine, embedded till-stripe-sim), printing the receipts and what reached "Stripe".
int run_runtime_demo(Kiosk& kiosk, app::Runtime& runtime) {
  using namespace std::chrono_literals;
  std::cout << "till-kiosk " << TILL_VERSION << " --headless-demo: no window. Two sales through the checkout reducer,\n"
            << "the store (" << runtime.store_path() << "), the reader driver and the sync engine.\n"
            << "Stripe: " << runtime.mode() << ". Reader: in-process till-reader-sim device (SIMULATED).\n\n";
  auto step = [&](const char* what, bool ok) {
    if (!ok) std::cerr << "headless demo FAILED waiting for: " << what << " (notice: " << kiosk.model().notice.text << ")\n";
    return ok;
  };
  if (!step("the reader to connect", pump_until(kiosk, [](const pos::Model& m) { return m.reader.connected; }, 20s))) return 1;
  const auto& products = kiosk.config().catalog.products();
  if (products.size() < 3) return 1;

  // Sale 1: two items, approved on the first card.
  kiosk.apply(pos::AddProduct{products[0].id, 2});
  kiosk.apply(pos::AddProduct{products[2].id, 1});
  kiosk.apply(pos::Charge{});
  if (!step("sale 1 receipt", pump_until(kiosk, [](const pos::Model& m) { return m.screen == pos::Screen::Receipt; }, 30s))) return 1;
  std::cout << kiosk.model().last_receipt << "\n";
  const std::string pi1 = kiosk.model().attempts.back().payment_intent_id;
  kiosk.apply(pos::NewSale{});

  // Sale 2: the first card is declined (insufficient funds), the second approved.
  (void)runtime.queue_card("4000000000009995");
  kiosk.apply(pos::AddProduct{products[1].id, 1});
  kiosk.apply(pos::Charge{});
  if (!step("the decline", pump_until(kiosk, [](const pos::Model& m) { return m.phase == pos::PaymentPhase::Declined; }, 30s))) return 1;
  std::cout << kiosk.model().notice.text << "\n\n";
  kiosk.apply(pos::RetryWithAnotherCard{});
  if (!step("sale 2 receipt", pump_until(kiosk, [](const pos::Model& m) { return m.screen == pos::Screen::Receipt; }, 30s))) return 1;
  std::cout << kiosk.model().last_receipt << "\n";
  const std::string pi2 = kiosk.model().attempts.back().payment_intent_id;
  std::cout << "Sync outcome: sale 1 -> " << pi1 << ", sale 2 -> " << pi2 << " (succeeded on " << runtime.account_id()
            << ", keyed by each attempt's idempotency key). Receipts were also appended to receipts.txt in the data folder.\n";
  return 0;
}

// With the embedded simulated reader, a person at the screen plays the customer: which test card
// the next collect is answered with. Program code, not a view (it talks to the runtime).
void draw_simulated_customer(app::Runtime& runtime) {
  ImGui::SetNextWindowPos(ImVec2(ImGui::GetIO().DisplaySize.x - 310, ImGui::GetIO().DisplaySize.y - 10),
                          ImGuiCond_Always, ImVec2(0, 1));
  ImGui::SetNextWindowSize(ImVec2(300, 0));
  ImGui::SetNextWindowCollapsed(true, ImGuiCond_Once);
  if (ImGui::Begin("SIMULATED CUSTOMER (not the kiosk)", nullptr, ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize)) {
    ImGui::TextWrapped("The next card presented to the simulated reader:");
    if (ImGui::Button("Visa 4242 (approves)")) (void)runtime.queue_card("4242424242424242");
    if (ImGui::Button("Mastercard 4444 (approves)")) (void)runtime.queue_card("5555555555554444");
    if (ImGui::Button("Insufficient funds (declines)")) (void)runtime.queue_card("4000000000009995");
    if (ImGui::Button("Expired card (declines)")) (void)runtime.queue_card("4000000000000069");
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

std::string default_data_dir() {
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.local/share/till";
}

// The kiosk on app::Runtime: a window, or the headless demo when asked.
int run_kiosk(DisplayConfig display, std::string data_dir, const std::string& catalog_path,
              const std::string& reader_addr, const std::string& fee_rule, bool headless) {
  if (data_dir.empty()) data_dir = default_data_dir();
  auto doc = app::load_catalog(catalog_path.empty() ? app::demo_catalog_path() : std::filesystem::path(catalog_path));
  if (!doc) {
    std::cerr << "till-kiosk: " << doc.error().message << "\n";
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (auto s = log::init({data_dir + "/till.log", 10 * 1024 * 1024, 5, log::Level::Info, false}); !s) {
    std::cerr << "till-kiosk: " << s.error().message << "\n";
    return 2;
  }
  app::RuntimeConfig rc;
  rc.data_dir = data_dir;
  rc.fee_rule = fee_rule;
  if (const char* key = std::getenv("STRIPE_API_KEY"); key && *key) rc.api_key = Secret(key);
  if (const char* acct = std::getenv("TILL_ACCOUNT"); acct && *acct) rc.account_id = acct;
  if (!reader_addr.empty()) {
    const auto colon = reader_addr.rfind(':');
    if (colon == std::string::npos) {
      std::cerr << "till-kiosk: --reader wants HOST:PORT\n";
      return 2;
    }
    rc.reader_host = reader_addr.substr(0, colon);
    rc.reader_port = static_cast<std::uint16_t>(std::stoi(reader_addr.substr(colon + 1)));
  }
  KioskConfig kc;
  kc.catalog = doc->catalog;
  kc.merchant = doc->merchant;
  kc.api_key = rc.api_key;
  // The manager PIN comes from the environment; the demo default is printed so nobody relies on it.
  const char* pin = std::getenv("TILL_MANAGER_PIN");
  kc.manager_pin = pin && *pin ? pin : "1234";

  const Clock& clock = SystemClock::instance();
  Kiosk kiosk(kc, clock, SystemRandom::instance(), nullptr);
  auto runtime = app::Runtime::start(rc, [&kiosk](pos::Action a) { kiosk.post(std::move(a)); });
  if (!runtime) {
    std::cerr << "till-kiosk: cannot start: " << runtime.error().describe() << "\n";
    return 2;
  }
  RuntimeSink sink(**runtime);
  kiosk.set_sink(&sink);
  kiosk.set_account((*runtime)->account_id(), (*runtime)->mode());
  int rc_exit = 0;
  if (headless) {
    rc_exit = run_runtime_demo(kiosk, **runtime);
  } else {
    auto window = Window::open(display);
    if (!window) {
      std::cerr << "till-kiosk: " << window.error().message
                << "\n  (without a display, try: till-kiosk --headless-demo, or run under xvfb-run)\n";
      rc_exit = 2;
    } else {
      std::cerr << "till-kiosk: " << (*runtime)->mode() << "; data in " << data_dir
                << (pin ? "" : "; manager PIN 1234 (demo default: set TILL_MANAGER_PIN)") << "\n";
      FrameLog log;
      while (!(*window)->should_close()) {
        (*window)->begin_frame(nullptr, nullptr);
        kiosk.process_inbox();
        log.clear();
        kiosk.draw((*window)->fonts(), &log);
        if (!(*runtime)->account_id().empty() && rc.api_key.empty()) draw_simulated_customer(**runtime);
        if (Status s = (*window)->end_frame({}); !s) {
          std::cerr << "till-kiosk: " << s.error().message << "\n";
          rc_exit = 1;
          break;
        }
      }
    }
  }
  (*runtime)->stop();  // before the kiosk it posts into goes away
  log::shutdown();
  return rc_exit;
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
  std::string catalog_path;
  std::string reader_addr;
  std::string fee_rule = "0";
  app.add_option("--data-dir", data_dir, "Data folder: till.db, till.log, receipts.txt (default ~/.local/share/till)");
  app.add_option("--catalog", catalog_path, "Catalog JSON file (default: the shipped demo catalog)");
  app.add_option("--reader", reader_addr, "Reader over TCP, HOST:PORT (till-reader-sim); default: in-process simulated reader");
  app.add_option("--fee", fee_rule, "Application fee rule, e.g. 30+290bp (fixed minor units + basis points)");
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
  const bool hooks = demo_sale || !script_path.empty() || !screenshot_dir.empty();
  if (!hooks) return run_kiosk(display, data_dir, catalog_path, reader_addr, fee_rule, headless_demo);

  // Test hooks: the in-memory SimulatedEffects world (see the top of this file).
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
