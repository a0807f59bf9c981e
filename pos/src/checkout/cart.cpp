// Ringing up: only while the sale is open (no tender taken, no payment in progress).
#include <algorithm>

#include "reducer.hpp"

namespace till::pos::detail {

void Reducer::operator()(const AddProduct& a) {
  if (!cart_editable()) return;
  const Product* p = ctx_.catalog.find(a.product_id);
  if (p == nullptr) return reject(words::fill(words::kUnknownProduct, {a.product_id}));
  add(*p, a.quantity);
}

void Reducer::operator()(const ScanBarcode& a) {
  if (!cart_editable()) return;
  std::string code;
  for (char c : a.code) {
    if (c != ' ' && c != '\r' && c != '\n' && c != '\t') code += c;
  }
  const Product* p = ctx_.catalog.find_by_barcode(code);
  if (p == nullptr) p = ctx_.catalog.find_by_sku(code);
  if (p == nullptr) return reject(words::fill(words::kNoSuchBarcode, {code}));
  add(*p, 1);
}

void Reducer::operator()(const SetQuantity& a) {
  if (!cart_editable() || !line_exists(a.line)) return;
  if (a.quantity < 1) return reject(words::kQuantityRemoveInstead);
  Cart cart = m_.cart;
  cart.lines[a.line].quantity = a.quantity;
  set_cart(std::move(cart));
}

void Reducer::operator()(const RemoveLine& a) {
  if (!cart_editable() || !line_exists(a.line)) return;
  Cart cart = m_.cart;
  cart.lines.erase(cart.lines.begin() + static_cast<std::ptrdiff_t>(a.line));
  if (cart.lines.empty()) cart.cart_discount = Discount::none();  // nothing left to discount
  set_cart(std::move(cart));
}

void Reducer::operator()(const SetLineDiscount& a) {
  if (!cart_editable() || !line_exists(a.line)) return;
  Cart cart = m_.cart;
  cart.lines[a.line].discount = a.discount;
  set_cart(std::move(cart));
}

void Reducer::operator()(const SetCartDiscount& a) {
  if (!cart_editable()) return;
  Cart cart = m_.cart;
  cart.cart_discount = a.discount;
  set_cart(std::move(cart));
}

void Reducer::operator()(const SetTip& a) {
  if (!cart_editable()) return;
  if (a.amount < 0) return reject(words::kTipNegative);
  Cart cart = m_.cart;
  cart.tip = a.amount;
  set_cart(std::move(cart));
}

void Reducer::operator()(const SetCustomerContact& a) {
  if (!cashier_screen()) return;
  if (m_.screen == Screen::Receipt) return reject(words::kSaleComplete);
  if (busy_with_card()) return reject(words::kWaitForCard);
  m_.customer_contact = a.contact;
  if (m_.sale && m_.sale->state == SaleState::Tendering) {
    m_.sale->customer_contact = a.contact;
    m_.sale->updated_at = ctx_.now;
    effects_.push_back(PersistSale{*m_.sale});
  }
}

void Reducer::operator()(const ClearCart&) {
  if (!cart_editable()) return;
  if (m_.sale) return reject(words::kSaleAlreadySaved);
  set_cart(Cart{});
}

void Reducer::add(const Product& p, std::int64_t quantity) {
  if (quantity < 1) return reject(words::kQuantityAtLeastOne);
  Cart cart = m_.cart;
  auto same = std::find_if(cart.lines.begin(), cart.lines.end(), [&](const CartLine& l) {
    return l.product_id == p.id && l.unit_price == p.price && l.discount == Discount::none();
  });
  if (same != cart.lines.end()) {
    auto q = checked_add(same->quantity, quantity);
    if (!q) return reject(words::kQuantityTooLarge);
    same->quantity = *q;
  } else {
    auto line = make_line(ctx_.catalog, p, quantity);
    if (!line) return reject(line.error().message);  // cart.cpp's own words ("line 2 (Croissant): ...")
    cart.lines.push_back(std::move(*line));
  }
  set_cart(std::move(cart));
}

void Reducer::set_cart(Cart cart) {
  auto totals = compute_totals(cart);
  if (!totals) return reject(totals.error().message);  // cart.cpp's own words
  m_.cart = std::move(cart);
  m_.totals = std::move(*totals);
  m_.screen = Screen::Sell;
}

}  // namespace till::pos::detail
