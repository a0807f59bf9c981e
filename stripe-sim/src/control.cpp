// Control endpoints under /_sim: the loopback test harness. No authentication, never faulted,
// not rate limited. Their bodies use the same form decoding as the API, without the one-tree
// check, so that a list can repeat a name (fault=A&fault=B).

#include <algorithm>

#include "state.hpp"

namespace till::stripesim {

namespace {

struct Control {
  Api::Impl& s;
  const Request& request;
  const Params& params;
  const std::string& rid;

  Response answer(const Json& body) const { return json_response(200, body, rid); }
  Response refuse(std::string message, std::string param = {}) const {
    return s.error_response(invalid(std::move(message), std::move(param)).value(), rid);
  }

  Response ledger() const {
    Json data = Json::array();
    for (const LedgerEntry& e : entries()) {
      data.push_back({{"account", e.account},
                      {"id", e.id},
                      {"amount", e.amount},
                      {"currency", e.currency},
                      {"application_fee_amount",
                       e.application_fee_amount ? Json(*e.application_fee_amount) : Json(nullptr)},
                      {"status", e.status},
                      {"capture_method", e.capture_method},
                      {"amount_received", e.amount_received},
                      {"amount_refunded", e.amount_refunded},
                      {"application_fee_refunded", e.application_fee_refunded},
                      {"metadata", e.metadata},
                      {"created", e.created}});
    }
    return answer(Json{{"object", "list"}, {"data", data}});
  }

  std::vector<LedgerEntry> entries() const;

  Response faults() {
    if (request.method == "POST") {
      std::vector<FaultSpec> specs;
      for (const form::Pair& p : params.pairs()) {
        if (p.path.front() != "fault") continue;
        auto f = parse_fault(p.value);
        if (!f) return refuse(f.error().message, "fault");
        specs.push_back(*f);
      }
      s.config.faults = std::move(specs);
    }
    Json list = Json::array();
    for (const FaultSpec& f : s.config.faults) {
      list.push_back({{"kind", to_string(f.kind)},
                      {"probability", f.probability},
                      {"nth", f.nth},
                      {"latency_ms", f.latency.count()},
                      {"post_only", f.post_only}});
    }
    return answer(Json{{"faults", list}, {"requests_seen", s.request_count}});
  }

  Response clock() {
    if (const std::string* v = params.get("advance_seconds")) {
      try {
        s.clock_offset += std::chrono::seconds(std::stoll(*v));
        s.clock_dirty = true;
      } catch (const std::exception&) {
        return refuse("advance_seconds must be an integer");
      }
    }
    return answer(Json{{"now", s.unix_now()}});
  }

  Response rate_limit() {
    try {
      if (const std::string* v = params.get("live")) s.config.rate_limit_live = std::stoi(*v);
      if (const std::string* v = params.get("test")) s.config.rate_limit_test = std::stoi(*v);
    } catch (const std::exception&) {
      return refuse("rate limits must be integers");
    }
    return answer(Json{{"live", s.config.rate_limit_live}, {"test", s.config.rate_limit_test}});
  }

  Response webhooks() {
    if (request.method == "POST") {
      WebhookEndpoint ep;
      if (const std::string* v = params.get("url")) ep.url = *v;
      if (const std::string* v = params.get("secret")) ep.secret = *v;
      if (const std::string* v = params.get("connect")) ep.connect = *v != "false";
      if (ep.url.empty() || ep.secret.empty()) return refuse("url and secret are required");
      s.config.webhooks.push_back(ep);
    }
    Json list = Json::array();
    for (const DeliveryRecord& d : s.delivery_log) {
      list.push_back({{"url", d.url}, {"event_id", d.event_id}, {"attempt", d.attempt}, {"http_status", d.http_status}});
    }
    return answer(Json{{"deliveries", list}});
  }

  // POST /_sim/readers/{id}: status, timeout (unreachable) and fail_action, in that order.
  Response reader(const std::string& id) {
    if (!s.readers.contains(id)) return s.error_response(missing("terminal.reader", id).value(), rid);
    const std::string* status = params.get("status");
    const std::string* timeout = params.get("timeout");
    const std::string* code = params.get("fail_action");
    if (status && *status != "online" && *status != "offline") return refuse("status must be online or offline");
    if (timeout && *timeout != "true" && *timeout != "false") return refuse("timeout must be true or false");
    const Reader& current = *s.readers.find(id);
    if (code && (code->empty() || !current.action || current.action->status != "in_progress")) {
      return refuse("fail_action needs a code and an in-progress action");
    }
    Reader& r = *s.readers.edit(id);
    if (status) r.status = *status;
    if (timeout) r.unreachable = *timeout == "true";
    if (code) {
      // A failure on the reader itself (the customer cancelled, no card before the reader's own
      // timeout, ...): the in-progress action fails with this code; nothing is charged.
      r.action->status = "failed";
      r.action->failure_code = *code;
      const std::string* message = params.get("failure_message");
      r.action->failure_message = message ? *message : "The action failed on the reader (" + *code + ").";
      r.action->complete_soon = false;
      s.emit(nullptr, r.account, r.livemode, "terminal.reader.action_failed", s.render(r));
    }
    return answer(s.render(r));
  }

  Response route(const std::string& path) {
    const std::string& m = request.method;
    if (path == "/_sim/ledger" && m == "GET") return ledger();
    if (path == "/_sim/faults") return faults();
    if (path == "/_sim/clock" && m == "POST") return clock();
    if (path == "/_sim/rate_limit" && m == "POST") return rate_limit();
    if (path == "/_sim/webhooks") return webhooks();
    if (path.starts_with("/_sim/readers/") && m == "POST") return reader(path.substr(14));
    ApiError e;
    e.status = 404;
    e.message = "Unknown simulator control endpoint " + m + " " + path;
    return s.error_response(e, rid);
  }
};

std::vector<LedgerEntry> Control::entries() const {
  const std::string* only = params.get("account");
  return ledger_of(s, only ? *only : std::string());
}

}  // namespace

Response Api::Impl::control(const Request& request) {
  const std::string rid = new_id("req_", 14);
  std::string path = request.target;
  std::string query;
  if (const auto q = path.find('?'); q != std::string::npos) {
    query = path.substr(q + 1);
    path.resize(q);
  }
  auto decoded = form::decode(request.method == "POST" ? std::string_view(request.body) : std::string_view(query));
  if (!decoded) return error_response(invalid(decoded.error().message).value(), rid);
  const Params params(std::move(*decoded));
  Control c{*this, request, params, rid};
  Response r = c.route(path);
  if (!commit()) {
    ApiError e;
    e.status = 500;
    e.type = "api_error";
    e.message = "The simulator could not persist this change (" + *broken + ").";
    return error_response(e, rid);
  }
  return r;
}

}  // namespace till::stripesim
