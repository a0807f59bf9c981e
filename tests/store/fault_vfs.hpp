#pragma once
// A SQLite VFS for tests that wraps the default one and fails the n-th write, truncate or sync
// (and every one after it, as a full or failing disk does) with a chosen error code: the
// Beast fail_count idea applied to the file system. Register once; select it with
// OpenOptions::vfs = kFaultVfsName. Not thread-safe: one test at a time drives it.

namespace till::store::testing {

inline constexpr const char* kFaultVfsName = "till-fault";

enum class Fault {
  IoError,   // SQLITE_IOERR_WRITE / _FSYNC / _TRUNCATE, as an I/O error reports
  DiskFull,  // SQLITE_FULL on writes (ENOSPC), as a full disk reports
};

// Registers the VFS (idempotent). Returns false if SQLite refused.
bool register_fault_vfs();
// Counting only, no failure.
void fault_vfs_disarm();
// Calls counted from now; the n-th (1-based) write/truncate/sync and all after it fail.
void fault_vfs_arm(int n, Fault fault);
// Write/truncate/sync calls seen since the last arm/disarm.
int fault_vfs_calls();
// Whether a failure has been injected since the last arm.
bool fault_vfs_fired();

}  // namespace till::store::testing
