// Cashier words for a payment attempt (attempt.hpp): the one place where an attempt's state and
// reason become what the cashier reads. Engineer text (codes, transport errors, ids) goes to
// `details` only.
#include <string>

#include "till/pos/attempt.hpp"

namespace till::pos {

namespace {

struct DeclineRow {
  std::string_view code;
  std::string_view text;
};
constexpr std::string_view kBank = "Declined by the bank: ask for another card or another way to pay";
constexpr DeclineRow kDeclineRows[] = {
    {"insufficient_funds", "Insufficient funds: ask for another card or another way to pay"},
    {"expired_card", "The card has expired: ask for another card"},
    {"incorrect_pin", "Incorrect PIN: try again with the same card"},
    {"pin_try_exceeded", "Too many PIN attempts: ask for another card"},
    {"incorrect_cvc", "Card check failed: ask for another card"},
    {"withdrawal_count_limit_exceeded", "The card's limit is reached: ask for another card"},
    {"card_velocity_exceeded", "The card's limit is reached: ask for another card"},
    {"call_issuer", "The bank asks the customer to call them: ask for another card"},
    {"processing_error", "A processing error: try the card again"},
    {"reenter_transaction", "A processing error: try the card again"},
    {"try_again_later", "The bank did not answer: try again or use another card"},
    {"card_not_supported", "This card does not support this purchase: ask for another card"},
    {"currency_not_supported", "This card does not support this currency: ask for another card"},
    {"offline_pin_required", "The card needs its PIN: insert the card and enter the PIN"},
    {"online_or_offline_pin_required", "The card needs its PIN: insert the card and enter the PIN"},
    // Lost/stolen/fraud codes are never said out loud at the counter.
    {"lost_card", kBank},
    {"stolen_card", kBank},
    {"fraudulent", kBank},
    {"pickup_card", kBank},
};

}  // namespace

std::string decline_advice(std::string_view code) {
  for (const auto& r : kDeclineRows) {
    if (code == r.code) return std::string(r.text);
  }
  return std::string(kBank);
}

std::vector<std::string_view> decline_codes_with_advice() {
  std::vector<std::string_view> out;
  for (const auto& r : kDeclineRows) out.push_back(r.code);
  return out;
}

CashierWords cashier_words(AttemptState state, std::string_view reason) {
  CashierWords w;
  w.details = std::string(reason);
  switch (state) {
    case AttemptState::Collecting:
      w.headline = "Waiting for the card";
      w.advice = "Ask the customer to present their card on the reader";
      break;
    case AttemptState::StoredOffline:
      w.headline = "Approved offline";
      w.advice = "The payment is stored and sent when the connection returns. Give the receipt";
      break;
    case AttemptState::Submitting:
      w.headline = "Authorizing";
      w.advice = "Waiting for the bank. Do not retry the card";
      break;
    case AttemptState::InDoubt:
      // Never a decline: the money may have moved. Only Stripe's answer ends this.
      w.headline = "Outcome unknown";
      w.advice = "Checking with Stripe. Do not retry the card and do not take another payment for this sale";
      break;
    case AttemptState::Approved:
      w.headline = "Approved";
      w.advice = "Give the receipt";
      break;
    case AttemptState::Declined:
      w.headline = "Declined";
      w.advice = decline_advice(reason);
      break;
    case AttemptState::DeclinedAfterForward:
      w.headline = "Declined after sending";
      w.advice = "A payment taken offline was declined when it was sent. A manager must contact the customer";
      break;
    case AttemptState::Canceled:
      w.headline = "Not charged";
      w.advice = "Nothing was charged. Try the card again or pay another way";
      break;
  }
  return w;
}

CashierWords cashier_words(AttemptState state, AttemptEvent cause, std::string_view reason) {
  CashierWords w = cashier_words(state, reason);
  if (state != AttemptState::Canceled) return w;
  switch (cause) {
    case AttemptEvent::Canceled:
      w.headline = "Payment canceled";
      w.advice = "Nothing was charged";
      break;
    case AttemptEvent::ReaderFailed:
      w.headline = "The reader did not read the card";
      w.advice = "Nothing was charged. Try the card again or pay another way";
      break;
    case AttemptEvent::OfflineRefused:
      // The risk policy's own sentence (risk.cpp: "swiped cards cannot be taken offline; insert
      // or tap the card") tells the cashier what to do, so the advice carries it.
      w.headline = "Card refused offline";
      w.advice = reason.empty() ? std::string("Nothing was charged") : std::string(reason) + ". Nothing was charged";
      w.advice += ": try another card, take cash, or wait for the connection";
      break;
    default: break;  // not charged (proof nothing reached Stripe, or Stripe canceled it)
  }
  return w;
}

}  // namespace till::pos
