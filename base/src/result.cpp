#include "till/base/result.hpp"

namespace till {

std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::InvalidArgument: return "invalid_argument";
    case ErrorKind::FailedPrecondition: return "failed_precondition";
    case ErrorKind::NotFound: return "not_found";
    case ErrorKind::Unavailable: return "unavailable";
    case ErrorKind::ResourceExhausted: return "resource_exhausted";
    case ErrorKind::OutcomeUnknown: return "outcome_unknown";
    case ErrorKind::Declined: return "declined";
    case ErrorKind::Cancelled: return "cancelled";
    case ErrorKind::Unauthenticated: return "unauthenticated";
    case ErrorKind::PermissionDenied: return "permission_denied";
    case ErrorKind::DataLoss: return "data_loss";
    case ErrorKind::Internal: return "internal";
  }
  return "internal";
}

std::string Error::describe() const {
  std::string out(to_string(kind));
  out += ": ";
  out += message;
  if (stripe) {
    if (!stripe->code.empty()) out += " [code=" + stripe->code + "]";
    if (!stripe->decline_code.empty()) out += " [decline_code=" + stripe->decline_code + "]";
    if (!stripe->request_id.empty()) out += " [request_id=" + stripe->request_id + "]";
  }
  return out;
}

}  // namespace till
