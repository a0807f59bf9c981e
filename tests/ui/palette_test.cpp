// Contrast (WCAG 2.1 AA) of every text / background pair the views draw, taken from the live
// style, and words with every colour.

#include <cctype>
#include <string>

#include <catch2/catch.hpp>

#include "till/ui/harness.hpp"
#include "till/ui/palette.hpp"
#include "till/ui/views.hpp"

using namespace till;
using namespace till::ui;

TEST_CASE("the contrast ratio follows WCAG 2.1: black on white is 21, a colour on itself is 1, alpha is composited") {
  CHECK(contrast_ratio({0, 0, 0, 1}, {1, 1, 1, 1}) == Approx(21.0));
  CHECK(contrast_ratio({1, 1, 1, 1}, {0, 0, 0, 1}) == Approx(21.0));
  CHECK(contrast_ratio({0.3f, 0.4f, 0.5f, 1}, {0.3f, 0.4f, 0.5f, 1}) == Approx(1.0));
  // #767676 on white is the well-known 4.54:1 boundary grey.
  CHECK(contrast_ratio({118 / 255.0f, 118 / 255.0f, 118 / 255.0f, 1}, {1, 1, 1, 1}) == Approx(4.54).epsilon(0.01));
  // Fully transparent text is the background itself.
  CHECK(contrast_ratio({1, 1, 1, 0}, {0, 0, 0, 1}) == Approx(1.0));
}

TEST_CASE("every text colour the views use meets WCAG AA (4.5:1) against its background") {
  HeadlessContext ctx;  // the kiosk's style is the current one
  const auto pairs = text_colour_pairs();
  REQUIRE(pairs.size() > 40);
  for (const ColourPair& p : pairs) {
    const double ratio = contrast_ratio(p.fg, p.bg);
    INFO(p.use << ": " << ratio << ":1, needs " << p.minimum << ":1");
    CHECK(ratio >= p.minimum);
  }
}

TEST_CASE("a state is never shown by colour alone: every phase and attempt label carries a symbol and a word") {
  using pos::AttemptState;
  using pos::PaymentPhase;
  // "X DECLINED": a symbol from the README's set, a space, then a word.
  auto symbol_and_word = [](const std::string& s) {
    const auto space = s.find(' ');
    if (space == std::string::npos) return false;
    const std::string symbol = s.substr(0, space);
    const bool known = symbol == ">>" || symbol == ".." || symbol == "??" || symbol == "X" || symbol == "!" ||
                       symbol == "OK" || symbol == "~" || symbol == "-";
    int letters = 0;
    for (char c : s.substr(space + 1)) letters += std::isalpha(static_cast<unsigned char>(c)) ? 1 : 0;
    return known && letters >= 2;
  };
  for (PaymentPhase p : {PaymentPhase::Collecting, PaymentPhase::Canceling, PaymentPhase::Authorizing, PaymentPhase::InDoubt,
                         PaymentPhase::Declined, PaymentPhase::Refused, PaymentPhase::Failed}) {
    const std::string label = phase_label(p);
    INFO(label);
    CHECK(symbol_and_word(label));
  }
  for (AttemptState a : {AttemptState::Collecting, AttemptState::StoredOffline, AttemptState::Submitting,
                         AttemptState::InDoubt, AttemptState::Approved, AttemptState::Declined,
                         AttemptState::DeclinedAfterForward, AttemptState::Canceled}) {
    const std::string label = attempt_label(a);
    INFO(label);
    CHECK(symbol_and_word(label));
  }
}
