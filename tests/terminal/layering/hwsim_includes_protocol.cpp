// Control for hwsim_includes_terminal.cpp: hwsim does see the protocol codec.
#include "till/terminal/protocol/messages.hpp"
#include "till/terminal/reader.hpp"  // visible here because this probe also links till_terminal
