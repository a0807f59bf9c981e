#pragma once
// Loading the catalog (and the merchant's receipt header) from JSON. pos/ has no JSON, so the
// parsing lives here and hands pos a validated pos::Catalog.
//
// Format (see app/data/demo_catalog.json):
//   { "currency": "usd",
//     "merchant": { "name": "...", "address_lines": ["..."], "phone": "..." },   (optional)
//     "tax_classes": [ { "code": "standard", "name": "Sales tax 8.875%", "rate_ppm": 88750 } ],
//     "categories":  [ { "id": "coffee", "name": "Coffee" } ],
//     "products":    [ { "id": "latte", "name": "Latte", "sku": "COF-LAT",
//                        "barcode": "0012345000017", "price": "4.50", "tax_class": "standard",
//                        "category": "coffee", "tax_inclusive": false } ] }
// "price" is either a decimal string in major units ("4.50", exact: no more decimals than the
// currency has) or an integer count of minor units (450). Floating-point JSON numbers are
// refused anywhere a money or rate value is expected: 4.5 is an error, not a guess. sku,
// barcode and tax_inclusive are optional. Unknown fields are errors (a typo must not silently
// drop a tax class).

#include <filesystem>
#include <string_view>

#include "till/base/result.hpp"
#include "till/pos/catalog.hpp"
#include "till/pos/receipt.hpp"

namespace till::app {

struct CatalogDocument {
  pos::Catalog catalog;
  pos::Merchant merchant;  // empty when the file has no "merchant"
};

// Parses and validates. Every error is InvalidArgument with a message that starts "catalog: "
// and names the offending place, e.g. `catalog: products[2] (latte).price: must be ...` or
// `catalog: not valid JSON: parse error at line 3, column 7: ...`. Never throws; any thread.
Result<CatalogDocument> parse_catalog(std::string_view json_text);

// Reads the file and parses it. NotFound / PermissionDenied / DataLoss (I/O error) name the
// path; parse errors as above, prefixed with the path. Any thread.
Result<CatalogDocument> load_catalog(const std::filesystem::path& path);

// The demo catalog shipped for the embedded default (app/data/demo_catalog.json), located
// relative to the source tree at build time.
std::filesystem::path demo_catalog_path();

}  // namespace till::app
