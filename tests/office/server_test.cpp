// The office's HTTPS API end to end: TLS with the self-signed certificate, enrolment, the
// authenticated routes, and the security cases (each refused with a clear status and JSON
// error, nothing written).

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "server_fixture.hpp"

using namespace till;
using namespace till::office;
using till::office::test::RunningOffice;
using nlohmann::json;

namespace {

json body_of(const sync::HttpResult& r) {
  REQUIRE(r);
  auto j = json::parse(r->body, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

std::string error_code(const sync::HttpResult& r) {
  auto j = body_of(r);
  REQUIRE(j.contains("error"));
  REQUIRE(j["error"]["message"].is_string());
  return j["error"]["code"].get<std::string>();
}

// The fingerprint of the certificate the server presents, read with plain OpenSSL (no
// verification: this is what a register pins).
std::string presented_fingerprint(std::uint16_t port) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  BIO* bio = BIO_new_ssl_connect(ctx);
  BIO_set_conn_hostname(bio, ("127.0.0.1:" + std::to_string(port)).c_str());
  std::string out;
  if (BIO_do_connect(bio) == 1 && BIO_do_handshake(bio) == 1) {
    SSL* ssl = nullptr;
    BIO_get_ssl(bio, &ssl);
    X509* cert = SSL_get1_peer_certificate(ssl);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (cert && X509_digest(cert, EVP_sha256(), md, &n) == 1) out = to_hex(std::span<const std::uint8_t>(md, n));
    X509_free(cert);
  }
  BIO_free_all(bio);
  SSL_CTX_free(ctx);
  return out;
}

std::string enrol_body(const std::string& code, const std::string& name = "counter-pc") {
  return json{{"code", code}, {"name", name}}.dump();
}

}  // namespace

TEST_CASE("the office makes a self-signed certificate once, with a 0600 key, and serves it") {
  RunningOffice office;
  CHECK(office.tls.generated);
  struct stat st {};
  REQUIRE(stat(office.tls.key_file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto again = ensure_self_signed(office.data_dir);
  REQUIRE(again);
  CHECK_FALSE(again->generated);
  CHECK(again->fingerprint == office.tls.fingerprint);
  CHECK(office.tls.fingerprint.size() == 64);
  CHECK(presented_fingerprint(office.server->port()) == office.tls.fingerprint);
  auto health = office.send("GET", "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
}

TEST_CASE("a key file readable by others is refused") {
  const auto dir = RunningOffice::make_dir();
  REQUIRE(ensure_self_signed(dir));
  chmod((dir / "office-key.pem").c_str(), 0644);
  auto r = ensure_self_signed(dir);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::PermissionDenied);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a register enrols over TLS with its code and then answers whoami with its credential") {
  RunningOffice office;
  auto store = office.db.add_store();
  auto added = office.db.registry.add_register(store.id, "Front", "test");
  REQUIRE(added);
  auto r = office.send("POST", "/register/v1/enrol", enrol_body(added->enrolment_code.reveal()));
  REQUIRE(r);
  CHECK(r->status == 201);
  auto j = body_of(r);
  CHECK(j["register_id"] == added->register_id);
  CHECK(j["store"]["id"] == store.id);
  CHECK(j["store"]["currency"] == "usd");
  CHECK(j["merchant"]["id"] == store.merchant_id);
  const std::string credential = j["credential"];
  CHECK(credential.starts_with("tillreg_"));

  auto who = office.send("GET", "/register/v1/whoami", "", credential);
  REQUIRE(who);
  CHECK(who->status == 200);
  auto w = body_of(who);
  CHECK(w["register_id"] == added->register_id);
  CHECK(w["store_id"] == store.id);

  auto own = office.send("GET", "/register/v1/stores/" + store.id, "", credential);
  REQUIRE(own);
  CHECK(own->status == 200);
  CHECK(body_of(own)["name"] == store.name);
}

TEST_CASE("security: no, wrong, malformed and revoked credentials get 401 and nothing is written") {
  RunningOffice office;
  auto store = office.db.add_store();
  auto [identity, credential] = office.db.enrolled_register(store);
  std::string wrong = credential;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  const auto before = office.table_counts();
  for (const std::string& c : {std::string(), wrong, std::string("garbage"), std::string("sk_test_123456789012")}) {
    INFO(c);
    auto r = office.send("GET", "/register/v1/whoami", "", c);
    REQUIRE(r);
    CHECK(r->status == 401);
    CHECK(error_code(r) == "unauthenticated");
    CHECK(r->header("WWW-Authenticate").has_value());
    auto s = office.send("POST", "/register/v1/sync", "{}", c);
    REQUIRE(s);
    CHECK(s->status == 401);
  }
  CHECK(office.table_counts() == before);

  REQUIRE(office.db.registry.revoke_register(identity.register_id, "test"));
  const auto revoked_before = office.table_counts();
  auto r = office.send("GET", "/register/v1/whoami", "", credential);
  REQUIRE(r);
  CHECK(r->status == 401);
  CHECK(body_of(r)["error"]["message"] == "this register was revoked");
  CHECK(office.table_counts() == revoked_before);
}

TEST_CASE("security: a register cannot read another store") {
  RunningOffice office;
  auto mine = office.db.add_store("1");
  auto theirs = office.db.add_store("2");
  auto [identity, credential] = office.db.enrolled_register(mine);
  const auto before = office.table_counts();
  auto r = office.send("GET", "/register/v1/stores/" + theirs.id, "", credential);
  REQUIRE(r);
  CHECK(r->status == 403);
  CHECK(error_code(r) == "forbidden");
  CHECK(office.table_counts() == before);
}

TEST_CASE("security: a replayed enrolment code is refused with 409 and changes nothing") {
  RunningOffice office;
  auto store = office.db.add_store();
  auto added = office.db.registry.add_register(store.id, "Front", "test");
  REQUIRE(added);
  auto first = office.send("POST", "/register/v1/enrol", enrol_body(added->enrolment_code.reveal()));
  REQUIRE(first);
  REQUIRE(first->status == 201);
  const auto before = office.table_counts();
  auto replay = office.send("POST", "/register/v1/enrol", enrol_body(added->enrolment_code.reveal(), "thief"));
  REQUIRE(replay);
  CHECK(replay->status == 409);
  CHECK(error_code(replay) == "enrolment_code_used");
  CHECK(office.table_counts() == before);
  CHECK(office.db.count("SELECT count(*) FROM registers WHERE device_name = 'thief'") == 0);
  auto unknown = office.send("POST", "/register/v1/enrol", enrol_body("ZZZZ-ZZZZ-ZZZZ-ZZZZ"));
  REQUIRE(unknown);
  CHECK(unknown->status == 401);
}

TEST_CASE("security: oversized, malformed and mistyped bodies get 413, 400 and 415, nothing written") {
  ApiConfig small;
  small.max_body_bytes = 4096;
  RunningOffice office(small);
  auto store = office.db.add_store();
  auto added = office.db.registry.add_register(store.id, "Front", "test");
  REQUIRE(added);
  const std::string code = added->enrolment_code.reveal();
  const auto before = office.table_counts();

  auto big = office.send("POST", "/register/v1/enrol",
                         json{{"code", code}, {"name", std::string(64 * 1024, 'x')}}.dump());
  if (!big) FAIL(big.error().message << " stage " << to_string(big.error().stage));
  CHECK(big->status == 413);
  CHECK(error_code(big) == "body_too_large");

  for (const std::string& bad : {std::string("{"), std::string("[1,2]"), std::string("null"), std::string("\"code\""),
                                 json{{"code", 5}, {"name", "x"}}.dump(), json{{"code", code}}.dump(),
                                 json{{"code", code}, {"name", ""}}.dump(), std::string(100, '[') + std::string(100, ']'),
                                 std::string("{\"code\":\"") + code + "\",\"name\":\"a\\u0000b\"}"}) {
    INFO(bad);
    auto r = office.send("POST", "/register/v1/enrol", bad);
    REQUIRE(r);
    CHECK(r->status == 400);
  }
  auto xml = office.send("POST", "/register/v1/enrol", "<code/>", "", "text/xml");
  REQUIRE(xml);
  CHECK(xml->status == 415);
  auto get = office.send("GET", "/register/v1/enrol");
  REQUIRE(get);
  CHECK(get->status == 405);
  auto nowhere = office.send("GET", "/register/v1/nowhere");
  REQUIRE(nowhere);
  CHECK(nowhere->status == 404);
  CHECK(office.table_counts() == before);

  // The code still works after all that.
  auto good = office.send("POST", "/register/v1/enrol", enrol_body(code));
  REQUIRE(good);
  CHECK(good->status == 201);
}

TEST_CASE("a client that does not trust the office's certificate cannot talk to it") {
  RunningOffice office;
  boost::asio::io_context io;
  sync::HttpConfig hc;
  hc.base_url = office.server->base_url();
  auto c = sync::HttpClient::create(io, hc);
  REQUIRE(c);
  auto r = sync::run_blocking(io, (*c)->async_send(sync::HttpRequest("GET", "/healthz")));
  REQUIRE_FALSE(r);
  CHECK(r.error().tls_verification_failed);
}
