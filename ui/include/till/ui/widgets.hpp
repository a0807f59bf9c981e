#pragma once
// Small widgets every view uses: touch-sized buttons, labelled state badges, and text that is
// also recorded in a FrameLog. The log is how headless tests find a button's rectangle to
// "click" it and check what a screen showed (ImGui 1.86 has no test engine compiled in).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <imgui.h>

#include "till/ui/palette.hpp"

namespace till::ui {

struct LoggedItem {
  // Region: a scrolling area (its rectangle; the controls inside may be scrolled or clipped).
  enum class Kind { Button, Text, Input, Region };
  Kind kind = Kind::Text;
  std::string label;  // the button's visible label (without ##id), or the text shown
  ImVec2 min{};
  ImVec2 max{};
  bool enabled = true;
  // What can be seen of it: the clip rectangle it was drawn under. A control outside a scrolling
  // region must lie wholly inside it; one inside may be clipped (the cashier scrolls to it).
  ImVec2 clip_min{};
  ImVec2 clip_max{};
  std::string region;  // the innermost scrolling region it is in ("" = the fixed layout)
  int layer = 0;       // 0 = the kiosk window, 1.. = modal popups stacked over it
};

// What one frame drew, for tests and the screenshot script. Cleared by whoever owns the frame.
// Single-threaded (UI thread).
class FrameLog {
 public:
  void clear() {
    items_.clear();
    regions_.clear();
    layer_ = 0;
  }
  void add(LoggedItem item) { items_.push_back(std::move(item)); }
  // Records ImGui's last item (its rectangle and clip rectangle, the current region and layer).
  void add_last_item(LoggedItem::Kind kind, std::string label, bool enabled = true);
  // Regions and layers nest; begin_scroll_region / begin_modal below keep them.
  void push_region(std::string name) { regions_.push_back(std::move(name)); }
  void pop_region() {
    if (!regions_.empty()) regions_.pop_back();
  }
  void push_layer() { ++layer_; }
  void pop_layer() { layer_ = layer_ > 0 ? layer_ - 1 : 0; }
  const std::string& region() const;
  int layer() const noexcept { return layer_; }
  const std::vector<LoggedItem>& items() const noexcept { return items_; }
  // The first button whose label equals `label` (nullptr when none was drawn).
  const LoggedItem* button(std::string_view label) const;
  // True when some text or button drawn this frame contains `needle`.
  bool shows(std::string_view needle) const;
  // Every text and label of the frame joined by newlines (for failure messages).
  std::string dump() const;

 private:
  std::vector<LoggedItem> items_;
  std::vector<std::string> regions_;
  int layer_ = 0;
};

// Colours (Tone, palette.hpp) mean the same thing everywhere, and are always paired with a word
// or a symbol.

// The label before "##" (ImGui's id separator).
std::string_view visible_label(std::string_view label);

// Material and Apple guidance for the smallest touch target, at scale 1.
inline constexpr float kTouchPx = 48.0f;
// The smallest side of anything a finger taps: the frame height, which the style makes at least
// kTouchPx (48 px, Material and Apple guidance) at scale 1.
float touch_size();
// A button at least touch_size() wide and high (a zero size component fits the label); disabled
// buttons are drawn greyed out and never report a press. `log` may be null.
bool touch_button(FrameLog* log, const char* label, ImVec2 size = {0, 0}, bool enabled = true,
                  Tone tone = Tone::Neutral);
// The size touch_button gives `label` for a zero size component.
ImVec2 touch_button_size(std::string_view label);
// Unformatted text, optionally coloured and in another font; recorded in the log.
void text(FrameLog* log, std::string_view s, std::optional<Tone> tone = std::nullopt,
          ImFont* font = nullptr);
// The same, wrapped at the right edge of the current region.
void wrapped_text(FrameLog* log, std::string_view s, std::optional<Tone> tone = std::nullopt,
                  ImFont* font = nullptr);
// A coloured box with a word in it ("OK APPROVED"): colour is never the only signal. `height` 0:
// the text's height plus a small padding (badge_height()).
void badge(FrameLog* log, std::string_view word, Tone tone, float width = 0, float height = 0);
float badge_height();
ImVec2 badge_size(std::string_view word);

// A child region that scrolls vertically, with its scrollbar always shown so that its width (and
// the layout of what is inside) does not change when the content grows. Recorded as a Region.
void begin_scroll_region(FrameLog* log, const char* id, ImVec2 size, bool border = false);
void end_scroll_region(FrameLog* log);
// A child region that never scrolls: a column or a reserved block of the fixed layout. Whatever
// does not fit is clipped, which the layout tests catch.
void begin_fixed_region(const char* id, ImVec2 size);
void end_fixed_region();
// A modal popup (already opened with ImGui::OpenPopup), centred, sized to its content; what is
// drawn in it is logged one layer up. Returns false when it is not open (do not call end_modal).
bool begin_modal(FrameLog* log, const char* name);
void end_modal(FrameLog* log);

}  // namespace till::ui
