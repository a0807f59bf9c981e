#include "till/ui/harness.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

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

TEST_CASE("the kiosk's fonts are DejaVu Sans, Sans Bold and Sans Mono loaded by path, never ImGui's built-in font") {
  auto ctx = HeadlessContext::open();
  REQUIRE(ctx.has_value());
  const Fonts& f = (*ctx)->fonts();
  REQUIRE(f.body != nullptr);
  REQUIRE(f.bold != nullptr);
  REQUIRE(f.large != nullptr);
  REQUIRE(f.mono != nullptr);
  CHECK(std::string(f.body->GetDebugName()).rfind("DejaVuSans.ttf", 0) == 0);
  CHECK(std::string(f.bold->GetDebugName()).rfind("DejaVuSans-Bold.ttf", 0) == 0);
  CHECK(std::string(f.large->GetDebugName()).rfind("DejaVuSans-Bold.ttf", 0) == 0);
  CHECK(std::string(f.mono->GetDebugName()).rfind("DejaVuSansMono.ttf", 0) == 0);
  CHECK(f.large->FontSize > f.body->FontSize);
  ImFontAtlas* atlas = ImGui::GetIO().Fonts;
  CHECK(atlas->IsBuilt());
  for (ImFont* font : atlas->Fonts) {
    INFO(font->GetDebugName());
    CHECK(std::string(font->GetDebugName()).find("Proggy") == std::string::npos);
  }
  // The receipt font is monospaced: 42 columns line up.
  ImGui::SetCurrentContext((*ctx)->context());
  CHECK(f.mono->CalcTextSizeA(f.mono->FontSize, 1e9f, 0, "iiiiiiiiii").x ==
        f.mono->CalcTextSizeA(f.mono->FontSize, 1e9f, 0, "WWWWWWWWWW").x);
}

TEST_CASE("a missing font file is an error naming the file and the Debian package, not a silent fallback") {
  for (int which = 0; which < 3; ++which) {
    DisplayConfig config;
    const std::string missing = "/nonexistent/till/NoSuchFont.ttf";
    (which == 0 ? config.font_path : which == 1 ? config.bold_font_path : config.mono_font_path) = missing;
    auto ctx = HeadlessContext::open(config);
    INFO("font " << which);
    REQUIRE_FALSE(ctx.has_value());
    CHECK(ctx.error().kind == till::ErrorKind::FailedPrecondition);
    CHECK(ctx.error().message.find(missing) != std::string::npos);
    CHECK(ctx.error().message.find("fonts-dejavu-core") != std::string::npos);
  }
}

TEST_CASE("a file that is not a TrueType font is refused with the package to install") {
  const std::filesystem::path junk = std::filesystem::temp_directory_path() / "till-ui-not-a-font.ttf";
  {
    std::ofstream out(junk, std::ios::binary);
    out << "this is not a font";
  }
  DisplayConfig config;
  config.font_path = junk.string();
  auto ctx = HeadlessContext::open(config);
  std::filesystem::remove(junk);
  REQUIRE_FALSE(ctx.has_value());
  CHECK(ctx.error().message.find("not a TrueType font") != std::string::npos);
  CHECK(ctx.error().message.find("fonts-dejavu-core") != std::string::npos);
}
