// The receipt on screen: print it again, queue it by email, and what the printer or the email
// queue answered. None of this is durable for the sale: a refusal never stops an effect list.
#include "reducer.hpp"

namespace till::pos::detail {

void Reducer::operator()(const ReprintReceipt&) {
  if (m_.last_receipt.empty()) return reject(words::kNoReceipt);
  effects_.push_back(PrintReceipt{m_.last_receipt, m_.last_receipt_input});
  notice(NoticeLevel::Info, std::string(words::kReprinted));
}

void Reducer::operator()(const EmailReceipt& a) {
  if (!cashier_screen()) return;
  if (m_.screen != Screen::Receipt || !m_.sale || m_.last_receipt.empty()) {
    return reject(words::kEmailFromReceiptScreen);
  }
  std::string address;
  for (char c : a.address) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') address += c;
  }
  const auto at = address.find('@');
  if (at == std::string::npos || at == 0 || address.find('.', at) == std::string::npos) {
    return reject(words::kNotAnEmail);
  }
  // The address goes to the store (sealed there), never to the model, a notice or the audit log.
  effects_.push_back(QueueEmailReceipt{m_.sale->id, address, m_.last_receipt});
  notice(NoticeLevel::Info, std::string(words::kQueuingEmail));
}

// The printer's message ("/dev/usb/lp0: no printer behind it") is for the details line.
void Reducer::operator()(const PrintFailed& a) {
  notice(NoticeLevel::Warning, std::string(words::kPrintFailed), a.message);
}

void Reducer::operator()(const EmailQueued& a) {
  if (a.ok) {
    notice(NoticeLevel::Info, std::string(words::kEmailQueued));
  } else {
    notice(NoticeLevel::Warning, std::string(words::kEmailNotQueued), a.message);
  }
}

}  // namespace till::pos::detail
