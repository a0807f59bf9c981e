#include "till/ui/palette.hpp"

#include <algorithm>
#include <cmath>

namespace till::ui {
namespace {

ImVec4 rgb(int r, int g, int b) {
  return {static_cast<float>(r) / 255.0f, static_cast<float>(g) / 255.0f, static_cast<float>(b) / 255.0f, 1.0f};
}

double linear(double channel) {
  return channel <= 0.04045 ? channel / 12.92 : std::pow((channel + 0.055) / 1.055, 2.4);
}

double luminance(ImVec4 c) {
  return 0.2126 * linear(c.x) + 0.7152 * linear(c.y) + 0.0722 * linear(c.z);
}

constexpr Tone kTones[] = {Tone::Neutral, Tone::Good, Tone::Warning, Tone::Bad, Tone::Info};

const char* tone_name(Tone t) {
  switch (t) {
    case Tone::Good: return "good";
    case Tone::Warning: return "warning";
    case Tone::Bad: return "bad";
    case Tone::Info: return "info";
    case Tone::Neutral: break;
  }
  return "neutral";
}

ImVec4 with_alpha(ImVec4 c, float alpha) { return {c.x, c.y, c.z, c.w * alpha}; }

}  // namespace

ImVec4 tone_fill(Tone tone) {
  switch (tone) {
    case Tone::Good: return rgb(0x1E, 0x7A, 0x3C);
    case Tone::Warning: return rgb(0x8A, 0x5A, 0x00);
    case Tone::Bad: return rgb(0xB3, 0x26, 0x1E);
    case Tone::Info: return rgb(0x1F, 0x5F, 0xAD);
    case Tone::Neutral: break;
  }
  return palette::kButton;
}

ImVec4 tone_fill_hovered(Tone tone) {
  switch (tone) {
    case Tone::Good: return rgb(0x1A, 0x6B, 0x35);
    case Tone::Warning: return rgb(0x7A, 0x50, 0x00);
    case Tone::Bad: return rgb(0x9E, 0x21, 0x1A);
    case Tone::Info: return rgb(0x1B, 0x54, 0x99);
    case Tone::Neutral: break;
  }
  return palette::kButtonHovered;
}

ImVec4 tone_fill_active(Tone tone) {
  switch (tone) {
    case Tone::Good: return rgb(0x15, 0x5A, 0x2C);
    case Tone::Warning: return rgb(0x6A, 0x45, 0x00);
    case Tone::Bad: return rgb(0x8A, 0x1C, 0x16);
    case Tone::Info: return rgb(0x17, 0x48, 0x85);
    case Tone::Neutral: break;
  }
  return palette::kButtonActive;
}

ImVec4 tone_text(Tone tone) {
  switch (tone) {
    case Tone::Good: return rgb(0x6E, 0xDC, 0x8C);
    case Tone::Warning: return rgb(0xFF, 0xC8, 0x57);
    case Tone::Bad: return rgb(0xFF, 0x8A, 0x80);
    case Tone::Info: return rgb(0x8C, 0xBB, 0xFF);
    case Tone::Neutral: break;
  }
  return palette::kText;
}

ImVec4 composite(ImVec4 top, ImVec4 under) {
  const float a = top.w;
  return {top.x * a + under.x * (1 - a), top.y * a + under.y * (1 - a), top.z * a + under.z * (1 - a), 1.0f};
}

double contrast_ratio(ImVec4 fg, ImVec4 bg) {
  bg.w = 1.0f;
  const double a = luminance(composite(fg, bg));
  const double b = luminance(bg);
  return (std::max(a, b) + 0.05) / (std::min(a, b) + 0.05);
}

std::vector<ColourPair> text_colour_pairs() {
  const ImGuiStyle& style = ImGui::GetStyle();
  const ImVec4* c = style.Colors;
  const ImVec4 window = composite(c[ImGuiCol_WindowBg], {0, 0, 0, 1});
  const ImVec4 popup = composite(c[ImGuiCol_PopupBg], window);
  const ImVec4 child = composite(c[ImGuiCol_ChildBg], window);
  const ImVec4 banner = palette::kBanner;
  std::vector<ColourPair> pairs;
  auto add = [&](std::string use, ImVec4 fg, ImVec4 bg, double minimum = 4.5) {
    pairs.push_back({std::move(use), fg, bg, minimum});
  };
  add("text on the window", c[ImGuiCol_Text], window);
  add("text in a region", c[ImGuiCol_Text], child);
  add("text in a modal", c[ImGuiCol_Text], popup);
  add("text on the offline banner", c[ImGuiCol_Text], banner);
  add("typed text in a field", c[ImGuiCol_Text], composite(c[ImGuiCol_FrameBg], window));
  add("typed text in a hovered field", c[ImGuiCol_Text], composite(c[ImGuiCol_FrameBgHovered], window));
  add("field hint", c[ImGuiCol_TextDisabled], composite(c[ImGuiCol_FrameBg], window));
  add("field hint in a modal", c[ImGuiCol_TextDisabled], composite(c[ImGuiCol_FrameBg], popup));
  add("button label", c[ImGuiCol_Text], composite(c[ImGuiCol_Button], window));
  add("hovered button label", c[ImGuiCol_Text], composite(c[ImGuiCol_ButtonHovered], window));
  add("pressed button label", c[ImGuiCol_Text], composite(c[ImGuiCol_ButtonActive], window));
  add("selected line or tab", c[ImGuiCol_Text], composite(c[ImGuiCol_Header], window));
  add("hovered selected line", c[ImGuiCol_Text], composite(c[ImGuiCol_HeaderHovered], window));
  add("pressed line", c[ImGuiCol_Text], composite(c[ImGuiCol_HeaderActive], window));
  add("odd cart row", c[ImGuiCol_Text], composite(c[ImGuiCol_TableRowBgAlt], child));
  add("table header", c[ImGuiCol_Text], composite(c[ImGuiCol_TableHeaderBg], child));
  add("modal title", c[ImGuiCol_Text], composite(c[ImGuiCol_TitleBgActive], window));
  // WCAG 1.4.3 exempts inactive controls; their words are still kept at 3:1.
  const ImVec4 disabled_button = composite(with_alpha(c[ImGuiCol_Button], style.DisabledAlpha), window);
  add("disabled button label", with_alpha(c[ImGuiCol_Text], style.DisabledAlpha), disabled_button, 3.0);
  // WCAG 1.4.11: the keyboard focus frame against what it is drawn on.
  add("keyboard focus frame", c[ImGuiCol_NavHighlight], window, 3.0);
  add("keyboard focus frame in a modal", c[ImGuiCol_NavHighlight], popup, 3.0);
  for (Tone t : kTones) {
    const std::string name = tone_name(t);
    add(name + " text on the window", tone_text(t), window);
    add(name + " text in a modal", tone_text(t), popup);
    add(name + " text on the offline banner", tone_text(t), banner);
    add("badge or button word on " + name, palette::kOnFill, tone_fill(t));
    add("hovered button word on " + name, palette::kOnFill, tone_fill_hovered(t));
    add("pressed button word on " + name, palette::kOnFill, tone_fill_active(t));
    add("disabled button word on " + name, with_alpha(palette::kOnFill, style.DisabledAlpha),
        composite(with_alpha(tone_fill(t), style.DisabledAlpha), window), 3.0);
  }
  return pairs;
}

}  // namespace till::ui
