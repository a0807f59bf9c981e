#pragma once
// The interactive console of till-reader-sim: one text command per line acts on a ReaderDevice
// the way a customer or a shop assistant would (present a card, enter a PIN, pull the cable).
// Kept out of main() so it is tested like any other code.
//
// Commands never echo a card number (the reply names the card by brand and last4), and the
// PIN digits typed after "pin" are discarded unread.

#include <string>
#include <string_view>

#include "till/base/result.hpp"
#include "till/hwsim/reader_device.hpp"

namespace till::hwsim {

// Executes one command; returns the reply to print. Errors (unknown command, bad argument,
// action not possible now) are InvalidArgument / NotFound / FailedPrecondition with a message
// for the operator. "quit" is not handled here (the caller owns the loop).
Result<std::string> run_console_command(ReaderDevice& device, std::string_view line);

std::string console_help();

}  // namespace till::hwsim
