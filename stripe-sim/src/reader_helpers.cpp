// Test helper POST /v1/test_helpers/terminal/readers/{id}/present_payment_method: a customer taps
// a test card on a simulated reader, which finishes its in-progress action.

#include "handlers.hpp"

namespace till::stripesim {

// Test helper: a customer taps a card on the reader; finishes the in-progress action.
Out<Json> Handlers::present_payment_method(Reader& r) {
  const Params& p = ctx.params;
  if (auto a = allow_only(p, {"type", "card_present", "interac_present", "amount_tip", "card"}); !a) {
    return tl::unexpected(a.error());
  }
  if (!r.action || r.action->status != "in_progress" ||
      (r.action->type != "process_payment_intent" && r.action->type != "refund_payment")) {
    return state_error("The reader has no in-progress action that accepts a payment method.",
                       "terminal_reader_no_action");
  }
  if (r.status != "online") {
    // An offline reader cannot reach Stripe to authorize: the card tap goes nowhere.
    return tl::unexpected(reader_available(r).error());
  }
  std::string number = "4242424242424242";
  const std::string* type = p.get("type");
  if (type && *type == "interac_present") number = "4506445006931933";
  if (const std::string* n = p.get("card_present[number]")) number = *n;
  if (const std::string* n = p.get("interac_present[number]")) number = *n;
  auto card = card_for_number(number);
  if (!card) {
    return invalid("The card number is not one of the test cards this simulator knows.",
                   "card_present[number]");
  }
  std::int64_t tip = 0;
  if (p.has("amount_tip")) {
    auto t = parse_int(p, "amount_tip");
    if (!t) return tl::unexpected(t.error());
    tip = *t;
  }
  ReaderAction& a = *r.action;
  auto pi = find_pi(a.payment_intent);
  if (!pi) return tl::unexpected(pi.error());
  bool ok = true;
  if (a.type == "process_payment_intent") {
    const std::string pm = s.new_object_id("pm_");
    s.minted_methods.insert(pm, *card);
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
    if (!card->interac && paid && paid->card.interac) {
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
