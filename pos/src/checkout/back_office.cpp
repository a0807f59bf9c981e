// The manager's screens (PIN-gated; the checkout underneath is preserved): the queue and its
// attention list, setting an in-doubt sale aside, reader management, the end-of-day report.
// Every manager action is audited; the PIN is compared, never stored or audited.
#include "reducer.hpp"

namespace till::pos::detail {
namespace {

std::string_view command_words(ReaderCommandKind k) {
  switch (k) {
    case ReaderCommandKind::Connect: return words::kReaderConnect;
    case ReaderCommandKind::Disconnect: return words::kReaderDisconnect;
    case ReaderCommandKind::InstallUpdate: return words::kReaderInstallUpdate;
    case ReaderCommandKind::RefreshStatus: return words::kReaderRefresh;
  }
  return words::kReaderRefresh;
}

}  // namespace

void Reducer::operator()(const OpenBackOffice& a) {
  if (ctx_.manager_pin.empty()) return reject(words::kNoManagerPin);
  if (a.pin != ctx_.manager_pin) {
    reject(words::kWrongPin);
    effects_.push_back(Audit{"back_office_pin_rejected", ""});
    return;
  }
  m_.back_office.unlocked = true;
  m_.back_office.loading = true;
  m_.screen = Screen::BackOffice;
  m_.back_office.day_loading = true;
  effects_.push_back(Audit{"back_office_opened", ""});
  effects_.push_back(LoadBackOffice{});
  effects_.push_back(BuildDayReport{utc_day(ctx_.now)});
}

void Reducer::operator()(const CloseBackOffice&) {
  if (!m_.back_office.unlocked) return reject(words::kBackOfficeNotOpen);
  m_.back_office = BackOffice{};
  m_.screen = home_screen();
}

void Reducer::operator()(const BackOfficeLoaded& a) {
  if (!m_.back_office.unlocked) return;  // closed meanwhile: do not keep the data
  m_.back_office.counts = a.counts;
  m_.back_office.attention = a.attention;
  m_.back_office.loading = false;
}

void Reducer::operator()(const RetryOperation& a) {
  if (!manager()) return;
  effects_.push_back(RequeueOperation{a.operation_id});
  effects_.push_back(Audit{"operation_retried", "operation=" + std::to_string(a.operation_id)});
  reload_back_office();
}

void Reducer::operator()(const MarkHandled& a) {
  if (!manager()) return;
  if (a.note.empty()) return reject(words::kNoteRequired);
  effects_.push_back(MarkOperationHandled{a.operation_id, a.note});
  effects_.push_back(Audit{"operation_marked_handled", "operation=" + std::to_string(a.operation_id) + " note=" + a.note});
  reload_back_office();
}

void Reducer::operator()(const SetAsideSale&) {
  if (!manager()) return;
  if (m_.phase != PaymentPhase::InDoubt && m_.phase != PaymentPhase::Authorizing) {
    return reject(words::kOnlyWaitingSetAside);
  }
  const std::string sale_id = m_.sale ? m_.sale->id : std::string();
  effects_.push_back(Audit{"sale_set_aside", "sale=" + sale_id});
  reset_checkout();
  m_.screen = Screen::BackOffice;  // the manager is still in the back office
  notice(NoticeLevel::Info, std::string(words::kSetAside), "sale " + sale_id);
}

void Reducer::operator()(const ManageReader& a) {
  if (!manager()) return;
  using K = ReaderCommandKind;
  // Every reader command is an operation of the driver, which takes one at a time: none may
  // run while the reader takes a payment (the status shown is the last one reported).
  if (busy_with_card()) return reject(busy_refusal(words::kReaderTakingPayment));
  if (m_.reader.command_running) return reject(words::kReaderCommandRunning);
  if (a.command == K::Connect && m_.reader.connected) return reject(words::kReaderAlreadyConnected);
  if ((a.command == K::Disconnect || a.command == K::InstallUpdate) && !m_.reader.connected) {
    return reject(words::kNoReaderConnected);
  }
  m_.reader.command_running = true;
  effects_.push_back(ReaderCommand{a.command});
  if (a.command != K::RefreshStatus) {
    effects_.push_back(Audit{"reader_" + std::string(to_string(a.command)), "reader=" + m_.reader.label});
  }
  notice(NoticeLevel::Info, words::fill(words::kReaderCommandSent, {command_words(a.command)}));
}

void Reducer::operator()(const ReaderDetailsUpdated& a) { m_.reader.details = a.details; }

void Reducer::operator()(const ReaderCommandDone& a) {
  m_.reader.command_running = false;
  // The driver's message ("firmware 1.5.0", "no reader found") is for the details line.
  if (a.ok) {
    notice(NoticeLevel::Info, words::fill(words::kReaderCommandDone, {command_words(a.command)}), a.message);
  } else {
    notice(NoticeLevel::Warning, words::fill(words::kReaderCommandFailed, {command_words(a.command)}), a.message);
  }
}

void Reducer::operator()(const LoadDayReport&) {
  if (!manager()) return;
  m_.back_office.day_loading = true;
  m_.back_office.day_error.clear();
  effects_.push_back(BuildDayReport{utc_day(ctx_.now)});
}

void Reducer::operator()(const DayReportLoaded& a) {
  if (!m_.back_office.unlocked) return;  // closed meanwhile: do not keep the data
  m_.back_office.day = a.report;
  m_.back_office.day_loading = false;
}

void Reducer::operator()(const DayReportFailed& a) {
  if (!m_.back_office.unlocked) return;
  m_.back_office.day_loading = false;
  m_.back_office.day_error = a.message;
}

void Reducer::reload_back_office() {
  m_.back_office.loading = true;
  effects_.push_back(LoadBackOffice{});
}

}  // namespace till::pos::detail
