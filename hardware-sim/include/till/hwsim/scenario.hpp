#pragma once
// Scripted scenarios for the simulated reader (JSON; format in hardware-sim/README.md).
//
// A scenario configures the reader and lists one step per collect the host will send: which
// test card the "customer" presents and how, which fault to play, reader settings that change
// at that moment, and what the host is expected to see (used by the scenario tests and by
// till-reader-sim's log). Parsing is strict: unknown keys, unknown cards, faults or read
// methods, wrong types and out-of-range numbers are errors naming the file and the JSON path.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "till/base/result.hpp"
#include "till/hwsim/reader_device.hpp"

namespace till::hwsim {

struct ScenarioStep {
  std::int64_t amount = 1000;  // what the host should ask for (minor units)
  std::string currency = "usd";
  bool offline_allowed = false;
  std::int64_t deadline_ms = 2000;  // host deadline for this collect
  ScriptedPayment payment;
  // approved | approved_offline | declined:<code> | cancelled | outcome_unknown | error:<kind>
  // where <kind> is an ErrorKind name in snake_case (unavailable, failed_precondition, ...).
  std::string expect;
};

struct Scenario {
  std::string name;
  std::string description;
  DeviceConfig reader;  // reader.seed comes from "seed" (overridable with --seed)
  std::vector<ScenarioStep> steps;
};

// Pure and thread-safe. `source` names the input in error messages (a file name). Fails
// InvalidArgument (bad JSON or content) or NotFound (file cannot be opened).
Result<Scenario> parse_scenario(std::string_view json_text, std::string_view source);
Result<Scenario> load_scenario_file(const std::string& path);

// Queues every step's scripted payment on the device, in order (the device's thread).
void apply_scenario(ReaderDevice& device, const Scenario& scenario);

}  // namespace till::hwsim
