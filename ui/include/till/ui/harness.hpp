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

// How the kiosk looks. The layout is fixed (no imgui.ini) and sized from the display, so the same
// numbers work at 1280x800 and 1920x1080; font_scale is the cashier's readability setting.
struct DisplayConfig {
  int width = 1280;
  int height = 800;
  float font_scale = 1.0f;   // multiplies the base font sizes (0.5 .. 3.0)
  std::string font_path;     // empty: the first Debian font found, else ImGui's built-in font
  std::string title = "Till";
  bool vsync = true;         // scripted runs turn it off to run as fast as the machine allows
};

// Fonts shared by every view. `large` is for totals and payment prompts, `mono` for receipts
// (42-column text that must line up).
struct Fonts {
  ImFont* body = nullptr;
  ImFont* large = nullptr;
  ImFont* mono = nullptr;
};

// Where the kiosk looks for a TrueType font when none is configured (fonts-dejavu-core).
inline constexpr std::string_view kDefaultFontPaths[] = {
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
};
inline constexpr std::string_view kDefaultMonoFontPaths[] = {
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
};

// Applies the kiosk style, disables imgui.ini and loads the fonts into the CURRENT context's atlas
// (the atlas is then built by the renderer backend or by HeadlessContext). UI thread only. Never
// fails: an unreadable font file falls back to ImGui's built-in font, scaled.
Fonts configure_current_context(const DisplayConfig& config);

// An ImGui context with no window (the 1.86 example_null pattern): font atlas built on the CPU,
// DisplaySize set by hand, NewFrame/Render without a renderer. Tests inject input through
// ImGui::GetIO() between new_frame() calls. Single-threaded; creating two at once is allowed
// (each new one becomes current).
class HeadlessContext {
 public:
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
  ImGuiContext* context_ = nullptr;
  Fonts fonts_;
};

// A GLFW window with an OpenGL 3 context and the ImGui GLFW/OpenGL3 backends. UI thread only (the
// thread that called open(); GLFW requires the main thread).
class Window {
 public:
  // Unavailable when there is no display or no OpenGL (the message says which).
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
