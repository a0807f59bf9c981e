// terminal::ServerDrivenApi over the sync Stripe client. See server_driven.hpp for the rules.
#include "till/app/server_driven.hpp"

#include <boost/asio/co_spawn.hpp>
#include <cstdio>
#include <exception>
#include <utility>

namespace till::app {
namespace {

namespace asio = boost::asio;
using terminal::ServerPaymentIntent;
using terminal::ServerReader;

Error passthrough(Error e) { return e; }

// Runs one client call on `io` and hands its converted result to `done` (posted, exactly once).
template <class In, class Out, class Convert, class MapError = Error (*)(Error)>
void spawn(asio::io_context& io, const std::shared_ptr<int>& in_flight, asio::awaitable<Result<In>> op,
           std::function<void(Result<Out>)> done, Convert convert, MapError map_error = passthrough) {
  ++*in_flight;
  asio::co_spawn(io, std::move(op),
                 [done = std::move(done), convert = std::move(convert), map_error, in_flight](std::exception_ptr ep,
                                                                                              Result<In> r) mutable {
                   --*in_flight;
                   if (ep) {
                     // The client never throws; if it did, the call's fate is not known.
                     done(fail(ErrorKind::OutcomeUnknown, "the Stripe call ended with an exception"));
                     return;
                   }
                   if (!r) {
                     done(tl::unexpected(map_error(std::move(r.error()))));
                     return;
                   }
                   done(Result<Out>(convert(std::move(*r))));
                 });
}

ServerReader reader_out(sync::Reader r) { return to_server_reader(r); }

// process_payment_intent refused because of the PaymentIntent's state: an earlier process may
// already have charged it. Only the PaymentIntent may decide, so the driver must look.
Error process_error(Error e) {
  if (e.stripe && e.stripe->code == "payment_intent_unexpected_state") {
    e.kind = ErrorKind::OutcomeUnknown;
    e.message = "the PaymentIntent cannot be processed in its current state (it may already be paid): " + e.message;
  }
  return e;
}

}  // namespace

StripeServerDrivenApi::StripeServerDrivenApi(asio::io_context& io, sync::StripeClient& client, std::string account_id)
    : io_(io), client_(client), account_(std::move(account_id)) {}

void StripeServerDrivenApi::async_list_readers(Callback<std::vector<ServerReader>> done) {
  spawn<sync::ListPage<sync::Reader>, std::vector<ServerReader>>(
      io_, in_flight_, client_.async_list_readers(sync::ListParams(100), sync::RequestOptions(account_)), std::move(done),
      [](sync::ListPage<sync::Reader> page) {
        std::vector<ServerReader> out;
        for (const auto& r : page.data) out.push_back(to_server_reader(r));
        return out;
      });
}

void StripeServerDrivenApi::async_register_reader(const std::string& registration_code, const std::string& label,
                                                  const std::string& location, const std::string& idempotency_key,
                                                  Callback<ServerReader> done) {
  spawn<sync::Reader, ServerReader>(
      io_, in_flight_,
      client_.async_create_reader(registration_code, label, location,
                                  sync::RequestOptions(account_, idempotency_key)),
      std::move(done), reader_out);
}

void StripeServerDrivenApi::async_retrieve_reader(const std::string& reader_id, Callback<ServerReader> done) {
  spawn<sync::Reader, ServerReader>(io_, in_flight_, client_.async_retrieve_reader(reader_id, sync::RequestOptions(account_)),
                                    std::move(done), reader_out);
}

void StripeServerDrivenApi::async_process_payment_intent(const std::string& reader_id,
                                                         const std::string& payment_intent_id,
                                                         const std::string& idempotency_key,
                                                         Callback<ServerReader> done) {
  spawn<sync::Reader, ServerReader>(
      io_, in_flight_,
      client_.async_process_payment_intent(reader_id, payment_intent_id, sync::FormParams{},
                                           sync::RequestOptions(account_, idempotency_key)),
      std::move(done), reader_out, process_error);
}

void StripeServerDrivenApi::async_set_reader_display(const std::string& reader_id, const terminal::Cart& cart,
                                                     const std::string& idempotency_key, Callback<ServerReader> done) {
  spawn<sync::Reader, ServerReader>(
      io_, in_flight_,
      client_.async_set_reader_display(reader_id, cart_form(cart), sync::RequestOptions(account_, idempotency_key)),
      std::move(done), reader_out);
}

void StripeServerDrivenApi::async_cancel_action(const std::string& reader_id, const std::string& idempotency_key,
                                                Callback<ServerReader> done) {
  spawn<sync::Reader, ServerReader>(
      io_, in_flight_, client_.async_cancel_reader_action(reader_id, sync::RequestOptions(account_, idempotency_key)),
      std::move(done), reader_out);
}

void StripeServerDrivenApi::async_retrieve_payment_intent(const std::string& payment_intent_id,
                                                          Callback<ServerPaymentIntent> done) {
  spawn<sync::PaymentIntent, ServerPaymentIntent>(
      io_, in_flight_,
      client_.async_retrieve_payment_intent(payment_intent_id, sync::RequestOptions(account_),
                                            std::vector<std::string>{"latest_charge"}),
      std::move(done), [](sync::PaymentIntent pi) { return to_server_payment_intent(pi); });
}

// ---- conversions ----

ServerReader to_server_reader(const sync::Reader& r) {
  ServerReader out;
  out.id = r.id;
  out.label = r.label;
  out.device_type = r.device_type;
  out.serial_number = r.serial_number;
  out.status = r.status;
  out.device_sw_version = r.device_sw_version;
  if (r.action) {
    out.action = terminal::ServerReaderAction{r.action->type, r.action->status, r.action->failure_code,
                                              r.action->failure_message, r.action->payment_intent};
  }
  return out;
}

ServerPaymentIntent to_server_payment_intent(const sync::PaymentIntent& pi) {
  ServerPaymentIntent out;
  out.id = pi.id;
  out.status = pi.status_text;
  out.amount = pi.amount;
  out.currency = pi.currency;
  out.payment_method_id = pi.payment_method;
  if (pi.last_payment_error) {
    out.decline_code =
        !pi.last_payment_error->decline_code.empty() ? pi.last_payment_error->decline_code : pi.last_payment_error->code;
  }
  if (pi.card_present) {
    const sync::CardPresentDetails& c = *pi.card_present;
    out.card.brand = c.brand;
    out.card.last4 = c.last4;
    if (c.exp_month > 0 && c.exp_year > 0) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "%02d/%02d", static_cast<int>(c.exp_month % 100),
                    static_cast<int>(c.exp_year % 100));
      out.card.exp_month_year = buf;
    }
    out.card.read_method = c.read_method;
    out.card.application_id = c.dedicated_file_name;
    out.card.application_label = c.application_preferred_name;
    out.card.authorization_code = c.authorization_code;
    out.card.terminal_verification_results = c.terminal_verification_results;
    out.card.cardholder_verification = c.cardholder_verification_method;
  }
  return out;
}

sync::FormValue cart_form(const terminal::Cart& cart) {
  std::vector<sync::FormValue> items;
  for (const auto& line : cart.lines) {
    const std::int64_t q = line.quantity > 0 ? line.quantity : 1;
    std::vector<sync::FormField> fields;
    if (line.amount % q == 0) {
      fields = {{"amount", sync::FormValue(line.amount / q)},
                {"description", sync::FormValue(line.description)},
                {"quantity", sync::FormValue(q)}};
    } else {
      fields = {{"amount", sync::FormValue(line.amount)},
                {"description", sync::FormValue(std::to_string(q) + " x " + line.description)},
                {"quantity", sync::FormValue(std::int64_t{1})}};
    }
    items.push_back(sync::FormValue::object(std::move(fields)));
  }
  return sync::FormValue::object({{"currency", sync::FormValue(cart.currency)},
                                  {"line_items", sync::FormValue::array(std::move(items))},
                                  {"tax", sync::FormValue(cart.tax)},
                                  {"total", sync::FormValue(cart.total)}});
}

std::optional<ServerReader> reader_update_from_event(const sync::Event& event) {
  if (event.type != "terminal.reader.action_succeeded" && event.type != "terminal.reader.action_failed") {
    return std::nullopt;
  }
  auto reader = sync::parse_reader(event.object_json);
  if (!reader) return std::nullopt;
  return to_server_reader(*reader);
}

}  // namespace till::app

namespace till::app {

Result<sync::Reader> choose_smart_reader(const std::vector<sync::Reader>& readers, const std::string& wanted,
                                         const std::string& location) {
  auto name = [](const sync::Reader& r) { return r.id + (r.label.empty() ? std::string() : " '" + r.label + "'"); };
  if (!wanted.empty()) {
    for (const auto& r : readers) {
      if (r.id != wanted) continue;
      if (r.status != "online") return fail(ErrorKind::Unavailable, "smart reader " + name(r) + " is offline");
      return r;
    }
    return fail(ErrorKind::NotFound, "no smart reader " + wanted + " on this account");
  }
  const std::string where = location.empty() ? std::string("on this account") : "at location " + location;
  std::vector<const sync::Reader*> here;
  std::vector<const sync::Reader*> online;
  for (const auto& r : readers) {
    if (!location.empty() && r.location != location) continue;
    here.push_back(&r);
    if (r.status == "online") online.push_back(&r);
  }
  if (here.empty()) {
    return fail(ErrorKind::NotFound, "no smart reader is registered " + where + ": register one, or name it as stripe:tmr_...");
  }
  if (online.empty()) {
    return fail(ErrorKind::Unavailable, "no smart reader is online " + where + " (" + std::to_string(here.size()) +
                                            " registered, all offline)");
  }
  if (online.size() > 1) {
    std::string names;
    for (const auto* r : online) names += (names.empty() ? "" : ", ") + name(*r);
    return fail(ErrorKind::FailedPrecondition, std::to_string(online.size()) + " smart readers are online " + where +
                                                   " (" + names + "): choose one as stripe:tmr_...");
  }
  return *online.front();
}

}  // namespace till::app
