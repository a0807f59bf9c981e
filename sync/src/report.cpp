#include "till/sync/report.hpp"

#include <charconv>
#include <chrono>
#include <map>

#include "till/sync/operations.hpp"

namespace till::sync {

using pos::AttemptState;

Result<Timestamp> parse_day(std::string_view day) {
  const auto bad = [&] { return fail(ErrorKind::InvalidArgument, "day '" + std::string(day) + "' is not YYYY-MM-DD"); };
  if (day.size() != 10 || day[4] != '-' || day[7] != '-') return bad();
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  const auto num = [](std::string_view s, auto& out) {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
  };
  if (!num(day.substr(0, 4), y) || !num(day.substr(5, 2), m) || !num(day.substr(8, 2), d)) return bad();
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  if (!ymd.ok()) return bad();
  return Timestamp{std::chrono::sys_days{ymd}.time_since_epoch()};
}

namespace {

template <class T>
T& slot(std::vector<T>& v, const std::function<bool(const T&)>& match, T fresh) {
  for (auto& x : v) {
    if (match(x)) return x;
  }
  v.push_back(std::move(fresh));
  return v.back();
}

std::int64_t to_i64(const std::optional<std::string>& s) {
  if (!s) return 0;
  std::int64_t v = 0;
  std::from_chars(s->data(), s->data() + s->size(), v);
  return v;
}

}  // namespace

Result<DayReport> build_day_report(store::Store& store, std::string_view day) {
  auto start = parse_day(day);
  if (!start) return fail(start.error());
  DayReport r;
  r.day = std::string(day);
  auto sales = store.sales().between(*start, *start + std::chrono::hours(24));
  if (!sales) return fail(sales.error());
  for (const auto& s : *sales) {
    using CT = DayReport::CurrencyTotals;
    CT& ct = slot<CT>(r.currencies, [&](const CT& x) { return x.currency == s.currency; }, CT{s.currency});
    if (s.state == pos::SaleState::Voided) {
      ++ct.voided;
    } else if (s.state == pos::SaleState::Paid || s.state == pos::SaleState::PartiallyPaid) {
      ++ct.sales;
      ct.gross += s.total;
      ct.net += s.subtotal;
      ct.tax += s.tax_total;
      ct.tips += s.tip;
      ct.discounts += s.discount_total;
      for (const auto& t : s.taxes) {
        using TT = DayReport::TaxRateTotals;
        TT& tt = slot<TT>(
            r.tax_rates,
            [&](const TT& x) { return x.currency == s.currency && x.tax_code == t.tax_code && x.rate_ppm == t.tax_rate_ppm; },
            TT{s.currency, t.tax_code, t.tax_rate_ppm});
        tt.net += t.net;
        tt.tax += t.tax;
      }
    } else {
      ++ct.open;
    }

    auto attempts = store.attempts().for_sale(s.id);
    if (!attempts) return fail(attempts.error());
    auto ops = store.outbox().for_sale(s.id);
    if (!ops) return fail(ops.error());
    for (const auto& a : *attempts) {
      switch (a.state) {
        case AttemptState::Declined: ++r.attempts.declined; break;
        case AttemptState::DeclinedAfterForward: ++r.attempts.declined_after_forward; break;
        case AttemptState::InDoubt: ++r.attempts.in_doubt; break;
        case AttemptState::Submitting:
        case AttemptState::StoredOffline: ++r.attempts.unsent; break;
        default: break;
      }
      std::string tender;
      if (a.tender == pos::TenderKind::Cash && a.state == AttemptState::Approved) tender = "cash";
      if (a.tender == pos::TenderKind::Card && a.state == AttemptState::Approved) tender = "card";
      if (a.tender == pos::TenderKind::Card && a.state == AttemptState::StoredOffline) tender = "card_stored_offline";
      if (tender.empty()) continue;
      using TD = DayReport::TenderTotals;
      TD& td = slot<TD>(r.tenders, [&](const TD& x) { return x.tender == tender && x.currency == a.currency; },
                        TD{tender, a.currency});
      ++td.count;
      td.amount += a.amount;
      if (tender == "card") {
        for (const auto& o : *ops) {
          if (o.attempt_id != a.id || o.kind != pos::OperationKind::CreatePaymentIntent) continue;
          const auto fee = body_field(o.body, "application_fee_amount");
          if (!fee) continue;
          using FT = DayReport::FeeTotals;
          FT& ft = slot<FT>(r.fees, [&](const FT& x) { return x.currency == a.currency; }, FT{a.currency});
          ++ft.payments;
          ft.application_fees += to_i64(fee);
        }
      }
    }
    for (const auto& o : *ops) {
      if (o.kind != pos::OperationKind::Refund) continue;
      using RT = DayReport::RefundTotals;
      RT& rt = slot<RT>(r.refunds, [&](const RT& x) { return x.currency == s.currency; }, RT{s.currency});
      if (o.state != pos::OutboxState::Done) {
        ++rt.pending;
        continue;
      }
      ++rt.count;
      if (auto amount = body_field(o.body, "amount")) {
        rt.amount += to_i64(amount);
      } else {
        // A full refund: the whole payment it refers to.
        for (const auto& a : *attempts) {
          if (a.id == o.attempt_id) rt.amount += a.amount;
        }
      }
    }
  }
  return r;
}

std::string day_report_csv(const DayReport& r) {
  std::string out = "section,currency,key,rate_ppm,count,amount,net,tax\n";
  const auto row = [&](std::string_view section, std::string_view currency, std::string_view key, std::int64_t rate,
                       std::int64_t count, std::int64_t amount, std::int64_t net, std::int64_t tax) {
    out += std::string(section) + "," + std::string(currency) + "," + std::string(key) + "," + std::to_string(rate) +
           "," + std::to_string(count) + "," + std::to_string(amount) + "," + std::to_string(net) + "," +
           std::to_string(tax) + "\n";
  };
  for (const auto& c : r.currencies) {
    row("currency", c.currency, "sales", 0, c.sales, c.gross, c.net, c.tax);
    row("currency", c.currency, "tips", 0, c.sales, c.tips, 0, 0);
    row("currency", c.currency, "discounts", 0, c.sales, c.discounts, 0, 0);
    row("currency", c.currency, "voided", 0, c.voided, 0, 0, 0);
    row("currency", c.currency, "open", 0, c.open, 0, 0, 0);
  }
  for (const auto& t : r.tenders) row("tender", t.currency, t.tender, 0, t.count, t.amount, 0, 0);
  for (const auto& t : r.tax_rates) row("tax_rate", t.currency, t.tax_code, t.rate_ppm, 0, t.net + t.tax, t.net, t.tax);
  for (const auto& f : r.fees) row("fee", f.currency, "application_fee", 0, f.payments, f.application_fees, 0, 0);
  for (const auto& f : r.refunds) {
    row("refund", f.currency, "refunded", 0, f.count, f.amount, 0, 0);
    row("refund", f.currency, "pending", 0, f.pending, 0, 0, 0);
  }
  row("attempts", "", "declined", 0, r.attempts.declined, 0, 0, 0);
  row("attempts", "", "declined_after_forward", 0, r.attempts.declined_after_forward, 0, 0, 0);
  row("attempts", "", "in_doubt", 0, r.attempts.in_doubt, 0, 0, 0);
  row("attempts", "", "unsent", 0, r.attempts.unsent, 0, 0, 0);
  return out;
}

}  // namespace till::sync
