// till-kiosk: the shop-counter front end.
//
// Every mode runs on app::Runtime: the real store (SQLite in the data folder), the reader driver
// and the sync engine. The simulators are plugged in here, not in the runtime: with no
// STRIPE_API_KEY, and with --reader sim, app::SimulatedWorld (app/sim_wiring.hpp) provides
// till-stripe-sim on 127.0.0.1 and till-reader-sim's device model, both SIMULATED and labelled so
// on screen. --script / --screenshots / --demo-sale drive the same kiosk through a script
// (ui/include/till/ui/script.hpp) whose world is the SimulatedWorld's hooks (the customer's card,
// the shop's network, Stripe's lost answers); without --data-dir or TILL_DATA_DIR they use a fresh
// temporary data folder, removed at exit.

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
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "till/app/catalog.hpp"
#include "till/app/reader_spec.hpp"
#include "till/app/runtime.hpp"
#include "till/app/sim_wiring.hpp"
#include "till/base/clock.hpp"
#include "till/base/data_dir.hpp"
#include "till/base/log.hpp"
#include "till/base/random.hpp"
#include "till/ui/harness.hpp"
#include "till/ui/kiosk.hpp"
#include "till/ui/script.hpp"
#include "till/ui/runtime_world.hpp"

namespace {

using namespace till;
using namespace till::ui;

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

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
int run_runtime_demo(Kiosk& kiosk, app::Runtime& runtime, app::SimulatedWorld& world) {
  using namespace std::chrono_literals;
  if (!world.simulated_customer()) {
    std::cerr << "till-kiosk: --headless-demo plays the customer, so it needs a simulated reader (--reader sim, or "
                 "--reader stripe on the embedded till-stripe-sim); the reader is "
              << runtime.reader_spec() << "\n";
    return 2;
  }
  const bool smart = runtime.reader_spec().rfind("stripe", 0) == 0;
  std::cout << "till-kiosk " << TILL_VERSION << " --headless-demo: no window. Two sales through the checkout reducer,\n"
            << "the store (" << runtime.store_path() << "), the reader driver and the sync engine.\n"
            << "Register: " << runtime.register_name() << " (" << runtime.register_id() << ").\n"
            << "Stripe: " << runtime.mode() << ". Reader: "
            << (smart ? "a simulated WisePOS E smart reader on till-stripe-sim, driven server-side (SIMULATED)"
                      : "in-process till-reader-sim device (SIMULATED)")
            << ".\n\n";
  auto step = [&](const char* what, bool ok) {
    if (!ok) std::cerr << "headless demo FAILED waiting for: " << what << " (notice: " << kiosk.model().notice.text << ")\n";
    return ok;
  };
  const auto ready = [](const pos::Model& m) { return m.reader.connected && m.store_check == pos::StoreCheck::Passed; };
  if (!step("the reader to connect and the database check to pass", pump_until(kiosk, ready, 20s))) return 1;
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
  (void)world.queue_card("4000000000009995");
  kiosk.apply(pos::AddProduct{products[1].id, 1});
  kiosk.apply(pos::Charge{});
  if (!step("the decline", pump_until(kiosk, [](const pos::Model& m) { return m.phase == pos::PaymentPhase::Declined; }, 30s))) return 1;
  std::cout << kiosk.model().notice.text << "\n\n";
  kiosk.apply(pos::RetryWithAnotherCard{});
  if (!step("sale 2 receipt", pump_until(kiosk, [](const pos::Model& m) { return m.screen == pos::Screen::Receipt; }, 30s))) return 1;
  std::cout << kiosk.model().last_receipt << "\n";
  const std::string pi2 = kiosk.model().attempts.back().payment_intent_id;
  std::cout << "Sync outcome: sale 1 -> " << pi1 << ", sale 2 -> " << pi2 << " (succeeded on " << runtime.account_id()
            << ", keyed by each attempt's idempotency key). Receipts were also printed to files (text and ESC/POS) in the receipts folder of the data folder.\n";
  return 0;
}

// With the embedded simulated reader, a person at the screen plays the customer: which test card
// the next collect is answered with. Program code, not a view (it talks to the simulators).
void draw_simulated_customer(app::SimulatedWorld& world) {
  ImGui::SetNextWindowPos(ImVec2(ImGui::GetIO().DisplaySize.x - 310, ImGui::GetIO().DisplaySize.y - 10),
                          ImGuiCond_Always, ImVec2(0, 1));
  ImGui::SetNextWindowSize(ImVec2(300, 0));
  ImGui::SetNextWindowCollapsed(true, ImGuiCond_Once);
  if (ImGui::Begin("SIMULATED CUSTOMER (not the kiosk)", nullptr, ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize)) {
    ImGui::TextWrapped("Present a card on the simulated reader now (while it waits for one):");
    if (ImGui::Button("Visa 4242 (approves)")) (void)world.present_card("visa");
    if (ImGui::Button("Mastercard 4444 (approves)")) (void)world.present_card("mastercard");
    if (ImGui::Button("Insufficient funds (declines)")) (void)world.present_card("insufficient_funds");
    if (ImGui::Button("Expired card (declines)")) (void)world.present_card("expired_card");
    ImGui::Separator();
    ImGui::TextWrapped("The shop's network and Stripe (SIMULATED):");
    if (ImGui::Button("Internet down")) (void)world.simulate_outage(true);
    ImGui::SameLine();
    if (ImGui::Button("Internet back")) (void)world.simulate_outage(false);
    if (ImGui::Button("Lose Stripe's answers")) (void)world.simulate_lost_answers(true);
    ImGui::SameLine();
    if (ImGui::Button("Answers flow")) (void)world.simulate_lost_answers(false);
  }
  ImGui::End();
}

struct Options {
  DisplayConfig display;
  std::string data_dir;  // --data-dir as given (resolved by base/data_dir.hpp in run_kiosk)
  std::string register_id;
  std::string register_name;
  std::string catalog_path;
  std::string reader = "sim";
  std::string fee_rule = "0";
  std::vector<std::string> printers;
  bool headless = false;
  // Scripted hooks: the steps, where screenshots go, and whether the window stays open after.
  std::optional<std::vector<ScriptStep>> script;
  std::string screenshot_dir;
  bool stay_open = false;
};

// A window frame loop; with a script, runs it and returns when it is done (unless stay_open).
int run_window(Kiosk& kiosk, app::Runtime& runtime, app::SimulatedWorld& sim, const Options& o, bool simulated_customer) {
  DisplayConfig display = o.display;
  display.vsync = !o.script.has_value();
  auto window = Window::open(display);
  if (!window) {
    std::cerr << "till-kiosk: " << window.error().message << "\n";
    if (window.error().kind == ErrorKind::Unavailable) {
      std::cerr << "  (without a display, try: till-kiosk --headless-demo, or run under xvfb-run)\n";
    }
    return 2;
  }
  std::unique_ptr<RuntimeWorld> world;
  std::unique_ptr<ScriptRunner> runner;
  if (o.script) {
    world = std::make_unique<RuntimeWorld>(runtime, sim);
    runner = std::make_unique<ScriptRunner>(*o.script, kiosk, *world, o.screenshot_dir, !o.screenshot_dir.empty());
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
    } else if (simulated_customer) {
      draw_simulated_customer(sim);
    }
    if (Status s = (*window)->end_frame(shot); !s) {
      std::cerr << "till-kiosk: " << s.error().message << "\n";
      return 1;
    }
    if (!shot.empty()) std::cerr << "till-kiosk: saved " << shot << "\n";
    if (runner && applied == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // let the runtime work
    if (runner && runner->done()) {
      for (const auto& line : runner->output()) std::cout << line << "\n";
      if (runner->error()) {
        std::cerr << "till-kiosk: script FAILED: " << runner->error()->message << "\n";
        return 1;
      }
      if (!o.stay_open) break;
      runner.reset();  // --demo-sale: the cashier takes over
    }
  }
  return 0;
}

// The kiosk on app::Runtime: a window (interactive or scripted), or the headless demo.
int run_kiosk(Options o) {
  bool temporary_data = false;
  const char* env_dir = std::getenv("TILL_DATA_DIR");
  if (o.data_dir.empty() && (env_dir == nullptr || *env_dir == '\0') && o.script) {
    // A script expects a fresh register: unless a folder was chosen (--data-dir, TILL_DATA_DIR),
    // its own data folder, removed at exit.
    o.data_dir = (std::filesystem::temp_directory_path() / ("till-kiosk-script-" + std::to_string(::getpid()))).string();
    std::error_code ec;
    std::filesystem::remove_all(o.data_dir, ec);
    temporary_data = true;
  }
  // The one rule every Till program shares: --data-dir, else TILL_DATA_DIR, else the XDG default.
  auto dir = resolve_data_dir(o.data_dir);
  if (!dir) {
    std::cerr << "till-kiosk: " << dir.error().message << "\n";
    return 2;
  }
  o.data_dir = dir->path;
  auto doc = app::load_catalog(o.catalog_path.empty() ? app::demo_catalog_path() : std::filesystem::path(o.catalog_path));
  if (!doc) {
    std::cerr << "till-kiosk: " << doc.error().message << "\n";
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(o.data_dir, ec);
  if (auto s = log::init({o.data_dir + "/till.log", 10 * 1024 * 1024, 5, log::Level::Info, false}); !s) {
    std::cerr << "till-kiosk: " << s.error().message << "\n";
    return 2;
  }
  app::RuntimeConfig rc;
  rc.data_dir = o.data_dir;
  rc.fee_rule = o.fee_rule;
  if (!o.printers.empty()) rc.printers = o.printers;
  if (const char* key = std::getenv("STRIPE_API_KEY"); key && *key) rc.api_key = Secret(key);
  if (const char* acct = std::getenv("TILL_ACCOUNT"); acct && *acct) rc.account_id = acct;
  if (const char* loc = std::getenv("TILL_LOCATION"); loc && *loc) rc.location_id = loc;
  rc.reader = o.reader;
  rc.register_id = o.register_id;
  rc.register_name = o.register_name;
  // The simulators the configuration asks for (none with a key and a real reader). A script plays
  // the customer itself (card <name>); a person trying the kiosk gets the demo card.
  app::SimulatedWorldOptions so;
  so.customer_presents_demo_card = !o.script.has_value();
  auto world = app::SimulatedWorld::plug_into(rc, so);
  // The manager PIN comes from the environment; the demo default is printed so nobody relies on it.
  const char* pin = std::getenv("TILL_MANAGER_PIN");
  KioskConfig kc = kiosk_config(*doc, rc, pin && *pin ? pin : "1234");

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
  kiosk.set_register((*runtime)->register_id(), (*runtime)->register_name());
  // Every later log line says which register wrote it.
  log::set_common_fields({{"register", (*runtime)->register_id()}, {"register_name", (*runtime)->register_name()}});
  int rc_exit = 0;
  if (o.headless) {
    rc_exit = run_runtime_demo(kiosk, **runtime, *world);
  } else {
    std::cerr << "till-kiosk: " << (*runtime)->register_name() << " (" << (*runtime)->register_id() << "), "
              << (*runtime)->mode() << "; data in " << o.data_dir << " (from " << to_string(dir->source) << ")"
              << (pin ? "" : "; manager PIN 1234 (demo default: set TILL_MANAGER_PIN)") << "\n";
    // The SIMULATED CUSTOMER panel drives the in-process simulated reader (and its network).
    const bool in_process_sim = world->simulates_stripe() && (*runtime)->reader_spec() == "sim";
    rc_exit = run_window(kiosk, **runtime, *world, o, in_process_sim);
  }
  (*runtime)->stop();  // before the kiosk it posts into goes away
  log::shutdown();
  if (temporary_data) std::filesystem::remove_all(o.data_dir, ec);
  return rc_exit;
}

}  // namespace

// The command line, then the scripted hooks' parsing: about 80 lines, one option per line.
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
  std::string reader = "sim";
  std::string fee_rule = "0";
  std::vector<std::string> printers;
  app.add_option("--data-dir", data_dir,
                 "Data folder: till.db, till.log, receipts/, data.key (default: TILL_DATA_DIR, else "
                 "$XDG_DATA_HOME/till, else ~/.local/share/till)");
  std::string register_id = env_or_empty("TILL_REGISTER_ID");
  std::string register_name = env_or_empty("TILL_REGISTER_NAME");
  app.add_option("--register-id", register_id,
                 "This register's id in Stripe metadata and reports (TILL_REGISTER_ID; default: generated once, "
                 "reg_ + 16 hex digits, and kept in the database; it can never change afterwards)");
  app.add_option("--register-name", register_name,
                 "This register's name for people (TILL_REGISTER_NAME; default: the stored one, else Register 1)");
  app.add_option("--catalog", catalog_path, "Catalog JSON file (default: the shipped demo catalog)");
  app.add_option("--reader", reader,
                 std::string("Card reader: ") + app::kReaderSpecForms +
                     ". sim = in-process simulated reader (default); HOST:PORT = till-reader-sim over TCP (numeric "
                     "address); usb = libusb reader, VID:PID in hex (default 1209:0001); stripe = the one online "
                     "Stripe smart reader of the account (stripe:tmr_... names one; a SIMULATED one on the embedded "
                     "till-stripe-sim)");
  app.add_option("--fee", fee_rule, "Application fee rule, e.g. 30+290bp (fixed minor units + basis points)");
  app.add_option("--printer", printers,
                 "Receipt printer, repeatable: file | file:DIR | device:/dev/usb/lp0, then ,text|escpos ,width=N "
                 "(default: text and ESC/POS files in <data-dir>/receipts)");
  app.add_option("--width", display.width, "Window width")->check(CLI::Range(640, 7680));
  app.add_option("--height", display.height, "Window height")->check(CLI::Range(480, 4320));
  app.add_option("--font-scale", display.font_scale, "Text size multiplier")->check(CLI::Range(0.5, 3.0));
  app.add_option("--font", display.font_path, "TrueType font for body text (default: DejaVu Sans, fonts-dejavu-core)");
  app.add_option("--bold-font", display.bold_font_path, "TrueType font for headings and totals (default: DejaVu Sans Bold)");
  app.add_option("--mono-font", display.mono_font_path, "TrueType font for receipts (default: DejaVu Sans Mono)");
  app.add_flag("--headless-demo", headless_demo, "No display: run the demo sale headless and print the receipts");
  app.add_flag("--demo-sale", demo_sale, "Run the demo sale in the window, then stay open");
  app.add_option("--script", script_path, "Run a kiosk script (see ui/README.md) in the window, then exit");
  app.add_option("--screenshots", screenshot_dir, "Save the script's screenshots (default script: the demo) here, then exit");
  CLI11_PARSE(app, argc, argv);

  Options o;
  o.display = display;
  o.data_dir = data_dir;
  o.register_id = register_id;
  o.register_name = register_name;
  o.catalog_path = catalog_path;
  if (auto spec = app::parse_reader_spec(reader); !spec) {
    std::cerr << "till-kiosk: --reader: " << spec.error().message << "\n";
    return 2;
  }
  o.reader = reader;
  o.fee_rule = fee_rule;
  o.printers = printers;
  o.headless = headless_demo;
  o.screenshot_dir = screenshot_dir;
  o.stay_open = demo_sale && script_path.empty() && screenshot_dir.empty();
  const bool scripted = !headless_demo && (demo_sale || !script_path.empty() || !screenshot_dir.empty());
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
    o.script = std::move(*parsed);
  }
  if (!screenshot_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(screenshot_dir, ec);
    if (ec) {
      std::cerr << "till-kiosk: cannot create " << screenshot_dir << ": " << ec.message() << "\n";
      return 2;
    }
  }
  return run_kiosk(std::move(o));
}
