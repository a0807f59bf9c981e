#include "till/pos/risk.hpp"

#include <algorithm>

#include "till/pos/money.hpp"

namespace till::pos {
namespace {

std::string money_text(std::int64_t minor, const std::string& currency) {
  auto c = Currency::parse(currency);
  if (!c) return std::to_string(minor) + " " + currency;
  return Money(minor, *c).format();
}

std::string age_text(std::chrono::milliseconds d) {
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(d).count();
  if (minutes % 60 == 0) return std::to_string(minutes / 60) + " h";
  return std::to_string(minutes) + " min";
}

Refused refuse(RefusalReason r, std::string message) { return Refused{r, std::move(message)}; }

}  // namespace

RiskConfig RiskConfig::safe_defaults() {
  RiskConfig c;
  for (const char* code : {"usd", "cad", "eur", "gbp", "aud", "nzd"}) {
    c.caps[code] = CurrencyCaps{10'000, 100'000};  // 100.00 per payment, 1000.00 stored
  }
  c.caps["jpy"] = CurrencyCaps{15'000, 150'000};
  return c;
}

RiskDecision evaluate(const RiskConfig& config, const StoredTotals& stored, const OfflinePayment& p) {
  if (!config.enabled) return refuse(RefusalReason::Disabled, "offline payments are turned off (require online)");
  const auto caps = config.caps.find(p.currency);
  if (caps == config.caps.end()) {
    return refuse(RefusalReason::CurrencyNotAllowed, "no offline limits are set for currency '" + p.currency + "'");
  }
  if (p.amount > caps->second.per_transaction_max) {
    return refuse(RefusalReason::OverTransactionMax,
                  "offline limit: at most " + money_text(caps->second.per_transaction_max, p.currency) + " per payment");
  }
  StoredCurrency here;
  if (auto it = stored.by_currency.find(p.currency); it != stored.by_currency.end()) here = it->second;
  // Compare without adding, so huge stored amounts cannot overflow.
  if (here.amount > caps->second.stored_total_max || p.amount > caps->second.stored_total_max - here.amount) {
    return refuse(RefusalReason::OverStoredTotal,
                  "offline limit: at most " + money_text(caps->second.stored_total_max, p.currency) +
                      " stored; " + money_text(here.amount, p.currency) + " is waiting to be forwarded");
  }
  if (stored.count >= config.max_stored_count) {
    return refuse(RefusalReason::OverStoredCount, "offline limit: at most " + std::to_string(config.max_stored_count) +
                                                      " stored payments; forward them first");
  }
  if (stored.oldest && p.now - *stored.oldest > config.max_age) {
    return refuse(RefusalReason::TooOld, "a stored payment is older than " + age_text(config.max_age) +
                                             "; forward it before storing more");
  }
  if (config.refuse_interac && (p.brand == "interac" || p.read_method.find("interac") != std::string::npos)) {
    return refuse(RefusalReason::Interac, "Interac cards cannot be taken offline");
  }
  if (config.refuse_swipe && p.read_method.rfind("magnetic_stripe", 0) == 0) {
    return refuse(RefusalReason::Swipe, "swiped cards cannot be taken offline; insert or tap the card");
  }
  if (config.refuse_online_pin && p.online_pin_required) {
    return refuse(RefusalReason::OnlinePin, "this card needs online PIN, which cannot be checked offline");
  }
  if (!p.brand.empty() &&
      std::find(config.allowed_brands.begin(), config.allowed_brands.end(), p.brand) == config.allowed_brands.end()) {
    return refuse(RefusalReason::BrandNotAllowed, p.brand + " cards are not accepted offline");
  }
  return Allowed{};
}

Headroom headroom(const RiskConfig& config, const StoredTotals& stored, const std::string& currency) {
  Headroom h;
  h.currency = currency;
  StoredCurrency here;
  if (auto it = stored.by_currency.find(currency); it != stored.by_currency.end()) here = it->second;
  if (auto caps = config.caps.find(currency); caps != config.caps.end() && config.enabled) {
    h.amount = std::max<std::int64_t>(0, caps->second.stored_total_max - std::max<std::int64_t>(0, here.amount));
    h.per_transaction_max = caps->second.per_transaction_max;
  }
  h.count = config.enabled ? std::max<std::int64_t>(0, config.max_stored_count - stored.count) : 0;
  return h;
}

std::string_view to_string(RefusalReason r) noexcept {
  switch (r) {
    case RefusalReason::Disabled: return "disabled";
    case RefusalReason::CurrencyNotAllowed: return "currency_not_allowed";
    case RefusalReason::OverTransactionMax: return "over_transaction_max";
    case RefusalReason::OverStoredTotal: return "over_stored_total";
    case RefusalReason::OverStoredCount: return "over_stored_count";
    case RefusalReason::TooOld: return "too_old";
    case RefusalReason::BrandNotAllowed: return "brand_not_allowed";
    case RefusalReason::OnlinePin: return "online_pin";
    case RefusalReason::Interac: return "interac";
    case RefusalReason::Swipe: return "swipe";
  }
  return "unknown";
}

}  // namespace till::pos
