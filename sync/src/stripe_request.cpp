// What a request to Stripe says (User-Agent headers, the parameter objects' form encoding) and
// how an answer or a transport failure is classified into till::Error kinds. Split from
// stripe_client.cpp, which keeps the client itself (pacing, retries, the typed calls).
#include "till/sync/stripe_client.hpp"

#include <nlohmann/json.hpp>

namespace till::sync {

namespace {

void add_metadata(FormParams& p, const Metadata& metadata) {
  if (metadata.empty()) return;
  std::vector<FormField> fields;
  for (const auto& [k, v] : metadata) fields.push_back(FormField{k, FormValue(v)});
  p.add("metadata", FormValue::object(std::move(fields)));
}

void add_expand(FormParams& p, const std::vector<std::string>& expand) {
  if (expand.empty()) return;
  std::vector<FormValue> items(expand.begin(), expand.end());
  p.add("expand", FormValue::array(std::move(items)));
}

void append(FormParams& p, const FormParams& extra) {
  for (const auto& f : extra.fields()) p.add(f.key, f.value);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Headers and classification

std::string user_agent(const AppInfo& app) {
  std::string ua = "Stripe/v1 " + (app.name.empty() ? std::string("Till") : app.name);
  if (!app.version.empty()) ua += "/" + app.version;
  if (!app.url.empty()) ua += " (" + app.url + ")";
  return ua;
}

std::string client_user_agent_json(const AppInfo& app) {
  nlohmann::json application = {{"name", app.name.empty() ? std::string("Till") : app.name}};
  if (!app.version.empty()) application["version"] = app.version;
  if (!app.url.empty()) application["url"] = app.url;
  if (!app.partner_id.empty()) application["partner_id"] = app.partner_id;
#if defined(__clang__)
  const std::string lang_version = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  const std::string lang_version = std::string("g++ ") + __VERSION__;
#else
  const std::string lang_version = "unknown";
#endif
  nlohmann::json ua = {{"bindings_version", app.version.empty() ? std::string("0") : app.version},
                       {"lang", "cpp"},
                       {"lang_version", lang_version},
                       {"publisher", "till"},
                       {"application", application}};
  return ua.dump();
}

Error classify_response(bool is_post, const StripeResponse& response) {
  const auto api = parse_error_body(response.body);
  StripeErrorDetail detail;
  detail.http_status = response.status;
  detail.request_id = response.request_id;
  detail.should_retry = response.should_retry;
  std::string message = "HTTP " + std::to_string(response.status);
  if (api) {
    detail.type = api->type;
    detail.code = api->code;
    detail.decline_code = api->decline_code;
    detail.param = api->param;
    detail.request_log_url = api->request_log_url;
    detail.payment_intent_id = api->payment_intent_id;
    // Stripe masks keys in its messages; a proxy or simulator might not. Errors get logged.
    if (!api->message.empty()) message = redact_secrets(api->message);
  }
  const int s = response.status;
  const auto& type = detail.type;
  const auto& code = detail.code;
  // A write whose fate Stripe left open must be resolved (same key, or a lookup), never failed.
  const ErrorKind open_write = is_post ? ErrorKind::OutcomeUnknown : ErrorKind::Unavailable;

  ErrorKind kind = ErrorKind::Internal;
  if (type == "card_error") {
    kind = ErrorKind::Declined;
  } else if (s == 401) {
    kind = ErrorKind::Unauthenticated;
  } else if (s == 403) {
    kind = ErrorKind::PermissionDenied;
  } else if (type == "idempotency_error" && s != 409 && code != "idempotency_key_in_use") {
    // (A 409 idempotency_key_in_use also carries type idempotency_error: that one is "still
    // running", handled below, never a bug.)
    // Same key with different params or endpoint: a bug in Till, never a reason to retry.
    kind = ErrorKind::InvalidArgument;
    message = "BUG: idempotency key reused with different parameters or endpoint: " + message;
  } else if (code == "terminal_reader_busy") {
    kind = ErrorKind::FailedPrecondition;
  } else if (code == "terminal_reader_offline") {
    kind = ErrorKind::Unavailable;
  } else if (code == "terminal_reader_timeout") {
    kind = open_write;  // the reader may have started the action
  } else if (s == 409) {
    // idempotency_key_in_use: the first request with this key is still running.
    kind = open_write;
  } else if (s == 429) {
    kind = code == "lock_timeout" ? ErrorKind::Unavailable : ErrorKind::ResourceExhausted;
  } else if (s == 404) {
    kind = ErrorKind::NotFound;
  } else if (s == 424 || s >= 500) {
    // Stripe documents 5xx results as indeterminate for writes.
    kind = open_write;
  } else if (s == 402) {
    kind = ErrorKind::FailedPrecondition;
  } else if (s >= 400 && s < 500) {
    kind = ErrorKind::InvalidArgument;
  }
  return Error{kind, std::move(message), std::move(detail)};
}

Error classify_transport(bool is_post, const TransportError& error) {
  if (error.stage == TransportError::Stage::Config) return Error{ErrorKind::FailedPrecondition, error.message, {}};
  if (error.tls_verification_failed) {
    return Error{ErrorKind::Unavailable, "TLS certificate verification failed; request not sent: " + error.message,
                 {}};
  }
  if (!error.maybe_delivered()) {
    return Error{ErrorKind::Unavailable, "request not sent: " + error.message, {}};
  }
  if (is_post) {
    return Error{ErrorKind::OutcomeUnknown, "no answer to a write (it may have been applied): " + error.message, {}};
  }
  return Error{ErrorKind::Unavailable, error.message, {}};
}

std::string search_query_metadata(std::string_view key, std::string_view value) {
  std::string out = "metadata['";
  out += key;
  out += "']:'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out += "'";
  return out;
}

// ---------------------------------------------------------------------------------------------
// Typed params

FormParams CreatePaymentIntentParams::to_params() const {
  FormParams p;
  p.add("amount", FormValue(amount));
  p.add("currency", currency);
  if (!allowed_payment_method_types.empty()) {
    std::vector<FormValue> types(allowed_payment_method_types.begin(), allowed_payment_method_types.end());
    p.add("allowed_payment_method_types", FormValue::array(std::move(types)));
  }
  if (!capture_method.empty()) p.add("capture_method", capture_method);
  if (application_fee_amount) p.add("application_fee_amount", FormValue(*application_fee_amount));
  if (!payment_method.empty()) p.add("payment_method", payment_method);
  if (confirm) p.add("confirm", true);
  if (!description.empty()) p.add("description", description);
  if (!statement_descriptor_suffix.empty()) p.add("statement_descriptor_suffix", statement_descriptor_suffix);
  if (!receipt_email.empty()) p.add("receipt_email", receipt_email);
  add_metadata(p, metadata);
  add_expand(p, expand);
  append(p, extra);
  return p;
}

std::string CreatePaymentIntentParams::encode() const {
  // The fields of to_params(), in its order.
  FormWriter w;
  std::string key;
  w.add("amount", amount);
  w.add("currency", currency);
  for (std::size_t i = 0; i < allowed_payment_method_types.size(); ++i) {
    key = "allowed_payment_method_types[" + std::to_string(i) + "]";
    w.add(key, allowed_payment_method_types[i]);
  }
  if (!capture_method.empty()) w.add("capture_method", capture_method);
  if (application_fee_amount) w.add("application_fee_amount", *application_fee_amount);
  if (!payment_method.empty()) w.add("payment_method", payment_method);
  if (confirm) w.add("confirm", std::string_view("true"));
  if (!description.empty()) w.add("description", description);
  if (!statement_descriptor_suffix.empty()) w.add("statement_descriptor_suffix", statement_descriptor_suffix);
  if (!receipt_email.empty()) w.add("receipt_email", receipt_email);
  for (const auto& [k, v] : metadata) {
    key.assign("metadata[").append(k).append("]");
    w.add(key, v);
  }
  for (std::size_t i = 0; i < expand.size(); ++i) {
    key = "expand[" + std::to_string(i) + "]";
    w.add(key, expand[i]);
  }
  for (const auto& f : extra.fields()) w.add_value(f.key, f.value);
  return w.take();
}

FormParams CaptureParams::to_params() const {
  FormParams p;
  if (amount_to_capture) p.add("amount_to_capture", FormValue(*amount_to_capture));
  if (application_fee_amount) p.add("application_fee_amount", FormValue(*application_fee_amount));
  return p;
}

FormParams CreateRefundParams::to_params() const {
  FormParams p;
  p.add("payment_intent", payment_intent);
  if (amount) p.add("amount", FormValue(*amount));
  if (!reason.empty()) p.add("reason", reason);
  if (refund_application_fee) p.add("refund_application_fee", *refund_application_fee);
  add_metadata(p, metadata);
  return p;
}

FormParams ListParams::to_params() const {
  FormParams p;
  if (limit > 0) p.add("limit", limit);
  if (!starting_after.empty()) p.add("starting_after", starting_after);
  if (!type.empty()) p.add("type", type);
  return p;
}

}  // namespace till::sync
