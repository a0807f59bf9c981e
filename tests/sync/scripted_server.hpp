#pragma once
// A small HTTP/1.1 server for client tests: binds 127.0.0.1:0, runs on its own thread, records
// every request, and answers each one with the next scripted reply (status, headers, body,
// delay), or misbehaves on purpose: drops the connection after reading the request (the
// response is lost), never answers, or closes right after answering. Optionally TLS, with a
// certificate made at run time by TestCertificates. Beast stays in scripted_server.cpp.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace till::sync::testing {

struct ScriptedReply {
  enum class Kind {
    Respond,         // send the response below
    DropAfterRead,   // read the request, then close without a byte of answer
    NeverAnswer,     // read the request and keep the connection open, silent
    Truncated,       // send the status line, headers and half the body, then close
  };
  Kind kind = Kind::Respond;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body = "{}";
  std::chrono::milliseconds delay{0};  // before answering
  bool close_after = false;            // close the socket right after answering (no Connection: close)
  bool chunked = false;                // send the body with Transfer-Encoding: chunked

  static ScriptedReply json(int status, std::string body,
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
    ScriptedReply r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
  }
  static ScriptedReply drop() {
    ScriptedReply r;
    r.kind = Kind::DropAfterRead;
    return r;
  }
  static ScriptedReply truncated(int status, std::string body) {
    ScriptedReply r;
    r.kind = Kind::Truncated;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  static ScriptedReply silent() {
    ScriptedReply r;
    r.kind = Kind::NeverAnswer;
    return r;
  }
};

struct RecordedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int connection = 0;  // which accepted connection carried it (0-based)
  std::optional<std::string> header(std::string_view name) const;
};

// PEM material for a TLS test server, generated with OpenSSL at run time (never stored).
struct TestCertificates {
  std::string ca_pem;         // the test CA to give the client as its extra CA file
  std::string cert_pem;       // leaf, signed by the CA
  std::string key_pem;        // leaf private key
  // Leaf valid for the given DNS names and IP addresses (subjectAltName).
  static TestCertificates make(const std::vector<std::string>& dns, const std::vector<std::string>& ips);
};

class ScriptedServer {
 public:
  ScriptedServer();                                     // plain HTTP
  explicit ScriptedServer(const TestCertificates& tls);  // HTTPS
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  std::uint16_t port() const;
  std::string url() const;  // http(s)://127.0.0.1:<port>

  // Replies are used in order; when none is left the server answers 200 "{}".
  void push(ScriptedReply reply);
  std::vector<RecordedRequest> requests() const;
  int connections_accepted() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace till::sync::testing
