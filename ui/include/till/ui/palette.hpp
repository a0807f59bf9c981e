#pragma once
// The kiosk's colours, in one place, so that a test can check every text / background pair the
// views draw against WCAG 2.1 AA (4.5:1 for text; 3:1 for the keyboard focus frame and, although
// WCAG exempts them, for the words on disabled buttons). Colour is never the only signal: every
// tone comes with a word or a symbol (widgets.hpp).
//
// The style (harness.cpp) is built from these constants, and the views use them only through
// Tone, so the pairs listed by text_colour_pairs() are the pairs on screen.

#include <string>
#include <vector>

#include <imgui.h>

namespace till::ui {

enum class Tone { Neutral, Good, Warning, Bad, Info };

namespace palette {

inline const ImVec4 kWindow{0.082f, 0.090f, 0.106f, 1.0f};      // #15171B, every screen
inline const ImVec4 kPopup{0.118f, 0.129f, 0.149f, 1.0f};       // #1E2126, modals (PIN pad, editors)
inline const ImVec4 kBorder{0.35f, 0.38f, 0.43f, 1.0f};
inline const ImVec4 kText{0.949f, 0.949f, 0.949f, 1.0f};        // #F2F2F2
inline const ImVec4 kTextMuted{0.690f, 0.710f, 0.745f, 1.0f};   // #B0B5BE, field hints
inline const ImVec4 kField{0.149f, 0.165f, 0.188f, 1.0f};       // #262A30, text fields
inline const ImVec4 kFieldHovered{0.188f, 0.208f, 0.235f, 1.0f};
inline const ImVec4 kButton{0.227f, 0.259f, 0.314f, 1.0f};      // #3A4250, neutral buttons
inline const ImVec4 kButtonHovered{0.275f, 0.314f, 0.380f, 1.0f};
inline const ImVec4 kButtonActive{0.180f, 0.204f, 0.251f, 1.0f};
inline const ImVec4 kSelected{0.184f, 0.290f, 0.451f, 1.0f};    // #2F4A73, selected line / tab
inline const ImVec4 kSelectedHovered{0.220f, 0.333f, 0.502f, 1.0f};
inline const ImVec4 kRowAlt{0.110f, 0.122f, 0.141f, 1.0f};      // #1C1F24, odd cart rows
inline const ImVec4 kBanner{0.200f, 0.161f, 0.051f, 1.0f};      // #33290D, the staff offline banner
inline const ImVec4 kFocus{1.0f, 0.80f, 0.30f, 1.0f};           // keyboard focus frame
inline const ImVec4 kOnFill{1.0f, 1.0f, 1.0f, 1.0f};            // text on tone fills (badges)

}  // namespace palette

// Behind white text (badges, coloured buttons). Hovered and pressed are darker, not lighter, so
// the word stays readable in every state.
ImVec4 tone_fill(Tone tone);
ImVec4 tone_fill_hovered(Tone tone);
ImVec4 tone_fill_active(Tone tone);
// Text in that tone on the window, a popup or the offline banner.
ImVec4 tone_text(Tone tone);

// WCAG 2.1 contrast ratio (1..21) of `fg` over `bg`; `fg`'s alpha is composited over `bg`, and
// `bg` is taken as opaque.
double contrast_ratio(ImVec4 fg, ImVec4 bg);
// `top` with its alpha over `under` (opaque result).
ImVec4 composite(ImVec4 top, ImVec4 under);

struct ColourPair {
  std::string use;  // where the views draw it ("notice text on the window", ...)
  ImVec4 fg;
  ImVec4 bg;
  double minimum = 4.5;  // the ratio it must reach
};
// Every foreground / background pair the views draw, taken from the CURRENT ImGui style (so a
// style change that breaks contrast fails the test) and the tone palette. UI thread.
std::vector<ColourPair> text_colour_pairs();

}  // namespace till::ui
