#include "till/pos/catalog.hpp"

#include <catch2/catch.hpp>

#include "till/pos/cart.hpp"

using namespace till;
using namespace till::pos;

namespace {
std::vector<TaxClass> taxes() { return {{"standard", "Sales tax", 88'750}, {"reduced", "Food", 22'500}}; }
std::vector<Category> categories() { return {{"coffee", "Coffee"}, {"bakery", "Bakery"}}; }
Product product(std::string id, std::string barcode, std::int64_t price, std::string tax = "standard",
                std::string cat = "coffee") {
  return Product{id, id + " name", "SKU-" + id, std::move(barcode), price, std::move(tax), std::move(cat), false};
}
}  // namespace

TEST_CASE("a valid catalog finds products by id, barcode and sku, and lists a category in order") {
  auto c = Catalog::create(Currency::of("usd"), taxes(), categories(),
                           {product("latte", "111", 450), product("croissant", "222", 325, "reduced", "bakery"),
                            product("mocha", "", 495)});
  REQUIRE(c);
  CHECK(c->find("latte")->price == 450);
  CHECK(c->find_by_barcode("222")->id == "croissant");
  CHECK(c->find_by_sku("SKU-mocha")->id == "mocha");
  CHECK(c->find_by_barcode("") == nullptr);  // products without a barcode are not found by ""
  CHECK(c->find("tea") == nullptr);
  auto coffee = c->in_category("coffee");
  REQUIRE(coffee.size() == 2);
  CHECK(coffee[0]->id == "latte");
  CHECK(coffee[1]->id == "mocha");
  // Lookups survive a copy (indexes, not pointers, are stored).
  Catalog copy = *c;
  CHECK(copy.find("latte") == &copy.products()[0]);
}

TEST_CASE("catalog validation names the item and field at fault") {
  auto err = [](std::vector<TaxClass> t, std::vector<Category> k, std::vector<Product> p) {
    auto c = Catalog::create(Currency::of("usd"), std::move(t), std::move(k), std::move(p));
    REQUIRE_FALSE(c);
    CHECK(c.error().kind == ErrorKind::InvalidArgument);
    return c.error().message;
  };
  CHECK(err({{"", "x", 0}}, {}, {}) == "tax_classes[0].code: must not be empty");
  CHECK(err({{"a", "x", 0}, {"a", "y", 0}}, {}, {}) == "tax_classes[1] (a).code: duplicate code");
  CHECK(err({{"a", "x", -1}}, {}, {}) == "tax_classes[0] (a).rate_ppm: must be between 0 and 1000000 (0-100 %)");
  CHECK(err(taxes(), {{"c", "C"}, {"c", "D"}}, {}) == "categories[1] (c).id: duplicate id");
  CHECK(err(taxes(), categories(), {product("x", "1", -5)}) == "products[0] (x).price: must not be negative");
  CHECK(err(taxes(), categories(), {product("x", "1", 5, "vat")}) == "products[0] (x).tax_class: unknown tax class 'vat'");
  CHECK(err(taxes(), categories(), {product("x", "1", 5, "standard", "tea")}) ==
        "products[0] (x).category: unknown category 'tea'");
  CHECK(err(taxes(), categories(), {product("x", "1a", 5)}) == "products[0] (x).barcode: must contain digits only");
  CHECK(err(taxes(), categories(), {product("x", "1", 5), product("y", "1", 5)}) ==
        "products[1] (y).barcode: duplicate barcode '1'");
  CHECK(err(taxes(), categories(), {product("x", "1", 5), product("x", "2", 5)}) == "products[1] (x).id: duplicate id");
  auto same_sku = product("y", "2", 5);
  same_sku.sku = "SKU-x";
  CHECK(err(taxes(), categories(), {product("x", "1", 5), same_sku}) == "products[1] (y).sku: duplicate sku 'SKU-x'");
}

TEST_CASE("a cart line copies the product's price and tax class") {
  auto c = Catalog::create(Currency::of("usd"), taxes(), categories(), {product("latte", "111", 450)});
  REQUIRE(c);
  auto l = make_line(*c, *c->find("latte"), 3);
  REQUIRE(l);
  CHECK(l->unit_price == 450);
  CHECK(l->tax_code == "standard");
  CHECK(l->tax_rate_ppm == 88'750);
  CHECK(l->quantity == 3);
  CHECK(l->name == "latte name");
}
