#pragma once
// Colours and colormaps as matplotlib defines them, so scanpp's figures use
// the exact colours Scanpy's figures use.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace scanpp::pl {

// Straight (not premultiplied) colour, channels in [0, 1].
struct RGBA {
  double r = 0, g = 0, b = 0, a = 1;
  bool operator==(const RGBA&) const = default;
};

inline constexpr RGBA kBlack{0, 0, 0, 1};
inline constexpr RGBA kWhite{1, 1, 1, 1};

// matplotlib's to_rgba for the forms Scanpy users write: "#rrggbb",
// "#rrggbbaa", "#rgb", CSS/X11 names ("lightgray", "grey", "red", ...),
// single letters ("k", "w", "r", ...), "tab:blue".."tab:cyan", "C0".."C9"
// (the default_20 cycle of Scanpy's style) and grey levels ("0.8").
// Throws ValueError for anything else.
RGBA parse_color(std::string_view spec);
bool is_color(std::string_view spec);
// "#1f77b4" (lower case); with keep_alpha "#1f77b4ff" as matplotlib's to_hex(keep_alpha=True).
std::string to_hex(const RGBA& c, bool keep_alpha = false);
// Byte value of a channel, rounded as matplotlib/PIL do.
inline uint8_t to_byte(double v) {
  v = v < 0 ? 0 : v > 1 ? 1 : v;
  return static_cast<uint8_t>(v * 255.0 + 0.5);
}

// A 256-entry lookup table, looked up like matplotlib's Colormap.__call__:
// t in [0, 1] maps to lut[min(floor(t * N), N - 1)]; t < 0 gives the first and
// t > 1 the last entry; NaN gives `bad` (Scanpy draws NaN cells as na_color).
class Colormap {
 public:
  static constexpr int N = 256;
  Colormap(std::string name, std::array<RGBA, N> lut) : name_(std::move(name)), lut_(lut) {}
  const std::string& name() const { return name_; }
  RGBA operator()(double t) const;
  const std::array<RGBA, N>& lut() const { return lut_; }
  Colormap reversed() const;

 private:
  std::string name_;
  std::array<RGBA, N> lut_;
};

// By matplotlib name: viridis (listed table), Reds, Blues, Greens, Greys,
// Oranges, Purples, YlOrRd, RdBu, bwr, gray, binary (linear maps); any name
// + "_r" reverses (RdBu_r, gray_r, ...).
// Throws ValueError naming the known maps otherwise.
const Colormap& colormap(std::string_view name);
std::vector<std::string> colormap_names();

// Linear normalisation vmin..vmax → 0..1 (matplotlib Normalize; vmin == vmax maps to 0).
struct Normalize {
  double vmin = 0, vmax = 1;
  double operator()(double v) const { return vmax == vmin ? 0.0 : (v - vmin) / (vmax - vmin); }
};

}  // namespace scanpp::pl
