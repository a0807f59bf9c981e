#include "scripted_server.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <deque>
#include <stdexcept>
#include <thread>

namespace till::sync::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}
}  // namespace

std::optional<std::string> RecordedRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Certificates

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificate: ") + what);
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509Ptr make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, long serial) {
  X509Ptr cert(X509_new());
  check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  (void)issuer_key;
  return cert;
}

std::string to_pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

std::string to_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

}  // namespace

TestCertificates TestCertificates::make(const std::vector<std::string>& dns, const std::vector<std::string>& ips) {
  PkeyPtr ca_key(EVP_EC_gen("P-256"));
  PkeyPtr leaf_key(EVP_EC_gen("P-256"));
  check(ca_key && leaf_key, "key generation");

  X509Ptr ca = make_cert(ca_key.get(), "Till Test CA", nullptr, nullptr, 1);
  add_ext(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  check(X509_sign(ca.get(), ca_key.get(), EVP_sha256()) > 0, "sign CA");

  X509Ptr leaf = make_cert(leaf_key.get(), "till-test-server", ca.get(), ca_key.get(), 2);
  std::string san;
  for (const auto& d : dns) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& ip : ips) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  add_ext(leaf.get(), ca.get(), NID_subject_alt_name, san);
  add_ext(leaf.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(leaf.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  check(X509_sign(leaf.get(), ca_key.get(), EVP_sha256()) > 0, "sign leaf");

  return TestCertificates{to_pem(ca.get()), to_pem(leaf.get()), to_pem(leaf_key.get())};
}

// ---------------------------------------------------------------------------------------------
// Server

struct ScriptedServer::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::optional<ssl::context> tls;
  std::thread thread;
  mutable std::mutex mutex;
  std::deque<ScriptedReply> script;
  std::vector<RecordedRequest> requests;
  std::atomic<int> connections{0};
  std::uint16_t port = 0;

  ScriptedReply next() {
    std::lock_guard lock(mutex);
    if (script.empty()) return ScriptedReply{};
    auto r = std::move(script.front());
    script.pop_front();
    return r;
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, beast::tcp_stream& tcp, int index) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      auto [rec, n] = co_await http::async_read(stream, buffer, req, kTuple);
      (void)n;
      if (rec) co_return;
      RecordedRequest recorded;
      recorded.method = std::string(req.method_string());
      recorded.target = std::string(req.target());
      for (const auto& f : req) recorded.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      recorded.body = req.body();
      recorded.connection = index;
      {
        std::lock_guard lock(mutex);
        requests.push_back(std::move(recorded));
      }
      auto reply = next();
      if (reply.delay.count() > 0) {
        asio::steady_timer t(io, reply.delay);
        co_await t.async_wait(kTuple);
      }
      if (reply.kind == ScriptedReply::Kind::DropAfterRead) {
        beast::error_code ignored;
        tcp.socket().shutdown(tcp::socket::shutdown_both, ignored);
        tcp.socket().close(ignored);
        co_return;
      }
      if (reply.kind == ScriptedReply::Kind::NeverAnswer) {
        asio::steady_timer t(io, std::chrono::hours(1));
        co_await t.async_wait(kTuple);  // cancelled when the server stops
        co_return;
      }
      if (reply.kind == ScriptedReply::Kind::Truncated) {
        // A Content-Length promising the whole body, then only half of it.
        std::string raw = "HTTP/1.1 " + std::to_string(reply.status) + " X\r\nContent-Type: application/json\r\n" +
                          "Content-Length: " + std::to_string(reply.body.size()) + "\r\n\r\n" +
                          reply.body.substr(0, reply.body.size() / 2);
        auto [wec, w] = co_await asio::async_write(tcp.socket(), asio::buffer(raw), kTuple);
        (void)wec;
        (void)w;
        beast::error_code ignored;
        tcp.socket().shutdown(tcp::socket::shutdown_both, ignored);
        tcp.socket().close(ignored);
        co_return;
      }
      http::response<http::string_body> res;
      res.version(11);
      res.result(static_cast<unsigned>(reply.status));
      res.set(http::field::content_type, "application/json");
      for (const auto& [k, v] : reply.headers) res.insert(k, v);
      res.body() = reply.body;
      res.keep_alive(req.keep_alive());
      if (reply.chunked) {
        res.chunked(true);
      } else {
        res.prepare_payload();
      }
      auto [wec, w] = co_await http::async_write(stream, res, kTuple);
      (void)w;
      if (wec || reply.close_after || !req.keep_alive()) {
        beast::error_code ignored;
        tcp.socket().shutdown(tcp::socket::shutdown_both, ignored);
        tcp.socket().close(ignored);
        co_return;
      }
    }
  }

  asio::awaitable<void> connection(tcp::socket socket, int index) {
    if (tls) {
      beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
      auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, kTuple);
      if (hec) co_return;
      co_await serve(stream, beast::get_lowest_layer(stream), index);
    } else {
      beast::tcp_stream stream(std::move(socket));
      co_await serve(stream, stream, index);
    }
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kTuple);
      if (ec) co_return;
      const int index = connections++;
      asio::co_spawn(io, connection(std::move(socket), index), asio::detached);
    }
  }

  void start() {
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor.open(ep.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen();
    port = acceptor.local_endpoint().port();
    asio::co_spawn(io, accept_loop(), asio::detached);
    thread = std::thread([this] { io.run(); });
  }

  ~Impl() {
    io.stop();
    if (thread.joinable()) thread.join();
  }
};

ScriptedServer::ScriptedServer() : impl_(std::make_unique<Impl>()) { impl_->start(); }

ScriptedServer::ScriptedServer(const TestCertificates& certs) : impl_(std::make_unique<Impl>()) {
  impl_->tls.emplace(ssl::context::tls_server);
  impl_->tls->use_certificate_chain(asio::buffer(certs.cert_pem));
  impl_->tls->use_private_key(asio::buffer(certs.key_pem), ssl::context::pem);
  impl_->start();
}

ScriptedServer::~ScriptedServer() = default;

std::uint16_t ScriptedServer::port() const { return impl_->port; }
std::string ScriptedServer::url() const {
  return std::string(impl_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(impl_->port);
}
void ScriptedServer::push(ScriptedReply reply) {
  std::lock_guard lock(impl_->mutex);
  impl_->script.push_back(std::move(reply));
}
std::vector<RecordedRequest> ScriptedServer::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests;
}
int ScriptedServer::connections_accepted() const { return impl_->connections.load(); }

}  // namespace till::sync::testing
