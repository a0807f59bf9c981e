// Control for terminal_includes_sync.cpp: the same header compiles for a target that links sync,
// so the probe above fails because of layering, not because the header is missing.
#include "till/sync/retry.hpp"
