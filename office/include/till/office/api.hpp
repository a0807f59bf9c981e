#pragma once
// The register-facing HTTP API as plain values: the server (server.cpp, Beast) decodes an HTTP
// request into an ApiRequest, and Api::handle() decodes the JSON, authenticates, authorises
// and calls the service layer (Registry, Ingest). No Beast here, so the handler is tested and
// fuzzed without sockets. Every answer is JSON; every error is
//   {"error": {"code": "<machine code>", "message": "<for a person>"}}
// The routes, bodies and codes are listed in office/README.md ("Register API").
//
// Threading: handle() is thread-safe (the server calls it from its worker threads); it blocks
// on PostgreSQL.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "till/office/registry.hpp"

namespace till::office {

class Ingest;

struct ApiRequest {
  std::string method;         // "GET", "POST", ...
  std::string target;         // "/register/v1/whoami?x=1"
  std::string authorization;  // the Authorization header, verbatim
  std::string content_type;
  std::string body;
  std::string peer;  // "127.0.0.1:50514", for logs
};

struct ApiResponse {
  int status = 200;
  std::string body;  // JSON
  std::vector<std::pair<std::string, std::string>> headers;
};

struct ApiConfig {
  std::size_t max_body_bytes = 1024 * 1024;  // larger requests are refused with 413
  int max_json_depth = 32;                   // deeper JSON is refused with 400 before parsing
};

// {"error":{"code":..,"message":..}} for `status`.
ApiResponse error_response(int status, std::string_view code, std::string_view message);

// Nesting depth of JSON text ('[' and '{' outside strings), for refusing deep input cheaply.
int json_depth(std::string_view text);

class Api {
 public:
  // `ingest` may be null: the sync route then answers 503.
  Api(Registry& registry, Ingest* ingest, ApiConfig config = {})
      : registry_(registry), ingest_(ingest), config_(config) {}

  // Never throws; an unexpected exception becomes a 500.
  ApiResponse handle(const ApiRequest& request);
  const ApiConfig& config() const noexcept { return config_; }

 private:
  ApiResponse route(const ApiRequest& request);
  ApiResponse enrol(const ApiRequest& request);
  // The register a request is from, or the 401 to answer (logged without the credential).
  Result<RegisterIdentity> authenticate(const ApiRequest& request, ApiResponse& refusal);

  Registry& registry_;
  Ingest* ingest_;
  ApiConfig config_;
};

}  // namespace till::office
