// till-reader-sim as a real process: start it on 127.0.0.1:0, read the port it prints, play a
// scenario through the tcp driver, stop it with SIGTERM and check it exits cleanly.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "../terminal/reader_harness.hpp"
#include "till/hwsim/scenario.hpp"

using namespace till;
using namespace till::terminal;
using namespace std::chrono_literals;

namespace {

struct Child {
  pid_t pid = -1;
  int out = -1;
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out >= 0) ::close(out);
  }
};

// Reads one line from fd, waiting at most `limit` for data (poll, not sleep).
std::string read_line(int fd, std::chrono::milliseconds limit) {
  std::string line;
  char c = 0;
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) break;
    if (::read(fd, &c, 1) != 1 || c == '\n') break;
    line.push_back(c);
  }
  return line;
}

}  // namespace

TEST_CASE("till-reader-sim serves a scenario over TCP to the tcp driver as a separate process") {
  const std::string program = std::string(TILL_BINARY_DIR) + "/hardware-sim/till-reader-sim";
  const std::string scenario = std::string(TILL_SOURCE_DIR) + "/hardware-sim/scenarios/decline_codes.json";
  auto sc = hwsim::load_scenario_file(scenario);
  REQUIRE(sc);

  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  Child child;
  child.pid = ::fork();
  REQUIRE(child.pid >= 0);
  if (child.pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(program.c_str(), program.c_str(), "--listen", "127.0.0.1:0", "--scenario", scenario.c_str(), "--no-stdin",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  child.out = fds[0];

  const std::string first = read_line(child.out, 20s);
  const std::string prefix = "till-reader-sim listening on 127.0.0.1:";
  REQUIRE(first.rfind(prefix, 0) == 0);
  const auto port = static_cast<std::uint16_t>(std::stoi(first.substr(prefix.size())));
  CHECK(port != 0);

  boost::asio::io_context io;
  auto reader = make_tcp_reader(io, "127.0.0.1", port);
  auto run_until = [&](auto pred) {
    boost::asio::steady_timer watchdog(io, 10s);
    bool expired = false;
    watchdog.async_wait([&](auto ec) { expired = !ec; });
    while (!pred() && !expired)
      if (io.run_one() == 0) break;
    watchdog.cancel();
    io.poll();
    io.restart();
    return pred();
  };
  std::optional<Result<ReaderInfo>> connected;
  reader->async_connect({}, 5s, [&](auto r) { connected = std::move(r); });
  REQUIRE(run_until([&] { return connected.has_value(); }));
  REQUIRE(*connected);
  CHECK((*connected)->driver == "tcp");

  for (const auto& step : sc->steps) {
    std::optional<Result<CollectOutcome>> got;
    CollectOptions o;
    o.deadline = 5s;
    reader->async_collect(pos::Money(step.amount, pos::Currency::of(step.currency)), o,
                          [&](auto r) { got = std::move(r); });
    REQUIRE(run_until([&] { return got.has_value(); }));
    REQUIRE(*got);
    const auto* d = std::get_if<Declined>(&**got);
    REQUIRE(d != nullptr);
    CHECK("declined:" + d->decline_code == step.expect);
  }
  reader.reset();

  REQUIRE(::kill(child.pid, SIGTERM) == 0);
  int status = 0;
  REQUIRE(::waitpid(child.pid, &status, 0) == child.pid);
  child.pid = -1;
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
