#include "till/app/catalog.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "till/base/random.hpp"

using namespace till;
using nlohmann::json;

namespace {

std::string demo_text() {
  std::ifstream in(app::demo_catalog_path());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A small valid document the error cases below each break in one place.
json minimal() {
  return json::parse(R"({
    "currency": "usd",
    "tax_classes": [{"code": "standard", "name": "Sales tax", "rate_ppm": 88750}],
    "categories": [{"id": "coffee", "name": "Coffee"}],
    "products": [{"id": "latte", "name": "Latte", "sku": "L1", "barcode": "0012345000017",
                  "price": "4.50", "tax_class": "standard", "category": "coffee"}]
  })");
}

std::string error_of(const json& doc) {
  auto r = app::parse_catalog(doc.dump());
  if (r) return "(parsed fine)";
  return r.error().message;
}

}  // namespace

TEST_CASE("the demo catalog loads: a small usd cafe with four categories and two tax rates") {
  auto doc = app::load_catalog(app::demo_catalog_path());
  REQUIRE(doc);
  const pos::Catalog& c = doc->catalog;
  CHECK(c.currency() == pos::Currency::of("usd"));
  CHECK(c.products().size() >= 25);
  CHECK(c.categories().size() == 4);
  CHECK(c.tax_classes().size() == 2);
  CHECK(doc->merchant.name == "Harbour Street Coffee");
  CHECK(doc->merchant.address_lines.size() == 2);
  for (const auto& cat : c.categories()) CHECK_FALSE(c.in_category(cat.id).empty());
  const pos::Product* latte = c.find("latte");
  REQUIRE(latte != nullptr);
  CHECK(latte->price == 450);
  CHECK(latte->tax_class == "standard");
  CHECK(c.find_by_barcode(latte->barcode) == latte);
  CHECK(c.find_by_sku(latte->sku) == latte);
}

TEST_CASE("products are found by id, barcode and sku, and absent ones are nullptr") {
  auto doc = app::parse_catalog(minimal().dump());
  REQUIRE(doc);
  const auto& c = doc->catalog;
  REQUIRE(c.find("latte") != nullptr);
  CHECK(c.find("latte")->name == "Latte");
  CHECK(c.find_by_barcode("0012345000017") == c.find("latte"));
  CHECK(c.find_by_sku("L1") == c.find("latte"));
  CHECK(c.find("mocha") == nullptr);
  CHECK(c.find_by_barcode("999") == nullptr);
  CHECK(c.tax_class("standard")->rate_ppm == 88'750);
  CHECK(c.category("coffee")->name == "Coffee");
  CHECK(c.tax_class("reduced") == nullptr);
}

TEST_CASE("prices are decimal strings or integer minor units, never floating-point numbers") {
  auto doc = minimal();
  doc["products"][0]["price"] = 450;
  REQUIRE(app::parse_catalog(doc.dump()));
  CHECK(app::parse_catalog(doc.dump())->catalog.find("latte")->price == 450);
  doc["products"][0]["price"] = 4.5;
  CHECK_THAT(error_of(doc), Catch::Contains("products[0] (latte).price: floating-point numbers are not accepted"));
  doc["products"][0]["price"] = "4.505";
  CHECK_THAT(error_of(doc), Catch::Contains("products[0] (latte).price: invalid amount '4.505'"));
  doc["products"][0]["price"] = "-1.00";
  CHECK_THAT(error_of(doc), Catch::Contains("products[0] (latte).price: must not be negative"));
  doc["currency"] = "jpy";
  doc["products"][0]["price"] = "450";
  auto jpy = app::parse_catalog(doc.dump());
  REQUIRE(jpy);
  CHECK(jpy->catalog.find("latte")->price == 450);
  doc["currency"] = "kwd";
  doc["products"][0]["price"] = "1.250";
  CHECK(app::parse_catalog(doc.dump())->catalog.find("latte")->price == 1250);
}

TEST_CASE("each malformed field gives an error that names it") {
  struct Case {
    const char* what;
    std::function<void(json&)> change;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"not an object", [](json& d) { d = json::array(); }, "catalog: the document must be a JSON object, not an array"},
      {"no currency", [](json& d) { d.erase("currency"); }, "catalog: currency: missing"},
      {"bad currency", [](json& d) { d["currency"] = "zzz"; }, "catalog: currency: unsupported currency 'zzz'"},
      {"currency number", [](json& d) { d["currency"] = 840; }, "catalog: currency: must be a string, not an integer"},
      {"typo field", [](json& d) { d["tax_clases"] = json::array(); }, "catalog: unknown field 'tax_clases'"},
      {"products not array", [](json& d) { d["products"] = json::object(); }, "catalog: products: must be an array, not an object"},
      {"tax rate float", [](json& d) { d["tax_classes"][0]["rate_ppm"] = 8.875; },
       "catalog: tax_classes[0] (standard).rate_ppm: must be an integer, not a floating-point number"},
      {"tax rate too big", [](json& d) { d["tax_classes"][0]["rate_ppm"] = 1'000'001; },
       "tax_classes[0] (standard).rate_ppm: must be between 0 and 1000000"},
      {"tax rate huge", [](json& d) { d["tax_classes"][0]["rate_ppm"] = 18446744073709551615ull; },
       "catalog: tax_classes[0] (standard).rate_ppm: too large"},
      {"category no name", [](json& d) { d["categories"][0].erase("name"); }, "catalog: categories[0] (coffee).name: missing"},
      {"product not object", [](json& d) { d["products"][0] = "latte"; }, "catalog: products[0]: must be an object, not a string"},
      {"product no price", [](json& d) { d["products"][0].erase("price"); }, "catalog: products[0] (latte).price: missing"},
      {"product unknown tax", [](json& d) { d["products"][0]["tax_class"] = "standrd"; },
       "catalog: products[0] (latte).tax_class: unknown tax class 'standrd'"},
      {"product unknown category", [](json& d) { d["products"][0]["category"] = "tea"; },
       "catalog: products[0] (latte).category: unknown category 'tea'"},
      {"product barcode letters", [](json& d) { d["products"][0]["barcode"] = "12AB"; },
       "catalog: products[0] (latte).barcode: must contain digits only"},
      {"tax_inclusive string", [](json& d) { d["products"][0]["tax_inclusive"] = "yes"; },
       "catalog: products[0] (latte).tax_inclusive: must be true or false, not a string"},
      {"duplicate id", [](json& d) { d["products"].push_back(d["products"][0]); d["products"][1]["sku"] = "L2";
                                     d["products"][1]["barcode"] = "1"; },
       "catalog: products[1] (latte).id: duplicate id"},
      {"duplicate barcode", [](json& d) { auto p = d["products"][0]; p["id"] = "mocha"; p["sku"] = "M1";
                                          d["products"].push_back(p); },
       "catalog: products[1] (mocha).barcode: duplicate barcode '0012345000017'"},
      {"merchant not object", [](json& d) { d["merchant"] = "Cafe"; }, "catalog: merchant: must be an object, not a string"},
      {"product empty name", [](json& d) { d["products"][0]["name"] = ""; }, "catalog: products[0] (latte).name: must not be empty"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    json d = minimal();
    c.change(d);
    auto r = app::parse_catalog(d.dump());
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::InvalidArgument);
    CHECK_THAT(r.error().message, Catch::Contains(c.expected));
  }
}

TEST_CASE("text that is not JSON is reported with its position") {
  auto r = app::parse_catalog("{\"currency\": \"usd\",\n  \"products\": [,]}");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::StartsWith("catalog: not valid JSON: parse error at line 2"));
  CHECK_FALSE(app::parse_catalog(""));
  CHECK_THAT(app::parse_catalog("").error().message, Catch::StartsWith("catalog: not valid JSON"));
}

TEST_CASE("a missing catalog file is NotFound and names the path") {
  auto r = app::load_catalog("/nonexistent/till/catalog.json");
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::NotFound);
  CHECK_THAT(r.error().message, Catch::Contains("/nonexistent/till/catalog.json"));
  auto dir = app::load_catalog(TILL_SOURCE_DIR);
  REQUIRE_FALSE(dir);
  CHECK(dir.error().kind == ErrorKind::InvalidArgument);
}

TEST_CASE("garbled catalog text never crashes and always fails with a catalog error") {
  // Property test: mutate the demo catalog (byte flips, cuts, duplications, inserted JSON
  // tokens) and parse. Every result is either a valid catalog or an InvalidArgument whose
  // message starts with "catalog: "; ASan/UBSan watch for anything worse.
  const std::string base = demo_text();
  REQUIRE_FALSE(base.empty());
  SeededRandom rng(20261123);
  static const char* kTokens[] = {"{", "}", "[", "]", ",", ":", "\"", "null", "true", "-", "1e999", "4.5",
                                  "\\u0000", "\\ud800", "\xff", "18446744073709551616", "\"price\":"};
  int parsed = 0, rejected = 0;
  for (int i = 0; i < 1500; ++i) {
    std::string text = base;
    const int edits = 1 + static_cast<int>(rng.uniform(4));
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t at = rng.uniform(text.size());
      switch (rng.uniform(4)) {
        case 0: text[at] = static_cast<char>(rng.uniform(256)); break;
        case 1: text.erase(at, 1 + rng.uniform(40)); break;
        case 2: text.insert(at, kTokens[rng.uniform(std::size(kTokens))]); break;
        case 3: text.resize(at); break;
      }
    }
    auto r = app::parse_catalog(text);
    if (r) {
      ++parsed;
      continue;
    }
    ++rejected;
    INFO(text);
    CHECK(r.error().kind == ErrorKind::InvalidArgument);
    CHECK_THAT(r.error().message, Catch::StartsWith("catalog: "));
    CHECK(r.error().message.size() > std::string("catalog: ").size());
  }
  CHECK(rejected > 1000);  // the mutations really do break things
  (void)parsed;
}

TEST_CASE("random values of every JSON type in every product field are rejected by name or accepted") {
  SeededRandom rng(7);
  const json base = json::parse(demo_text());
  const std::vector<std::string> fields = {"id", "name", "sku", "barcode", "price", "tax_class", "category", "tax_inclusive"};
  auto random_value = [&]() -> json {
    switch (rng.uniform(8)) {
      case 0: return nullptr;
      case 1: return rng.uniform(2) == 1;
      case 2: return static_cast<std::int64_t>(rng.next_u64());
      case 3: return static_cast<double>(rng.uniform(100000)) / 7.0;
      case 4: return json::array({1, "x"});
      case 5: return json::object({{"a", 1}});
      case 6: return std::to_string(rng.uniform(100000));
      default: return std::string(1 + rng.uniform(5), static_cast<char>('a' + rng.uniform(26)));
    }
  };
  for (int i = 0; i < 400; ++i) {
    json doc = base;
    const std::size_t index = rng.uniform(doc["products"].size());
    const std::string& f = fields[rng.uniform(fields.size())];
    doc["products"][index][f] = random_value();
    auto r = app::parse_catalog(doc.dump());
    if (r) continue;
    INFO(doc["products"][index].dump());
    CHECK_THAT(r.error().message, Catch::StartsWith("catalog: products[" + std::to_string(index) + "]"));
  }
}

TEST_CASE("deeply nested JSON is an error, not a stack overflow") {
  const std::string deep = std::string(20000, '[') + std::string(20000, ']');
  auto r = app::parse_catalog(deep);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("must be a JSON object"));
}
