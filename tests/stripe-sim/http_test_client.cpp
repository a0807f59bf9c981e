#include "http_test_client.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace till::stripesim::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct TestHttpClient::Impl {
  std::uint16_t port;
  std::string ca_file;
  asio::io_context io;
  std::optional<asio::ssl::context> ssl;
  std::unique_ptr<tcp::socket> plain;
  std::unique_ptr<asio::ssl::stream<tcp::socket>> tls;
  beast::flat_buffer buffer;
  int opened = 0;

  bool open() {
    if (plain || tls) return true;
    error_code ec;
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    buffer.clear();
    if (ca_file.empty()) {
      plain = std::make_unique<tcp::socket>(io);
      plain->connect(ep, ec);
      if (ec) {
        plain.reset();
        return false;
      }
    } else {
      tls = std::make_unique<asio::ssl::stream<tcp::socket>>(io, *ssl);
      tls->next_layer().connect(ep, ec);
      tls->set_verify_mode(asio::ssl::verify_peer);
      tls->set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
      if (!ec) tls->handshake(asio::ssl::stream_base::client, ec);
      if (ec) {
        tls.reset();
        return false;
      }
    }
    ++opened;
    return true;
  }

  void close() {
    plain.reset();
    tls.reset();
  }

  template <class F>
  auto with_stream(F f) {
    if (plain) return f(*plain);
    return f(*tls);
  }
};

TestHttpClient::TestHttpClient(std::uint16_t port, std::string ca_file) : impl_(std::make_unique<Impl>()) {
  impl_->port = port;
  impl_->ca_file = std::move(ca_file);
  if (!impl_->ca_file.empty()) {
    impl_->ssl.emplace(asio::ssl::context::tls_client);
    impl_->ssl->load_verify_file(impl_->ca_file);
  }
}

TestHttpClient::~TestHttpClient() = default;

bool TestHttpClient::send(const std::string& method, const std::string& target, const Headers& headers,
                          const std::string& body) {
  if (!impl_->open()) return false;
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (method == "POST") req.set(http::field::content_type, "application/x-www-form-urlencoded");
  req.body() = body;
  req.keep_alive(true);
  req.prepare_payload();
  error_code ec;
  impl_->with_stream([&](auto& s) { http::write(s, req, ec); });
  if (ec) {
    impl_->close();
    return false;
  }
  return true;
}

HttpResult TestHttpClient::receive() {
  HttpResult out;
  if (!impl_->plain && !impl_->tls) {
    out.error = "not connected";
    return out;
  }
  http::response<http::string_body> res;
  error_code ec;
  impl_->with_stream([&](auto& s) { http::read(s, impl_->buffer, res, ec); });
  if (ec) {
    out.error = ec.message();
    impl_->close();
    return out;
  }
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  out.body = res.body();
  out.json = nlohmann::json::parse(out.body, nullptr, false);
  if (out.json.is_discarded()) out.json = nullptr;
  if (!res.keep_alive()) impl_->close();
  return out;
}

HttpResult TestHttpClient::request(const std::string& method, const std::string& target,
                                   const Headers& headers, const std::string& body) {
  if (!send(method, target, headers, body)) {
    // A kept-alive connection may have been closed by the server: one fresh attempt.
    impl_->close();
    if (!send(method, target, headers, body)) {
      HttpResult r;
      r.error = "connect/write failed";
      return r;
    }
  }
  return receive();
}

int TestHttpClient::connections_opened() const { return impl_->opened; }

// ---------------------------------------------------------------------------------------------

struct RecordingWebhookReceiver::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;
  mutable std::mutex mutex;
  std::condition_variable cv;
  std::vector<ReceivedWebhook> got;
  std::vector<int> script;
  std::size_t answered = 0;

  void serve_one(tcp::socket sock) {
    beast::flat_buffer buffer;
    error_code ec;
    http::request<http::string_body> req;
    http::read(sock, buffer, req, ec);
    if (ec) return;
    int status = 200;
    {
      std::lock_guard lock(mutex);
      got.push_back({std::string(req.target()), std::string(req["Stripe-Signature"]), req.body()});
      if (answered < script.size()) status = script[answered];
      ++answered;
    }
    cv.notify_all();
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.body() = "{}";
    res.keep_alive(false);
    res.prepare_payload();
    http::write(sock, res, ec);
    sock.shutdown(tcp::socket::shutdown_both, ec);
  }

  void run() {
    for (;;) {
      error_code ec;
      tcp::socket sock(io);
      acceptor.accept(sock, ec);
      if (ec) return;
      serve_one(std::move(sock));
    }
  }
};

RecordingWebhookReceiver::RecordingWebhookReceiver(std::vector<int> scripted_statuses)
    : impl_(std::make_unique<Impl>()) {
  impl_->script = std::move(scripted_statuses);
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->thread = std::thread([this] { impl_->run(); });
}

RecordingWebhookReceiver::~RecordingWebhookReceiver() {
  // Unblock accept() by shutting the listening socket down, then join.
  error_code ec;
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  impl_->acceptor.close(ec);
  impl_->thread.join();
}

std::uint16_t RecordingWebhookReceiver::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string RecordingWebhookReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port()) + path;
}

std::vector<ReceivedWebhook> RecordingWebhookReceiver::wait_for(std::size_t n,
                                                                std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  impl_->cv.wait_for(lock, timeout, [&] { return impl_->got.size() >= n; });
  return impl_->got;
}

std::vector<ReceivedWebhook> RecordingWebhookReceiver::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->got;
}

}  // namespace till::stripesim::testing
