// Must NOT compile: terminal does not link sync, so sync's headers are not on its include path.
#include "till/sync/retry.hpp"
