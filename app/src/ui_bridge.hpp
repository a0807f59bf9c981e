#pragma once
// Internal to till_runtime: the UI bridge (see core.hpp). The kiosk's effect lists come in here
// (Runtime::run posts them to the core thread) and are performed in order; results go back to the
// reducer as Actions through Core::emit.
//
// Failure contract (pos/checkout.hpp): when a durable effect (PersistSale, UpdateSaleState,
// CreateAttempt, UpdateAttempt, EnqueueOperation, Audit) fails, the rest of that list is skipped
// and StoreFailed is posted, so a card is never collected for a sale or attempt that is not on
// disk. A refund the store refuses is RefundRefused instead (nothing was queued; no storage
// error). Everything else (printing, email, lookups, reports, reader commands) is not durable:
// its failure is reported as its own Action and never stops the list.
//
// ui_bridge.cpp: the list, the durable effects and the operations built from the records on disk.
// ui_bridge_office.cpp: printing, email, refund lookup, back office, day report, audit.

#include <string>
#include <vector>

#include "core.hpp"
#include "till/app/printer.hpp"

namespace till::app::detail {

class ReaderSession;
class SyncBridge;

class UiBridge {
 public:
  UiBridge(Core& core, ReaderSession& reader, SyncBridge& sync, std::vector<PrinterConfig> printers)
      : core_(core), reader_(reader), sync_(sync), printers_(std::move(printers)) {}

  void execute(const std::vector<pos::Effect>& effects);

 private:
  static bool refused_refund(const pos::Effect& effect, const Error& error);

  // ui_bridge.cpp
  Status perform(const pos::PersistSale& e);
  Status perform(const pos::UpdateSaleState& e);
  Status perform(const pos::CreateAttempt& e);
  Status perform(const pos::UpdateAttempt& e);
  Status perform(const pos::StartCollect& e);
  Status perform(const pos::CancelCollect& e);
  Status perform(const pos::EnqueueOperation& e);
  Status perform(const pos::ResolveInDoubt& e);
  Status perform(const pos::ReaderCommand& e);
  Result<pos::OutboxOperation> build_payment_intent(const pos::OperationIntent& in, Timestamp now);
  Result<pos::OutboxOperation> build_refund(const pos::OperationIntent& in, Timestamp now);

  // ui_bridge_office.cpp
  Status perform(const pos::PrintReceipt& e);
  Status perform(const pos::OpenCashDrawer& e);
  Status perform(const pos::QueueEmailReceipt& e);
  Status perform(const pos::LookUpSaleForRefund& e);
  Status perform(const pos::LoadBackOffice& e);
  Status perform(const pos::RequeueOperation& e);
  Status perform(const pos::MarkOperationHandled& e);
  Status perform(const pos::BuildDayReport& e);
  Status perform(const pos::Audit& e);
  void post_back_office();

  Core& core_;
  ReaderSession& reader_;
  SyncBridge& sync_;
  std::vector<PrinterConfig> printers_;
};

}  // namespace till::app::detail
