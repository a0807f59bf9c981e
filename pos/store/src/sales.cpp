#include "till/store/sales.hpp"

#include "connection.hpp"
#include "rows.hpp"
#include "tables.hpp"

namespace till::store {

using detail::Connection;
using detail::kSaleColumns;
using detail::sql;
using detail::Stmt;

namespace {

Result<std::vector<pos::SaleLine>> lines_of(Connection& c, std::string_view sale_id) {
  return c.query<pos::SaleLine>(
      "SELECT product_id, sku, name, quantity, unit_price, discount, tax_code, tax_rate_ppm, tax_inclusive, "
      "net, tax, gross FROM sale_lines WHERE sale_id = ? ORDER BY line_no",
      "reading sale lines",
      [](const Stmt& st) -> Result<pos::SaleLine> {
        pos::SaleLine l;
        l.product_id = st.text(0);
        l.sku = st.text(1);
        l.name = st.text(2);
        l.quantity = st.i64(3);
        l.unit_price = st.i64(4);
        l.discount = st.i64(5);
        l.tax_code = st.text(6);
        l.tax_rate_ppm = st.i64(7);
        l.tax_inclusive = st.i64(8) != 0;
        l.net = st.i64(9);
        l.tax = st.i64(10);
        l.gross = st.i64(11);
        return l;
      },
      sale_id);
}

Result<std::vector<pos::TaxLine>> taxes_of(Connection& c, std::string_view sale_id) {
  return c.query<pos::TaxLine>(
      "SELECT tax_code, tax_rate_ppm, net, tax FROM tax_lines WHERE sale_id = ? ORDER BY line_no",
      "reading tax lines",
      [](const Stmt& st) -> Result<pos::TaxLine> {
        return pos::TaxLine{st.text(0), st.i64(1), st.i64(2), st.i64(3)};
      },
      sale_id);
}

Result<pos::Sale> with_lines(Connection& c, pos::Sale s) {
  auto lines = lines_of(c, s.id);
  if (!lines) return fail(lines.error());
  auto taxes = taxes_of(c, s.id);
  if (!taxes) return fail(taxes.error());
  s.lines = std::move(*lines);
  s.taxes = std::move(*taxes);
  return s;
}

Result<std::vector<pos::Sale>> heads(Connection& c, std::string_view id) {
  return c.query<pos::Sale>(sql("SELECT ", kSaleColumns, " FROM sales WHERE id = ?"), "reading a sale",
                            detail::sale_from_row, id);
}

Status insert_lines(Connection& c, const pos::Sale& s) {
  std::int64_t n = 0;
  for (const auto& l : s.lines) {
    if (auto r = c.run("INSERT INTO sale_lines (sale_id, line_no, product_id, sku, name, quantity, unit_price, "
                       "discount, tax_code, tax_rate_ppm, tax_inclusive, net, tax, gross) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       "writing a sale line", s.id, ++n, l.product_id, l.sku, l.name, l.quantity, l.unit_price,
                       l.discount, l.tax_code, l.tax_rate_ppm, l.tax_inclusive, l.net, l.tax, l.gross);
        !r) {
      return r;
    }
  }
  n = 0;
  for (const auto& t : s.taxes) {
    if (auto r = c.run("INSERT INTO tax_lines (sale_id, line_no, tax_code, tax_rate_ppm, net, tax) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       "writing a tax line", s.id, ++n, t.tax_code, t.tax_rate_ppm, t.net, t.tax);
        !r) {
      return r;
    }
  }
  return ok();
}

std::string arrow(pos::SaleState from, pos::SaleState to) {
  return std::string(pos::to_string(from)) + " -> " + std::string(pos::to_string(to));
}

Status persist_sale(Connection& c, const pos::Sale& s) {
  if (s.id.empty() || s.currency.empty()) {
    return fail(ErrorKind::InvalidArgument, "a sale needs an id and a currency");
  }
  const Timestamp t = c.now();
  auto existing = heads(c, s.id);
  if (!existing) return fail(existing.error());
  if (existing->empty()) {
    const Timestamp created = s.created_at == Timestamp{} ? t : s.created_at;
    if (auto r = c.run(sql("INSERT INTO sales (", kSaleColumns, ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                       "writing a sale", s.id, s.register_id, s.account_id, s.currency, pos::to_string(s.state),
                       s.subtotal, s.discount_total, s.tax_total, s.tip, s.total, s.customer_contact, created, t);
        !r) {
      return r;
    }
    return insert_lines(c, s);
  }
  const pos::Sale& old = existing->front();
  if (pos::is_final(old.state)) {
    return fail(ErrorKind::FailedPrecondition, "sale " + s.id + " is " + std::string(pos::to_string(old.state)) +
                                                   "; a final sale is never rewritten");
  }
  if (old.state != s.state) {
    if (auto tr = pos::transition(old.state, s.state); !tr) return fail(tr.error());
    if (auto r = detail::audit(c, "store", "sale.state", s.id, arrow(old.state, s.state)); !r) return r;
  }
  if (auto r = c.run("UPDATE sales SET register_id = ?, account_id = ?, currency = ?, state = ?, subtotal = ?, "
                     "discount_total = ?, tax_total = ?, tip = ?, total = ?, customer_contact = ?, updated_at = ? "
                     "WHERE id = ?",
                     "rewriting a sale", s.register_id, s.account_id, s.currency, pos::to_string(s.state),
                     s.subtotal, s.discount_total, s.tax_total, s.tip, s.total, s.customer_contact, t, s.id);
      !r) {
    return r;
  }
  if (auto r = c.run("DELETE FROM sale_lines WHERE sale_id = ?", "replacing sale lines", s.id); !r) return r;
  if (auto r = c.run("DELETE FROM tax_lines WHERE sale_id = ?", "replacing tax lines", s.id); !r) return r;
  return insert_lines(c, s);
}

Status update_sale_state(Connection& c, std::string_view id, pos::SaleState to) {
  auto rows = c.query<std::string>(
      "SELECT state FROM sales WHERE id = ?", "reading a sale",
      [](const Stmt& st) -> Result<std::string> { return st.text(0); }, id);
  if (!rows) return fail(rows.error());
  if (rows->empty()) return fail(ErrorKind::NotFound, "no sale " + std::string(id));
  auto from = pos::parse_sale_state(rows->front());
  if (!from) return fail(detail::data_loss("sale " + std::string(id) + " has an unknown state"));
  if (auto tr = pos::transition(*from, to); !tr) return fail(tr.error());
  if (auto r = c.run("UPDATE sales SET state = ?, updated_at = ? WHERE id = ?", "updating a sale",
                     pos::to_string(to), c.now(), id);
      !r) {
    return r;
  }
  return detail::audit(c, "store", "sale.state", id, arrow(*from, to));
}

}  // namespace

Result<bool> detail::sale_exists(Connection& c, std::string_view sale_id) {
  auto rows = c.query<std::string>(
      "SELECT id FROM sales WHERE id = ?", "reading a sale",
      [](const Stmt& st) -> Result<std::string> { return st.text(0); }, sale_id);
  if (!rows) return fail(rows.error());
  return !rows->empty();
}

Status SaleRepository::persist(const pos::Sale& sale) {
  return c().write(in_transaction(), [&] { return persist_sale(c(), sale); });
}

Status SaleRepository::update_state(std::string_view sale_id, pos::SaleState to) {
  return c().write(in_transaction(), [&] { return update_sale_state(c(), sale_id, to); });
}

Result<pos::Sale> SaleRepository::get(std::string_view sale_id) {
  auto rows = heads(c(), sale_id);
  if (!rows) return fail(rows.error());
  if (rows->empty()) return fail(ErrorKind::NotFound, "no sale " + std::string(sale_id));
  return with_lines(c(), std::move(rows->front()));
}

Result<std::vector<pos::Sale>> SaleRepository::between(Timestamp from, Timestamp to) {
  auto found = c().query<pos::Sale>(
      sql("SELECT ", kSaleColumns, " FROM sales WHERE created_at >= ? AND created_at < ? ORDER BY created_at, id"),
      "reading sales by day", detail::sale_from_row, from, to);
  if (!found) return fail(found.error());
  std::vector<pos::Sale> out;
  out.reserve(found->size());
  for (auto& h : *found) {
    auto s = with_lines(c(), std::move(h));
    if (!s) return fail(s.error());
    out.push_back(std::move(*s));
  }
  return out;
}

}  // namespace till::store
