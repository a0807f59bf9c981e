// The request pipeline: authentication, API version, account scoping, rate limits, injected
// faults and idempotency (shared/design/stripe.md sections 1-3), then the endpoint (routes.cpp).
// prepare() runs these steps in the order Stripe applies them; each step is one function that
// either fills the Ctx or returns the refusal.

#include <algorithm>
#include <cctype>

#include "state.hpp"
#include "till/stripesim/signature.hpp"

namespace till::stripesim {

namespace {

bool is_test_key(std::string_view key) { return key.starts_with("sk_test_") || key.starts_with("rk_test_"); }

std::string mask_key(std::string_view key) {
  const auto cut = key.find('_', 3);
  const std::string prefix(key.substr(0, cut == std::string_view::npos ? 0 : cut + 1));
  const std::string tail(key.size() >= 4 ? key.substr(key.size() - 4) : std::string_view{});
  return prefix + "****" + tail;
}

std::string base64_decode(std::string_view in) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
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

ApiError plain(int status, std::string message, std::string type = "invalid_request_error", std::string code = {}) {
  ApiError e;
  e.status = status;
  e.type = std::move(type);
  e.message = std::move(message);
  e.code = std::move(code);
  return e;
}

// What the fault dice decided for one API request.
struct Roll {
  bool unavailable = false, server_error = false, rate_limited = false, lock_timeout = false;
};

// Fault dice: one draw per configured fault for every API request, in order, so that a seed
// reproduces a run whatever the faults decide.
Roll roll_faults(Api::Impl& s, bool is_post, Prepared& out) {
  Roll roll;
  for (const FaultSpec& f : s.config.faults) {
    const double draw = s.faults.unit();
    if (f.post_only && !is_post) continue;
    const bool fire = (f.nth != 0 && f.nth == s.request_count) || (f.probability > 0 && draw < f.probability) ||
                      (f.nth == 0 && f.probability <= 0);
    if (!fire) continue;
    switch (f.kind) {
      case FaultKind::Unavailable: roll.unavailable = true; break;
      case FaultKind::ServerError: roll.server_error = true; break;
      case FaultKind::RateLimit: roll.rate_limited = true; break;
      case FaultKind::LockTimeout: roll.lock_timeout = true; break;
      case FaultKind::Latency: out.latency += f.latency; break;
      case FaultKind::ResetBeforeRead: out.transport = Transport::ResetBeforeRead; break;
      case FaultKind::LostAfterCommit: out.transport = Transport::DropAfterCommit; break;
    }
  }
  return roll;
}

// Bearer or Basic (the key as user name), as Stripe accepts both. Returns the key.
Out<std::string> authenticate(const Api::Impl& s, const Request& request) {
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
    return tl::unexpected(plain(401,
                                "You did not provide an API key. You need to provide your API key in the "
                                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                                "YOUR_SECRET_KEY')."));
  }
  if (std::find(s.config.api_keys.begin(), s.config.api_keys.end(), key) == s.config.api_keys.end()) {
    return tl::unexpected(plain(401, "Invalid API Key provided: " + mask_key(key)));
  }
  return key;
}

// Stripe-Version (the two newest, nothing else) and Stripe-Account (the platform or one of its
// connected accounts).
Out<void> scope_request(const Api::Impl& s, const Request& request, const std::string& key, Ctx& ctx) {
  ctx.api_version = std::string(kNewestApiVersion);
  if (const std::string* v = request.header("Stripe-Version")) {
    if (*v != kNewestApiVersion && *v != kPreviousApiVersion) {
      return invalid("Invalid Stripe API version: " + *v + ". This API accepts " + std::string(kNewestApiVersion) +
                         " and " + std::string(kPreviousApiVersion) + ".",
                     "", "api_version_invalid");
    }
    ctx.api_version = *v;
  }
  if (request.header("Stripe-Context") && request.header("Stripe-Account")) {
    return invalid("Stripe-Account and Stripe-Context cannot be sent together.");
  }
  ctx.account = s.config.platform_account;
  const std::string* acct = request.header("Stripe-Account");
  if (!acct || *acct == s.config.platform_account) return {};
  if (!acct->starts_with("acct_") || acct->size() <= 5) {
    return invalid("The account ID provided as a value for the Stripe-Account header is invalid: '" + *acct + "'.", "",
                   "account_invalid");
  }
  if (!s.accounts.contains(*acct)) {
    ApiError e = plain(403,
                       "The provided key '" + mask_key(key) + "' does not have access to account '" + *acct +
                           "' (or that account does not exist). Application access may have been revoked.",
                       "invalid_request_error", "account_invalid");
    return tl::unexpected(e);
  }
  ctx.account = *acct;
  ctx.connected = true;
  return {};
}

// Per account and mode, per second of the injectable clock. True when over the limit.
bool over_rate_limit(Api::Impl& s, const Ctx& ctx) {
  const int limit = ctx.livemode ? s.config.rate_limit_live : s.config.rate_limit_test;
  if (limit <= 0) return false;
  auto& [second, count] = s.rate_windows[ctx.account + (ctx.livemode ? "/live" : "/test")];
  const std::int64_t now = to_unix_ms(s.now()) / 1000;
  if (second != now) {
    second = now;
    count = 0;
  }
  return ++count > limit;
}

ApiError too_many(bool lock_timeout) {
  if (lock_timeout) {
    return plain(429,
                 "This object cannot be accessed right now because another API request or Stripe process is "
                 "currently accessing it. Please retry your request.",
                 "invalid_request_error", "lock_timeout");
  }
  return plain(429, "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
               "invalid_request_error", "rate_limit");
}

// Params (query string for GET/DELETE, body for POST), expand[], and the path after /v1.
Out<void> read_request(const Request& request, const std::string& path, const std::string& query, Ctx& ctx) {
  auto decoded = form::decode_strict(request.method == "POST" ? std::string_view(request.body) : query);
  if (!decoded) return invalid("Invalid request body: " + decoded.error().message);
  ctx.params = Params(std::move(*decoded));
  auto expand = ctx.params.array("expand");
  if (!expand) return tl::unexpected(expand.error());
  ctx.expand = std::move(*expand);
  std::string_view p = path;
  if (!p.starts_with("/v1/")) {
    return tl::unexpected(plain(404, "Unrecognized request URL (" + request.method + ": " + path + ")."));
  }
  p.remove_prefix(4);
  while (!p.empty()) {
    const auto slash = p.find('/');
    ctx.segments.emplace_back(p.substr(0, slash));
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash + 1);
  }
  return {};
}

Response replay(const IdempotencyRecord& rec, const Ctx& ctx) {
  Response r;
  r.status = rec.status;
  r.body = rec.body;
  r.headers = rec.headers;
  r.headers.emplace_back("Request-Id", ctx.request_id);
  r.headers.emplace_back("Original-Request", rec.request_id);
  r.headers.emplace_back("Idempotent-Replayed", "true");
  r.headers.emplace_back("Idempotency-Key", ctx.idempotency_key);
  r.headers.emplace_back("Stripe-Version", ctx.api_version);
  return r;
}

// The stored answer for a key seen before, or its refusal (409 while it runs, 400 for other
// params or another endpoint); nullopt when the key is new (it is then reserved).
std::optional<Out<Response>> reserve_key(Api::Impl& s, const std::string& method_path, const Ctx& ctx) {
  const std::string& k = ctx.idempotency_key;
  // Prune records older than the retention, on the injectable clock; at most once per
  // simulated second, so a long run with many keys does not scan the map per request.
  const Timestamp cutoff = s.now() - s.config.idempotency_retention;
  if (s.now() - s.last_prune >= std::chrono::seconds(1)) {
    s.last_prune = s.now();
    std::erase_if(s.idempotency, [&](const auto& kv) { return !kv.second.in_flight && kv.second.created < cutoff; });
  }
  if (auto old = s.idempotency.find(ctx.idem_scope);
      old != s.idempotency.end() && !old->second.in_flight && old->second.created < cutoff) {
    s.idempotency.erase(old);
  }
  const std::string fp = ctx.params.fingerprint();
  if (auto it = s.idempotency.find(ctx.idem_scope); it != s.idempotency.end()) {
    const IdempotencyRecord& rec = it->second;
    if (rec.in_flight) {
      return tl::unexpected(plain(409,
                                  "There is currently another in-progress request using this Idempotent Key "
                                  "(that probably means you submitted twice, and the other request is still "
                                  "going through): " +
                                      k + ". Please try again later.",
                                  "idempotency_error", "idempotency_key_in_use"));
    }
    if (rec.method_path != method_path) {
      return tl::unexpected(plain(400,
                                  "Keys for idempotent requests can only be used for the same endpoint they were "
                                  "first used for ('" +
                                      rec.method_path + "' vs '" + method_path + "'). Try using a key other than '" +
                                      k + "' if you meant to execute a different request.",
                                  "idempotency_error"));
    }
    if (rec.fingerprint != fp) {
      return tl::unexpected(plain(400,
                                  "Keys for idempotent requests can only be used with the same parameters they "
                                  "were first used with. Try using a key other than '" +
                                      k + "' if you meant to execute a different request.",
                                  "idempotency_error"));
    }
    return replay(rec, ctx);
  }
  IdempotencyRecord rec;
  rec.method_path = method_path;
  rec.fingerprint = fp;
  rec.created = s.now();
  rec.request_id = ctx.request_id;
  s.idempotency.emplace(ctx.idem_scope, std::move(rec));
  s.in_flight_changed.notify_all();
  return std::nullopt;
}

}  // namespace

Response json_response(int status, const Json& body, const std::string& request_id) {
  Response r;
  r.status = status;
  r.body = body.dump(2);
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Request-Id", request_id);
  return r;
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
  Ctx ctx;
  ctx.request_id = new_id("req_", 14);
  auto reply = [&](const ApiError& e) {
    out.immediate = error_response(e, ctx.request_id);
    return out;
  };
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
  const Roll roll = roll_faults(*this, is_post, out);
  if (out.transport == Transport::ResetBeforeRead) return out;
  if (broken) {
    return reply(plain(503, "The simulator cannot persist its state (" + *broken + "); restart it.", "api_error"));
  }

  auto key = authenticate(*this, request);
  if (!key) return reply(key.error());
  ctx.method = request.method;
  ctx.path = path;
  ctx.livemode = !is_test_key(*key);
  if (auto scoped = scope_request(*this, request, *key, ctx); !scoped) return reply(scoped.error());
  const bool limited = over_rate_limit(*this, ctx);
  if (roll.rate_limited || roll.lock_timeout || limited) return reply(too_many(roll.lock_timeout));
  if (auto read = read_request(request, path, query, ctx); !read) return reply(read.error());
  if (roll.unavailable) {
    return reply(plain(503, "The service is temporarily unavailable (simulated). Please retry.", "api_error"));
  }

  // Idempotency (POST only; Stripe ignores keys on GET and DELETE).
  if (const std::string* k = request.header("Idempotency-Key"); k && is_post) {
    if (k->empty() || k->size() > 255) {
      return reply(invalid("Idempotency-Key must be between 1 and 255 characters long.").value());
    }
    ctx.idempotency_key = *k;
    // Scoped per (API key, account, key). The API key enters as a fingerprint: the scope is
    // journaled, and no API key ever reaches disk.
    ctx.key_scope = hmac_sha256_hex("till-stripe-sim idempotency scope", *key).substr(0, 32);
    ctx.idem_scope = ctx.key_scope + "\n" + ctx.account + "\n" + *k;
    if (auto seen = reserve_key(*this, request.method + " " + path, ctx)) {
      if (!*seen) return reply(seen->error());
      out.immediate = std::move(**seen);
      return out;
    }
  }

  ctx.transport = out.transport;
  ctx.server_error = roll.server_error;
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
    idempotency_dirty.insert(ctx.idem_scope);
  }
  in_flight_changed.notify_all();
}

Response Api::Impl::execute(std::uint64_t ticket) {
  auto node = tickets.extract(ticket);
  if (node.empty()) return error_response(plain(500, "simulator: unknown ticket", "api_error"), new_id("req_", 14));
  Ctx& ctx = node.mapped();
  expire_uncaptured();
  Response response;
  bool store = true;
  if (ctx.server_error) {
    response = error_response(plain(500, "An unknown error occurred (simulated).", "api_error"), ctx.request_id);
  } else {
    Out<Json> result = route(ctx);
    if (result) {
      response = json_response(200, *result, ctx.request_id);
    } else {
      store = result.error().store;
      response = error_response(result.error(), ctx.request_id);
    }
  }
  if (!ctx.idempotency_key.empty()) response.headers.emplace_back("Idempotency-Key", ctx.idempotency_key);
  response.headers.emplace_back("Stripe-Version", ctx.api_version);
  finish_idempotency(ctx, response, store);
  if (!commit()) {
    // The change is in memory but not on disk: after a restart it would be gone, so its outcome
    // is unknown to the client, which is what a 500 says. Nothing further is accepted.
    response = error_response(plain(500, "The simulator could not persist this request (" + *broken + ").", "api_error"),
                              ctx.request_id);
  }
  return response;
}

}  // namespace till::stripesim
