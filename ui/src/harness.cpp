#include "till/ui/harness.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <vector>

#include <GLFW/glfw3.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_opengl3.h>
#include <stb_image_write.h>  // Debian's libstb ships the compiled writer: no IMPLEMENTATION here

namespace till::ui {
namespace {

constexpr float kBodyPx = 20.0f;
constexpr float kLargePx = 34.0f;

void apply_style(float scale) {
  ImGui::StyleColorsDark();
  ImGuiStyle& style = ImGui::GetStyle();
  style.WindowRounding = 0.0f;
  style.FrameRounding = 4.0f;
  style.FramePadding = ImVec2(10.0f, 8.0f);
  style.ItemSpacing = ImVec2(10.0f, 8.0f);
  style.ScrollbarSize = 22.0f;  // wide enough for a finger
  style.ScaleAllSizes(scale);
}

template <std::size_t N>
std::string first_existing(const std::string_view (&candidates)[N]) {
  for (std::string_view candidate : candidates) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec)) return std::string(candidate);
  }
  return {};
}

}  // namespace

Fonts configure_current_context(const DisplayConfig& config) {
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // fixed layout: nothing persisted between runs
  io.LogFilename = nullptr;
  const float scale = std::clamp(config.font_scale, 0.5f, 3.0f);
  apply_style(scale);

  std::string path = config.font_path;
  if (path.empty()) path = first_existing(kDefaultFontPaths);
  const std::string mono_path = first_existing(kDefaultMonoFontPaths);
  Fonts fonts;
  std::error_code ec;
  if (!path.empty() && std::filesystem::is_regular_file(path, ec)) {
    fonts.body = io.Fonts->AddFontFromFileTTF(path.c_str(), kBodyPx * scale);
    fonts.large = io.Fonts->AddFontFromFileTTF(path.c_str(), kLargePx * scale);
    if (!mono_path.empty()) fonts.mono = io.Fonts->AddFontFromFileTTF(mono_path.c_str(), kBodyPx * scale);
    if (fonts.mono == nullptr) fonts.mono = fonts.body;
  }
  if (fonts.body == nullptr || fonts.large == nullptr) {
    // ImGui's built-in bitmap font is 13 px; scale it up rather than refuse to start.
    io.Fonts->Clear();
    ImFontConfig cfg;
    cfg.SizePixels = 13.0f * std::max(1.0f, std::round(kBodyPx * scale / 13.0f));
    fonts.body = io.Fonts->AddFontDefault(&cfg);
    cfg.SizePixels = 13.0f * std::max(1.0f, std::round(kLargePx * scale / 13.0f));
    fonts.large = io.Fonts->AddFontDefault(&cfg);
    fonts.mono = fonts.body;  // the built-in font is monospaced already
  }
  io.FontDefault = fonts.body;
  return fonts;
}

HeadlessContext::HeadlessContext(const DisplayConfig& config) {
  IMGUI_CHECKVERSION();
  context_ = ImGui::CreateContext();
  ImGui::SetCurrentContext(context_);
  fonts_ = configure_current_context(config);
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
}

HeadlessContext::~HeadlessContext() { ImGui::DestroyContext(context_); }

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
  self->fonts_ = configure_current_context(config);
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
