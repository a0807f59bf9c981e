#pragma once
// A throwaway PostgreSQL 15 cluster for one test binary: initdb + pg_ctl from
// /usr/lib/postgresql/15/bin in a fresh folder under the temp directory, listening only on a
// Unix socket in that folder (random port number, so two binaries never share a socket name),
// fsync=off. As root, initdb and postgres run as `nobody` (runuser) on a folder chowned to it,
// since both refuse root. The cluster is started on first use and stopped and removed when the
// binary exits; clusters left behind by a killed binary are removed by the next start.
//
// Every test case takes a fresh database (fresh_database()), so cases never see each other's
// rows while the cluster start-up (about 1.5 s) is paid once per binary.

#include <string>

namespace till::office::test {

class TestCluster {
 public:
  // The binary's cluster, started on the first call. Aborts the test run with a message when
  // PostgreSQL cannot be started (the suite needs it: scripts/packages.txt installs it).
  static TestCluster& get();

  // "host=<dir> port=<n> user=till dbname=<db>"
  std::string conninfo(const std::string& db = "postgres") const;
  // Creates an empty database with a new name and returns its conninfo. Thread-safe.
  std::string fresh_database();
  // Stops the server (immediate mode) and starts it again on the same folder: for tests of a
  // lost connection. Not thread-safe with queries in flight from other threads of the test.
  void restart();
  const std::string& dir() const { return dir_; }

  ~TestCluster();

 private:
  TestCluster() = default;
  void start();
  void stop();
  std::string dir_;
  int port_ = 0;
  int next_db_ = 0;
};

}  // namespace till::office::test
