// Must compile: till_pos sees its own headers.
#include "till/pos/money.hpp"
int layering_probe_allowed() { return till::pos::Currency::of("usd").exponent(); }
