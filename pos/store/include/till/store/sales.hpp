#pragma once
// Sales with their lines and tax totals (tables sales, sale_lines, tax_lines). A sale is never
// deleted (a trigger refuses it); its state changes only through pos::transition() and every
// change is audited in the same transaction. See repository.hpp for how writes commit.

#include <string_view>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/pos/records.hpp"
#include "till/pos/states.hpp"
#include "till/store/repository.hpp"

namespace till::store {

class SaleRepository : public Repository {
 public:
  using Repository::Repository;

  // Insert the sale with its lines and taxes, or rewrite a non-final sale (cart edited after
  // tendering -> open -> tendering): lines and taxes are replaced, the state change is checked.
  // InvalidArgument without id or currency; FailedPrecondition for a final sale or an illegal move.
  Status persist(const pos::Sale& sale);
  // NotFound without the sale; FailedPrecondition when pos::transition() refuses the move.
  Status update_state(std::string_view sale_id, pos::SaleState to);

  // With lines and taxes. NotFound when there is no such sale.
  Result<pos::Sale> get(std::string_view sale_id);
  // Sales created in [from, to), oldest first, with lines and taxes (for day reports).
  Result<std::vector<pos::Sale>> between(Timestamp from, Timestamp to);
};

}  // namespace till::store
