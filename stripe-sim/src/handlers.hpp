#pragma once
// Internal: the endpoint handlers for one request, split by object family:
//   payment_intents.cpp  create, update, confirm, capture, cancel (and the confirmation itself)
//   search.cpp           list and search PaymentIntents
//   refunds.cpp          refunds
//   terminal.cpp         locations, readers, reader actions
//   reader_helpers.cpp   the test helper present_payment_method
//   events.cpp           events, deferred reader work, expiry of uncaptured authorizations
//   routes.cpp           the URL table that picks a handler
// A Handlers lives for one execute(); the Impl mutex is held throughout.

#include <cctype>
#include <span>
#include <map>
#include <optional>
#include <string>

#include "catalog.hpp"
#include "listing.hpp"
#include "validate.hpp"

namespace till::stripesim {

// What Stripe lets a request expand on each object (the first segment of an expand[] entry).
// The simulator renders latest_charge and payment_method (PaymentIntents), refunds (charges);
// the others it accepts and leaves as ids.
inline constexpr std::string_view kPiExpandableNames[] = {"latest_charge", "payment_method", "customer",
                                                          "application",   "on_behalf_of",   "review"};
inline constexpr std::string_view kChargeExpandableNames[] = {"refunds",         "payment_intent", "balance_transaction",
                                                              "application_fee", "customer",       "on_behalf_of"};
inline constexpr std::string_view kRefundExpandableNames[] = {"charge", "payment_intent", "balance_transaction",
                                                              "failure_balance_transaction"};
inline constexpr std::string_view kReaderExpandableNames[] = {"location"};
inline constexpr std::span<const std::string_view> kPiExpandable{kPiExpandableNames};
inline constexpr std::span<const std::string_view> kChargeExpandable{kChargeExpandableNames};
inline constexpr std::span<const std::string_view> kRefundExpandable{kRefundExpandableNames};
inline constexpr std::span<const std::string_view> kReaderExpandable{kReaderExpandableNames};
inline constexpr std::span<const std::string_view> kNothingExpandable{};

inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct Handlers {
  Api::Impl& s;
  Ctx& ctx;

  const std::vector<std::string>& expand() const { return ctx.expand; }

  // PaymentIntents of the request's account. find_pi is for writes (marks the row for the
  // journal); view_pi for reads.
  Out<PaymentIntent*> find_pi(const std::string& id, std::string param = {});
  Out<const PaymentIntent*> view_pi(const std::string& id, std::string param = {}) const;
  void emit_pi(const std::string& type, const PaymentIntent& pi);
  Out<CardInfo> resolve_method(const std::string& pm) const;
  bool known_method(const std::string& pm) const;
  // Confirms with the PI's payment method: approve, or decline with a stored 402.
  Out<void> confirm(PaymentIntent& pi);
  ApiError record_decline(PaymentIntent& pi, Charge ch, const std::string& type, const std::string& code,
                          const std::string& decline_code);
  Out<void> apply_common(PaymentIntent& pi, bool creating);
  Out<void> apply_fee(PaymentIntent& pi);
  Out<void> apply_types(PaymentIntent& pi, bool creating);
  Out<void> apply_method_options(PaymentIntent& pi);
  Out<Json> create_pi();
  Out<Json> update_pi(PaymentIntent& pi);
  Out<Json> confirm_pi(PaymentIntent& pi);
  Out<Json> capture_pi(PaymentIntent& pi);
  Out<Json> cancel_pi(PaymentIntent& pi);
  Out<Json> list_pis();
  Out<Json> search_pis();

  Out<Json> do_refund(PaymentIntent& pi, std::optional<std::int64_t> amount, bool refund_fee,
                      const std::string& reason, const std::map<std::string, std::string>& md);
  Out<std::string> refund_target();
  Out<std::string> charge_to_pi(const std::string& target);
  Out<Json> create_refund();
  Out<Json> list_refunds();
  Out<Json> get_refund(const std::string& id);
  Out<Json> get_charge(const std::string& id);

  Out<Reader*> find_reader(const std::string& id);
  Out<const Reader*> view_reader(const std::string& id) const;
  Out<void> reader_available(const Reader& r) const;
  Out<Json> action_started(Reader& r);
  Out<Json> create_location();
  Out<Json> list_locations();
  Out<Json> get_location(const std::string& id);
  Out<Json> create_reader();
  Out<Json> list_readers();
  Out<Json> process_payment_intent(Reader& r);
  Out<Json> set_reader_display(Reader& r);
  Out<Json> refund_payment(Reader& r);
  Out<Json> cancel_action(Reader& r);
  Out<std::pair<CardInfo, std::int64_t>> presented_card() const;
  Out<Json> present_payment_method(Reader& r);

  Out<Json> list_events();
  Out<Json> get_event(const std::string& id);
  Out<Json> get_account();
};

}  // namespace till::stripesim
