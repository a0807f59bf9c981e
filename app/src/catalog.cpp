#include "till/app/catalog.hpp"

#include <fstream>
#include <initializer_list>
#include <limits>
#include <set>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

namespace till::app {
namespace {

using nlohmann::json;

tl::unexpected<Error> bad(const std::string& at, const std::string& why) {
  return fail(ErrorKind::InvalidArgument, "catalog: " + (at.empty() ? std::string() : at + ": ") + why);
}

std::string type_name(const json& v) {
  if (v.is_number_float()) return "a floating-point number";
  if (v.is_number()) return "an integer";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_null()) return "null";
  if (v.is_array()) return "an array";
  return "an object";
}

std::string child(const std::string& at, std::string_view key) {
  return at.empty() ? std::string(key) : at + "." + std::string(key);
}

// Fails on any key not in `known`, so a misspelt field is reported instead of ignored.
Status only_known_keys(const json& obj, const std::string& at, std::initializer_list<std::string_view> known) {
  for (const auto& [key, _] : obj.items()) {
    bool ok_key = false;
    for (auto k : known) ok_key = ok_key || key == k;
    if (!ok_key) return bad(at, "unknown field '" + key + "'");
  }
  return ok();
}

Result<const json*> field(const json& obj, const std::string& at, std::string_view key, bool required) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return bad(child(at, key), "missing");
    return nullptr;
  }
  return &*it;
}

Result<std::string> string_field(const json& obj, const std::string& at, std::string_view key, bool required) {
  auto f = field(obj, at, key, required);
  if (!f) return fail(f.error());
  if (*f == nullptr) return std::string();
  if (!(*f)->is_string()) return bad(child(at, key), "must be a string, not " + type_name(**f));
  return (*f)->get<std::string>();
}

Result<bool> bool_field(const json& obj, const std::string& at, std::string_view key) {
  auto f = field(obj, at, key, false);
  if (!f) return fail(f.error());
  if (*f == nullptr) return false;
  if (!(*f)->is_boolean()) return bad(child(at, key), "must be true or false, not " + type_name(**f));
  return (*f)->get<bool>();
}

Result<std::int64_t> integer_value(const json& v, const std::string& at) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return bad(at, "too large");
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  return bad(at, "must be an integer, not " + type_name(v));
}

Result<const json*> array_field(const json& obj, std::string_view key) {
  auto f = field(obj, "", key, true);
  if (!f) return fail(f.error());
  if (!(*f)->is_array()) return bad(std::string(key), "must be an array, not " + type_name(**f));
  return *f;
}

std::string item_at(std::string_view list, std::size_t i, const json& item, std::string_view id_key) {
  std::string at = std::string(list) + "[" + std::to_string(i) + "]";
  if (item.is_object()) {
    auto it = item.find(id_key);
    if (it != item.end() && it->is_string()) at += " (" + it->get<std::string>() + ")";
  }
  return at;
}

Result<pos::Merchant> parse_merchant(const json& root) {
  pos::Merchant m;
  auto f = field(root, "", "merchant", false);
  if (!f) return fail(f.error());
  if (*f == nullptr) return m;
  const json& o = **f;
  if (!o.is_object()) return bad("merchant", "must be an object, not " + type_name(o));
  if (auto s = only_known_keys(o, "merchant", {"name", "address_lines", "phone"}); !s) return fail(s.error());
  auto name = string_field(o, "merchant", "name", true);
  if (!name) return fail(name.error());
  m.name = *name;
  auto phone = string_field(o, "merchant", "phone", false);
  if (!phone) return fail(phone.error());
  m.phone = *phone;
  auto lines = field(o, "merchant", "address_lines", false);
  if (!lines) return fail(lines.error());
  if (*lines != nullptr) {
    if (!(*lines)->is_array()) return bad("merchant.address_lines", "must be an array of strings");
    for (std::size_t i = 0; i < (*lines)->size(); ++i) {
      const json& l = (**lines)[i];
      if (!l.is_string()) return bad("merchant.address_lines[" + std::to_string(i) + "]", "must be a string");
      m.address_lines.push_back(l.get<std::string>());
    }
  }
  return m;
}

Result<pos::Money> price_value(const json& v, const std::string& at, pos::Currency currency) {
  if (v.is_string()) {
    auto m = pos::Money::parse(v.get<std::string>(), currency);
    if (!m) return bad(at, m.error().message);
    return *m;
  }
  if (v.is_number_float()) {
    return bad(at, "floating-point numbers are not accepted for money: write \"4.50\" or 450 (minor units)");
  }
  auto i = integer_value(v, at);
  if (!i) return fail(i.error());
  return pos::Money(*i, currency);
}

Result<CatalogDocument> parse_document(const json& root) {
  if (!root.is_object()) return bad("", "the document must be a JSON object, not " + type_name(root));
  if (auto s = only_known_keys(root, "", {"currency", "merchant", "tax_classes", "categories", "products"}); !s) {
    return fail(s.error());
  }
  auto code = string_field(root, "", "currency", true);
  if (!code) return fail(code.error());
  auto currency = pos::Currency::parse(*code);
  if (!currency) return bad("currency", currency.error().message);

  auto merchant = parse_merchant(root);
  if (!merchant) return fail(merchant.error());

  std::vector<pos::TaxClass> taxes;
  auto tax_list = array_field(root, "tax_classes");
  if (!tax_list) return fail(tax_list.error());
  for (std::size_t i = 0; i < (*tax_list)->size(); ++i) {
    const json& t = (**tax_list)[i];
    const std::string at = item_at("tax_classes", i, t, "code");
    if (!t.is_object()) return bad(at, "must be an object, not " + type_name(t));
    if (auto s = only_known_keys(t, at, {"code", "name", "rate_ppm"}); !s) return fail(s.error());
    pos::TaxClass tc;
    auto c = string_field(t, at, "code", true);
    if (!c) return fail(c.error());
    tc.code = *c;
    auto n = string_field(t, at, "name", false);
    if (!n) return fail(n.error());
    tc.name = n->empty() ? tc.code : *n;
    auto r = field(t, at, "rate_ppm", true);
    if (!r) return fail(r.error());
    auto rate = integer_value(**r, child(at, "rate_ppm"));
    if (!rate) return fail(rate.error());
    tc.rate_ppm = *rate;
    taxes.push_back(std::move(tc));
  }

  std::vector<pos::Category> categories;
  auto cat_list = array_field(root, "categories");
  if (!cat_list) return fail(cat_list.error());
  for (std::size_t i = 0; i < (*cat_list)->size(); ++i) {
    const json& c = (**cat_list)[i];
    const std::string at = item_at("categories", i, c, "id");
    if (!c.is_object()) return bad(at, "must be an object, not " + type_name(c));
    if (auto s = only_known_keys(c, at, {"id", "name"}); !s) return fail(s.error());
    pos::Category cat;
    auto id = string_field(c, at, "id", true);
    if (!id) return fail(id.error());
    cat.id = *id;
    auto name = string_field(c, at, "name", true);
    if (!name) return fail(name.error());
    cat.name = *name;
    categories.push_back(std::move(cat));
  }

  std::vector<pos::Product> products;
  auto prod_list = array_field(root, "products");
  if (!prod_list) return fail(prod_list.error());
  for (std::size_t i = 0; i < (*prod_list)->size(); ++i) {
    const json& p = (**prod_list)[i];
    const std::string at = item_at("products", i, p, "id");
    if (!p.is_object()) return bad(at, "must be an object, not " + type_name(p));
    if (auto s = only_known_keys(p, at, {"id", "name", "sku", "barcode", "price", "tax_class", "category", "tax_inclusive"});
        !s) {
      return fail(s.error());
    }
    pos::Product prod;
    for (auto [key, out] : {std::pair<std::string_view, std::string*>{"id", &prod.id}, {"name", &prod.name},
                            {"tax_class", &prod.tax_class}, {"category", &prod.category}}) {
      auto v = string_field(p, at, key, true);
      if (!v) return fail(v.error());
      *out = *v;
    }
    for (auto [key, out] : {std::pair<std::string_view, std::string*>{"sku", &prod.sku}, {"barcode", &prod.barcode}}) {
      auto v = string_field(p, at, key, false);
      if (!v) return fail(v.error());
      *out = *v;
    }
    auto price = field(p, at, "price", true);
    if (!price) return fail(price.error());
    auto money = price_value(**price, child(at, "price"), *currency);
    if (!money) return fail(money.error());
    prod.price = money->minor();
    auto inclusive = bool_field(p, at, "tax_inclusive");
    if (!inclusive) return fail(inclusive.error());
    prod.tax_inclusive = *inclusive;
    products.push_back(std::move(prod));
  }

  auto catalog = pos::Catalog::create(*currency, std::move(taxes), std::move(categories), std::move(products));
  if (!catalog) return bad("", catalog.error().message);
  return CatalogDocument{std::move(*catalog), std::move(*merchant)};
}

}  // namespace

Result<CatalogDocument> parse_catalog(std::string_view json_text) {
  json root;
  try {
    root = json::parse(json_text.begin(), json_text.end());
  } catch (const json::exception& e) {
    // nlohmann's messages start "[json.exception.parse_error.101] "; keep what follows.
    std::string what = e.what();
    if (auto close = what.find("] "); what.rfind("[json.exception", 0) == 0 && close != std::string::npos) {
      what = what.substr(close + 2);
    }
    return bad("", "not valid JSON: " + what);
  }
  try {
    return parse_document(root);
  } catch (const std::exception& e) {
    // Every access above is type-checked first; this is a bug guard so nothing escapes.
    return fail(ErrorKind::Internal, std::string("catalog: unexpected error: ") + e.what());
  }
}

Result<CatalogDocument> load_catalog(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return fail(ErrorKind::NotFound, "catalog file not found: " + path.string());
  }
  if (std::filesystem::is_directory(path, ec)) {
    return fail(ErrorKind::InvalidArgument, "catalog path is a directory: " + path.string());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorKind::PermissionDenied, "cannot open catalog file " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail(ErrorKind::DataLoss, "error reading catalog file " + path.string());
  auto doc = parse_catalog(text.str());
  if (!doc) {
    Error e = doc.error();
    e.message = path.string() + ": " + e.message;
    return fail(std::move(e));
  }
  return doc;
}

std::filesystem::path demo_catalog_path() { return std::filesystem::path(TILL_APP_DATA_DIR) / "demo_catalog.json"; }

}  // namespace till::app
