#pragma once
// Internal to till_runtime: the reader session (see core.hpp). It owns the card reader driver the
// setting names (app/reader_spec.hpp): the in-process simulated reader (its device from the
// plugged-in Simulation), tcp, usb, or a Stripe smart reader driven server-side through
// SmartReaderPayment. It connects, runs one collect at a time with its cancel handle, answers the
// back office's reader commands and turns reader events into the reducer's Actions. Core thread.

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>

#include "core.hpp"
#include "till/app/reader_spec.hpp"
#include "till/app/server_driven.hpp"
#include "till/app/smart_reader_payment.hpp"
#include "till/terminal/drivers.hpp"
#include "till/terminal/reader.hpp"

namespace till::app::detail {

class SyncBridge;

class ReaderSession {
 public:
  ReaderSession(Core& core, SyncBridge& sync, ReaderSpec spec) : core_(core), sync_(sync), spec_(std::move(spec)) {}

  // Makes the driver (FailedPrecondition for "sim" without a Simulation) and starts connecting;
  // the outcome reaches the kiosk as ReaderStatusChanged.
  Status open();
  const ReaderSpec& spec() const { return spec_; }
  bool simulated() const { return device_ != nullptr || smart_simulated(); }

  // The reducer's reader effects. None fails the effect list: refusals come back as Actions.
  void start_collect(const pos::StartCollect& e);
  void cancel_collect();
  void command(const pos::ReaderCommand& e);

  // Stop, in the order Runtime::stop needs: cancel and disconnect; then (smart readers) drop the
  // chain and the driver once the chain has no call in flight, so no new call starts; then the
  // smart reader's own calls drain; then teardown().
  void begin_stop();
  bool chain_call_in_flight() const { return smart_payment_ && smart_payment_->call_in_flight(); }
  bool smart() const { return smart_api_ != nullptr; }
  void drop_chain_and_reader();
  std::size_t smart_calls_in_flight() const { return smart_api_ ? smart_api_->calls_in_flight() : 0; }
  void teardown();

 private:
  bool smart_simulated() const { return smart_api_ != nullptr && core_.stripe_simulated; }
  void connect_then(std::function<void(Status)> done);
  void no_reader(const std::string& why, const std::function<void(Status)>& done);
  void connect_to(const terminal::ReaderInfo& which, std::function<void(Status)> done);
  boost::asio::awaitable<void> connect_smart_reader(std::function<void(Status)> done);
  void refresh(bool answer);
  void post_details(int update_progress = -1);
  void on_event(const terminal::ReaderEvent& e);
  void on_collected(const std::string& id, Result<terminal::CollectOutcome> r);
  void start_smart_collect(const pos::StartCollect& e);
  void collect_ended(const std::string& id);

  Core& core_;
  SyncBridge& sync_;
  ReaderSpec spec_;
  terminal::protocol::DeviceEndpoint* device_ = nullptr;  // the Simulation's, reader "sim" only
  std::shared_ptr<terminal::UsbTransports> usb_;          // usb reader only (destroyed after the reader)
  // Smart reader only: the server-driven API over the client, the chain, the reader's id once chosen.
  std::unique_ptr<StripeServerDrivenApi> smart_api_;
  std::unique_ptr<SmartReaderPayment> smart_payment_;
  std::string smart_reader_id_;
  std::unique_ptr<terminal::Reader> reader_;
  terminal::CancelHandle collect_handle_;
  std::string collecting_attempt_;  // the one collect running, if any
  std::string label_ = "Reader";
};

}  // namespace till::app::detail
