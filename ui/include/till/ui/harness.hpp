#pragma once
// The ImGui harness: one place that creates ImGui contexts, fonts and style, for both the real
// GLFW + OpenGL3 window and the window-less (headless) context tests and benches use. GLFW and
// OpenGL stay behind the .cpp (style.md: public headers never include GLFW).

#include <memory>
#include <string>
#include <string_view>

#include <imgui.h>

#include "till/base/result.hpp"

namespace till::ui {

// The kiosk's fonts, from Debian's fonts-dejavu-core (scripts/packages.txt). They are loaded by
// path and never replaced by ImGui's built-in bitmap font: every layout is measured in the font
// the kiosk ships with, and a wider fallback font pushed controls off the screen.
inline constexpr std::string_view kFontPackage = "fonts-dejavu-core";
inline constexpr std::string_view kDefaultFontPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
inline constexpr std::string_view kDefaultBoldFontPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
inline constexpr std::string_view kDefaultMonoFontPath = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";

// How the kiosk looks. The layout is fixed (no imgui.ini) and computed from the display size and
// the measured text, so the same code works from 800x600 to 1920x1080; font_scale is the
// cashier's readability setting.
struct DisplayConfig {
  int width = 1280;
  int height = 800;
  float font_scale = 1.0f;   // multiplies the base font sizes (0.5 .. 3.0)
  std::string font_path{kDefaultFontPath};            // body text
  std::string bold_font_path{kDefaultBoldFontPath};   // headings, totals, payment prompts
  std::string mono_font_path{kDefaultMonoFontPath};   // receipts (42 columns that must line up)
  std::string title = "Till";
  bool vsync = true;         // scripted runs turn it off to run as fast as the machine allows
};

// Fonts shared by every view. `large` (bold) is for totals, headings and payment prompts,
// `bold` for emphasis at body size, `mono` for receipts.
struct Fonts {
  ImFont* body = nullptr;
  ImFont* bold = nullptr;
  ImFont* large = nullptr;
  ImFont* mono = nullptr;
};

// Applies the kiosk style, disables imgui.ini, loads the fonts into the CURRENT context's atlas
// and builds it. UI thread only. Fails with FailedPrecondition naming the file and the Debian
// package when a font file is missing or is not a TrueType font; the atlas is then left empty
// (there is no silent fallback to ImGui's built-in font).
Result<Fonts> configure_current_context(const DisplayConfig& config);

// An ImGui context with no window (the 1.86 example_null pattern): font atlas built on the CPU,
// DisplaySize set by hand, NewFrame/Render without a renderer. Tests inject input through
// ImGui::GetIO() between new_frame() calls. Single-threaded; creating two at once is allowed
// (each new one becomes current).
class HeadlessContext {
 public:
  // Fails as configure_current_context does (no context is left behind).
  static Result<std::unique_ptr<HeadlessContext>> open(const DisplayConfig& config = {});
  // For tests and benches, where a missing font is a broken machine: writes the error (naming
  // the package to install) to stderr and aborts. Programs use open().
  explicit HeadlessContext(const DisplayConfig& config = {});
  ~HeadlessContext();
  HeadlessContext(const HeadlessContext&) = delete;
  HeadlessContext& operator=(const HeadlessContext&) = delete;

  // Makes this context current and starts a frame of dt seconds (> 0).
  void new_frame(float dt = 1.0f / 60.0f);
  // Ends the frame (ImGui::Render); draw data is produced but not rasterised.
  void end_frame();
  const Fonts& fonts() const noexcept { return fonts_; }
  ImGuiContext* context() const noexcept { return context_; }

 private:
  struct Unconfigured {};
  explicit HeadlessContext(Unconfigured) {}
  Status configure(const DisplayConfig& config);

  ImGuiContext* context_ = nullptr;
  Fonts fonts_;
};

// A GLFW window with an OpenGL 3 context and the ImGui GLFW/OpenGL3 backends. UI thread only (the
// thread that called open(); GLFW requires the main thread).
class Window {
 public:
  // Unavailable when there is no display or no OpenGL (the message says which);
  // FailedPrecondition when the fonts cannot be loaded (configure_current_context).
  static Result<std::unique_ptr<Window>> open(const DisplayConfig& config);
  ~Window();
  Window(const Window&) = delete;
  Window& operator=(const Window&) = delete;

  bool should_close() const;
  void request_close();
  // Polls events and starts an ImGui frame. `inject` (may be empty) runs after the GLFW backend
  // has written the real mouse state and before ImGui::NewFrame: the script hook uses it to
  // click like a finger would.
  void begin_frame(void (*inject)(ImGuiIO&, void*) = nullptr, void* user = nullptr);
  // Renders the frame. With a non-empty path, also saves what was rendered as a PNG (read back
  // before the buffer swap); fails with Unavailable when the file cannot be written.
  Status end_frame(std::string_view screenshot_png = {});
  const Fonts& fonts() const noexcept { return fonts_; }

 private:
  Window() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Fonts fonts_;
};

// Saves tightly packed RGBA pixels (top row first) as a PNG. Unavailable on a write error.
Status write_png(const std::string& path, int width, int height, const unsigned char* rgba);

}  // namespace till::ui
