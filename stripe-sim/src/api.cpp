// The request pipeline: authentication, API version, account scoping, rate limits, injected
// faults and idempotency (shared/design/stripe.md sections 1-3), then the endpoint (endpoints.cpp).

#include "till/stripesim/api.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "state.hpp"

namespace till::stripesim {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

const std::string* find_header(const std::vector<std::pair<std::string, std::string>>& headers,
                               std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return &v;
  }
  return nullptr;
}

bool is_test_key(std::string_view key) { return key.starts_with("sk_test_") || key.starts_with("rk_test_"); }

std::string mask_key(std::string_view key) {
  const auto cut = key.find('_', 3);
  const std::string prefix(key.substr(0, cut == std::string_view::npos ? 0 : cut + 1));
  const std::string tail(key.size() >= 4 ? key.substr(key.size() - 4) : std::string_view{});
  return prefix + "****" + tail;
}

std::string base64_decode(std::string_view in) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const auto pos = kAlphabet.find(c);
    if (pos == std::string_view::npos) return {};
    buf = (buf << 6) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  return out;
}

Response json_response(int status, const Json& body, const std::string& request_id) {
  Response r;
  r.status = status;
  r.body = body.dump(2);
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Request-Id", request_id);
  return r;
}

}  // namespace

const std::string* Request::header(std::string_view name) const { return find_header(headers, name); }
const std::string* Response::header(std::string_view name) const { return find_header(headers, name); }

std::string_view to_string(FaultKind kind) noexcept {
  switch (kind) {
    case FaultKind::Unavailable:
      return "unavailable";
    case FaultKind::ServerError:
      return "server_error";
    case FaultKind::RateLimit:
      return "rate_limit";
    case FaultKind::LockTimeout:
      return "lock_timeout";
    case FaultKind::Latency:
      return "latency";
    case FaultKind::ResetBeforeRead:
      return "reset";
    case FaultKind::LostAfterCommit:
      return "lost_after_commit";
  }
  return "unknown";
}

Result<FaultSpec> parse_fault(std::string_view spec) {
  std::vector<std::string_view> parts;
  while (true) {
    const auto colon = spec.find(':');
    parts.push_back(spec.substr(0, colon));
    if (colon == std::string_view::npos) break;
    spec.remove_prefix(colon + 1);
  }
  FaultSpec f;
  const std::string_view kind = parts.front();
  if (kind == "unavailable" || kind == "5xx" || kind == "503") {
    f.kind = FaultKind::Unavailable;
  } else if (kind == "server_error" || kind == "500") {
    f.kind = FaultKind::ServerError;
  } else if (kind == "rate_limit" || kind == "429") {
    f.kind = FaultKind::RateLimit;
  } else if (kind == "lock_timeout") {
    f.kind = FaultKind::LockTimeout;
  } else if (kind == "latency") {
    f.kind = FaultKind::Latency;
  } else if (kind == "reset") {
    f.kind = FaultKind::ResetBeforeRead;
  } else if (kind == "lost_after_commit" || kind == "lost") {
    f.kind = FaultKind::LostAfterCommit;
  } else {
    return fail(ErrorKind::InvalidArgument, "unknown fault kind '" + std::string(kind) + "'");
  }
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string_view p = parts[i];
    if (p == "post") {
      f.post_only = true;
      continue;
    }
    const auto eq = p.find('=');
    if (eq == std::string_view::npos) {
      return fail(ErrorKind::InvalidArgument, "fault option without '=': " + std::string(p));
    }
    const std::string_view key = p.substr(0, eq);
    const std::string value(p.substr(eq + 1));
    try {
      std::size_t used = 0;
      if (key == "p") {
        f.probability = std::stod(value, &used);
        if (f.probability < 0 || f.probability > 1) throw std::out_of_range("p");
      } else if (key == "n") {
        f.nth = std::stoull(value, &used);
      } else if (key == "ms") {
        f.latency = std::chrono::milliseconds(std::stoll(value, &used));
      } else {
        return fail(ErrorKind::InvalidArgument, "unknown fault option " + std::string(key));
      }
      if (used != value.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      return fail(ErrorKind::InvalidArgument, "bad fault option value: " + std::string(p));
    }
  }
  if (f.kind == FaultKind::Latency && f.latency.count() <= 0) {
    return fail(ErrorKind::InvalidArgument, "latency needs ms=N");
  }
  return f;
}

// ---------------------------------------------------------------------------------------------
// Params

const std::string* Params::get(std::string_view key) const {
  for (const auto& [k, v] : flat_) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::set<std::string> Params::top_level() const {
  std::set<std::string> out;
  for (const auto& kv : flat_) out.insert(kv.first.substr(0, kv.first.find('[')));
  return out;
}

std::map<std::string, std::string> Params::children(std::string_view name, bool* nested) const {
  std::map<std::string, std::string> out;
  const std::string prefix = std::string(name) + "[";
  for (const auto& [k, v] : flat_) {
    if (!k.starts_with(prefix)) continue;
    const auto close = k.find(']', prefix.size());
    if (close == std::string::npos) continue;
    if (close + 1 != k.size()) {
      if (nested) *nested = true;
      continue;
    }
    out[k.substr(prefix.size(), close - prefix.size())] = v;
  }
  return out;
}

std::vector<std::string> Params::array(std::string_view name) const {
  std::map<long, std::string> indexed;
  std::vector<std::string> appended;
  const std::string prefix = std::string(name) + "[";
  for (const auto& [k, v] : flat_) {
    if (!k.starts_with(prefix) || !k.ends_with("]")) continue;
    const std::string idx = k.substr(prefix.size(), k.size() - prefix.size() - 1);
    if (idx.empty()) {
      appended.push_back(v);
      continue;
    }
    long n = 0;
    const auto [p, ec] = std::from_chars(idx.data(), idx.data() + idx.size(), n);
    if (ec == std::errc{} && p == idx.data() + idx.size()) indexed[n] = v;
  }
  std::vector<std::string> out;
  for (auto& [i, v] : indexed) out.push_back(v);
  out.insert(out.end(), appended.begin(), appended.end());
  return out;
}

std::string Params::fingerprint() const {
  auto sorted = flat_;
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (const auto& [k, v] : sorted) {
    out += k;
    out += '=';
    out += v;
    out += '&';
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Impl: pipeline

Api::Impl::Impl(SimConfig c)
    : config(std::move(c)), ids(config.seed), faults(config.seed ^ 0x9e3779b97f4a7c15ULL) {
  accounts.insert(config.connected_accounts.begin(), config.connected_accounts.end());
}

Timestamp Api::Impl::now() const {
  const Clock& clock = config.clock ? *config.clock : SystemClock::instance();
  return clock.now() + clock_offset;
}

std::int64_t Api::Impl::unix_now() const { return to_unix_ms(now()) / 1000; }

std::string Api::Impl::new_id(std::string_view prefix, std::size_t length) {
  static constexpr std::string_view kChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string id(prefix);
  for (std::size_t i = 0; i < length; ++i) id.push_back(kChars[ids.uniform(kChars.size())]);
  return id;
}

Response Api::Impl::error_response(const ApiError& e, const std::string& request_id) const {
  Json err = Json::object();
  err["type"] = e.type;
  err["message"] = e.message;
  if (!e.code.empty()) {
    err["code"] = e.code;
    err["doc_url"] = "https://stripe.com/docs/error-codes/" + e.code;
  }
  if (!e.decline_code.empty()) err["decline_code"] = e.decline_code;
  if (!e.param.empty()) err["param"] = e.param;
  err["request_log_url"] = "https://dashboard.stripe.com/test/logs/" + request_id;
  for (auto it = e.extra.begin(); it != e.extra.end(); ++it) err[it.key()] = it.value();
  Response r = json_response(e.status, Json{{"error", err}}, request_id);
  if (e.status == 409 || e.code == "lock_timeout" || e.status == 503) {
    r.headers.emplace_back("Stripe-Should-Retry", "true");
  } else if (e.status >= 400 && e.status < 500 && e.status != 429) {
    r.headers.emplace_back("Stripe-Should-Retry", "false");
  }
  return r;
}

Prepared Api::Impl::prepare(const Request& request) {
  Prepared out;
  const std::string request_id = new_id("req_", 14);
  auto reply = [&](const ApiError& e) {
    out.immediate = error_response(e, request_id);
    return out;
  };

  // Split target into path and query.
  std::string path = request.target;
  std::string query;
  if (const auto q = path.find('?'); q != std::string::npos) {
    query = path.substr(q + 1);
    path.resize(q);
  }
  if (path.starts_with("/_sim/")) {
    out.immediate = control(request);
    return out;
  }

  ++request_count;
  const bool is_post = request.method == "POST";

  // Fault dice: drawn for every API request in order, so a seed reproduces a run.
  bool unavailable = false, server_error = false, rate_limited = false, lock_timeout = false;
  for (const FaultSpec& f : config.faults) {
    bool fire = false;
    const double draw = faults.unit();
    if (f.post_only && !is_post) continue;
    if (f.nth != 0 && f.nth == request_count) fire = true;
    if (f.probability > 0 && draw < f.probability) fire = true;
    if (f.nth == 0 && f.probability <= 0) fire = true;
    if (!fire) continue;
    switch (f.kind) {
      case FaultKind::Unavailable:
        unavailable = true;
        break;
      case FaultKind::ServerError:
        server_error = true;
        break;
      case FaultKind::RateLimit:
        rate_limited = true;
        break;
      case FaultKind::LockTimeout:
        lock_timeout = true;
        break;
      case FaultKind::Latency:
        out.latency += f.latency;
        break;
      case FaultKind::ResetBeforeRead:
        out.transport = Transport::ResetBeforeRead;
        break;
      case FaultKind::LostAfterCommit:
        out.transport = Transport::DropAfterCommit;
        break;
    }
  }
  if (out.transport == Transport::ResetBeforeRead) return out;

  // Authentication: Bearer or Basic (key as user name), as Stripe accepts both.
  std::string key;
  if (const std::string* auth = request.header("Authorization")) {
    if (auth->starts_with("Bearer ")) {
      key = auth->substr(7);
    } else if (auth->starts_with("Basic ")) {
      key = base64_decode(auth->substr(6));
      if (const auto colon = key.find(':'); colon != std::string::npos) key.resize(colon);
    }
  }
  if (key.empty()) {
    ApiError e;
    e.status = 401;
    e.message =
        "You did not provide an API key. You need to provide your API key in the Authorization "
        "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').";
    return reply(e);
  }
  if (std::find(config.api_keys.begin(), config.api_keys.end(), key) == config.api_keys.end()) {
    ApiError e;
    e.status = 401;
    e.message = "Invalid API Key provided: " + mask_key(key);
    return reply(e);
  }

  Ctx ctx;
  ctx.method = request.method;
  ctx.path = path;
  ctx.api_key = key;
  ctx.livemode = !is_test_key(key);
  ctx.request_id = request_id;

  // API version: the two newest, nothing else.
  ctx.api_version = std::string(kNewestApiVersion);
  if (const std::string* v = request.header("Stripe-Version")) {
    if (*v != kNewestApiVersion && *v != kPreviousApiVersion) {
      return reply(invalid("Invalid Stripe API version: " + *v + ". This API accepts " +
                               std::string(kNewestApiVersion) + " and " + std::string(kPreviousApiVersion) +
                               ".",
                           "", "api_version_invalid")
                       .value());
    }
    ctx.api_version = *v;
  }
  if (request.header("Stripe-Context") && request.header("Stripe-Account")) {
    return reply(invalid("Stripe-Account and Stripe-Context cannot be sent together.").value());
  }

  // Account scoping.
  ctx.account = config.platform_account;
  if (const std::string* acct = request.header("Stripe-Account")) {
    if (*acct != config.platform_account) {
      if (!accounts.contains(*acct)) {
        ApiError e;
        e.status = 403;
        e.code = "account_invalid";
        e.message = "The provided key '" + mask_key(key) + "' does not have access to account '" + *acct +
                    "' (or that account does not exist). Application access may have " + "been revoked.";
        return reply(e);
      }
      ctx.account = *acct;
      ctx.connected = true;
    }
  }

  // Rate limit per account and mode, per second of the (injectable) clock. Not stored.
  const int limit = ctx.livemode ? config.rate_limit_live : config.rate_limit_test;
  if (limit > 0) {
    auto& [second, count] = rate_windows[ctx.account + (ctx.livemode ? "/live" : "/test")];
    const std::int64_t s = to_unix_ms(now()) / 1000;
    if (second != s) {
      second = s;
      count = 0;
    }
    if (++count > limit) rate_limited = true;
  }
  if (rate_limited || lock_timeout) {
    ApiError e;
    e.status = 429;
    if (lock_timeout) {
      e.code = "lock_timeout";
      e.message =
          "This object cannot be accessed right now because another API request or Stripe "
          "process is currently accessing it. Please retry your request.";
    } else {
      e.code = "rate_limit";
      e.message =
          "Too many requests hit the API too quickly. We recommend an exponential backoff of "
          "your requests.";
    }
    return reply(e);
  }

  // Params: query string for GET/DELETE, body for POST.
  auto decoded = sync::decode(is_post ? std::string_view(request.body) : std::string_view(query));
  if (!decoded) {
    return reply(invalid("Invalid request body: " + decoded.error().message).value());
  }
  ctx.params = Params(std::move(*decoded));

  // Path segments after /v1.
  {
    std::string_view p = path;
    if (!p.starts_with("/v1/")) {
      ApiError e;
      e.status = 404;
      e.message = "Unrecognized request URL (" + request.method + ": " + path + ").";
      return reply(e);
    }
    p.remove_prefix(4);
    while (!p.empty()) {
      const auto slash = p.find('/');
      ctx.segments.emplace_back(p.substr(0, slash));
      if (slash == std::string_view::npos) break;
      p.remove_prefix(slash + 1);
    }
  }

  if (unavailable) {
    ApiError e;
    e.status = 503;
    e.type = "api_error";
    e.message = "The service is temporarily unavailable (simulated). Please retry.";
    return reply(e);
  }

  // Idempotency (POST only; Stripe ignores keys on GET and DELETE).
  if (const std::string* k = request.header("Idempotency-Key"); k && is_post) {
    if (k->empty() || k->size() > 255) {
      return reply(invalid("Idempotency-Key must be between 1 and 255 characters long.").value());
    }
    ctx.idempotency_key = *k;
    ctx.idem_scope = key + "\n" + ctx.account + "\n" + *k;
    // Prune records older than the retention, measured on the injectable clock; at most once
    // per simulated second, so a long run with many keys does not scan the map per request.
    if (now() - last_prune >= std::chrono::seconds(1)) {
      last_prune = now();
      const Timestamp cutoff = now() - config.idempotency_retention;
      std::erase_if(idempotency,
                    [&](const auto& kv) { return !kv.second.in_flight && kv.second.created < cutoff; });
    }
    const std::string method_path = request.method + " " + path;
    const std::string fp = ctx.params.fingerprint();
    if (auto old = idempotency.find(ctx.idem_scope);
        old != idempotency.end() && !old->second.in_flight &&
        old->second.created < now() - config.idempotency_retention) {
      idempotency.erase(old);
    }
    if (auto it = idempotency.find(ctx.idem_scope); it != idempotency.end()) {
      IdempotencyRecord& rec = it->second;
      if (rec.in_flight) {
        ApiError e;
        e.status = 409;
        e.type = "idempotency_error";
        e.code = "idempotency_key_in_use";
        e.message =
            "There is currently another in-progress request using this Idempotent Key (that "
            "probably means you submitted twice, and the other request is still going through): " +
            *k + ". Please try again later.";
        return reply(e);
      }
      if (rec.method_path != method_path) {
        ApiError e;
        e.type = "idempotency_error";
        e.message =
            "Keys for idempotent requests can only be used for the same endpoint they "
            "were first used for ('" +
            rec.method_path + "' vs '" + method_path + "'). Try using a key other than '" + *k +
            "' if you meant to execute a different request.";
        return reply(e);
      }
      if (rec.fingerprint != fp) {
        ApiError e;
        e.type = "idempotency_error";
        e.message =
            "Keys for idempotent requests can only be used with the same parameters "
            "they were first used with. Try using a key other than '" +
            *k + "' if you meant to execute a different request.";
        return reply(e);
      }
      Response replay;
      replay.status = rec.status;
      replay.body = rec.body;
      replay.headers = rec.headers;
      replay.headers.emplace_back("Request-Id", request_id);
      replay.headers.emplace_back("Original-Request", rec.request_id);
      replay.headers.emplace_back("Idempotent-Replayed", "true");
      replay.headers.emplace_back("Idempotency-Key", *k);
      replay.headers.emplace_back("Stripe-Version", ctx.api_version);
      out.immediate = std::move(replay);
      return out;
    }
    IdempotencyRecord rec;
    rec.method_path = method_path;
    rec.fingerprint = fp;
    rec.created = now();
    rec.request_id = request_id;
    idempotency.emplace(ctx.idem_scope, std::move(rec));
    in_flight_changed.notify_all();
  }

  ctx.transport = out.transport;
  ctx.server_error = server_error;
  out.ticket = next_ticket++;
  tickets.emplace(out.ticket, std::move(ctx));
  return out;
}

void Api::Impl::finish_idempotency(const Ctx& ctx, const Response& response, bool store) {
  if (ctx.idem_scope.empty()) return;
  auto it = idempotency.find(ctx.idem_scope);
  if (it == idempotency.end()) return;
  if (!store) {
    idempotency.erase(it);
  } else {
    IdempotencyRecord& rec = it->second;
    rec.in_flight = false;
    rec.status = response.status;
    rec.body = response.body;
    for (const auto& h : response.headers) {
      if (h.first != "Request-Id" && h.first != "Idempotency-Key" && h.first != "Stripe-Version") {
        rec.headers.push_back(h);
      }
    }
  }
  in_flight_changed.notify_all();
}

Response Api::Impl::execute(std::uint64_t ticket) {
  auto node = tickets.extract(ticket);
  if (node.empty()) {
    ApiError e;
    e.status = 500;
    e.type = "api_error";
    e.message = "simulator: unknown ticket";
    return error_response(e, new_id("req_", 14));
  }
  Ctx& ctx = node.mapped();
  expire_uncaptured();
  Response response;
  bool store = true;
  if (ctx.server_error) {
    ApiError e;
    e.status = 500;
    e.type = "api_error";
    e.message = "An unknown error occurred (simulated).";
    response = error_response(e, ctx.request_id);
  } else {
    Out<Json> result = route(ctx);
    if (result) {
      response = json_response(200, *result, ctx.request_id);
    } else {
      store = result.error().store;
      response = error_response(result.error(), ctx.request_id);
    }
  }
  if (!ctx.idempotency_key.empty()) {
    response.headers.emplace_back("Idempotency-Key", ctx.idempotency_key);
  }
  response.headers.emplace_back("Stripe-Version", ctx.api_version);
  finish_idempotency(ctx, response, store);
  return response;
}

// Control endpoints: loopback test harness only, no authentication, never faulted.
Response Api::Impl::control(const Request& request) {
  const std::string rid = new_id("req_", 14);
  std::string path = request.target;
  std::string query;
  if (const auto q = path.find('?'); q != std::string::npos) {
    query = path.substr(q + 1);
    path.resize(q);
  }
  auto decoded =
      sync::decode(request.method == "POST" ? std::string_view(request.body) : std::string_view(query));
  if (!decoded) return error_response(invalid(decoded.error().message).value(), rid);
  Params params(std::move(*decoded));

  if (path == "/_sim/ledger" && request.method == "GET") {
    Json data = Json::array();
    const std::string* only = params.get("account");
    std::vector<const PaymentIntent*> pis;
    for (const auto& [id, pi] : payment_intents) {
      if (!only || *only == pi.account) pis.push_back(&pi);
    }
    std::sort(pis.begin(), pis.end(), [](auto* a, auto* b) { return a->seq < b->seq; });
    for (const PaymentIntent* pi : pis) {
      std::int64_t refunded = 0, fee_refunded = 0;
      if (auto c = charges.find(pi->latest_charge); c != charges.end()) {
        refunded = c->second.amount_refunded;
        fee_refunded = c->second.application_fee_refunded;
      }
      data.push_back({{"account", pi->account},
                      {"id", pi->id},
                      {"amount", pi->amount},
                      {"currency", pi->currency},
                      {"application_fee_amount",
                       pi->application_fee_amount ? Json(*pi->application_fee_amount) : Json(nullptr)},
                      {"status", pi->status},
                      {"capture_method", pi->capture_method},
                      {"amount_received", pi->amount_received},
                      {"amount_refunded", refunded},
                      {"application_fee_refunded", fee_refunded},
                      {"metadata", pi->metadata},
                      {"created", pi->created}});
    }
    return json_response(200, Json{{"object", "list"}, {"data", data}}, rid);
  }
  if (path == "/_sim/faults") {
    if (request.method == "POST") {
      std::vector<FaultSpec> specs;
      for (const auto& [k, v] : params.flat()) {
        if (k != "fault" && !k.starts_with("fault[")) continue;
        auto f = parse_fault(v);
        if (!f) return error_response(invalid(f.error().message, "fault").value(), rid);
        specs.push_back(*f);
      }
      config.faults = std::move(specs);
    }
    Json list = Json::array();
    for (const FaultSpec& f : config.faults) {
      list.push_back({{"kind", to_string(f.kind)},
                      {"probability", f.probability},
                      {"nth", f.nth},
                      {"latency_ms", f.latency.count()},
                      {"post_only", f.post_only}});
    }
    return json_response(200, Json{{"faults", list}, {"requests_seen", request_count}}, rid);
  }
  if (path == "/_sim/clock" && request.method == "POST") {
    if (const std::string* s = params.get("advance_seconds")) {
      try {
        clock_offset += std::chrono::seconds(std::stoll(*s));
      } catch (const std::exception&) {
        return error_response(invalid("advance_seconds must be an integer").value(), rid);
      }
    }
    return json_response(200, Json{{"now", unix_now()}}, rid);
  }
  if (path == "/_sim/rate_limit" && request.method == "POST") {
    try {
      if (const std::string* s = params.get("live")) config.rate_limit_live = std::stoi(*s);
      if (const std::string* s = params.get("test")) config.rate_limit_test = std::stoi(*s);
    } catch (const std::exception&) {
      return error_response(invalid("rate limits must be integers").value(), rid);
    }
    return json_response(200, Json{{"live", config.rate_limit_live}, {"test", config.rate_limit_test}}, rid);
  }
  if (path == "/_sim/webhooks") {
    if (request.method == "POST") {
      WebhookEndpoint ep;
      if (const std::string* s = params.get("url")) ep.url = *s;
      if (const std::string* s = params.get("secret")) ep.secret = *s;
      if (const std::string* s = params.get("connect")) ep.connect = *s != "false";
      if (ep.url.empty() || ep.secret.empty()) {
        return error_response(invalid("url and secret are required").value(), rid);
      }
      config.webhooks.push_back(ep);
    }
    Json list = Json::array();
    for (const DeliveryRecord& d : delivery_log) {
      list.push_back(
          {{"url", d.url}, {"event_id", d.event_id}, {"attempt", d.attempt}, {"http_status", d.http_status}});
    }
    return json_response(200, Json{{"deliveries", list}}, rid);
  }
  if (path.starts_with("/_sim/readers/") && request.method == "POST") {
    const std::string id = path.substr(std::string_view("/_sim/readers/").size());
    auto it = readers.find(id);
    if (it == readers.end()) return error_response(missing("terminal.reader", id).value(), rid);
    if (const std::string* s = params.get("status")) {
      if (*s != "online" && *s != "offline") {
        return error_response(invalid("status must be online or offline").value(), rid);
      }
      it->second.status = *s;
    }
    if (const std::string* s = params.get("timeout")) {
      if (*s != "true" && *s != "false") return error_response(invalid("timeout must be true or false").value(), rid);
      it->second.unreachable = *s == "true";
    }
    if (const std::string* code = params.get("fail_action")) {
      // A failure on the reader itself (the customer cancelled, no card before the reader's own
      // timeout, ...): the in-progress action fails with this code; nothing is charged.
      Reader& r = it->second;
      if (code->empty() || !r.action || r.action->status != "in_progress") {
        return error_response(invalid("fail_action needs a code and an in-progress action").value(), rid);
      }
      r.action->status = "failed";
      r.action->failure_code = *code;
      const std::string* message = params.get("failure_message");
      r.action->failure_message = message ? *message : "The action failed on the reader (" + *code + ").";
      r.action->complete_soon = false;
      emit(nullptr, r.account, r.livemode, "terminal.reader.action_failed", render(r));
    }
    return json_response(200, render(it->second), rid);
  }
  ApiError e;
  e.status = 404;
  e.message = "Unknown simulator control endpoint " + request.method + " " + path;
  return error_response(e, rid);
}

// ---------------------------------------------------------------------------------------------
// Api

Api::Api(SimConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Api::~Api() = default;

Prepared Api::prepare(const Request& request) {
  std::lock_guard lock(impl_->mutex);
  return impl_->prepare(request);
}

Response Api::execute(std::uint64_t ticket) {
  std::lock_guard lock(impl_->mutex);
  return impl_->execute(ticket);
}

void Api::abandon(std::uint64_t ticket) {
  std::lock_guard lock(impl_->mutex);
  auto node = impl_->tickets.extract(ticket);
  if (!node.empty()) impl_->finish_idempotency(node.mapped(), Response{}, false);
}

Response Api::handle(const Request& request) {
  std::lock_guard lock(impl_->mutex);
  Prepared p = impl_->prepare(request);
  if (p.immediate) return std::move(*p.immediate);
  return impl_->execute(p.ticket);
}

bool Api::run_deferred() {
  std::lock_guard lock(impl_->mutex);
  return impl_->run_deferred();
}

std::vector<Delivery> Api::take_deliveries() {
  std::lock_guard lock(impl_->mutex);
  std::vector<Delivery> out(impl_->outbox.begin(), impl_->outbox.end());
  impl_->outbox.clear();
  return out;
}

void Api::record_delivery(DeliveryRecord record) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->delivery_log.push_back(std::move(record));
  }
  impl_->in_flight_changed.notify_all();
}

std::vector<DeliveryRecord> Api::wait_for_deliveries(std::size_t count,
                                                     std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  impl_->in_flight_changed.wait_for(lock, timeout, [&] { return impl_->delivery_log.size() >= count; });
  return impl_->delivery_log;
}

std::vector<DeliveryRecord> Api::deliveries() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->delivery_log;
}

std::vector<LedgerEntry> Api::ledger() const { return ledger({}); }

std::vector<LedgerEntry> Api::ledger(std::string_view account) const {
  std::lock_guard lock(impl_->mutex);
  std::vector<LedgerEntry> out;
  for (const auto& [id, pi] : impl_->payment_intents) {
    if (!account.empty() && pi.account != account) continue;
    LedgerEntry e;
    e.account = pi.account;
    e.id = pi.id;
    e.amount = pi.amount;
    e.currency = pi.currency;
    e.application_fee_amount = pi.application_fee_amount;
    e.status = pi.status;
    e.capture_method = pi.capture_method;
    e.amount_capturable = pi.amount_capturable;
    e.amount_received = pi.amount_received;
    if (auto c = impl_->charges.find(pi.latest_charge); c != impl_->charges.end()) {
      e.amount_refunded = c->second.amount_refunded;
      e.application_fee_refunded = c->second.application_fee_refunded;
    }
    e.metadata = pi.metadata;
    e.created = pi.created;
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [&](const LedgerEntry& a, const LedgerEntry& b) {
    return impl_->payment_intents.at(a.id).seq < impl_->payment_intents.at(b.id).seq;
  });
  return out;
}

void Api::set_faults(std::vector<FaultSpec> faults) {
  std::lock_guard lock(impl_->mutex);
  impl_->config.faults = std::move(faults);
}

std::vector<FaultSpec> Api::faults() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->config.faults;
}

void Api::set_rate_limits(int live, int test) {
  std::lock_guard lock(impl_->mutex);
  impl_->config.rate_limit_live = live;
  impl_->config.rate_limit_test = test;
}

void Api::add_webhook(WebhookEndpoint endpoint) {
  std::lock_guard lock(impl_->mutex);
  impl_->config.webhooks.push_back(std::move(endpoint));
}

std::size_t Api::in_flight() const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<std::size_t>(std::count_if(impl_->idempotency.begin(), impl_->idempotency.end(),
                                                [](const auto& kv) { return kv.second.in_flight; }));
}

std::size_t Api::wait_in_flight(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  auto counted = [&] {
    return static_cast<std::size_t>(std::count_if(impl_->idempotency.begin(), impl_->idempotency.end(),
                                                  [](const auto& kv) { return kv.second.in_flight; }));
  };
  impl_->in_flight_changed.wait_for(lock, timeout, [&] { return counted() >= count; });
  return counted();
}

void Api::advance_clock(std::chrono::milliseconds by) {
  std::lock_guard lock(impl_->mutex);
  impl_->clock_offset += by;
}

Timestamp Api::now() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->now();
}

const WebhookOptions& Api::webhook_options() const { return impl_->config.webhook_options; }

std::uint64_t Api::requests_seen() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->request_count;
}

}  // namespace till::stripesim
