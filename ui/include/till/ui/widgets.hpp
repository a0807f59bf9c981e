#pragma once
// Small widgets every view uses: touch-sized buttons, labelled state badges, and text that is
// also recorded in a FrameLog. The log is how headless tests find a button's rectangle to
// "click" it and check what a screen showed (ImGui 1.86 has no test engine compiled in).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <imgui.h>

namespace till::ui {

struct LoggedItem {
  enum class Kind { Button, Text, Input };
  Kind kind = Kind::Text;
  std::string label;  // the button's visible label (without ##id), or the text shown
  ImVec2 min{};
  ImVec2 max{};
  bool enabled = true;
};

// What one frame drew, for tests and the screenshot script. Cleared by whoever owns the frame.
// Single-threaded (UI thread).
class FrameLog {
 public:
  void clear() { items_.clear(); }
  void add(LoggedItem item) { items_.push_back(std::move(item)); }
  const std::vector<LoggedItem>& items() const noexcept { return items_; }
  // The first button whose label equals `label` (nullptr when none was drawn).
  const LoggedItem* button(std::string_view label) const;
  // True when some text or button drawn this frame contains `needle`.
  bool shows(std::string_view needle) const;
  // Every text and label of the frame joined by newlines (for failure messages).
  std::string dump() const;

 private:
  std::vector<LoggedItem> items_;
};

// Colours mean the same thing everywhere, and are always paired with a word or a symbol.
enum class Tone { Neutral, Good, Warning, Bad, Info };
ImVec4 tone_colour(Tone tone);

// The label before "##" (ImGui's id separator).
std::string_view visible_label(std::string_view label);

// A button; disabled buttons are drawn greyed out and never report a press. `log` may be null.
bool touch_button(FrameLog* log, const char* label, ImVec2 size = {0, 0}, bool enabled = true,
                  Tone tone = Tone::Neutral);
// Unformatted text, optionally coloured and in another font; recorded in the log.
void text(FrameLog* log, std::string_view s, std::optional<Tone> tone = std::nullopt,
          ImFont* font = nullptr);
// A coloured box with a word in it ("[OK] APPROVED"): colour is never the only signal.
void badge(FrameLog* log, std::string_view word, Tone tone);

}  // namespace till::ui
