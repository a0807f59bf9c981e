// Must NOT compile: the domain (till_pos) cannot see the store's headers.
#include "till/store/store.hpp"
int layering_probe_pos_includes_store() { return 0; }
