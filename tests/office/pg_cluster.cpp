#include "pg_cluster.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <vector>

#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "till/office/pg.hpp"

extern char** environ;

namespace till::office::test {

namespace fs = std::filesystem;

namespace {

constexpr const char* kBin = "/usr/lib/postgresql/15/bin/";
constexpr const char* kUnprivileged = "nobody";

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "pg test cluster: %s\n", message.c_str());
  std::fflush(stderr);
  std::_Exit(70);
}

// Runs argv (no shell), its output appended to `log`; returns the exit status (-1: not run).
int run(std::vector<std::string> argv, const std::string& log) {
  if (geteuid() == 0) {
    argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", kUnprivileged, "--"});
  }
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void give_to_unprivileged(const fs::path& path) {
  if (geteuid() != 0) return;
  const passwd* pw = getpwnam(kUnprivileged);
  if (!pw) die(std::string("no user '") + kUnprivileged + "' to run PostgreSQL as");
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) die("chown " + path.string() + ": " + std::strerror(errno));
}

// A cluster folder whose owning test binary is gone: stop its server and remove it.
void reap_stale_clusters() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    const auto name = entry.path().filename().string();
    if (!name.starts_with("till-pg-")) continue;
    std::ifstream in(entry.path() / "owner.pid");
    long owner = 0;
    if (!(in >> owner) || owner <= 0) continue;
    if (kill(static_cast<pid_t>(owner), 0) == 0 || errno == EPERM) continue;  // still running
    run({std::string(kBin) + "pg_ctl", "-D", (entry.path() / "data").string(), "-m", "immediate", "-w", "stop"},
        "/dev/null");
    fs::remove_all(entry.path(), ec);
  }
}

std::mutex g_mutex;

}  // namespace

TestCluster& TestCluster::get() {
  // Deliberately a function-local static: destroyed (cluster stopped and removed) at exit.
  static TestCluster* cluster = [] {
    static TestCluster c;
    c.start();
    return &c;
  }();
  return *cluster;
}

void TestCluster::start() {
  reap_stale_clusters();
  std::string templ = (fs::temp_directory_path() / "till-pg-XXXXXX").string();
  if (!mkdtemp(templ.data())) die(std::string("mkdtemp: ") + std::strerror(errno));
  dir_ = templ;
  chmod(dir_.c_str(), 0755);
  { std::ofstream(fs::path(dir_) / "owner.pid") << getpid() << "\n"; }
  give_to_unprivileged(dir_);
  std::random_device rd;
  port_ = 20000 + static_cast<int>(rd() % 40000);
  const std::string log = dir_ + "/setup.log";
  const std::string data = dir_ + "/data";
  if (run({std::string(kBin) + "initdb", "-D", data, "-U", "till", "--auth=trust", "--no-locale", "-E", "UTF8",
           "--no-sync", "--no-instructions"},
          log) != 0) {
    die("initdb failed; see " + log);
  }
  // pg_ctl hands -o to a shell, so the empty listen_addresses is quoted for it.
  const std::string options = "-k " + dir_ + " -p " + std::to_string(port_) +
                              " -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
                              " -c full_page_writes=off -c max_connections=60";
  if (run({std::string(kBin) + "pg_ctl", "-D", data, "-l", dir_ + "/server.log", "-o", options, "-w", "-t", "60",
           "start"},
          log) != 0) {
    die("pg_ctl start failed; see " + log + " and " + dir_ + "/server.log");
  }
}

void TestCluster::stop() {
  if (dir_.empty()) return;
  run({std::string(kBin) + "pg_ctl", "-D", dir_ + "/data", "-m", "immediate", "-w", "stop"}, dir_ + "/setup.log");
}

void TestCluster::restart() {
  stop();
  const std::string options = "-k " + dir_ + " -p " + std::to_string(port_) +
                              " -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
                              " -c full_page_writes=off -c max_connections=60";
  if (run({std::string(kBin) + "pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/server.log", "-o", options, "-w",
           "-t", "60", "start"},
          dir_ + "/setup.log") != 0) {
    die("pg_ctl restart failed");
  }
}

TestCluster::~TestCluster() {
  stop();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string TestCluster::conninfo(const std::string& db) const {
  return "host=" + dir_ + " port=" + std::to_string(port_) + " user=till dbname=" + db;
}

std::string TestCluster::fresh_database() {
  std::string name;
  {
    std::lock_guard lock(g_mutex);
    name = "t_" + std::to_string(++next_db_);
  }
  auto conn = pg::Connection::open(conninfo());
  if (!conn) die("cannot connect to the test cluster: " + conn.error().describe());
  // CREATE DATABASE copies template1; two at once can collide on it, hence the lock.
  std::lock_guard lock(g_mutex);
  if (auto r = (*conn)->exec("CREATE DATABASE " + name); !r) die("CREATE DATABASE: " + r.error().describe());
  return conninfo(name);
}

}  // namespace till::office::test
