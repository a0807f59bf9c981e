// till-reader-sim: a simulated USB card reader speaking Till's reader protocol over TCP.
//
//   till-reader-sim --listen 127.0.0.1:0 [--scenario file.json] [--seed N]
//
// Prints "till-reader-sim listening on 127.0.0.1:PORT" once bound (PORT is the real port when
// 0 was asked for). Commands on stdin drive the simulated customer (type "help"). With a
// scenario, each collect the host sends plays the next scripted step.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/streambuf.hpp>

#include "till/base/log.hpp"
#include "till/hwsim/console.hpp"
#include "till/hwsim/scenario.hpp"
#include "till/hwsim/tcp_front_end.hpp"

namespace asio = boost::asio;
using namespace till;

namespace {

struct Stdin {
  explicit Stdin(asio::io_context& io, hwsim::ReaderDevice& device, std::function<void()> quit)
      : in(io, ::dup(STDIN_FILENO)), device(device), quit(std::move(quit)) {}
  asio::posix::stream_descriptor in;
  asio::streambuf buffer;
  hwsim::ReaderDevice& device;
  std::function<void()> quit;

  void read() {
    asio::async_read_until(in, buffer, '\n', [this](auto ec, std::size_t) {
      if (ec) return;  // EOF: keep serving the host until a signal
      std::istream is(&buffer);
      std::string line;
      std::getline(is, line);
      if (line == "quit" || line == "exit") return quit();
      auto r = hwsim::run_console_command(device, line);
      if (r) {
        if (!r->empty()) std::cout << *r << (r->back() == '\n' ? "" : "\n");
      } else {
        std::cout << "error: " << r.error().message << "\n";
      }
      std::cout << std::flush;
      read();
    });
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"till-reader-sim: a simulated card reader speaking Till's reader protocol"};
  std::string listen = "127.0.0.1:0";
  std::string scenario_path;
  std::uint64_t seed = 0;
  bool seed_given = false;
  bool show_version = false;
  bool no_stdin = false;
  app.add_option("--listen", listen, "address:port to listen on (port 0 = ephemeral, printed at start)");
  app.add_option("--scenario", scenario_path, "JSON scenario file (steps and faults)");
  app.add_option("--seed", seed, "seed for tokens and noise (overrides the scenario's)")->each([&](const std::string&) {
    seed_given = true;
  });
  app.add_flag("--version", show_version, "print the version and exit");
  app.add_flag("--no-stdin", no_stdin, "do not read commands from stdin");
  CLI11_PARSE(app, argc, argv);
  if (show_version) {
    std::cout << "till-reader-sim " << TILL_VERSION << "\n";
    return 0;
  }

  hwsim::DeviceConfig config;
  hwsim::Scenario scenario;
  if (!scenario_path.empty()) {
    auto sc = hwsim::load_scenario_file(scenario_path);
    if (!sc) {
      std::cerr << "till-reader-sim: " << sc.error().message << "\n";
      return 2;
    }
    scenario = std::move(*sc);
    config = scenario.reader;
  }
  if (seed_given) config.seed = seed;

  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "till-reader-sim: --listen wants address:port\n";
    return 2;
  }
  const std::string address = listen.substr(0, colon);
  unsigned long port = 0;
  try {
    port = std::stoul(listen.substr(colon + 1));
  } catch (...) {
    port = 70000;
  }
  if (port > 65535) {
    std::cerr << "till-reader-sim: bad port in --listen\n";
    return 2;
  }

  asio::io_context io;
  hwsim::ReaderDevice device(config);
  if (!scenario_path.empty()) hwsim::apply_scenario(device, scenario);
  device.set_observer([](const std::string& what) { std::cout << "reader: " << what << std::endl; });
  hwsim::TcpFrontEnd server(io, device);
  auto bound = server.listen(address, static_cast<std::uint16_t>(port));
  if (!bound) {
    std::cerr << "till-reader-sim: " << bound.error().message << "\n";
    return 1;
  }
  std::cout << "till-reader-sim listening on " << address << ":" << *bound << std::endl;
  if (!scenario_path.empty())
    std::cout << "scenario \"" << scenario.name << "\": " << scenario.steps.size() << " scripted payments, seed "
              << config.seed << std::endl;

  auto quit = [&] {
    server.stop();
    io.stop();
  };
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto ec, int) {
    if (!ec) quit();
  });
  std::unique_ptr<Stdin> console;
  if (!no_stdin) {
    console = std::make_unique<Stdin>(io, device, quit);
    console->read();
  }
  io.run();
  log::info("hwsim.exit", {{"collects", device.collects_received()}});
  return 0;
}
