#pragma once
// The catalog: what the shop sells, at what price, under which tax class. Pure data plus
// lookups; loading from JSON lives in app/ (pos has no JSON). A Catalog is immutable once
// built, and only a validated one can be built, so the reducer never meets a product whose tax
// class does not exist or whose price is negative.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "till/base/result.hpp"
#include "till/pos/money.hpp"

namespace till::pos {

inline constexpr std::int64_t kMaxRatePpm = 1'000'000;  // 100 %

struct TaxClass {
  std::string code;           // "standard", "reduced": what SaleLine::tax_code records
  std::string name;           // "Sales tax 8.875%": what a receipt or settings screen shows
  std::int64_t rate_ppm = 0;  // parts per million: 8.875 % = 88'750; 0 <= rate_ppm <= 1'000'000
  bool operator==(const TaxClass&) const = default;
};

struct Category {
  std::string id;    // "coffee"
  std::string name;  // "Coffee"
  bool operator==(const Category&) const = default;
};

struct Product {
  std::string id;          // stable id, unique in the catalog
  std::string name;
  std::string sku;         // unique when non-empty
  std::string barcode;     // EAN/UPC digits; unique when non-empty; what a wedge scanner types
  std::int64_t price = 0;  // minor units of the catalog currency, >= 0
  std::string tax_class;   // a TaxClass::code
  std::string category;    // a Category::id
  bool tax_inclusive = false;  // price already contains tax (EU/UK/JP shelf prices)
  bool operator==(const Product&) const = default;
};

class Catalog {
 public:
  Catalog();  // empty, in USD (for default-constructed models)

  // Validates and builds. Errors are InvalidArgument and name the offending item and field,
  // e.g. "products[3] (latte).tax_class: unknown tax class 'standrd'". Checked: non-empty unique
  // ids; unique skus and barcodes; barcodes digits only; price >= 0; rate 0..1'000'000 ppm;
  // references to tax classes and categories exist. Any thread.
  static Result<Catalog> create(Currency currency, std::vector<TaxClass> tax_classes,
                                std::vector<Category> categories, std::vector<Product> products);

  Currency currency() const noexcept { return currency_; }
  const std::vector<TaxClass>& tax_classes() const noexcept { return tax_classes_; }
  const std::vector<Category>& categories() const noexcept { return categories_; }
  const std::vector<Product>& products() const noexcept { return products_; }

  // nullptr when absent. The pointers stay valid as long as this Catalog lives, unmoved.
  // Const lookups are safe from any thread; they never fail otherwise.
  const Product* find(std::string_view product_id) const;
  const Product* find_by_barcode(std::string_view barcode) const;
  const Product* find_by_sku(std::string_view sku) const;
  const TaxClass* tax_class(std::string_view code) const;
  const Category* category(std::string_view id) const;

  // Products of one category, in catalog order (the sell screen's tabs).
  std::vector<const Product*> in_category(std::string_view category_id) const;

 private:
  Currency currency_;
  std::vector<TaxClass> tax_classes_;
  std::vector<Category> categories_;
  std::vector<Product> products_;
  // Indexes into products_; maps keep lookups O(log n) for 100k-product catalogs.
  std::map<std::string, std::size_t, std::less<>> by_id_;
  std::map<std::string, std::size_t, std::less<>> by_barcode_;
  std::map<std::string, std::size_t, std::less<>> by_sku_;
};

}  // namespace till::pos
