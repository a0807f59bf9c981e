#include "till/office/api.hpp"

#include <nlohmann/json.hpp>

#include "till/base/log.hpp"
#include "till/office/ingest.hpp"

namespace till::office {

using nlohmann::json;

namespace {

constexpr std::string_view kPrefix = "/register/v1/";

int status_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidArgument: return 400;
    case ErrorKind::Unauthenticated: return 401;
    case ErrorKind::PermissionDenied: return 403;
    case ErrorKind::NotFound: return 404;
    case ErrorKind::FailedPrecondition: return 409;
    case ErrorKind::ResourceExhausted: return 503;
    case ErrorKind::Unavailable: return 503;
    default: return 500;
  }
}

std::string_view code_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidArgument: return "invalid_request";
    case ErrorKind::Unauthenticated: return "unauthenticated";
    case ErrorKind::PermissionDenied: return "forbidden";
    case ErrorKind::NotFound: return "not_found";
    case ErrorKind::FailedPrecondition: return "conflict";
    case ErrorKind::ResourceExhausted:
    case ErrorKind::Unavailable: return "unavailable";
    default: return "internal";
  }
}

ApiResponse from_error(const Error& e) {
  const int status = status_for(e.kind);
  // Database and internal detail stays in the office's log, not in the register's hands.
  if (status >= 500) {
    log::error("office.request_failed", {{"kind", to_string(e.kind)}, {"error", e.message}});
    return error_response(status, code_for(e.kind),
                          status == 503 ? "the office cannot reach its database; retry later" : "internal error");
  }
  return error_response(status, code_for(e.kind), e.message);
}

ApiResponse json_response(int status, const json& body) {
  return ApiResponse{status, body.dump(-1, ' ', false, json::error_handler_t::replace), {}};
}

json store_json(const Store& s) {
  json caps = json::object();
  auto put = [&](const char* k, const std::optional<std::int64_t>& v) {
    caps[k] = v ? json(*v) : json(nullptr);
  };
  put("max_per_payment", s.caps.max_per_payment);
  put("max_total", s.caps.max_total);
  put("max_count", s.caps.max_count);
  put("max_age_seconds", s.caps.max_age_seconds);
  return json{{"id", s.id}, {"name", s.name}, {"currency", s.currency}, {"locale", s.locale}, {"offline_caps", caps}};
}

bool is_json(std::string_view content_type) {
  const auto semi = content_type.find(';');
  std::string base(content_type.substr(0, semi));
  while (!base.empty() && base.back() == ' ') base.pop_back();
  for (auto& c : base) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return base == "application/json";
}

}  // namespace

ApiResponse error_response(int status, std::string_view code, std::string_view message) {
  const json body = {{"error", {{"code", code}, {"message", message}}}};
  ApiResponse r{status, body.dump(-1, ' ', false, json::error_handler_t::replace), {}};
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"till-office\"");
  return r;
}

int json_depth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') deepest = std::max(deepest, ++depth);
    else if (c == ']' || c == '}') --depth;
  }
  return deepest;
}

ApiResponse Api::handle(const ApiRequest& request) {
  try {
    return route(request);
  } catch (const std::exception& e) {
    log::error("office.handler_threw", {{"path", request.target}, {"what", e.what()}});
    return error_response(500, "internal", "internal error");
  } catch (...) {
    return error_response(500, "internal", "internal error");
  }
}

// Parses a request body that must be a JSON object, or fills `refusal`.
static bool parse_object(const ApiRequest& request, const ApiConfig& config, json& out, ApiResponse& refusal) {
  if (!is_json(request.content_type)) {
    refusal = error_response(415, "unsupported_media_type", "send Content-Type: application/json");
    return false;
  }
  if (request.body.size() > config.max_body_bytes) {
    refusal = error_response(413, "body_too_large", "the request body is too large");
    return false;
  }
  if (json_depth(request.body) > config.max_json_depth) {
    refusal = error_response(400, "invalid_json", "the JSON is nested too deeply");
    return false;
  }
  out = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) {
    refusal = error_response(400, "invalid_json", "the body is not valid JSON");
    return false;
  }
  if (!out.is_object()) {
    refusal = error_response(400, "invalid_json", "the body must be a JSON object");
    return false;
  }
  return true;
}

Result<RegisterIdentity> Api::authenticate(const ApiRequest& request, ApiResponse& refusal) {
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view auth = request.authorization;
  std::string reason;
  if (auth.empty()) {
    reason = "no credential";
  } else if (!auth.starts_with(kBearer)) {
    reason = "not a Bearer credential";
  } else {
    auto id = registry_.authenticate(auth.substr(kBearer.size()));
    if (id) return id;
    if (id.error().kind != ErrorKind::Unauthenticated) {
      refusal = from_error(id.error());
      return fail(id.error());
    }
    reason = id.error().message;
  }
  // The credential itself is never logged, only a tag to tell one client's failures apart.
  log::warn("office.auth_failed", {{"peer", request.peer},
                                   {"path", request.target.substr(0, 128)},
                                   {"reason", reason},
                                   {"credential_tag", auth.empty() ? std::string() : secret_tag(auth)}});
  refusal = error_response(401, "unauthenticated", reason == "no credential"
                                                        ? "send Authorization: Bearer <register credential>"
                                                        : reason);
  return fail(ErrorKind::Unauthenticated, reason);
}

ApiResponse Api::enrol(const ApiRequest& request) {
  json body;
  ApiResponse refusal;
  if (!parse_object(request, config_, body, refusal)) return refusal;
  const auto code = body.find("code");
  const auto name = body.find("name");
  if (code == body.end() || !code->is_string() || name == body.end() || !name->is_string()) {
    return error_response(400, "invalid_request", "send {\"code\": string, \"name\": string}");
  }
  const auto& device = name->get_ref<const std::string&>();
  if (device.empty() || device.size() > 200) return error_response(400, "invalid_request", "name must be 1-200 bytes");
  auto e = registry_.enrol(code->get_ref<const std::string&>(), device);
  if (!e) {
    log::warn("office.enrol_refused", {{"peer", request.peer}, {"reason", e.error().message}});
    if (e.error().kind == ErrorKind::FailedPrecondition) {
      return error_response(409, "enrolment_code_used", e.error().message);
    }
    return from_error(e.error());
  }
  log::info("office.enrolled", {{"register_id", e->register_id}, {"store_id", e->store.id}, {"peer", request.peer}});
  return json_response(201, {{"register_id", e->register_id},
                             {"credential", e->credential.reveal()},
                             {"store", store_json(e->store)},
                             {"merchant", {{"id", e->store.merchant_id}, {"name", e->merchant_name}}}});
}

// Routing: one table of (method, path) -> handler, written out because it is short.
ApiResponse Api::route(const ApiRequest& request) {
  const std::string_view target = request.target;
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/healthz") {
    if (request.method != "GET") return error_response(405, "method_not_allowed", "GET only");
    return json_response(200, {{"ok", true}});
  }
  if (!path.starts_with(kPrefix)) return error_response(404, "not_found", "no such route");
  const std::string_view rest = path.substr(kPrefix.size());
  if (rest == "enrol") {
    if (request.method != "POST") return error_response(405, "method_not_allowed", "POST only");
    return enrol(request);
  }
  const bool known = rest == "whoami" || rest == "sync" || rest.starts_with("stores/");
  if (!known) return error_response(404, "not_found", "no such route");
  // Every other route needs a register credential, checked before anything else is read.
  ApiResponse refusal;
  auto who = authenticate(request, refusal);
  if (!who) return refusal;
  if (rest == "whoami") {
    if (request.method != "GET") return error_response(405, "method_not_allowed", "GET only");
    return json_response(200, {{"register_id", who->register_id},
                               {"store_id", who->store_id},
                               {"merchant_id", who->merchant_id},
                               {"currency", who->currency}});
  }
  if (rest.starts_with("stores/")) {
    if (request.method != "GET") return error_response(405, "method_not_allowed", "GET only");
    const std::string_view store_id = rest.substr(7);
    if (store_id != who->store_id) {
      log::warn("office.forbidden", {{"register_id", who->register_id}, {"path", std::string(path.substr(0, 128))}});
      return error_response(403, "forbidden", "a register can only read its own store");
    }
    auto store = registry_.store(store_id);
    if (!store) return from_error(store.error());
    return json_response(200, store_json(*store));
  }
  // rest == "sync"
  if (request.method != "POST") return error_response(405, "method_not_allowed", "POST only");
  json body;
  if (!parse_object(request, config_, body, refusal)) return refusal;
  if (!ingest_) return error_response(503, "unavailable", "this office does not take uploads");
  auto batch = parse_batch(request.body);
  if (!batch) return error_response(400, "invalid_batch", batch.error().message);
  auto report = ingest_->ingest(*who, *batch);
  if (!report) {
    if (report.error().kind == ErrorKind::PermissionDenied) {
      log::warn("office.forbidden", {{"register_id", who->register_id}, {"path", "sync"}});
    }
    return from_error(report.error());
  }
  json results = json::array();
  for (const auto& v : report->results) {
    json item = {{"kind", v.kind}, {"id", v.id}, {"status", v.status}};
    if (!v.message.empty()) item["message"] = v.message;
    results.push_back(std::move(item));
  }
  log::info("office.sync", {{"register_id", who->register_id}, {"stored", report->stored},
                            {"duplicates", report->duplicates}, {"conflicts", report->conflicts},
                            {"refused", report->refused}});
  return json_response(200, {{"stored", report->stored},
                             {"duplicates", report->duplicates},
                             {"conflicts", report->conflicts},
                             {"refused", report->refused},
                             {"results", results}});
}

}  // namespace till::office
