// Runs INSIDE the tier-2 VM, next to the contract suite: what only a real kernel shows the usb
// driver. Connecting before the reader exists (arrival through udev while usbcore is still
// enumerating, so the claim may fail NOT_FOUND and must be retried), and the USB/IP link
// breaking under a payment the reader was deciding (vhci-hcd gives back every URB, usbcore
// removes the device): OutcomeUnknown, never Declined.
#include <catch2/catch.hpp>

#include "vhci_harness.hpp"

using namespace till;
using namespace till::terminal;
using namespace till::terminal::testing;

TEST_CASE("usb tier 2: connect waits for the reader to arrive and claims it once the kernel has configured it") {
  VhciOptions vhci;
  vhci.attach_at_start = false;
  VhciHarness h({}, fast_options(), vhci);
  std::optional<Result<ReaderInfo>> got;
  h.reader->async_connect({}, 10s, [&](Result<ReaderInfo> r) { got = std::move(r); });
  REQUIRE(h.run_until([&] { return got.has_value(); }, 12s));
  INFO((*got ? std::string("connected") : got->error().describe()));
  REQUIRE(*got);
  CHECK(h.attaches == 1);
  const UsbStats stats = h.usb->stats();
  CHECK(stats.hotplug);
  CHECK(stats.arrivals >= 1);
  CHECK(stats.opens == 1);
  // How often the claim had to wait for usbcore is the kernel's timing: reported, not asserted.
  WARN("claim retries before the kernel had configured the device: " << stats.claim_retries);

  h.device.queue_payment(hwsim::scripted_card("visa"));
  auto r = h.collect(1000);
  REQUIRE(r);
  CHECK(std::holds_alternative<ApprovedToForward>(*r));
}

TEST_CASE("usb tier 2: the USB/IP link breaking while the reader decides ends OutcomeUnknown, never Declined") {
  hwsim::DeviceConfig cfg;
  cfg.authorize_delay = 300ms;
  VhciHarness h(cfg);
  REQUIRE(h.connect());
  h.device.queue_payment(hwsim::scripted_card("insufficient_funds"));
  std::optional<Result<CollectOutcome>> got;
  h.reader->async_collect(pos::Money(1000, pos::Currency::of("usd")), CollectOptions{},
                          [&](Result<CollectOutcome> r) { got = std::move(r); });
  REQUIRE(h.run_until([&] { return h.saw(ReaderEventKind::Authorizing); }));
  h.break_link();
  REQUIRE(h.run_until([&] { return got.has_value(); }, 5s));
  INFO((*got ? describe(**got) : got->error().describe()));
  REQUIRE(*got);
  CHECK(std::holds_alternative<OutcomeUnknown>(**got));
  REQUIRE(h.run_until([&] { return h.saw(ReaderEventKind::Disconnected); }));
  CHECK(h.reader->status().connection == ConnectionState::Disconnected);
}
