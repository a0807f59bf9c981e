#pragma once
// The end-of-day report (issue 4, `till-sync report --day`), built from the same ledger the sync
// uses (the store), never from a second bookkeeping (lessons.md 16): totals per currency, per
// tender, per tax rate, the platform's application fees and refunds. Days are UTC calendar days.
//
// Core thread (reads the Store; a ReadOnly store is enough). Pure formatting functions: any
// thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/store/store.hpp"

namespace till::sync {

struct DayReport {
  std::string day;  // YYYY-MM-DD (UTC)

  struct CurrencyTotals {
    std::string currency;
    std::int64_t sales = 0;       // paid or partially paid
    std::int64_t gross = 0;       // sale totals (tips included)
    std::int64_t net = 0;         // before tax
    std::int64_t tax = 0;
    std::int64_t tips = 0;
    std::int64_t discounts = 0;
    std::int64_t voided = 0;      // voided sales (count)
    std::int64_t open = 0;        // sales still open or tendering (count)
  };
  struct TenderTotals {
    std::string tender;  // card | card_stored_offline | cash
    std::string currency;
    std::int64_t count = 0;
    std::int64_t amount = 0;
  };
  struct TaxRateTotals {
    std::string currency;
    std::string tax_code;
    std::int64_t rate_ppm = 0;
    std::int64_t net = 0;
    std::int64_t tax = 0;
  };
  struct FeeTotals {
    std::string currency;
    std::int64_t payments = 0;          // approved card payments with a fee
    std::int64_t application_fees = 0;  // the platform's application_fee_amount, as sent
  };
  struct RefundTotals {
    std::string currency;
    std::int64_t count = 0;
    std::int64_t amount = 0;  // refunds Stripe confirmed (operations done)
    std::int64_t pending = 0;  // refunds still queued (count)
  };
  struct AttentionCounts {
    std::int64_t declined = 0;
    std::int64_t declined_after_forward = 0;
    std::int64_t in_doubt = 0;
    std::int64_t unsent = 0;  // submitting / stored_offline
  };

  std::vector<CurrencyTotals> currencies;
  std::vector<TenderTotals> tenders;
  std::vector<TaxRateTotals> tax_rates;
  std::vector<FeeTotals> fees;
  std::vector<RefundTotals> refunds;
  AttentionCounts attempts;
};

// InvalidArgument unless `day` is a valid YYYY-MM-DD.
Result<Timestamp> parse_day(std::string_view day);
Result<DayReport> build_day_report(store::Store& store, std::string_view day);

// CSV with a header row: section,currency,key,rate_ppm,count,amount,net,tax (amounts in minor
// units). Sections: currency, tender, tax_rate, fee, refund, attempts.
std::string day_report_csv(const DayReport& report);

}  // namespace till::sync
