#include "till/ui/widgets.hpp"

namespace till::ui {

const LoggedItem* FrameLog::button(std::string_view label) const {
  for (const LoggedItem& item : items_) {
    if (item.kind == LoggedItem::Kind::Button && item.label == label) return &item;
  }
  return nullptr;
}

bool FrameLog::shows(std::string_view needle) const {
  for (const LoggedItem& item : items_) {
    if (item.label.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string FrameLog::dump() const {
  std::string out;
  for (const LoggedItem& item : items_) {
    out += item.kind == LoggedItem::Kind::Button ? "[button] " : "";
    out += item.label;
    out += item.enabled ? "\n" : " (disabled)\n";
  }
  return out;
}

ImVec4 tone_colour(Tone tone) {
  switch (tone) {
    case Tone::Good: return {0.20f, 0.62f, 0.30f, 1.0f};
    case Tone::Warning: return {0.85f, 0.60f, 0.10f, 1.0f};
    case Tone::Bad: return {0.78f, 0.20f, 0.20f, 1.0f};
    case Tone::Info: return {0.22f, 0.45f, 0.80f, 1.0f};
    case Tone::Neutral: break;
  }
  return {0.30f, 0.32f, 0.36f, 1.0f};
}

std::string_view visible_label(std::string_view label) {
  const auto pos = label.find("##");
  return pos == std::string_view::npos ? label : label.substr(0, pos);
}

bool touch_button(FrameLog* log, const char* label, ImVec2 size, bool enabled, Tone tone) {
  const bool coloured = tone != Tone::Neutral;
  if (coloured) {
    const ImVec4 c = tone_colour(tone);
    ImGui::PushStyleColor(ImGuiCol_Button, c);
    ImGui::PushStyleColor(ImGuiCol_ButtonHovered, ImVec4(c.x * 1.15f, c.y * 1.15f, c.z * 1.15f, 1));
    ImGui::PushStyleColor(ImGuiCol_ButtonActive, ImVec4(c.x * 0.85f, c.y * 0.85f, c.z * 0.85f, 1));
  }
  ImGui::BeginDisabled(!enabled);
  const bool pressed = ImGui::Button(label, size);
  ImGui::EndDisabled();
  if (coloured) ImGui::PopStyleColor(3);
  if (log != nullptr) {
    log->add({LoggedItem::Kind::Button, std::string(visible_label(label)), ImGui::GetItemRectMin(),
              ImGui::GetItemRectMax(), enabled});
  }
  return pressed && enabled;
}

void text(FrameLog* log, std::string_view s, std::optional<Tone> tone, ImFont* font) {
  if (font != nullptr) ImGui::PushFont(font);
  if (tone) ImGui::PushStyleColor(ImGuiCol_Text, tone_colour(*tone));
  ImGui::TextUnformatted(s.data(), s.data() + s.size());
  if (tone) ImGui::PopStyleColor();
  if (font != nullptr) ImGui::PopFont();
  if (log != nullptr) {
    log->add({LoggedItem::Kind::Text, std::string(s), ImGui::GetItemRectMin(),
              ImGui::GetItemRectMax(), true});
  }
}

void badge(FrameLog* log, std::string_view word, Tone tone) {
  // Drawn, not a button: a badge is never interactive and never takes an id.
  const ImVec2 pad = ImGui::GetStyle().FramePadding;
  const ImVec2 text_size = ImGui::CalcTextSize(word.data(), word.data() + word.size());
  const ImVec2 min = ImGui::GetCursorScreenPos();
  const ImVec2 max(min.x + text_size.x + 2 * pad.x, min.y + text_size.y + 2 * pad.y);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  draw->AddRectFilled(min, max, ImGui::GetColorU32(tone_colour(tone)), 4.0f);
  draw->AddText(ImVec2(min.x + pad.x, min.y + pad.y), IM_COL32_WHITE, word.data(),
                word.data() + word.size());
  ImGui::Dummy(ImVec2(max.x - min.x, max.y - min.y));
  if (log != nullptr) log->add({LoggedItem::Kind::Text, std::string(word), min, max, true});
}

}  // namespace till::ui
