#pragma once
// Internal: the simulator's state folder. One append-only file of JSON lines, `journal.jsonl`,
// replayed at start and then compacted (rewritten as one line per live object, through a
// temporary file and an atomic rename), and a `lock` file held with flock() so that two
// simulators never share a folder.
//
// Durability: every append is followed by fdatasync() before the simulator answers the request
// that caused it. The simulator stands in for Stripe, which never forgets an answered write; a
// kiosk that saw a 200 and later found the PaymentIntent missing would be chasing a phantom. The
// cost (one flush per write request) only applies with a state folder; tests and benchmarks that
// need speed run without one.
//
// A crash can leave a torn last line (no trailing newline); it belongs to a request that was
// never answered, so reading drops it. Any other unreadable line is DataLoss: the folder is not
// guessed at.
//
// Not thread-safe; the Api mutex guards it.

#include <memory>
#include <string>
#include <vector>

#include "till/base/result.hpp"

namespace till::stripesim {

class Journal {
 public:
  // Creates the folder (0700) if missing, takes the lock and reads the complete lines of the
  // journal into `lines`. Fails with FailedPrecondition when another simulator holds the folder,
  // Unavailable when it cannot be created or read.
  static Result<std::unique_ptr<Journal>> open(const std::string& dir, std::vector<std::string>& lines);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Replaces the whole journal with `lines` (each without its newline): written to a temporary
  // file, flushed, renamed over the journal, the folder flushed. Then appends go to it.
  Status rewrite(const std::vector<std::string>& lines);
  // Appends `chunk` (complete lines, each ending in '\n') and flushes it to disk.
  Status append(const std::string& chunk);

 private:
  Journal(std::string dir, int lock_fd);
  std::string dir_;
  int lock_fd_ = -1;
  int fd_ = -1;
};

}  // namespace till::stripesim
