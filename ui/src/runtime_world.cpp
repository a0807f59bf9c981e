#include "till/ui/runtime_world.hpp"

namespace till::ui {

KioskConfig kiosk_config(const app::CatalogDocument& doc, const app::RuntimeConfig& runtime, std::string manager_pin) {
  KioskConfig c;
  c.register_id = runtime.register_id;  // until Kiosk::set_register gives the stored identity
  c.register_name = runtime.register_name;
  c.account_id = runtime.account_id;
  c.catalog = doc.catalog;
  c.merchant = doc.merchant;
  c.manager_pin = std::move(manager_pin);
  c.api_key = runtime.api_key;
  c.fee_rule = runtime.fee_rule;
  c.capture_method = runtime.capture_method;
  c.location_id = runtime.location_id;
  return c;
}

}  // namespace till::ui
