// Sync batch ingestion (POST /register/v1/sync) on a real PostgreSQL 15 cluster: storing,
// idempotent resends, conflicts kept for review and never overwritten, per-record refusals,
// the outbox operation of a stored-offline card payment, and the security cases over HTTPS.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "server_fixture.hpp"
#include "till/office/ingest.hpp"
#include "till/sync/form.hpp"

using namespace till;
using namespace till::office;
using till::office::test::OfficeDb;
using till::office::test::RunningOffice;
using nlohmann::json;

namespace {

json sale(const std::string& id, std::int64_t total = 1250) {
  return {{"kind", "sale"},     {"id", id},    {"created_at_ms", 1'790'000'000'000}, {"currency", "usd"},
          {"subtotal", total},  {"discount_total", 0}, {"tax_total", 0}, {"tip", 0}, {"total", total},
          {"lines", json::array({{{"sku", "COF-1"}, {"name", "Coffee"}, {"quantity", 1}, {"unit_price", total}}})}};
}
json cash(const std::string& id, const std::string& sale_id, std::int64_t amount = 1250) {
  return {{"kind", "payment"}, {"id", id}, {"sale_id", sale_id}, {"tender", "cash"}, {"amount", amount},
          {"currency", "usd"}, {"outcome", "approved"}, {"taken_at_ms", 1'790'000'000'500}};
}
json offline_card(const std::string& id, const std::string& sale_id, std::int64_t amount = 1250) {
  return {{"kind", "payment"},   {"id", id},           {"sale_id", sale_id},     {"tender", "card"},
          {"amount", amount},    {"currency", "usd"},  {"outcome", "stored_offline"}, {"card_brand", "visa"},
          {"card_last4", "4242"}, {"taken_at_ms", 1'790'000'000'600}, {"payment_method", "pm_test_visa_4242"}};
}
json batch(const RegisterIdentity& who, json records) {
  return {{"register_id", who.register_id}, {"store_id", who.store_id}, {"records", std::move(records)}};
}

IngestReport ingest(Ingest& in, const RegisterIdentity& who, const json& b) {
  auto parsed = parse_batch(b.dump());
  if (!parsed) FAIL(parsed.error().message);
  auto r = in.ingest(who, *parsed);
  REQUIRE(r);
  return *r;
}

}  // namespace

TEST_CASE("a batch stores sales, payments, refunds and voids, and a resend is a no-op") {
  OfficeDb db;
  auto store = db.add_store();
  auto [who, credential] = db.enrolled_register(store);
  Ingest in(db.pool, db.clock);
  const json b = batch(who, {sale("s-1"), cash("a-1", "s-1"), sale("s-2", 990), offline_card("a-2", "s-2", 990),
                             json{{"kind", "refund"}, {"id", "r-1"}, {"sale_id", "s-1"}, {"payment_id", "a-1"},
                                  {"amount", 250}, {"currency", "usd"}, {"created_at_ms", 1'790'000'001'000}},
                             sale("s-3"),
                             json{{"kind", "void"}, {"id", "v-1"}, {"sale_id", "s-3"}, {"reason", "mistake"},
                                  {"created_at_ms", 1'790'000'002'000}}});
  auto first = ingest(in, who, b);
  CHECK(first.stored == 7);
  CHECK(first.refused == 0);
  CHECK(db.count("SELECT count(*) FROM sales WHERE register_id = $1", {who.register_id}) == 3);
  CHECK(db.count("SELECT count(*) FROM payments") == 2);
  CHECK(db.count("SELECT count(*) FROM refunds") == 1);
  CHECK(db.count("SELECT count(*) FROM voids") == 1);
  CHECK(db.count("SELECT count(*) FROM payments WHERE id = 'a-2' AND office_state = 'forwarding'") == 1);
  CHECK(db.count("SELECT count(*) FROM stripe_operations") == 1);

  auto again = ingest(in, who, b);
  CHECK(again.stored == 0);
  CHECK(again.duplicates == 7);
  CHECK(db.count("SELECT count(*) FROM sales") == 3);
  CHECK(db.count("SELECT count(*) FROM stripe_operations") == 1);
  CHECK(db.count("SELECT count(*) FROM conflicts") == 0);
}

TEST_CASE("a stored-offline card payment becomes one keyed PaymentIntent operation on the merchant's account") {
  OfficeDb db;
  auto store = db.add_store("M1");  // fee 30 + 290 bp
  auto [who, credential] = db.enrolled_register(store);
  Ingest in(db.pool, db.clock);
  ingest(in, who, batch(who, {sale("s-1", 10'000), offline_card("a-1", "s-1", 10'000)}));
  auto c = db.pool.acquire();
  REQUIRE(c);
  auto r = (*c)->exec("SELECT kind, stripe_account, method, path, body, idempotency_key, state FROM stripe_operations");
  REQUIRE(r);
  REQUIRE(r->size() == 1);
  const auto row = (*r)[0];
  CHECK(row.text(0) == "create_payment_intent");
  CHECK(row.text(1) == "acct_M1");
  CHECK(row.text(2) == "POST");
  CHECK(row.text(3) == "/v1/payment_intents");
  const std::string body = row.text(4);
  for (const char* part : {"amount=10000", "currency=usd", "application_fee_amount=320", "confirm=true",
                           "payment_method=pm_test_visa_4242", "metadata[sale_id]=s-1", "metadata[attempt_id]=a-1"}) {
    INFO(part);
    const auto fields = sync::decode(body);
    REQUIRE(fields);
    bool found = false;
    for (const auto& [k, v] : *fields) found = found || (k + "=" + v) == part;
    CHECK(found);
  }
  CHECK(row.text(5) == "office-pi-" + who.register_id + "-a-1");
  CHECK(row.text(6) == "pending");
}

TEST_CASE("the same id with different content is a conflict: kept for review, never overwritten") {
  OfficeDb db;
  auto store = db.add_store();
  auto [who, credential] = db.enrolled_register(store);
  Ingest in(db.pool, db.clock);
  ingest(in, who, batch(who, {sale("s-1", 1000)}));
  auto changed = ingest(in, who, batch(who, {sale("s-1", 2000)}));
  CHECK(changed.conflicts == 1);
  CHECK(changed.results[0].status == "conflict");
  CHECK(db.count("SELECT total FROM sales WHERE id = 's-1'") == 1000);
  CHECK(db.count("SELECT count(*) FROM conflicts WHERE record_id = 's-1' AND (received->>'total')::int = 2000") == 1);
  // The same conflicting version again is still one conflict row.
  ingest(in, who, batch(who, {sale("s-1", 2000)}));
  CHECK(db.count("SELECT count(*) FROM conflicts") == 1);
  // Key order and spacing do not make content different.
  json reordered = sale("s-1", 1000);
  auto text = batch(who, {reordered}).dump(2);
  auto parsed = parse_batch(text);
  REQUIRE(parsed);
  auto r = in.ingest(who, *parsed);
  REQUIRE(r);
  CHECK(r->duplicates == 1);
}

TEST_CASE("one bad record is refused alone and the others land") {
  OfficeDb db;
  auto store = db.add_store();
  auto [who, credential] = db.enrolled_register(store);
  Ingest in(db.pool, db.clock);
  json eur = sale("s-eur");
  eur["currency"] = "eur";
  auto r = ingest(in, who, batch(who, {cash("a-0", "s-missing"), sale("s-1"), eur, cash("a-1", "s-1"),
                                       json{{"kind", "refund"}, {"id", "r-big"}, {"sale_id", "s-1"},
                                            {"payment_id", "a-1"}, {"amount", 99'999}, {"currency", "usd"},
                                            {"created_at_ms", 1'790'000'001'000}}}));
  CHECK(r.stored == 2);
  CHECK(r.refused == 3);
  CHECK(r.results[0].status == "refused");
  CHECK(r.results[0].message.find("send the sale first") != std::string::npos);
  CHECK(r.results[2].message.find("sells in usd") != std::string::npos);
  CHECK(r.results[4].message.find("exceed") != std::string::npos);
  CHECK(db.count("SELECT count(*) FROM sales") == 1);
  CHECK(db.count("SELECT count(*) FROM payments") == 1);
  CHECK(db.count("SELECT count(*) FROM refunds") == 0);
}

TEST_CASE("an office on real Stripe refuses reader-minted card tokens with a clear message") {
  OfficeDb db;
  auto store = db.add_store();
  auto [who, credential] = db.enrolled_register(store);
  Ingest in(db.pool, db.clock, IngestConfig{false});
  auto r = ingest(in, who, batch(who, {sale("s-1"), offline_card("a-1", "s-1"), cash("a-2", "s-1")}));
  CHECK(r.refused == 1);
  CHECK(r.results[1].message.find("till-stripe-sim") != std::string::npos);
  CHECK(db.count("SELECT count(*) FROM stripe_operations") == 0);
  CHECK(r.stored == 2);
}

TEST_CASE("malformed batches are refused whole with the first problem named") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[]", "JSON object"},
      {R"({"register_id":"r","store_id":"s"})", "records must be an array"},
      {R"({"register_id":"r","store_id":"s","records":[{"kind":"sale","id":"x"}]})", "records[0].created_at_ms"},
      {R"({"register_id":"r","store_id":"s","records":[{"kind":"tip","id":"x"}]})", "kind has an unknown value"},
      {R"({"register_id":"r","store_id":"s","extra":1,"records":[]})", "unknown field extra"},
      {R"({"register_id":"r","store_id":"s","records":[{"kind":"payment","id":"p","sale_id":"s","tender":"cash",
          "amount":1.5,"currency":"usd","outcome":"approved","taken_at_ms":1}]})", "amount must be an integer"},
      {R"({"register_id":"r","store_id":"s","records":[{"kind":"payment","id":"p","sale_id":"s","tender":"card",
          "amount":100,"currency":"usd","outcome":"stored_offline","taken_at_ms":1}]})", "payment_method is required"},
  };
  for (const auto& [text, expected] : cases) {
    INFO(text);
    auto r = parse_batch(text);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::InvalidArgument);
    CHECK(r.error().message.find(expected) != std::string::npos);
  }
  json many = {{"register_id", "r"}, {"store_id", "s"}, {"records", json::array()}};
  for (std::size_t i = 0; i <= kMaxBatchRecords; ++i) many["records"].push_back(sale("s-" + std::to_string(i)));
  auto r = parse_batch(many.dump());
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("at most 500") != std::string::npos);
}

TEST_CASE("sync over HTTPS: stored, then a resend; another register's or store's ids are refused, nothing written") {
  RunningOffice office;
  auto post = [&](const json& body, const std::string& credential) {
    return sync::run_blocking(office.io, office.client->async_send(sync::HttpRequest(
                                      "POST", "/register/v1/sync",
                                      {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + credential}},
                                      body.dump())));
  };
  auto store = office.db.add_store("1");
  auto other_store = office.db.add_store("2");
  auto [who, credential] = office.db.enrolled_register(store);
  auto [other, other_credential] = office.db.enrolled_register(other_store, "Other");

  auto r = post(batch(who, {sale("s-1"), cash("a-1", "s-1")}), credential);
  REQUIRE(r);
  CHECK(r->status == 200);
  auto j = json::parse(r->body);
  CHECK(j["stored"] == 2);
  CHECK(j["results"][0]["status"] == "stored");
  auto again = post(batch(who, {sale("s-1"), cash("a-1", "s-1")}), credential);
  REQUIRE(again);
  CHECK(json::parse(again->body)["duplicates"] == 2);

  const auto before = office.table_counts();
  // My credential, another register's ids (in another store).
  auto forged = post(batch(other, {sale("s-9")}), credential);
  REQUIRE(forged);
  CHECK(forged->status == 403);
  CHECK(json::parse(forged->body)["error"]["code"] == "forbidden");
  auto malformed = post(json{{"register_id", who.register_id}, {"store_id", who.store_id},
                             {"records", json::array({sale("s-2"), json{{"kind", "sale"}}})}},
                        credential);
  REQUIRE(malformed);
  CHECK(malformed->status == 400);
  CHECK(json::parse(malformed->body)["error"]["code"] == "invalid_batch");
  CHECK(office.table_counts() == before);
}
