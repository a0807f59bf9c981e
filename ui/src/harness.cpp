#include "till/ui/harness.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <utility>
#include <vector>

#include <GLFW/glfw3.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_opengl3.h>
#include <stb_image_write.h>  // Debian's libstb ships the compiled writer: no IMPLEMENTATION here

#include "till/ui/palette.hpp"
#include "till/ui/widgets.hpp"

namespace till::ui {
namespace {

constexpr float kBodyPx = 20.0f;
constexpr float kLargePx = 34.0f;

void apply_style(float scale) {
  ImGui::StyleColorsDark();
  ImGuiStyle& style = ImGui::GetStyle();
  style.WindowRounding = 0.0f;
  style.FrameRounding = 4.0f;
  style.WindowPadding = ImVec2(8.0f, 8.0f);
  // Every button, field and line is one frame high: the body text plus this padding makes it
  // kTouchPx (48 px) at scale 1, the size a finger needs.
  style.FramePadding = ImVec2(10.0f, (kTouchPx - kBodyPx) / 2);
  style.ItemSpacing = ImVec2(10.0f, 8.0f);
  style.ItemInnerSpacing = ImVec2(8.0f, 6.0f);
  style.CellPadding = ImVec2(6.0f, 1.0f);
  style.ScrollbarSize = 22.0f;  // wide enough for a finger
  style.DisabledAlpha = 0.6f;
  style.ScaleAllSizes(scale);

  using namespace palette;
  ImVec4* c = style.Colors;
  c[ImGuiCol_Text] = kText;
  c[ImGuiCol_TextDisabled] = kTextMuted;
  c[ImGuiCol_WindowBg] = kWindow;
  c[ImGuiCol_ChildBg] = ImVec4(0, 0, 0, 0);
  c[ImGuiCol_PopupBg] = kPopup;
  c[ImGuiCol_Border] = kBorder;
  c[ImGuiCol_Separator] = kBorder;
  c[ImGuiCol_FrameBg] = kField;
  c[ImGuiCol_FrameBgHovered] = kFieldHovered;
  c[ImGuiCol_FrameBgActive] = kFieldHovered;
  c[ImGuiCol_TitleBg] = kSelected;
  c[ImGuiCol_TitleBgActive] = kSelected;
  c[ImGuiCol_Button] = kButton;
  c[ImGuiCol_ButtonHovered] = kButtonHovered;
  c[ImGuiCol_ButtonActive] = kButtonActive;
  c[ImGuiCol_Header] = kSelected;
  c[ImGuiCol_HeaderHovered] = kSelectedHovered;
  c[ImGuiCol_HeaderActive] = kSelected;
  c[ImGuiCol_TableRowBg] = ImVec4(0, 0, 0, 0);
  c[ImGuiCol_TableRowBgAlt] = kRowAlt;
  c[ImGuiCol_TableHeaderBg] = kButtonActive;
  c[ImGuiCol_NavHighlight] = kFocus;
  c[ImGuiCol_ModalWindowDimBg] = ImVec4(0, 0, 0, 0.6f);
}

// Latin-1 plus what names, money and messages use beyond it: Latin Extended-A (names), general
// punctuation (dashes, quotes, the ellipsis) and the currency symbols block (EUR, ...).
constexpr ImWchar kGlyphRanges[] = {0x0020, 0x00FF, 0x0100, 0x017F, 0x2010, 0x205E, 0x20A0, 0x20CF, 0};

// Refuses what ImGui would assert on or silently fail to rasterise: a missing or unreadable file,
// or one that does not start like a TrueType/OpenType font.
Status check_font_file(const std::string& path, std::string_view what) {
  const std::string install = std::string("install the Debian package ") + std::string(kFontPackage) +
                              " (scripts/packages.txt) or give another TrueType file";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(ErrorKind::FailedPrecondition, "the " + std::string(what) + " font " + path + " is missing: " + install);
  }
  unsigned char magic[4] = {};
  in.read(reinterpret_cast<char*>(magic), 4);
  const bool truetype = (magic[0] == 0 && magic[1] == 1 && magic[2] == 0 && magic[3] == 0) ||
                        std::memcmp(magic, "true", 4) == 0 || std::memcmp(magic, "OTTO", 4) == 0;
  if (in.gcount() != 4 || !truetype) {
    return fail(ErrorKind::FailedPrecondition,
                "the " + std::string(what) + " font " + path + " is not a TrueType font: " + install);
  }
  return ok();
}

}  // namespace

Result<Fonts> configure_current_context(const DisplayConfig& config) {
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // fixed layout: nothing persisted between runs
  io.LogFilename = nullptr;
  // Arrow keys move the focus frame over every control and Space presses it; Enter stays for
  // fields and the barcode scanner (ImGui 1.86 never presses a button on Enter).
  io.ConfigFlags |= ImGuiConfigFlags_NavEnableKeyboard;
  const float scale = std::clamp(config.font_scale, 0.5f, 3.0f);
  apply_style(scale);

  for (const auto& [path, what] : {std::pair{&config.font_path, "body"}, std::pair{&config.bold_font_path, "bold"},
                                   std::pair{&config.mono_font_path, "monospace"}}) {
    if (Status s = check_font_file(*path, what); !s) return fail(s.error());
  }
  io.Fonts->Clear();
  Fonts fonts;
  fonts.body = io.Fonts->AddFontFromFileTTF(config.font_path.c_str(), kBodyPx * scale, nullptr, kGlyphRanges);
  fonts.bold = io.Fonts->AddFontFromFileTTF(config.bold_font_path.c_str(), kBodyPx * scale, nullptr, kGlyphRanges);
  fonts.large = io.Fonts->AddFontFromFileTTF(config.bold_font_path.c_str(), kLargePx * scale, nullptr, kGlyphRanges);
  fonts.mono = io.Fonts->AddFontFromFileTTF(config.mono_font_path.c_str(), kBodyPx * scale, nullptr, kGlyphRanges);
  // Built here, not lazily by the renderer, so a font stb_truetype cannot read is an error now.
  if (fonts.body == nullptr || fonts.bold == nullptr || fonts.large == nullptr || fonts.mono == nullptr ||
      !io.Fonts->Build()) {
    io.Fonts->Clear();
    return fail(ErrorKind::FailedPrecondition, "the kiosk's fonts (" + config.font_path + ", " +
                                                   config.bold_font_path + ", " + config.mono_font_path +
                                                   ") could not be rasterised: install the Debian package " +
                                                   std::string(kFontPackage));
  }
  io.FontDefault = fonts.body;
  return fonts;
}

Result<std::unique_ptr<HeadlessContext>> HeadlessContext::open(const DisplayConfig& config) {
  std::unique_ptr<HeadlessContext> self(new HeadlessContext(Unconfigured{}));
  if (Status s = self->configure(config); !s) return fail(s.error());
  return self;
}

HeadlessContext::HeadlessContext(const DisplayConfig& config) {
  if (Status s = configure(config); !s) {
    std::fprintf(stderr, "till ui: %s\n", s.error().message.c_str());
    std::abort();
  }
}

Status HeadlessContext::configure(const DisplayConfig& config) {
  IMGUI_CHECKVERSION();
  context_ = ImGui::CreateContext();
  ImGui::SetCurrentContext(context_);
  auto fonts = configure_current_context(config);
  if (!fonts) return fail(fonts.error());
  fonts_ = *fonts;
  ImGuiIO& io = ImGui::GetIO();
  io.DisplaySize = ImVec2(static_cast<float>(config.width), static_cast<float>(config.height));
  // No renderer: build the atlas on the CPU so NewFrame has a font texture.
  unsigned char* pixels = nullptr;
  int w = 0;
  int h = 0;
  io.Fonts->GetTexDataAsRGBA32(&pixels, &w, &h);
  io.Fonts->SetTexID(reinterpret_cast<ImTextureID>(static_cast<std::intptr_t>(1)));
  // Map the keys the views use onto KeysDown[] indices, as a backend would, so tests can press
  // them: the index is simply the ImGuiKey value.
  for (int k = 0; k < ImGuiKey_COUNT; ++k) io.KeyMap[k] = k;
  return ok();
}

HeadlessContext::~HeadlessContext() {
  if (context_ != nullptr) ImGui::DestroyContext(context_);
}

void HeadlessContext::new_frame(float dt) {
  ImGui::SetCurrentContext(context_);
  ImGui::GetIO().DeltaTime = dt > 0.0f ? dt : 1.0f / 60.0f;
  ImGui::NewFrame();
}

void HeadlessContext::end_frame() {
  ImGui::SetCurrentContext(context_);
  ImGui::Render();
}

struct Window::Impl {
  GLFWwindow* window = nullptr;
  ImGuiContext* context = nullptr;
  bool backends = false;
  ~Impl() {
    if (backends) {
      ImGui_ImplOpenGL3_Shutdown();
      ImGui_ImplGlfw_Shutdown();
    }
    if (context != nullptr) ImGui::DestroyContext(context);
    if (window != nullptr) glfwDestroyWindow(window);
    glfwTerminate();
  }
};

Result<std::unique_ptr<Window>> Window::open(const DisplayConfig& config) {
  glfwSetErrorCallback(nullptr);
  if (glfwInit() == GLFW_FALSE) {
    return fail(ErrorKind::Unavailable, "no display: GLFW could not initialise (is DISPLAY set?)");
  }
  std::unique_ptr<Window> self(new Window());
  self->impl_ = std::make_unique<Impl>();
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
  glfwWindowHint(GLFW_RESIZABLE, GLFW_TRUE);
  GLFWwindow* window =
      glfwCreateWindow(config.width, config.height, config.title.c_str(), nullptr, nullptr);
  if (window == nullptr) {
    return fail(ErrorKind::Unavailable, "no OpenGL 3 window could be created on this display");
  }
  self->impl_->window = window;
  glfwMakeContextCurrent(window);
  glfwSwapInterval(config.vsync ? 1 : 0);

  IMGUI_CHECKVERSION();
  self->impl_->context = ImGui::CreateContext();
  ImGui::SetCurrentContext(self->impl_->context);
  auto fonts = configure_current_context(config);
  if (!fonts) return fail(fonts.error());
  self->fonts_ = *fonts;
  if (!ImGui_ImplGlfw_InitForOpenGL(window, true) || !ImGui_ImplOpenGL3_Init("#version 130")) {
    return fail(ErrorKind::Unavailable, "the ImGui OpenGL3 backend could not start");
  }
  self->impl_->backends = true;
  return self;
}

Window::~Window() = default;

bool Window::should_close() const { return glfwWindowShouldClose(impl_->window) != 0; }

void Window::request_close() { glfwSetWindowShouldClose(impl_->window, GLFW_TRUE); }

void Window::begin_frame(void (*inject)(ImGuiIO&, void*), void* user) {
  ImGui::SetCurrentContext(impl_->context);
  glfwPollEvents();
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  if (inject != nullptr) inject(ImGui::GetIO(), user);
  ImGui::NewFrame();
}

Status Window::end_frame(std::string_view screenshot_png) {
  ImGui::Render();
  int w = 0;
  int h = 0;
  glfwGetFramebufferSize(impl_->window, &w, &h);
  glViewport(0, 0, w, h);
  glClearColor(0.08f, 0.08f, 0.10f, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
  Status saved = ok();
  if (!screenshot_png.empty() && w > 0 && h > 0) {
    std::vector<unsigned char> pixels(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 4);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glReadBuffer(GL_BACK);
    glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, pixels.data());
    // OpenGL's first row is the bottom one; PNG's is the top.
    const std::size_t row = static_cast<std::size_t>(w) * 4;
    std::vector<unsigned char> flipped(pixels.size());
    for (int y = 0; y < h; ++y) {
      std::copy_n(pixels.data() + static_cast<std::size_t>(h - 1 - y) * row, row,
                  flipped.data() + static_cast<std::size_t>(y) * row);
    }
    saved = write_png(std::string(screenshot_png), w, h, flipped.data());
  }
  glfwSwapBuffers(impl_->window);
  return saved;
}

Status write_png(const std::string& path, int width, int height, const unsigned char* rgba) {
  if (stbi_write_png(path.c_str(), width, height, 4, rgba, width * 4) == 0) {
    return fail(ErrorKind::Unavailable, "could not write PNG " + path);
  }
  return ok();
}

}  // namespace till::ui
