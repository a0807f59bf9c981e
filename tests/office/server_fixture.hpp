#pragma once
// A running office for HTTP tests: a migrated database, the self-signed certificate in a temp
// data folder, the HTTPS server on 127.0.0.1 (ephemeral port), and a client that trusts exactly
// that certificate (till_sync's HttpClient with it as its extra CA).

#include <filesystem>

#include <boost/asio/io_context.hpp>

#include "office_fixture.hpp"
#include "till/office/api.hpp"
#include "till/office/ingest.hpp"
#include "till/office/server.hpp"
#include "till/office/tls.hpp"
#include "till/sync/http.hpp"

namespace till::office::test {

struct RunningOffice {
  explicit RunningOffice(ApiConfig api_config = {})
      : data_dir(make_dir()), ingest(db.pool, db.clock), api(db.registry, &ingest, api_config) {
    auto t = ensure_self_signed(data_dir);
    REQUIRE(t);
    tls = *t;
    ServerConfig sc;
    sc.cert_file = tls.cert_file.string();
    sc.key_file = tls.key_file.string();
    sc.threads = 2;
    auto s = Server::start(sc, api);
    REQUIRE(s);
    server = std::move(*s);
    sync::HttpConfig hc;
    hc.base_url = server->base_url();
    hc.extra_ca_file = tls.cert_file.string();
    hc.total_timeout = hc.read_timeout = std::chrono::milliseconds(30'000);
    auto c = sync::HttpClient::create(io, hc);
    REQUIRE(c);
    client = std::move(*c);
  }
  ~RunningOffice() {
    client.reset();
    server->stop();
    std::error_code ec;
    std::filesystem::remove_all(data_dir, ec);
  }

  static std::filesystem::path make_dir() {
    std::string templ = (std::filesystem::temp_directory_path() / "till-office-test-XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    return templ;
  }

  sync::HttpResult send(const std::string& method, const std::string& target, const std::string& body = {},
                        const std::string& credential = {}, const std::string& content_type = "application/json") {
    std::vector<sync::HttpHeader> headers;
    if (!content_type.empty() && !body.empty()) headers.push_back({"Content-Type", content_type});
    if (!credential.empty()) headers.push_back({"Authorization", "Bearer " + credential});
    return sync::run_blocking(io, client->async_send(sync::HttpRequest(method, target, headers, body)));
  }

  // Row counts of every table the API could write: equal before and after = nothing written.
  std::string table_counts() {
    std::string out;
    for (const char* t : {"merchants", "stores", "registers", "sales", "payments", "refunds", "voids", "conflicts",
                          "webhook_events", "stripe_operations", "audit_log"}) {
      out += std::string(t) + "=" + std::to_string(db.count(std::string("SELECT count(*) FROM ") + t)) + " ";
    }
    out += "enrolled=" + std::to_string(db.count("SELECT count(*) FROM registers WHERE enrol_used_at IS NOT NULL"));
    return out;
  }

  OfficeDb db;
  std::filesystem::path data_dir;
  TlsFiles tls;
  Ingest ingest;
  Api api;
  std::unique_ptr<Server> server;
  boost::asio::io_context io;
  std::unique_ptr<sync::HttpClient> client;
};

}  // namespace till::office::test
