// Must NOT compile: the simulated reader speaks the protocol only; it never links the host side.
#include "till/terminal/reader.hpp"
