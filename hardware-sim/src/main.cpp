// till-reader-sim: a simulated USB card reader speaking Till's reader protocol over TCP and,
// with --usbip, as a USB device over USB/IP (a kernel with vhci-hcd attaches it).
//
//   till-reader-sim --listen 127.0.0.1:0 [--usbip [ADDR:]PORT] [--scenario file.json] [--seed N]
//
// Prints "till-reader-sim listening on 127.0.0.1:PORT" once bound (PORT is the real port when
// 0 was asked for), and "till-reader-sim usbip on ADDR:PORT busid 1-1 ..." for USB/IP. Both
// front ends share one device: whichever host takes it first holds it. Commands on stdin drive
// the simulated customer (type "help"). With a scenario, each collect the host sends plays the
// next scripted step.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
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
#include "till/hwsim/usb_function.hpp"
#include "till/hwsim/usbip_server.hpp"

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

struct Endpoint {
  std::string address;
  std::uint16_t port = 0;
};

// "address:port", or just "port" when a default address is given. nullopt when malformed.
std::optional<Endpoint> parse_endpoint(const std::string& text, const std::string& default_address) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos && default_address.empty()) return std::nullopt;
  Endpoint e;
  e.address = colon == std::string::npos ? default_address : text.substr(0, colon);
  const std::string port = colon == std::string::npos ? text : text.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const unsigned long value = std::stoul(port);
  if (value > 65535) return std::nullopt;
  e.port = static_cast<std::uint16_t>(value);
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"till-reader-sim: a simulated card reader speaking Till's reader protocol"};
  std::string listen = "127.0.0.1:0";
  std::string usbip_listen;
  std::string scenario_path;
  std::uint64_t seed = 0;
  bool seed_given = false;
  bool show_version = false;
  bool no_stdin = false;
  app.add_option("--listen", listen, "address:port to listen on (port 0 = ephemeral, printed at start)");
  app.add_option("--usbip", usbip_listen,
                 "also serve the reader as a USB device over USB/IP on [address:]port (e.g. 3240, the "
                 "usual port, or 127.0.0.1:3240; address defaults to 127.0.0.1)");
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

  const auto tcp_at = parse_endpoint(listen, "");
  if (!tcp_at) {
    std::cerr << "till-reader-sim: --listen wants address:port\n";
    return 2;
  }
  std::optional<Endpoint> usbip_at;
  if (!usbip_listen.empty()) {
    usbip_at = parse_endpoint(usbip_listen, "127.0.0.1");
    if (!usbip_at) {
      std::cerr << "till-reader-sim: --usbip wants [address:]port\n";
      return 2;
    }
  }

  asio::io_context io;
  hwsim::ReaderDevice device(config);
  if (!scenario_path.empty()) hwsim::apply_scenario(device, scenario);
  device.set_observer([](const std::string& what) { std::cout << "reader: " << what << std::endl; });
  hwsim::TcpFrontEnd server(io, device);
  auto bound = server.listen(tcp_at->address, tcp_at->port);
  if (!bound) {
    std::cerr << "till-reader-sim: " << bound.error().message << "\n";
    return 1;
  }
  std::cout << "till-reader-sim listening on " << tcp_at->address << ":" << *bound << std::endl;
  // USB/IP front end: the same device as a USB function (see hardware-sim/README.md).
  std::unique_ptr<hwsim::UsbFunction> usb;
  std::unique_ptr<hwsim::UsbipServer> usbip;
  if (usbip_at) {
    usb = std::make_unique<hwsim::UsbFunction>(device, hwsim::asio_scheduler(io));
    usbip = std::make_unique<hwsim::UsbipServer>(io, *usb);
    auto at = usbip->listen(usbip_at->address, usbip_at->port);
    if (!at) {
      std::cerr << "till-reader-sim: " << at.error().message << "\n";
      return 1;
    }
    const auto info = usbip->device_info();
    char ids[16];
    std::snprintf(ids, sizeof ids, "%04x:%04x", info.id_vendor, info.id_product);
    std::cout << "till-reader-sim usbip on " << usbip_at->address << ":" << *at << " busid " << info.busid
              << " usb id " << ids << std::endl;
  }
  if (!scenario_path.empty())
    std::cout << "scenario \"" << scenario.name << "\": " << scenario.steps.size() << " scripted payments, seed "
              << config.seed << std::endl;

  auto quit = [&] {
    if (usbip) usbip->stop();
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
