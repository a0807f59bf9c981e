#pragma once
// Internal: the exclusive advisory lock that makes one process the writer of a database file.

#include <string>

#include "till/base/result.hpp"

namespace till::store::detail {

// flock() on <db>.lock is released by the kernel when the process dies (SIGKILL included), so a
// crash never leaves a stale lock; the pid written into the file is only for the error message.
class WriterLock {
 public:
  // FailedPrecondition "database ... is in use by pid N" when another writer holds it.
  static Result<WriterLock> acquire(const std::string& db_path);
  WriterLock() = default;
  WriterLock(WriterLock&& o) noexcept;
  WriterLock& operator=(WriterLock&& o) noexcept;
  ~WriterLock() { release(); }

 private:
  explicit WriterLock(int fd) : fd_(fd) {}
  void release();
  int fd_ = -1;
};

}  // namespace till::store::detail
