// Colour parsing (matplotlib's to_rgba for the forms Scanpy users write) and
// hex formatting.
#include "scanpp/pl/color.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>

#include "scanpp/core/error.hpp"
#include "scanpp/pl/palettes.hpp"

namespace scanpp::pl {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<RGBA> parse_hex(std::string_view s) {
  if (s.empty() || s[0] != '#') return std::nullopt;
  s.remove_prefix(1);
  for (char c : s)
    if (hex_digit(c) < 0) return std::nullopt;
  auto byte = [&](size_t i) { return (hex_digit(s[i]) * 16 + hex_digit(s[i + 1])) / 255.0; };
  auto nib = [&](size_t i) { return hex_digit(s[i]) * 17 / 255.0; };
  if (s.size() == 6) return RGBA{byte(0), byte(2), byte(4), 1};
  if (s.size() == 8) return RGBA{byte(0), byte(2), byte(4), byte(6)};
  if (s.size() == 3) return RGBA{nib(0), nib(1), nib(2), 1};
  if (s.size() == 4) return RGBA{nib(0), nib(1), nib(2), nib(3)};
  return std::nullopt;
}

// CSS4 names matplotlib knows that plotting code and users commonly pass.
const std::map<std::string, const char*>& css_names() {
  static const std::map<std::string, const char*> m = {
      {"black", "#000000"},        {"white", "#ffffff"},         {"red", "#ff0000"},
      {"green", "#008000"},        {"blue", "#0000ff"},          {"gray", "#808080"},
      {"grey", "#808080"},         {"lightgray", "#d3d3d3"},     {"lightgrey", "#d3d3d3"},
      {"darkgray", "#a9a9a9"},     {"darkgrey", "#a9a9a9"},      {"dimgray", "#696969"},
      {"dimgrey", "#696969"},      {"silver", "#c0c0c0"},        {"gainsboro", "#dcdcdc"},
      {"whitesmoke", "#f5f5f5"},   {"orange", "#ffa500"},        {"purple", "#800080"},
      {"brown", "#a52a2a"},        {"pink", "#ffc0cb"},          {"olive", "#808000"},
      {"cyan", "#00ffff"},         {"magenta", "#ff00ff"},       {"yellow", "#ffff00"},
      {"navy", "#000080"},         {"teal", "#008080"},          {"maroon", "#800000"},
      {"gold", "#ffd700"},         {"darkred", "#8b0000"},       {"darkblue", "#00008b"},
      {"darkgreen", "#006400"},    {"lightblue", "#add8e6"},     {"lightgreen", "#90ee90"},
      {"salmon", "#fa8072"},       {"tomato", "#ff6347"},        {"crimson", "#dc143c"},
      {"coral", "#ff7f50"},        {"violet", "#ee82ee"},        {"indigo", "#4b0082"},
      {"turquoise", "#40e0d0"},    {"skyblue", "#87ceeb"},       {"steelblue", "#4682b4"},
      {"royalblue", "#4169e1"},    {"orchid", "#da70d6"},        {"khaki", "#f0e68c"},
      {"beige", "#f5f5dc"},        {"tan", "#d2b48c"},           {"limegreen", "#32cd32"},
      {"forestgreen", "#228b22"},  {"firebrick", "#b22222"},     {"darkorange", "#ff8c00"},
      {"lime", "#00ff00"},         {"aqua", "#00ffff"},          {"fuchsia", "#ff00ff"},
      {"slategray", "#708090"},    {"slategrey", "#708090"},     {"lightcoral", "#f08080"},
      {"chocolate", "#d2691e"},    {"sienna", "#a0522d"},        {"seagreen", "#2e8b57"},
      {"mediumpurple", "#9370db"}, {"darkviolet", "#9400d3"},    {"deepskyblue", "#00bfff"},
      {"dodgerblue", "#1e90ff"},   {"hotpink", "#ff69b4"},       {"deeppink", "#ff1493"},
      {"plum", "#dda0dd"},         {"lavender", "#e6e6fa"},      {"ivory", "#fffff0"},
      {"linen", "#faf0e6"},        {"wheat", "#f5deb3"},         {"goldenrod", "#daa520"},
      {"darkgoldenrod", "#b8860b"}, {"olivedrab", "#6b8e23"},    {"yellowgreen", "#9acd32"},
      {"cadetblue", "#5f9ea0"},    {"midnightblue", "#191970"},  {"slateblue", "#6a5acd"},
      {"darkslategray", "#2f4f4f"}, {"lightskyblue", "#87cefa"}, {"lightpink", "#ffb6c1"},
      {"peachpuff", "#ffdab9"},    {"aliceblue", "#f0f8ff"},     {"snow", "#fffafa"},
      {"tab:blue", "#1f77b4"},     {"tab:orange", "#ff7f0e"},    {"tab:green", "#2ca02c"},
      {"tab:red", "#d62728"},      {"tab:purple", "#9467bd"},    {"tab:brown", "#8c564b"},
      {"tab:pink", "#e377c2"},     {"tab:gray", "#7f7f7f"},      {"tab:grey", "#7f7f7f"},
      {"tab:olive", "#bcbd22"},    {"tab:cyan", "#17becf"},
  };
  return m;
}

std::optional<RGBA> try_parse(std::string_view spec) {
  std::string s(spec);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
  if (s.empty()) return std::nullopt;
  if (s[0] == '#') return parse_hex(s);
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "none" || lower == "transparent") return RGBA{0, 0, 0, 0};
  if (lower.size() == 1) {  // matplotlib's BASE_COLORS
    switch (lower[0]) {
      case 'b': return RGBA{0, 0, 1, 1};
      case 'g': return RGBA{0, 0.5, 0, 1};
      case 'r': return RGBA{1, 0, 0, 1};
      case 'c': return RGBA{0, 0.75, 0.75, 1};
      case 'm': return RGBA{0.75, 0, 0.75, 1};
      case 'y': return RGBA{0.75, 0.75, 0, 1};
      case 'k': return RGBA{0, 0, 0, 1};
      case 'w': return RGBA{1, 1, 1, 1};
      default: break;
    }
  }
  if (lower.size() >= 2 && lower[0] == 'c' && std::all_of(lower.begin() + 1, lower.end(), ::isdigit)) {
    const auto& cycle = default_20();  // "CN" indexes the style's colour cycle
    return parse_hex(cycle[std::stoul(lower.substr(1)) % cycle.size()]);
  }
  if (auto it = css_names().find(lower); it != css_names().end()) return parse_hex(it->second);
  // A grey level as a string ("0.8"), as matplotlib accepts.
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end && *end == '\0' && v >= 0 && v <= 1) return RGBA{v, v, v, 1};
  return std::nullopt;
}

}  // namespace

RGBA parse_color(std::string_view spec) {
  if (auto c = try_parse(spec)) return *c;
  throw ValueError("'" + std::string(spec) + "' is not a valid colour (use '#rrggbb', a matplotlib colour name or a grey level)");
}

bool is_color(std::string_view spec) { return try_parse(spec).has_value(); }

std::string to_hex(const RGBA& c, bool keep_alpha) {
  char buf[12];
  if (keep_alpha)
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x%02x", to_byte(c.r), to_byte(c.g), to_byte(c.b), to_byte(c.a));
  else
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", to_byte(c.r), to_byte(c.g), to_byte(c.b));
  return buf;
}

}  // namespace scanpp::pl
