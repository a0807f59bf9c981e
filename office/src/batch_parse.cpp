// parse_batch(): the sync batch's JSON schema, checked strictly (unknown fields are refused, so
// a register cannot send something the content hash covers but the office never stores).

#include <set>

#include <nlohmann/json.hpp>

#include "till/office/ingest.hpp"

namespace till::office {

using nlohmann::json;

namespace {

constexpr std::int64_t kMaxAmount = 1'000'000'000'000;  // 10^12 minor units
constexpr std::size_t kMaxId = 128;
constexpr std::size_t kMaxText = 200;

// Reads fields of one JSON object, remembering the first problem.
class Fields {
 public:
  Fields(const json& obj, std::string where) : obj_(obj), where_(std::move(where)) {}

  std::string text(const char* key, bool required = true, std::size_t max = kMaxText) {
    seen_.insert(key);
    auto it = obj_.find(key);
    if (it == obj_.end()) {
      if (required) problem(std::string(key) + " is required");
      return {};
    }
    if (!it->is_string()) return problem(std::string(key) + " must be a string"), std::string();
    const auto& s = it->get_ref<const std::string&>();
    if (s.size() > max) return problem(std::string(key) + " is longer than " + std::to_string(max)), std::string();
    if (s.find('\0') != std::string::npos) return problem(std::string(key) + " contains NUL"), std::string();
    if (required && s.empty()) return problem(std::string(key) + " must not be empty"), std::string();
    return s;
  }
  std::string id(const char* key) { return text(key, true, kMaxId); }
  std::int64_t amount(const char* key, std::int64_t min = 0, std::int64_t max = kMaxAmount) {
    seen_.insert(key);
    auto it = obj_.find(key);
    if (it == obj_.end()) return problem(std::string(key) + " is required"), 0;
    if (!it->is_number_integer()) return problem(std::string(key) + " must be an integer"), 0;
    const auto v = it->get<std::int64_t>();
    if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
      return problem(std::string(key) + " is out of range"), 0;
    }
    if (v < min || v > max) return problem(std::string(key) + " is out of range"), 0;
    return v;
  }
  // Unix milliseconds, up to the year 5138.
  std::int64_t time_ms(const char* key) { return amount(key, 1, 100'000'000'000'000); }
  std::string one_of(const char* key, std::initializer_list<const char*> allowed) {
    auto v = text(key);
    if (error_.empty()) {
      for (const char* a : allowed) {
        if (v == a) return v;
      }
      problem(std::string(key) + " has an unknown value");
    }
    return v;
  }
  std::string currency(const char* key) {
    auto c = text(key);
    if (error_.empty() && (c.size() != 3 || c.find_first_not_of("abcdefghijklmnopqrstuvwxyz") != std::string::npos)) {
      problem(std::string(key) + " must be 3 lowercase letters");
    }
    return c;
  }
  void mark(const char* key) { seen_.insert(key); }
  // Call last: refuses fields nobody asked for.
  const std::string& finish() {
    if (error_.empty()) {
      for (const auto& [k, v] : obj_.items()) {
        if (!seen_.count(k)) {
          problem("unknown field " + k);
          break;
        }
      }
    }
    return error_;
  }

 private:
  void problem(std::string what) {
    if (error_.empty()) error_ = where_ + "." + what;
  }
  const json& obj_;
  std::string where_;
  std::set<std::string, std::less<>> seen_;
  std::string error_;
};

Result<BatchRecord> parse_record(const json& r, const std::string& where) {
  if (!r.is_object()) return fail(ErrorKind::InvalidArgument, where + " must be an object");
  Fields f(r, where);
  BatchRecord out;
  out.kind = f.one_of("kind", {"sale", "payment", "refund", "void"});
  out.id = f.id("id");
  if (out.kind == "sale") {
    SaleRecord s;
    s.id = out.id;
    s.created_at_ms = f.time_ms("created_at_ms");
    s.currency = f.currency("currency");
    s.subtotal = f.amount("subtotal");
    s.discount_total = f.amount("discount_total");
    s.tax_total = f.amount("tax_total");
    s.tip = f.amount("tip");
    s.total = f.amount("total");
    f.mark("lines");
    if (const auto& e = f.finish(); !e.empty()) return fail(ErrorKind::InvalidArgument, e);
    auto lines = r.find("lines");
    if (lines == r.end() || !lines->is_array() || lines->size() > 500) {
      return fail(ErrorKind::InvalidArgument, where + ".lines must be an array of at most 500 objects");
    }
    for (const auto& l : *lines) {
      if (!l.is_object()) return fail(ErrorKind::InvalidArgument, where + ".lines must hold objects");
    }
    s.lines_json = lines->dump();
    out.record = std::move(s);
  } else if (out.kind == "payment") {
    PaymentRecord p;
    p.id = out.id;
    p.sale_id = f.id("sale_id");
    p.tender = f.one_of("tender", {"cash", "card"});
    p.amount = f.amount("amount", 1);
    p.currency = f.currency("currency");
    p.outcome = f.one_of("outcome", {"approved", "declined", "canceled", "stored_offline"});
    p.card_brand = f.text("card_brand", false, 32);
    p.card_last4 = f.text("card_last4", false, 4);
    p.taken_at_ms = f.time_ms("taken_at_ms");
    p.payment_method = f.text("payment_method", false);
    p.payment_intent = f.text("payment_intent", false);
    if (p.card_last4.find_first_not_of("0123456789") != std::string::npos) {
      return fail(ErrorKind::InvalidArgument, where + ".card_last4 must be digits");
    }
    if (p.tender == "cash" && (p.outcome == "stored_offline" || !p.payment_method.empty())) {
      return fail(ErrorKind::InvalidArgument, where + ": a cash payment has no card outcome or payment_method");
    }
    if (p.outcome == "stored_offline" && p.payment_method.empty()) {
      return fail(ErrorKind::InvalidArgument, where + ".payment_method is required for stored_offline");
    }
    out.record = std::move(p);
  } else if (out.kind == "refund") {
    RefundRecord x;
    x.id = out.id;
    x.sale_id = f.id("sale_id");
    x.payment_id = f.id("payment_id");
    x.amount = f.amount("amount", 1);
    x.currency = f.currency("currency");
    x.reason = f.text("reason", false);
    x.created_at_ms = f.time_ms("created_at_ms");
    out.record = std::move(x);
  } else {
    VoidRecord v;
    v.id = out.id;
    v.sale_id = f.id("sale_id");
    v.reason = f.text("reason", false);
    v.created_at_ms = f.time_ms("created_at_ms");
    out.record = std::move(v);
  }
  if (const auto& e = f.finish(); !e.empty()) return fail(ErrorKind::InvalidArgument, e);
  out.canonical = r.dump();  // nlohmann's object keeps keys sorted: canonical by construction
  return out;
}

}  // namespace

Result<Batch> parse_batch(std::string_view json_text) {
  const json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorKind::InvalidArgument, "the batch must be a JSON object");
  Fields f(j, "batch");
  Batch b;
  b.register_id = f.id("register_id");
  b.store_id = f.id("store_id");
  f.mark("records");
  if (const auto& e = f.finish(); !e.empty()) return fail(ErrorKind::InvalidArgument, e);
  auto records = j.find("records");
  if (records == j.end() || !records->is_array()) {
    return fail(ErrorKind::InvalidArgument, "batch.records must be an array");
  }
  if (records->size() > kMaxBatchRecords) {
    return fail(ErrorKind::InvalidArgument, "a batch holds at most " + std::to_string(kMaxBatchRecords) + " records");
  }
  std::set<std::pair<std::string, std::string>> seen;
  for (std::size_t i = 0; i < records->size(); ++i) {
    auto r = parse_record((*records)[i], "records[" + std::to_string(i) + "]");
    if (!r) return fail(r.error());
    if (!seen.emplace(r->kind, r->id).second) {
      return fail(ErrorKind::InvalidArgument, "records[" + std::to_string(i) + "] repeats " + r->kind + " " + r->id);
    }
    b.records.push_back(std::move(*r));
  }
  return b;
}

}  // namespace till::office
