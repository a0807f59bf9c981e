#include "till/ui/widgets.hpp"

#include <algorithm>

namespace till::ui {

const LoggedItem* FrameLog::button(std::string_view label) const {
  for (const LoggedItem& item : items_) {
    if (item.kind == LoggedItem::Kind::Button && item.label == label) return &item;
  }
  return nullptr;
}

bool FrameLog::shows(std::string_view needle) const {
  for (const LoggedItem& item : items_) {
    if (item.kind != LoggedItem::Kind::Region && item.label.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string FrameLog::dump() const {
  std::string out;
  for (const LoggedItem& item : items_) {
    if (item.kind == LoggedItem::Kind::Region) continue;
    out += item.kind == LoggedItem::Kind::Button ? "[button] " : "";
    out += item.label;
    out += item.enabled ? "\n" : " (disabled)\n";
  }
  return out;
}

const std::string& FrameLog::region() const {
  static const std::string none;
  return regions_.empty() ? none : regions_.back();
}

void FrameLog::add_last_item(LoggedItem::Kind kind, std::string label, bool enabled) {
  ImDrawList* draw = ImGui::GetWindowDrawList();
  LoggedItem item;
  item.kind = kind;
  item.label = std::move(label);
  item.min = ImGui::GetItemRectMin();
  item.max = ImGui::GetItemRectMax();
  item.enabled = enabled;
  item.clip_min = draw->GetClipRectMin();
  item.clip_max = draw->GetClipRectMax();
  item.region = region();
  item.layer = layer_;
  items_.push_back(std::move(item));
}

std::string_view visible_label(std::string_view label) {
  const auto pos = label.find("##");
  return pos == std::string_view::npos ? label : label.substr(0, pos);
}

float touch_size() { return ImGui::GetFrameHeight(); }

ImVec2 touch_button_size(std::string_view label) {
  const std::string_view shown = visible_label(label);
  const ImVec2 text = ImGui::CalcTextSize(shown.data(), shown.data() + shown.size());
  const ImVec2 pad = ImGui::GetStyle().FramePadding;
  return {std::max(text.x + 2 * pad.x, touch_size()), std::max(text.y + 2 * pad.y, touch_size())};
}

bool touch_button(FrameLog* log, const char* label, ImVec2 size, bool enabled, Tone tone) {
  const ImVec2 fit = touch_button_size(label);
  size.x = std::max(size.x > 0 ? size.x : fit.x, touch_size());
  size.y = std::max(size.y > 0 ? size.y : fit.y, touch_size());
  const bool coloured = tone != Tone::Neutral;
  if (coloured) {
    ImGui::PushStyleColor(ImGuiCol_Button, tone_fill(tone));
    ImGui::PushStyleColor(ImGuiCol_ButtonHovered, tone_fill_hovered(tone));
    ImGui::PushStyleColor(ImGuiCol_ButtonActive, tone_fill_active(tone));
    ImGui::PushStyleColor(ImGuiCol_Text, palette::kOnFill);
  }
  ImGui::BeginDisabled(!enabled);
  const bool pressed = ImGui::Button(label, size);
  ImGui::EndDisabled();
  if (coloured) ImGui::PopStyleColor(4);
  if (log != nullptr) log->add_last_item(LoggedItem::Kind::Button, std::string(visible_label(label)), enabled);
  return pressed && enabled;
}

void text(FrameLog* log, std::string_view s, std::optional<Tone> tone, ImFont* font) {
  if (font != nullptr) ImGui::PushFont(font);
  if (tone) ImGui::PushStyleColor(ImGuiCol_Text, tone_text(*tone));
  ImGui::TextUnformatted(s.data(), s.data() + s.size());
  if (tone) ImGui::PopStyleColor();
  if (font != nullptr) ImGui::PopFont();
  if (log != nullptr) log->add_last_item(LoggedItem::Kind::Text, std::string(s));
}

void wrapped_text(FrameLog* log, std::string_view s, std::optional<Tone> tone, ImFont* font) {
  ImGui::PushTextWrapPos(0.0f);
  text(log, s, tone, font);
  ImGui::PopTextWrapPos();
}

float badge_height() { return ImGui::GetFontSize() + ImGui::GetStyle().ItemSpacing.y; }

ImVec2 badge_size(std::string_view word) {
  const ImVec2 text_size = ImGui::CalcTextSize(word.data(), word.data() + word.size());
  return {text_size.x + 2 * ImGui::GetStyle().FramePadding.x, badge_height()};
}

void badge(FrameLog* log, std::string_view word, Tone tone, float width, float height) {
  // Drawn, not a button: a badge is never interactive and never takes an id.
  const ImVec2 text_size = ImGui::CalcTextSize(word.data(), word.data() + word.size());
  const ImVec2 fit = badge_size(word);
  const ImVec2 size(std::max(width, fit.x), std::max(height, fit.y));
  const ImVec2 min = ImGui::GetCursorScreenPos();
  const ImVec2 max(min.x + size.x, min.y + size.y);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  draw->AddRectFilled(min, max, ImGui::GetColorU32(tone_fill(tone)), ImGui::GetStyle().FrameRounding);
  draw->AddText(ImVec2(min.x + (size.x - text_size.x) * 0.5f, min.y + (size.y - text_size.y) * 0.5f),
                ImGui::GetColorU32(palette::kOnFill), word.data(), word.data() + word.size());
  ImGui::Dummy(size);
  if (log != nullptr) log->add_last_item(LoggedItem::Kind::Text, std::string(word));
}

void begin_scroll_region(FrameLog* log, const char* id, ImVec2 size, bool border) {
  ImGui::BeginChild(id, size, border, ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_AlwaysVerticalScrollbar);
  if (log != nullptr) {
    const ImVec2 min = ImGui::GetWindowPos();
    const ImVec2 window = ImGui::GetWindowSize();
    LoggedItem item;
    item.kind = LoggedItem::Kind::Region;
    item.label = std::string(visible_label(id));
    item.min = min;
    item.max = ImVec2(min.x + window.x, min.y + window.y);
    item.clip_min = min;
    item.clip_max = item.max;
    item.region = log->region();
    item.layer = log->layer();
    log->add(std::move(item));
    log->push_region(std::string(visible_label(id)));
  }
}

void end_scroll_region(FrameLog* log) {
  ImGui::EndChild();
  if (log != nullptr) log->pop_region();
}

void begin_fixed_region(const char* id, ImVec2 size) {
  ImGui::BeginChild(id, size, false,
                    ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoScrollbar |
                        ImGuiWindowFlags_NoScrollWithMouse | ImGuiWindowFlags_NoBackground |
                        ImGuiWindowFlags_NavFlattened);  // arrow keys cross into the column
}

void end_fixed_region() { ImGui::EndChild(); }

bool begin_modal(FrameLog* log, const char* name) {
  const ImVec2 display = ImGui::GetIO().DisplaySize;
  ImGui::SetNextWindowPos(ImVec2(display.x * 0.5f, display.y * 0.5f), ImGuiCond_Always, ImVec2(0.5f, 0.5f));
  if (!ImGui::BeginPopupModal(name, nullptr,
                              ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings |
                                  ImGuiWindowFlags_NoMove)) {
    return false;
  }
  if (log != nullptr) log->push_layer();
  return true;
}

void end_modal(FrameLog* log) {
  if (log != nullptr) log->pop_layer();
  ImGui::EndPopup();
}

}  // namespace till::ui
