// The UI bridge's effects that are not durable (ui_bridge.hpp): printing, the cash drawer, email
// receipts, the refund lookup, the back office's loads and actions, the day report, audit entries.

#include "sync_bridge.hpp"
#include "till/base/log.hpp"
#include "till/sync/report.hpp"
#include "ui_bridge.hpp"

namespace till::app::detail {

namespace {

// The file name of a printed receipt: the sale id from its "Sale <id>" line (pos/receipt.hpp
// prints it), else "receipt" (the printer sink numbers files so none is overwritten).
std::string receipt_stem(const std::string& text) {
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    if (text.compare(start, 5, "Sale ") == 0 && end > start + 5) return text.substr(start + 5, end - start - 5);
    start = end + 1;
  }
  return "receipt";
}

}  // namespace

// ---- printing and email --------------------------------------------------------------------

// Printing is not durable: a printer that fails never stops the effect list (the sale is on
// disk); the kiosk is told and can reprint.
Status UiBridge::perform(const pos::PrintReceipt& e) {
  const std::string stem = receipt_stem(e.text);
  for (const auto& p : printers_) {
    // From what the receipt was rendered from when the reducer has it: ESC/POS then prints the
    // merchant, TOTAL and the outcome styled, at the printer's own width.
    auto where = e.receipt ? print_receipt(p, *e.receipt) : print_receipt_text(p, stem, e.text);
    if (!where) {
      log::warn("app.print_failed", {{"error", where.error().describe()}});
      core_.emit(pos::PrintFailed{where.error().message});
    } else {
      log::info("app.printed", {{"where", *where}});
    }
  }
  return ok();
}

Status UiBridge::perform(const pos::OpenCashDrawer&) {
  bool kicked = false;
  for (const auto& p : printers_) {
    if (p.kind == PrinterKind::Device && p.format == PrintFormat::EscPos) {
      if (Status s = open_cash_drawer(p); !s) {
        core_.emit(pos::PrintFailed{"cash drawer: " + s.error().message});
      } else {
        kicked = true;
      }
    }
  }
  if (!kicked) log::info("app.cash_drawer", {{"note", "no drawer on a device printer configured"}});
  return ok();
}

Status UiBridge::perform(const pos::QueueEmailReceipt& e) {
  auto id = core_.store->email_receipts().enqueue(e.sale_id, e.address, e.body);
  core_.emit(pos::EmailQueued{static_cast<bool>(id), id ? std::string() : id.error().message});
  return ok();
}

// ---- refund lookup -------------------------------------------------------------------------

Status UiBridge::perform(const pos::LookUpSaleForRefund& e) {
  auto found = core_.store->reports().sale_for_refund(e.receipt_number);
  if (!found) {
    core_.emit(pos::SaleForRefundFailed{found.error().message});
    return ok();
  }
  pos::PastSale past;
  past.sale = found->sale;
  for (const auto& p : found->payments) {
    pos::PastSale::Payment pay;
    pay.attempt_id = p.attempt.id;
    pay.number = p.attempt.number;
    pay.tender = p.attempt.tender;
    pay.state = p.attempt.state;
    pay.brand = p.attempt.card.brand;
    pay.last4 = p.attempt.card.last4;
    pay.payment_intent_id = p.attempt.payment_intent_id;
    pay.captured = p.captured;
    pay.refunded = p.refunded;
    pay.refund_pending = p.refund_pending;
    pay.refundable = p.refundable();
    past.payments.push_back(std::move(pay));
  }
  past.captured = found->captured;
  past.refunded = found->refunded;
  past.refund_pending = found->refund_pending;
  past.refundable = found->refundable;
  core_.emit(pos::SaleForRefundFound{std::move(past)});
  return ok();
}

// ---- back office ---------------------------------------------------------------------------

Status UiBridge::perform(const pos::LoadBackOffice&) {
  post_back_office();
  return ok();
}

Status UiBridge::perform(const pos::RequeueOperation& e) {
  if (auto s = core_.store->outbox().retry(e.operation_id, "kiosk manager", "retried from the back office"); !s) {
    log::warn("app.retry_failed", {{"operation", e.operation_id}, {"error", s.error().describe()}});
  }
  sync_.wake();
  post_back_office();
  return ok();
}

Status UiBridge::perform(const pos::MarkOperationHandled& e) {
  auto s = core_.store->write([&](store::WriteTx& tx) -> Status {
    if (auto c = tx.outbox().complete(e.operation_id, {}); !c) return c;
    auto a = tx.journal().append_audit({0, {}, "kiosk manager", "operation.handled_outside", std::to_string(e.operation_id), e.note});
    if (!a) return fail(a.error());
    return ok();
  });
  if (!s) log::warn("app.mark_handled_failed", {{"operation", e.operation_id}, {"error", s.error().describe()}});
  post_back_office();
  return ok();
}

// The counts and the attention list (in doubt, dead, declined after forwarding) from the store.
void UiBridge::post_back_office() {
  auto status = core_.store->reports().status();
  if (!status) {
    log::warn("app.back_office_failed", {{"error", status.error().describe()}});
    return;
  }
  pos::BackOfficeLoaded loaded;
  auto count = [](const auto& m, auto key) -> std::int64_t {
    auto it = m.find(key);
    return it == m.end() ? 0 : it->second;
  };
  using O = pos::OutboxState;
  loaded.counts.pending = count(status->operations, O::Pending);
  loaded.counts.in_flight = count(status->operations, O::InFlight);
  loaded.counts.failed_retryable = count(status->operations, O::FailedRetryable);
  loaded.counts.dead = count(status->operations, O::Dead);
  loaded.counts.done = count(status->operations, O::Done);
  loaded.counts.stored_offline = count(status->attempts, pos::AttemptState::StoredOffline);
  loaded.counts.in_doubt = count(status->attempts, pos::AttemptState::InDoubt);
  for (const auto& a : status->in_doubt) {
    pos::AttentionItem item;
    item.kind = pos::AttentionItem::Kind::InDoubt;
    item.sale_id = a.sale_id;
    item.attempt_id = a.id;
    item.amount = a.amount;
    item.currency = a.currency;
    item.last_error = a.failure_message;
    item.since = a.updated_at;
    loaded.attention.push_back(std::move(item));
  }
  for (const auto& op : status->dead) {
    pos::AttentionItem item;
    item.kind = pos::AttentionItem::Kind::Dead;
    item.operation_id = op.id;
    item.sale_id = op.sale_id;
    item.attempt_id = op.attempt_id;
    if (auto a = core_.store->attempts().get(op.attempt_id)) {
      item.amount = a->amount;
      item.currency = a->currency;
    }
    item.last_error = op.last_error;
    item.last_request_id = op.last_request_id;
    item.since = op.updated_at;
    loaded.attention.push_back(std::move(item));
  }
  for (const auto& at : status->attention) {
    pos::AttentionItem item;
    item.kind = pos::AttentionItem::Kind::DeclinedAfterForward;
    item.sale_id = at.sale_id;
    item.attempt_id = at.attempt_id;
    item.amount = at.amount;
    item.currency = at.currency;
    item.last_error = at.decline_code;
    item.customer_contact = at.customer_contact;
    item.since = at.created_at;
    loaded.attention.push_back(std::move(item));
  }
  core_.emit(std::move(loaded));
}

// ---- day report and audit ------------------------------------------------------------------

// The end-of-day report from the store, with sync's own builder (the ledger the sync uses).
Status UiBridge::perform(const pos::BuildDayReport& e) {
  auto r = sync::build_day_report(*core_.store, e.day);
  if (!r) {
    core_.emit(pos::DayReportFailed{r.error().message});
    return ok();
  }
  pos::DaySummary d;
  d.day = r->day;
  for (const auto& c : r->currencies) {
    d.currencies.push_back({c.currency, c.sales, c.gross, c.net, c.tax, c.tips, c.discounts, c.voided, c.open});
  }
  for (const auto& t : r->tenders) d.tenders.push_back({t.tender, t.currency, t.count, t.amount});
  for (const auto& t : r->tax_rates) d.tax_rates.push_back({t.currency, t.tax_code, t.rate_ppm, t.net, t.tax});
  for (const auto& f : r->fees) d.fees.push_back({f.currency, f.payments, f.application_fees});
  for (const auto& f : r->refunds) d.refunds.push_back({f.currency, f.count, f.amount, f.pending});
  d.declined = r->attempts.declined;
  d.declined_after_forward = r->attempts.declined_after_forward;
  d.in_doubt = r->attempts.in_doubt;
  d.unsent = r->attempts.unsent;
  core_.emit(pos::DayReportLoaded{std::move(d)});
  return ok();
}

Status UiBridge::perform(const pos::Audit& e) {
  auto id = core_.store->journal().append_audit({0, {}, "kiosk", e.event, "", e.detail});
  if (!id) return fail(id.error());
  return ok();
}

}  // namespace till::app::detail
