// Till's Stripe client beside Stripe's official Node SDK (issue 18): both create and confirm the
// same keyed card-present PaymentIntents on a connected account, with the same concurrency,
// against the same EXTERNAL till-stripe-sim process (rate limits off). Each client runs in a
// process of its own, so the CPU time and peak RSS wait4() reports are the client's alone.
//
// Start-up (loading node and the SDK, JIT warm-up, connecting) is taken out by running every
// client twice, for `--warm` and for `--calls` PaymentIntents, and dividing the difference in
// CPU time by the difference in calls. The figures are medians of `--runs` runs. Asserts nothing.
//
//   till_stripe_sdk_bench [--dir DIR] [--calls 20000] [--warm 2000] [--concurrency 8] [--runs 3]
//                         [--sim PATH] [--sim-threads N] [--sdk-dir DIR] [--no-log]
//
// The SDK is installed with `npm ci` from bench/sdk/package-lock.json (the same stripe-node pin
// as the conformance test) into DIR/sdk-bench; without node/npm its column says "skipped".
// Till's client logs one JSON line per call to DIR/till-sdk-bench.log, as it does when deployed
// (`--no-log` measures it without its log).
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "till/base/log.hpp"
#include "till/sync/stripe_client.hpp"

extern char** environ;

using namespace till;
using namespace till::sync;
namespace fs = std::filesystem;

namespace {

constexpr const char* kKey = "sk_test_till_sdk_bench_key_000001";
constexpr const char* kAccount = "acct_1TillSdkBench00001";

struct Options {
  std::string dir = fs::temp_directory_path().string();
  int calls = 20'000;
  int warm = 2'000;
  int concurrency = 8;
  int runs = 3;
  std::string sim = TILL_STRIPE_SIM_PATH;
  int sim_threads = 0;  // 0: one per core, when the simulator has --threads
  std::string sdk_dir = TILL_SDK_BENCH_DIR;
  bool till_log = true;
};

// ---------------------------------------------------------------------------------------------
// Child processes

struct Child {
  pid_t pid = -1;
  int out = -1;  // the child's stdout
};

Child spawn(const std::vector<std::string>& args, const std::vector<std::string>& extra_env = {},
            bool quiet_stderr = false) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  if (quiet_stderr) posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) env_store.emplace_back(*e);
  for (const auto& e : extra_env) env_store.push_back(e);
  std::vector<char*> argv;
  std::vector<std::string> arg_store = args;
  for (auto& a : arg_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  Child c;
  const int rc = posix_spawnp(&c.pid, arg_store[0].c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return {};
  }
  c.out = fds[0];
  return c;
}

std::string read_line(int fd) {
  std::string line;
  char ch = 0;
  while (::read(fd, &ch, 1) == 1 && ch != '\n') line.push_back(ch);
  return line;
}

std::string read_all(int fd) {
  std::string text;
  char buf[4096];
  for (;;) {
    const auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
}

bool have(const char* tool) {
  const std::string cmd = std::string("command -v ") + tool + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// The simulator as a separate process, stopped with SIGTERM.
struct Sim {
  Child child;
  int port = 0;
  ~Sim() {
    if (child.pid > 0) {
      ::kill(child.pid, SIGTERM);
      int status = 0;
      ::waitpid(child.pid, &status, 0);
      ::close(child.out);
    }
  }
};

bool sim_has_threads(const std::string& sim) {
  Child c = spawn({sim, "--help"});
  if (c.pid < 0) return false;
  const std::string help = read_all(c.out);
  ::close(c.out);
  int status = 0;
  ::waitpid(c.pid, &status, 0);
  return help.find("--threads") != std::string::npos;
}

std::unique_ptr<Sim> start_sim(const Options& o, bool threads) {
  std::vector<std::string> args = {o.sim, "--port", "0", "--api-key", kKey, "--account", kAccount,
                                   "--rate-limit", "0", "--seed", "18"};
  if (threads) {
    const long cores = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
    args.push_back("--threads");
    args.push_back(std::to_string(o.sim_threads > 0 ? o.sim_threads : cores));
  }
  auto sim = std::make_unique<Sim>();
  sim->child = spawn(args, {}, true);
  if (sim->child.pid < 0) return nullptr;
  const std::string line = read_line(sim->child.out);
  const std::string prefix = "listening on 127.0.0.1:";
  if (line.rfind(prefix, 0) != 0) return nullptr;
  sim->port = std::atoi(line.c_str() + prefix.size());
  return sim;
}

struct Measure {
  bool ok = false;
  double cpu_s = 0;      // user + sys of the client process
  double rss_mib = 0;    // its peak RSS
  double loop_s = 0;     // the calls alone, as the client timed them
  double waits = 0;      // voluntary context switches: times it slept waiting for an answer
  int failed = 0;
};

// Runs one client process to completion and reads its figures. The line it prints is
// "elapsed_s <s> ok <n> failed <n>".
Measure finish(Child c, int count) {
  Measure m;
  if (c.pid < 0) return m;
  const std::string text = read_all(c.out);
  ::close(c.out);
  int status = 0;
  rusage ru{};
  ::wait4(c.pid, &status, 0, &ru);
  const auto at = text.rfind("elapsed_s ");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || at == std::string::npos) return m;
  int ok = 0;
  if (std::sscanf(text.c_str() + at, "elapsed_s %lf ok %d failed %d", &m.loop_s, &ok, &m.failed) != 3) return m;
  m.cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
            static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  m.rss_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;
  m.waits = static_cast<double>(ru.ru_nvcsw);
  m.ok = ok == count && m.failed == 0;
  return m;
}

// ---------------------------------------------------------------------------------------------
// Till's side, in a child process of this program

int run_till_client(int port, int count, int concurrency, const std::string& prefix, const std::string& log_path) {
  if (!log_path.empty()) {
    log::Config lc;
    lc.path = log_path;
    lc.level = log::Level::Info;
    if (!log::init(lc)) return 3;
  } else {
    log::set_level(log::Level::Error);
  }
  boost::asio::io_context io;
  StripeConfig config;
  config.http.base_url = "http://127.0.0.1:" + std::to_string(port);
  config.api_key = Secret(kKey);
  config.app = AppInfo{"Till", TILL_VERSION, "https://till.example", ""};
  StripeClientDeps deps;
  RateLimiterConfig unlimited;  // the SDK paces nothing either; the simulator's limit is off
  unlimited.rate_per_second = 1e9;
  unlimited.burst = 1e9;
  deps.limiter = std::make_shared<RateLimiter>(unlimited, SystemClock::instance());
  auto client = StripeClient::create(io, config, deps);
  if (!client) return 3;
  int next = 0;
  int ok = 0;
  int failed = 0;
  auto worker = [&]() -> boost::asio::awaitable<void> {
    while (next < count) {
      const int i = next++;
      CreatePaymentIntentParams p;
      p.amount = 1000 + 10 * (i % 50);
      p.currency = "usd";
      p.allowed_payment_method_types = {"card_present"};
      p.application_fee_amount = 30;
      p.payment_method = "pm_card_visa";
      p.confirm = true;
      const std::string id = prefix + std::to_string(i);
      p.metadata = {{"sale_id", id}, {"register_id", "bench"}, {"attempt", "1"}};
      RequestOptions options(kAccount, id);
      auto r = co_await (*client)->async_create_payment_intent(std::move(p), std::move(options));
      if (r) {
        ++ok;
      } else {
        if (failed++ == 0) std::fprintf(stderr, "first failure: %s\n", r.error().describe().c_str());
      }
    }
  };
  const auto start = std::chrono::steady_clock::now();
  for (int c = 0; c < concurrency; ++c) boost::asio::co_spawn(io, worker(), boost::asio::detached);
  io.run();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log::shutdown();
  std::printf("elapsed_s %.6f ok %d failed %d\n", secs, ok, failed);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The driver

struct Column {
  std::string name;
  bool skipped = false;
  std::string why;
  std::vector<double> steady_cpu_us, whole_cpu_us, rss_mib, pis, waits_per_call;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string self_exe() {
  std::error_code ec;
  const auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

// One (client, count) measurement against a fresh simulator.
Measure measure(const Options& o, bool sim_threads, bool node, int count, const std::string& prefix) {
  auto sim = start_sim(o, sim_threads);
  if (!sim) return {};
  if (node) {
    const fs::path work = fs::path(o.dir) / "sdk-bench";
    Child c = spawn({"node", (work / "sdk_bench.mjs").string()},
                    {"SIM_PORT=" + std::to_string(sim->port), std::string("SIM_KEY=") + kKey,
                     std::string("SIM_ACCOUNT=") + kAccount, "COUNT=" + std::to_string(count),
                     "CONCURRENCY=" + std::to_string(o.concurrency), "PREFIX=" + prefix});
    return finish(c, count);
  }
  const std::string log_path = o.till_log ? (fs::path(o.dir) / "till-sdk-bench.log").string() : std::string();
  if (!log_path.empty()) {
    std::error_code ec;
    fs::remove(log_path, ec);
  }
  Child c = spawn({self_exe(), "--till-client", std::to_string(sim->port), std::to_string(count),
                   std::to_string(o.concurrency), prefix, log_path.empty() ? "-" : log_path});
  return finish(c, count);
}

std::optional<std::string> install_sdk(const Options& o) {
  if (!have("node") || !have("npm")) return "skipped: node/npm not found";
  const fs::path work = fs::path(o.dir) / "sdk-bench";
  std::error_code ec;
  fs::create_directories(work, ec);
  for (const char* f : {"package.json", "package-lock.json", "sdk_bench.mjs"}) {
    fs::copy_file(fs::path(o.sdk_dir) / f, work / f, fs::copy_options::overwrite_existing, ec);
    if (ec) return std::string("skipped: cannot copy ") + f + ": " + ec.message();
  }
  const std::string install =
      "cd '" + work.string() + "' && npm ci --no-audit --no-fund --loglevel=error >npm-ci.log 2>&1";
  if (std::system(install.c_str()) != 0) {
    return "failed: npm ci (see " + (work / "npm-ci.log").string() + ")";
  }
  return std::nullopt;
}

void print_row(const char* what, const Column& sdk, double t, double s, const char* unit,
               const char* goal, int precision) {
  std::printf("%-44s %12.*f %s", what, precision, t, unit);
  if (sdk.skipped) {
    std::printf(" %14s\n", "-");
    return;
  }
  std::printf(" %12.*f %s   %6.3fx   %s\n", precision, s, unit, s > 0 ? t / s : 0.0, goal);
}

int driver(const Options& o) {
  if (!fs::exists(o.sim)) {
    std::fprintf(stderr, "no simulator at %s (build till-stripe-sim)\n", o.sim.c_str());
    return 1;
  }
  const bool threads = sim_has_threads(o.sim);
  Column till{"Till sync::StripeClient", false, "", {}, {}, {}, {}, {}};
  Column sdk{"stripe-node 23.1.0", false, "", {}, {}, {}, {}, {}};
  if (auto why = install_sdk(o)) {
    sdk.skipped = true;
    sdk.why = *why;
  }
  std::printf("Stripe client CPU and memory beside the official Node SDK: %d keyed card-present PaymentIntents "
              "(create+confirm) on a connected account, concurrency %d, external till-stripe-sim (rate limit "
              "off), median of %d runs\n",
              o.calls, o.concurrency, o.runs);
  if (threads) {
    std::printf("simulator: --threads %ld\n",
                o.sim_threads > 0 ? o.sim_threads : std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  } else {
    std::printf("simulator: one thread (this till-stripe-sim has no --threads): PI/s may measure the simulator, "
                "not the client\n");
  }
  std::printf("Till logs one line per call to a file: %s\n", o.till_log ? "yes" : "no (--no-log)");
  if (sdk.skipped) std::printf("stripe-node: %s\n", sdk.why.c_str());
  std::fflush(stdout);

  int status = 0;
  for (int run = 0; run < o.runs; ++run) {
    for (Column* col : {&till, &sdk}) {
      if (col->skipped) continue;
      const bool node = col == &sdk;
      const std::string tag = std::string(node ? "node" : "till") + "-r" + std::to_string(run) + "-";
      const Measure small = measure(o, threads, node, o.warm, tag + "w-");
      const Measure big = measure(o, threads, node, o.calls, tag + "c-");
      if (!small.ok || !big.ok) {
        std::fprintf(stderr, "%s: run %d failed (failures %d/%d)\n", col->name.c_str(), run, small.failed,
                     big.failed);
        status = 1;
        continue;
      }
      const double calls = o.calls - o.warm;
      col->steady_cpu_us.push_back((big.cpu_s - small.cpu_s) / calls * 1e6);
      col->whole_cpu_us.push_back(big.cpu_s / o.calls * 1e6);
      col->rss_mib.push_back(big.rss_mib);
      col->pis.push_back(calls / std::max(big.loop_s - small.loop_s, 1e-9));
      col->waits_per_call.push_back((big.waits - small.waits) / calls);
      std::printf("  run %d %-24s steady %6.1f us/PI  whole %6.1f us/PI  RSS %6.1f MiB  %8.0f PI/s  %4.2f sleeps/PI\n",
                  run, col->name.c_str(), col->steady_cpu_us.back(), col->whole_cpu_us.back(), col->rss_mib.back(),
                  col->pis.back(), col->waits_per_call.back());
      std::fflush(stdout);
    }
  }
  if (till.steady_cpu_us.empty()) return 1;
  const bool have_sdk = !sdk.skipped && !sdk.steady_cpu_us.empty();
  if (!have_sdk) sdk.skipped = true;
  std::printf("%-44s %15s %15s   %7s   %s\n", "measure (median)", "Till", "stripe-node", "ratio", "goal");
  print_row("CPU per PaymentIntent, steady state", sdk, median(till.steady_cpu_us), median(sdk.steady_cpu_us),
            "us ", "<= 0.15x", 1);
  print_row("CPU per PaymentIntent, whole run", sdk, median(till.whole_cpu_us), median(sdk.whole_cpu_us),
            "us ", "", 1);
  print_row("peak RSS", sdk, median(till.rss_mib), median(sdk.rss_mib), "MiB", "<= 0.1x", 1);
  print_row("PaymentIntents per second, steady state", sdk, median(till.pis), median(sdk.pis), "/s ",
            "(more is better)", 0);
  print_row("sleeps waiting for an answer, per PI", sdk, median(till.waits_per_call), median(sdk.waits_per_call),
            "   ", "(a client faster than the simulator sleeps ~1x per call; each costs a context switch)", 2);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
    if (a == "--version") {
      std::printf("till_stripe_sdk_bench %s\n", TILL_VERSION);
      return 0;
    } else if (a == "--till-client" && i + 5 < argc) {
      const int port = std::atoi(argv[i + 1]);
      const int count = std::atoi(argv[i + 2]);
      const int concurrency = std::atoi(argv[i + 3]);
      const std::string prefix = argv[i + 4];
      const std::string log_path = std::strcmp(argv[i + 5], "-") == 0 ? "" : argv[i + 5];
      return run_till_client(port, count, concurrency, prefix, log_path);
    } else if (a == "--dir") {
      o.dir = next();
    } else if (a == "--calls") {
      o.calls = std::atoi(next().c_str());
    } else if (a == "--warm") {
      o.warm = std::atoi(next().c_str());
    } else if (a == "--concurrency") {
      o.concurrency = std::atoi(next().c_str());
    } else if (a == "--runs") {
      o.runs = std::atoi(next().c_str());
    } else if (a == "--sim") {
      o.sim = next();
    } else if (a == "--sim-threads") {
      o.sim_threads = std::atoi(next().c_str());
    } else if (a == "--sdk-dir") {
      o.sdk_dir = next();
    } else if (a == "--no-log") {
      o.till_log = false;
    } else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (o.warm <= 0 || o.calls <= o.warm || o.concurrency <= 0 || o.runs <= 0) {
    std::fprintf(stderr, "need 0 < --warm < --calls, --concurrency > 0, --runs > 0\n");
    return 2;
  }
  return driver(o);
}
