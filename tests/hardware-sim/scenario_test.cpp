// Plays the shipped scenario files (hardware-sim/scenarios/*.json) against the sim and tcp
// drivers and checks every step's outcome against the step's "expect". CMake registers one
// CTest test per file (TILL_SCENARIO names it), so every scenario file has its own test.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include "../terminal/reader_harness.hpp"
#include "till/hwsim/scenario.hpp"

using namespace till;
using namespace till::terminal;
using namespace till::terminal::testing;

namespace {

std::string outcome_name(const Result<CollectOutcome>& r) {
  if (!r) return "error:" + std::string(to_string(r.error().kind));
  struct V {
    std::string operator()(const ApprovedToForward& a) const { return a.stored_offline ? "approved_offline" : "approved"; }
    std::string operator()(const Declined& d) const { return "declined:" + d.decline_code; }
    std::string operator()(const Cancelled&) const { return "cancelled"; }
    std::string operator()(const OutcomeUnknown&) const { return "outcome_unknown"; }
  };
  return std::visit(V{}, *r);
}

template <class H>
void play(const hwsim::Scenario& sc) {
  H h(sc.reader);
  hwsim::apply_scenario(h.device, sc);
  REQUIRE(h.connect());
  for (std::size_t i = 0; i < sc.steps.size(); ++i) {
    const auto& step = sc.steps[i];
    INFO("step " << i << " expects " << step.expect);
    if (h.reader->status().connection != ConnectionState::Connected) REQUIRE(h.connect());
    CollectOptions o;
    o.offline_allowed = step.offline_allowed;
    o.deadline = std::chrono::milliseconds{step.deadline_ms};
    const auto currency = pos::Currency::parse(step.currency);
    REQUIRE(currency);
    std::optional<Result<CollectOutcome>> got;
    h.reader->async_collect(pos::Money(step.amount, *currency), o, [&](auto r) { got = std::move(r); });
    REQUIRE(h.run_until([&] { return got.has_value(); }));
    h.drain();
    INFO("got " << (*got ? describe(**got) : got->error().describe()));
    CHECK(outcome_name(*got) == step.expect);
    // The one rule no scenario may break: a lost answer is never reported as a decline.
    if (h.device.records().size() > 0 && h.device.records().back().outcome.rfind("lost:", 0) == 0)
      CHECK(outcome_name(*got) == "outcome_unknown");
    if (*got && std::holds_alternative<OutcomeUnknown>(**got)) {
      // Resolve the link before the next step, as the app would after an unknown outcome.
      std::optional<Status> closed;
      h.reader->async_disconnect([&](Status s) { closed = s; });
      REQUIRE(h.run_until([&] { return closed.has_value(); }));
    }
  }
  CHECK(h.device.scripted_remaining() == 0);
}

std::vector<std::filesystem::path> scenario_files() {
  if (const char* one = std::getenv("TILL_SCENARIO")) return {one};
  std::vector<std::filesystem::path> all;
  for (const auto& e : std::filesystem::directory_iterator(std::string(TILL_SOURCE_DIR) + "/hardware-sim/scenarios"))
    if (e.path().extension() == ".json") all.push_back(e.path());
  std::sort(all.begin(), all.end());
  return all;
}

}  // namespace

TEST_CASE("scenario files play as their expectations say on the sim and tcp drivers") {
  const auto files = scenario_files();
  REQUIRE_FALSE(files.empty());
  for (const auto& f : files) {
    INFO(f.string());
    auto sc = hwsim::load_scenario_file(f.string());
    if (!sc) FAIL(sc.error().message);
    play<SimHarness>(*sc);
    play<TcpHarness>(*sc);
  }
}
