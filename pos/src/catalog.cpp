#include "till/pos/catalog.hpp"

#include <set>
#include <utility>

namespace till::pos {
namespace {

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// "products[3] (latte).price" — names the item by index and id so a person can find it.
std::string where(std::string_view list, std::size_t index, std::string_view id, std::string_view field) {
  std::string out(list);
  out += '[' + std::to_string(index) + ']';
  if (!id.empty()) {
    out += " (";
    out += id;
    out += ')';
  }
  out += '.';
  out += field;
  return out;
}

tl::unexpected<Error> invalid(std::string at, std::string why) {
  return fail(ErrorKind::InvalidArgument, at + ": " + why);
}

}  // namespace

Catalog::Catalog() : currency_(Currency::of("usd")) {}

Result<Catalog> Catalog::create(Currency currency, std::vector<TaxClass> tax_classes,
                                std::vector<Category> categories, std::vector<Product> products) {
  std::set<std::string, std::less<>> tax_codes;
  for (std::size_t i = 0; i < tax_classes.size(); ++i) {
    const auto& t = tax_classes[i];
    if (t.code.empty()) return invalid(where("tax_classes", i, "", "code"), "must not be empty");
    if (!tax_codes.insert(t.code).second) return invalid(where("tax_classes", i, t.code, "code"), "duplicate code");
    if (t.rate_ppm < 0 || t.rate_ppm > kMaxRatePpm) {
      return invalid(where("tax_classes", i, t.code, "rate_ppm"), "must be between 0 and 1000000 (0-100 %)");
    }
  }
  std::set<std::string, std::less<>> category_ids;
  for (std::size_t i = 0; i < categories.size(); ++i) {
    const auto& c = categories[i];
    if (c.id.empty()) return invalid(where("categories", i, "", "id"), "must not be empty");
    if (!category_ids.insert(c.id).second) return invalid(where("categories", i, c.id, "id"), "duplicate id");
    if (c.name.empty()) return invalid(where("categories", i, c.id, "name"), "must not be empty");
  }

  Catalog out;
  out.currency_ = currency;
  for (std::size_t i = 0; i < products.size(); ++i) {
    const auto& p = products[i];
    if (p.id.empty()) return invalid(where("products", i, "", "id"), "must not be empty");
    if (p.name.empty()) return invalid(where("products", i, p.id, "name"), "must not be empty");
    if (p.price < 0) return invalid(where("products", i, p.id, "price"), "must not be negative");
    if (!tax_codes.contains(p.tax_class)) {
      return invalid(where("products", i, p.id, "tax_class"), "unknown tax class '" + p.tax_class + "'");
    }
    if (!category_ids.contains(p.category)) {
      return invalid(where("products", i, p.id, "category"), "unknown category '" + p.category + "'");
    }
    if (!p.barcode.empty() && !all_digits(p.barcode)) {
      return invalid(where("products", i, p.id, "barcode"), "must contain digits only");
    }
    if (!out.by_id_.emplace(p.id, i).second) return invalid(where("products", i, p.id, "id"), "duplicate id");
    if (!p.barcode.empty() && !out.by_barcode_.emplace(p.barcode, i).second) {
      return invalid(where("products", i, p.id, "barcode"), "duplicate barcode '" + p.barcode + "'");
    }
    if (!p.sku.empty() && !out.by_sku_.emplace(p.sku, i).second) {
      return invalid(where("products", i, p.id, "sku"), "duplicate sku '" + p.sku + "'");
    }
  }
  out.tax_classes_ = std::move(tax_classes);
  out.categories_ = std::move(categories);
  out.products_ = std::move(products);
  return out;
}

namespace {
template <class Map>
const Product* lookup(const Map& map, const std::vector<Product>& products, std::string_view key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &products[it->second];
}
}  // namespace

const Product* Catalog::find(std::string_view product_id) const { return lookup(by_id_, products_, product_id); }
const Product* Catalog::find_by_barcode(std::string_view barcode) const {
  return lookup(by_barcode_, products_, barcode);
}
const Product* Catalog::find_by_sku(std::string_view sku) const { return lookup(by_sku_, products_, sku); }

const TaxClass* Catalog::tax_class(std::string_view code) const {
  for (const auto& t : tax_classes_) {
    if (t.code == code) return &t;
  }
  return nullptr;
}

const Category* Catalog::category(std::string_view id) const {
  for (const auto& c : categories_) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

std::vector<const Product*> Catalog::in_category(std::string_view category_id) const {
  std::vector<const Product*> out;
  for (const auto& p : products_) {
    if (p.category == category_id) out.push_back(&p);
  }
  return out;
}

}  // namespace till::pos
