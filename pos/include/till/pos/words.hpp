#pragma once
// THE CASHIER'S WORDS: every string the checkout reducer puts in front of a cashier (notices,
// refusals, prompts), in one place, so the troubleshooting docs can be checked against it
// (glossary() lists them all) and a change of wording is a change to this file.
//
// Rules:
//  - Words only. Ids, codes, transport errors and a driver's or the store's own message never
//    go into a notice's text; the reducer puts them in Notice::details (the log and the
//    expandable details line).
//  - A payment attempt's outcome is said by cashier_words() (attempt.hpp, attempt_words.cpp):
//    its state, and the event that led there, become a headline and advice. The strings here
//    are everything else: what the counter refuses and why, and what follows for the sale
//    (balance due, change, the sale complete).
//  - `{}` is a placeholder, filled in order by fill(): an amount as the register formats it, a
//    product, a barcode. Templates keep their placeholders in glossary().
//  - Two other pos files write cashier sentences the reducer passes on: the cart's validation
//    (cart.cpp: "line 2 (Croissant): discount is larger than the amount it applies to") as a
//    refusal, and the offline risk policy's refusals (risk.cpp) in kOfflineNeedsConnection's
//    placeholder and in the details of an offline refusal.
//
// Pure; any thread.

#include <string>
#include <string_view>
#include <vector>

namespace till::pos {

// The in-doubt words as one line: cashier_words(AttemptState::InDoubt) as "headline: advice"
// (tests/pos/words_test.cpp checks they agree). Shown, and given as the refusal of anything
// that could start a second charge, until Stripe's answer is known.
inline constexpr const char* kInDoubtText =
    "Outcome unknown: Checking with Stripe. Do not retry the card and do not take another payment for this sale";

namespace words {

// ---- the cart ----
inline constexpr std::string_view kUnknownProduct = "Unknown product '{}'";
inline constexpr std::string_view kNoSuchBarcode = "No product with barcode {}";
inline constexpr std::string_view kQuantityAtLeastOne = "Quantity must be at least 1";
inline constexpr std::string_view kQuantityRemoveInstead = "Quantity must be at least 1 (remove the line instead)";
inline constexpr std::string_view kQuantityTooLarge = "Quantity too large";
inline constexpr std::string_view kTipNegative = "Tip must not be negative";
inline constexpr std::string_view kNoSuchLine = "No such line in the cart";
inline constexpr std::string_view kCartLocked = "The cart cannot change while the sale is being paid";
inline constexpr std::string_view kCancelBeforeEditing = "Cancel the payment before changing the cart";
inline constexpr std::string_view kSaleAlreadySaved = "This sale was already saved: void it instead";
inline constexpr std::string_view kWaitForCard = "Wait for the card payment to finish";

// ---- screens ----
inline constexpr std::string_view kSaleComplete = "The sale is complete";
inline constexpr std::string_view kSaleCompleteStartNew = "The sale is complete: start a new sale";
inline constexpr std::string_view kSaleCompleteRefund = "The sale is complete: refund it from the back office";
inline constexpr std::string_view kCloseBackOfficeFirst = "Close the back office first";
inline constexpr std::string_view kFinishOrVoidFirst = "Finish or void the current sale first";

// ---- tender ----
inline constexpr std::string_view kChargeMoreThanZero = "Amount to charge must be more than zero";
inline constexpr std::string_view kChargeOverBalance = "Amount is more than the balance due ({})";
inline constexpr std::string_view kNothingToRetry = "Nothing to retry: no declined or failed payment";
inline constexpr std::string_view kCashMoreThanZero = "Cash tendered must be more than zero";
inline constexpr std::string_view kCashTaken = "Cash {} taken; balance due {}";
inline constexpr std::string_view kChangeDue = "Change due: {}";
inline constexpr std::string_view kCardInProgress = "A card payment is already in progress";
inline constexpr std::string_view kCartEmpty = "The cart is empty";
inline constexpr std::string_view kNothingToPay = "Nothing to pay";
inline constexpr std::string_view kNoReader = "No card reader connected";
inline constexpr std::string_view kOfflineNeedsConnection = "Card payments need a connection now: {}. Take cash or wait";
inline constexpr std::string_view kDatabaseChecking = "Checking the register's database: try again in a moment";
inline constexpr std::string_view kDatabaseDamaged = "The register's database is damaged: no sale can be taken, call support";

// ---- cancel and void ----
inline constexpr std::string_view kCanceling = "Canceling: waiting for the reader";
inline constexpr std::string_view kAlreadyCanceling = "Already canceling: waiting for the reader";
inline constexpr std::string_view kCannotCancelAuthorizing = "Cannot cancel: the card is being authorized";
inline constexpr std::string_view kNoCardPayment = "No card payment in progress";
inline constexpr std::string_view kFinishCardFirst = "Finish or cancel the card payment first";
inline constexpr std::string_view kMoneyTaken = "Money was already taken: take the balance or refund from the back office";
inline constexpr std::string_view kCannotVoid = "This sale cannot be voided";
inline constexpr std::string_view kSaleVoided = "Sale voided";

// ---- what follows an attempt's outcome for the sale ("<cashier_words headline>: ...") ----
inline constexpr std::string_view kThenNothingCharged = "{}: nothing was charged";  // headline
inline constexpr std::string_view kThenBalanceDue = "{}: balance due {}";          // headline (+ amount), balance
inline constexpr std::string_view kThenAdvice = "{}: {}";                          // headline (+ amount), advice
inline constexpr std::string_view kEarlierPayment = "An earlier payment was {}: see the back office";
inline constexpr std::string_view kEarlierApproved = "approved";  // kEarlierPayment's words
inline constexpr std::string_view kEarlierDeclined = "declined";
inline constexpr std::string_view kEarlierUnknown = "of unknown outcome";
inline constexpr std::string_view kEarlierNotCharged = "not charged";
inline constexpr std::string_view kApprovedAfterGivenUp =
    "A payment was approved after it had been given up: {} was taken; check the sale";
inline constexpr std::string_view kOverCollected = "Over-collected {}: refund it from the back office";
inline constexpr std::string_view kWaitsForStripe =
    "Stripe cannot be reached: this card payment is sent as soon as the connection returns. Do not retry it or "
    "take another payment for it";
inline constexpr std::string_view kCouldNotSave = "Could not save the sale. Nothing more was charged; call a manager";

// ---- the back office ----
inline constexpr std::string_view kNoManagerPin = "No manager PIN is configured";
inline constexpr std::string_view kWrongPin = "Wrong manager PIN";
inline constexpr std::string_view kManagerPinRequired = "Manager PIN required";
inline constexpr std::string_view kBackOfficeNotOpen = "The back office is not open";
inline constexpr std::string_view kNoteRequired = "Say what was done (a note is required)";
inline constexpr std::string_view kOnlyConfirmedRefundable = "Only payments Stripe has confirmed can be refunded";
inline constexpr std::string_view kRefundMoreThanZero = "Refund amount must be more than zero";
inline constexpr std::string_view kUnknownCurrency = "Unknown currency '{}'";
inline constexpr std::string_view kRefundAtMost = "At most {} of this payment can still be refunded";
inline constexpr std::string_view kRefundQueued = "Refund of {} queued";
inline constexpr std::string_view kRefundNotQueued = "Refund not queued: the register refused it (see the details)";
inline constexpr std::string_view kOnlyWaitingSetAside = "Only a sale waiting for a payment outcome can be set aside";
inline constexpr std::string_view kSetAside = "Sale set aside: its outcome will appear in the back office";
inline constexpr std::string_view kReceiptNumberTooShort = "Type the receipt number (at least its first 8 characters)";

// ---- the reader (manager) ----
inline constexpr std::string_view kReaderTakingPayment = "The reader is taking a payment: finish or cancel it first";
inline constexpr std::string_view kReaderCommandRunning = "A reader command is already running";
inline constexpr std::string_view kReaderAlreadyConnected = "The reader is already connected";
inline constexpr std::string_view kNoReaderConnected = "No reader is connected";
inline constexpr std::string_view kReaderCommandSent = "Reader: {} sent";  // the command's words below
inline constexpr std::string_view kReaderCommandDone = "Reader: {} done";
inline constexpr std::string_view kReaderCommandFailed = "Reader: {} failed (see the details)";
inline constexpr std::string_view kReaderConnect = "connect";
inline constexpr std::string_view kReaderDisconnect = "disconnect";
inline constexpr std::string_view kReaderInstallUpdate = "update";
inline constexpr std::string_view kReaderRefresh = "status refresh";

// ---- receipts ----
inline constexpr std::string_view kNoReceipt = "No receipt to print";
inline constexpr std::string_view kReprinted = "Receipt sent to the printer again";
inline constexpr std::string_view kEmailFromReceiptScreen = "Email a receipt from the receipt screen";
inline constexpr std::string_view kNotAnEmail = "That is not an email address";
inline constexpr std::string_view kQueuingEmail = "Queuing the receipt for email";
inline constexpr std::string_view kEmailQueued = "Receipt queued for email";
inline constexpr std::string_view kEmailNotQueued = "Email receipt not queued (see the details)";
inline constexpr std::string_view kPrintFailed = "The receipt did not print. The sale is saved; reprint from the receipt screen";

// Replaces each `{}` in `text`, in order, with the next argument (a `{}` without one stays).
std::string fill(std::string_view text, std::initializer_list<std::string_view> args = {});

// One entry of the glossary: where the words are used and the words themselves.
struct Entry {
  std::string key;   // "cart.locked", "attempt.in_doubt.headline", "decline.insufficient_funds"
  std::string text;
};
// Every cashier-visible string the reducer can emit: the constants above, kInDoubtText, the
// attempt words (cashier_words for every state, and for every event that leads there) and the
// decline advice for every decline code it knows. Deterministic order.
std::vector<Entry> glossary();

}  // namespace words
}  // namespace till::pos
