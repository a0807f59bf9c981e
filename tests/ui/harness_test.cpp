#include "till/ui/harness.hpp"

#include <catch2/catch.hpp>

#include "till/ui/widgets.hpp"

using namespace till::ui;

TEST_CASE("a headless context renders frames without a window and keeps no ini file") {
  HeadlessContext ctx;
  REQUIRE(ImGui::GetIO().IniFilename == nullptr);
  REQUIRE(ctx.fonts().body != nullptr);
  REQUIRE(ctx.fonts().large != nullptr);
  // An auto-sized window is hidden on its first frame; a fixed-size one (like the kiosk's) is not.
  ctx.new_frame();
  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(ImVec2(300, 200));
  ImGui::Begin("probe");
  ImGui::TextUnformatted("hello");
  ImGui::End();
  ctx.end_frame();
  REQUIRE(ImGui::GetDrawData() != nullptr);
  REQUIRE(ImGui::GetDrawData()->TotalVtxCount > 0);
}

TEST_CASE("a touch button reports a click injected through io.MousePos and io.MouseDown") {
  HeadlessContext ctx;
  FrameLog log;
  int presses = 0;
  auto frame = [&] {
    log.clear();
    ctx.new_frame();
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImVec2(400, 400));
    ImGui::Begin("probe");
    if (touch_button(&log, "Press me##x", ImVec2(200, 80))) ++presses;
    touch_button(&log, "Disabled", ImVec2(200, 80), false);
    ImGui::End();
    ctx.end_frame();
  };
  frame();
  const LoggedItem* b = log.button("Press me");
  REQUIRE(b != nullptr);
  ImGuiIO& io = ImGui::GetIO();
  io.MousePos = ImVec2((b->min.x + b->max.x) / 2, (b->min.y + b->max.y) / 2);
  io.MouseDown[0] = true;
  frame();
  CHECK(presses == 0);  // a button fires on release, like a touch screen
  io.MouseDown[0] = false;
  frame();
  CHECK(presses == 1);

  const LoggedItem* d = log.button("Disabled");
  REQUIRE(d != nullptr);
  CHECK_FALSE(d->enabled);
}

TEST_CASE("a larger font scale gives larger fonts") {
  float small_size = 0;
  {
    DisplayConfig config;
    config.font_scale = 1.0f;
    HeadlessContext ctx(config);
    small_size = ctx.fonts().body->FontSize;
  }
  DisplayConfig config;
  config.font_scale = 2.0f;
  HeadlessContext ctx(config);
  CHECK(ctx.fonts().body->FontSize > small_size);
}
