// The runtime with reader "usb": a card sale end to end through the libusb driver (Debian's
// libusb-1.0 and its usbfs backend) in front of hardware-sim's simulated reader, presented to
// libusb by the umockdev front end (tier 1 of usb-testing.md). Runs under umockdev-wrapper
// (CTest does that), like tests/terminal's usb tests.
//
// Threads: the simulated device (ReaderDevice, UsbFunction, the umockdev front end) lives on a
// "device loop" of the test's own; the runtime has its core thread and libusb's event thread.
#include <catch2/catch.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "runtime_harness.hpp"
#include "till/hwsim/reader_device.hpp"
#include "till/hwsim/umockdev_front_end.hpp"
#include "till/hwsim/usb_function.hpp"

using namespace till;
using namespace std::chrono_literals;
using till::testing::Register;
using till::testing::fresh_dir;
using till::testing::ready;
namespace asio = boost::asio;

namespace {

// The simulated USB reader on its own thread. Built before the runtime (the umockdev testbed
// must exist before the libusb context that should see it) and destroyed after it.
class DeviceLoop {
 public:
  DeviceLoop() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {
    on_loop([this] {
      hwsim::DeviceConfig dc;
      dc.present_delay = 50ms;
      device_ = std::make_unique<hwsim::ReaderDevice>(dc);
      hwsim::UsbFunctionConfig fc;
      fc.serial = dc.serial;
      fc.product = dc.model;
      function_ = std::make_unique<hwsim::UsbFunction>(*device_, hwsim::io_scheduler(io_), fc);
      front_end_ = std::make_unique<hwsim::UmockdevFrontEnd>(io_, *function_);
      return 0;
    });
  }
  ~DeviceLoop() {
    on_loop([this] {
      front_end_.reset();
      function_.reset();
      device_.reset();
      return 0;
    });
    work_.reset();
    io_.stop();
    thread_.join();
  }

  Status plug() {
    return on_loop([this] { return front_end_->plug(); });
  }
  // The next customer presents this card by itself once the collect reaches the reader.
  void queue_card(const std::string& card) {
    on_loop([this, card] {
      device_->queue_payment(hwsim::scripted_card(card, hwsim::Fault::None, hwsim::ReadMethod::Contactless));
      return 0;
    });
  }
  hwsim::UmockdevStats stats() const { return front_end_->stats(); }

 private:
  template <class F>
  auto on_loop(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::unique_ptr<hwsim::ReaderDevice> device_;
  std::unique_ptr<hwsim::UsbFunction> function_;
  std::unique_ptr<hwsim::UmockdevFrontEnd> front_end_;
};

}  // namespace

TEST_CASE("with reader usb the runtime takes a card payment through libusb from the simulated USB reader") {
  REQUIRE(hwsim::UmockdevFrontEnd::available());  // run me under umockdev-wrapper
  const auto dir = fresh_dir("usb_sale");
  DeviceLoop usb;
  REQUIRE(usb.plug());
  {
    Register reg(dir, [](app::RuntimeConfig& c) { c.reader = "usb"; });
    CHECK(reg.runtime().reader_spec() == "usb:1209:0001");
    CHECK_FALSE(reg.world().simulated_customer());
    REQUIRE(reg.pump_until(ready));
    CHECK(reg.model().reader.detail == "usb");

    const auto doc = app::load_catalog(app::demo_catalog_path());
    REQUIRE(doc);
    usb.queue_card("visa");
    reg.dispatch(pos::AddProduct{doc->catalog.products()[0].id, 1});
    reg.dispatch(pos::Charge{});
    REQUIRE(reg.pump_until([](const pos::Model& m) { return m.screen == pos::Screen::Receipt; }));
    REQUIRE(reg.model().attempts.size() == 1);
    CHECK(reg.model().attempts[0].state == pos::AttemptState::Approved);
    CHECK(reg.model().attempts[0].card.last4 == "4242");
    CHECK(reg.model().attempts[0].payment_intent_id.rfind("pi_", 0) == 0);
    CHECK(reg.model().sale->state == pos::SaleState::Paid);

    usb.queue_card("4000000000000002");  // card_declined
    reg.dispatch(pos::NewSale{});
    reg.dispatch(pos::AddProduct{doc->catalog.products()[1].id, 1});
    reg.dispatch(pos::Charge{});
    REQUIRE(reg.pump_until([](const pos::Model& m) { return m.phase == pos::PaymentPhase::Declined; }));
    CHECK(reg.model().attempts.at(0).decline_code == "card_declined");
  }
  CHECK(usb.stats().claims >= 1);  // the payment went over the emulated usbfs
}
