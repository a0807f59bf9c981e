// CPU time per kiosk frame, headless (no GPU: ImGui builds the draw lists, nothing is
// rasterised), with a 1,000-product catalog and a 100-line cart (issue 6). Prints figures; asserts
// nothing. Also the reducer's cost of one AddProduct on a 100-line cart, which the frame pays
// when the cashier taps a tile.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/random.hpp"
#include "till/pos/checkout.hpp"
#include "till/ui/harness.hpp"
#include "till/ui/views.hpp"

namespace {

using namespace till;
using Steady = std::chrono::steady_clock;

pos::Catalog big_catalog() {
  std::vector<pos::TaxClass> taxes{{"standard", "Standard", 88'750}, {"zero", "Zero", 0}};
  std::vector<pos::Category> categories;
  for (int c = 0; c < 20; ++c) categories.push_back({"cat" + std::to_string(c), "Category " + std::to_string(c)});
  std::vector<pos::Product> products;
  for (int i = 0; i < 1000; ++i) {
    char barcode[16];
    std::snprintf(barcode, sizeof barcode, "%013d", 4'000'000 + i);
    products.push_back({"p" + std::to_string(i), "Product number " + std::to_string(i), "SKU" + std::to_string(i), barcode,
                        100 + (i * 37) % 5000, i % 3 == 0 ? "zero" : "standard", "cat" + std::to_string(i % 20), false});
  }
  auto catalog = pos::Catalog::create(pos::Currency::of("usd"), taxes, categories, products);
  if (!catalog) {
    std::fprintf(stderr, "catalog: %s\n", catalog.error().message.c_str());
    std::exit(1);
  }
  return std::move(*catalog);
}

struct Stats {
  double mean = 0, p50 = 0, p95 = 0, max = 0;
};

Stats summarise(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  Stats s;
  for (double v : ms) s.mean += v;
  s.mean /= static_cast<double>(ms.size());
  s.p50 = ms[ms.size() / 2];
  s.p95 = ms[ms.size() * 95 / 100];
  s.max = ms.back();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("till_kiosk_frame_bench %s\n", TILL_VERSION);
      return 0;
    }
  }
  ui::KioskConfig config;
  config.register_id = "reg_bench";
  config.account_id = "acct_bench";
  config.manager_pin = "1234";
  config.catalog = big_catalog();
  FakeClock fake;
  SeededRandom random(1);
  auto context = [&] {
    return pos::Context{fake.now(), random, config.register_id, config.account_id, config.catalog.currency(),
                        config.catalog, config.risk, config.merchant, config.manager_pin, config.capture_method};
  };
  pos::Model model;
  model = pos::update(model, pos::ReaderStatusChanged{true, "bench reader", ""}, context()).model;
  for (int i = 0; i < 100; ++i) {
    model = pos::update(model, pos::AddProduct{"p" + std::to_string(i * 7), 1 + i % 3}, context()).model;
  }
  std::printf("kiosk frame bench: %zu products, %zu cart lines, 1280x800, headless (CPU only)\n",
              config.catalog.products().size(), model.cart.lines.size());

  // Reducer: one more tile tap on a 100-line cart (recomputes the totals).
  {
    std::vector<double> ms;
    for (int i = 0; i < 300; ++i) {
      const auto t0 = Steady::now();
      auto u = pos::update(model, pos::AddProduct{"p999", 1}, context());
      const auto t1 = Steady::now();
      if (u.model.cart.lines.size() < 100) return 1;
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    const Stats s = summarise(ms);
    std::printf("  reducer AddProduct on 100 lines: mean %.3f ms  p50 %.3f  p95 %.3f  max %.3f\n", s.mean, s.p50,
                s.p95, s.max);
  }

  ui::HeadlessContext ctx;
  ui::ViewState state;
  auto run = [&](const char* name, const pos::Model& m, int frames) {
    std::vector<double> ms;
    std::size_t dispatched = 0;
    for (int f = 0; f < frames + 10; ++f) {
      const auto t0 = Steady::now();
      ctx.new_frame();
      ui::ViewEnv env{ctx.fonts(), nullptr, fake.now(), config, [&](pos::Action) { ++dispatched; }};
      ui::draw_kiosk(m, state, env);
      ctx.end_frame();
      const auto t1 = Steady::now();
      if (f >= 10) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());  // after warm-up
    }
    const Stats s = summarise(ms);
    std::printf("  %-34s mean %.3f ms  p50 %.3f  p95 %.3f  max %.3f  (%d frames, %d vertices)\n", name, s.mean, s.p50,
                s.p95, s.max, frames, ImGui::GetDrawData()->TotalVtxCount);
  };
  run("sell, all 1,000 products", model, 500);
  std::strcpy(state.sell.search.data(), "number 9");
  run("sell, search 'number 9'", model, 500);
  state.sell.search.fill('\0');
  const pos::Model paying = pos::update(model, pos::Charge{}, context()).model;
  run("payment, collecting", paying, 500);
  const pos::Model office = pos::update(model, pos::OpenBackOffice{config.manager_pin}, context()).model;
  run("back office", office, 500);
  return 0;
}
