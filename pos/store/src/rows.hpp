#pragma once
// Internal: the column lists and row mappers of the records more than one repository reads
// (sales, attempts, operations, attention items), and the associated data that binds a sealed
// value to its row. Reading only: every table's writes live in its own repository.

#include <string>
#include <string_view>

#include "connection.hpp"
#include "till/pos/records.hpp"
#include "till/store/journal.hpp"

namespace till::store::detail {

inline constexpr std::string_view kSaleColumns =
    "id, register_id, account_id, currency, state, subtotal, discount_total, tax_total, tip, total, "
    "customer_contact, created_at, updated_at";

inline constexpr std::string_view kAttemptColumns =
    "id, sale_id, number, tender, state, amount, currency, account_id, idempotency_key, offline, "
    "payment_method, card_brand, card_last4, card_exp, card_read_method, card_aid, card_app_label, "
    "card_auth_code, card_tvr, card_cvm, payment_intent_id, decline_code, failure_message, created_at, "
    "updated_at";

inline constexpr std::string_view kOpColumns =
    "id, kind, sale_id, attempt_id, account_id, method, path, body, idempotency_key, state, attempts, "
    "next_attempt_at, first_sent_at, last_error, last_request_id, stripe_object_id, created_at, updated_at";

inline constexpr std::string_view kAttentionColumns =
    "id, sale_id, attempt_id, reason, customer_contact, amount, currency, decline_code, created_at, "
    "resolved_at, resolution";

inline std::string attempt_aad(std::string_view attempt_id) { return "attempt:" + std::string(attempt_id); }
inline std::string op_aad(std::string_view key) { return "outbox:" + std::string(key); }
inline std::string_view tender_name(pos::TenderKind t) { return t == pos::TenderKind::Cash ? "cash" : "card"; }

// The sale row without lines and taxes.
Result<pos::Sale> sale_from_row(const Stmt& st);
// `with_secret`: false for status lists, which never carry (or decrypt) the token.
Result<pos::PaymentAttempt> attempt_from_row(const Connection& c, const Stmt& st, bool with_secret);
// `with_body`: false for status lists, which never carry (or decrypt) the body.
Result<pos::OutboxOperation> op_from_row(const Connection& c, const Stmt& st, bool with_body);
Result<AttentionItem> attention_from_row(const Stmt& st);

}  // namespace till::store::detail
