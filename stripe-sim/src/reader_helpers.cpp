// Test helper POST /v1/test_helpers/terminal/readers/{id}/present_payment_method: a customer taps
// a test card on a simulated reader, which finishes its in-progress action.

#include "handlers.hpp"

namespace till::stripesim {

// The card of a present_payment_method request and its tip: type card_present (the default)
// or interac_present, the number of a test card under that type only, a tip of 0 or more.
Out<std::pair<CardInfo, std::int64_t>> Handlers::presented_card() const {
  const Params& p = ctx.params;
  for (const char* name : {"card_present", "interac_present"}) {
    if (auto n = allow_nested(p, name, {"[number]"}); !n) return tl::unexpected(n.error());
  }
  auto type = parse_enum(p, "type", {"card_present", "interac_present"});
  if (!type) return tl::unexpected(type.error());
  const bool interac = type->value_or("card_present") == "interac_present";
  if (auto x = exclusive(p, {"card_present", "interac_present"}); !x) return tl::unexpected(x.error());
  const std::string other = interac ? "card_present" : "interac_present";
  if (p.top_level().contains(other)) {
    return invalid("Received " + other + " details for a payment method of type " +
                       (interac ? "interac_present" : "card_present") + ".",
                   other);
  }
  std::string number = interac ? "4506445006931933" : "4242424242424242";
  const std::string number_key = interac ? "interac_present[number]" : "card_present[number]";
  if (const std::string* n = p.get(number_key)) number = *n;
  auto card = card_for_number(number);
  if (!card) return invalid("The card number is not one of the test cards this simulator knows.", number_key);
  std::int64_t tip = 0;
  if (p.has("amount_tip")) {
    auto t = parse_int(p, "amount_tip");
    if (!t) return tl::unexpected(t.error());
    if (*t < 0) return invalid("This value must be greater than or equal to 0.", "amount_tip", "parameter_invalid_integer");
    tip = *t;
  }
  return std::pair<CardInfo, std::int64_t>(*card, tip);
}

// Test helper: a customer taps a card on the reader; finishes the in-progress action.
Out<Json> Handlers::present_payment_method(Reader& r) {
  const Params& p = ctx.params;
  if (auto a = allow_only(p, {"type", "card_present", "interac_present", "amount_tip"}); !a) {
    return tl::unexpected(a.error());
  }
  if (auto x = allow_expand(expand(), false, kReaderExpandable); !x) return tl::unexpected(x.error());
  auto presented = presented_card();
  if (!presented) return tl::unexpected(presented.error());
  const auto& [card, tip] = *presented;
  if (!r.action || r.action->status != "in_progress" ||
      (r.action->type != "process_payment_intent" && r.action->type != "refund_payment")) {
    return state_error("The reader has no in-progress action that accepts a payment method.",
                       "terminal_reader_no_action");
  }
  if (r.status != "online") {
    // An offline reader cannot reach Stripe to authorize: the card tap goes nowhere.
    return tl::unexpected(reader_available(r).error());
  }
  ReaderAction& a = *r.action;
  auto pi = find_pi(a.payment_intent);
  if (!pi) return tl::unexpected(pi.error());
  bool ok = true;
  if (a.type == "process_payment_intent") {
    const std::string pm = s.new_object_id("pm_");
    s.minted_methods.insert(pm, card);
    (*pi)->payment_method = pm;
    (*pi)->amount += tip;
    (*pi)->tip += tip;
    auto c = confirm(**pi);
    if (!c) {
      (*pi)->amount -= tip;  // a declined payment keeps no tip
      (*pi)->tip -= tip;
      ok = false;
      a.failure_code = c.error().code;
      a.failure_message = c.error().message;
    }
  } else {
    const Charge* paid = s.charges.find((*pi)->latest_charge);
    if (!card.interac && paid && paid->card.interac) {
      ok = false;
      a.failure_code = "card_declined";
      a.failure_message = "The card presented does not match the payment being refunded.";
    } else {
      auto refunded = do_refund(**pi, a.refund_amount, a.refund_application_fee, "", a.refund_metadata);
      if (!refunded) {
        ok = false;
        a.failure_code = refunded.error().code;
        a.failure_message = refunded.error().message;
      } else {
        a.detail["refund"] = (*refunded)["id"];
      }
    }
  }
  a.status = ok ? "succeeded" : "failed";
  s.emit(&ctx, r.account, r.livemode,
         ok ? "terminal.reader.action_succeeded" : "terminal.reader.action_failed", s.render(r));
  return s.render(r);
}

}  // namespace till::stripesim
