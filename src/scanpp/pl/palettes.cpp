// Scanpy's categorical palettes and uns['<key>_colors'].
#include "scanpp/pl/palettes.hpp"

#include "scanpp/core/error.hpp"

namespace scanpp::pl {

const std::vector<std::string>& tab10() {
  static const std::vector<std::string> v = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                             "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return v;
}

const std::vector<std::string>& tab20() {
  static const std::vector<std::string> v = {"#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728",
                                             "#ff9896", "#9467bd", "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2",
                                             "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d", "#17becf", "#9edae5"};
  return v;
}

const std::vector<std::string>& vega_10_scanpy() {
  static const std::vector<std::string> v = [] {
    auto c = tab10();
    // Scanpy replaces three tab10 colours that colour-blind readers confuse.
    c[2] = "#279e68";
    c[4] = "#aa40fc";
    c[8] = "#b5bd61";
    return c;
  }();
  return v;
}

const std::vector<std::string>& default_20() {
  static const std::vector<std::string> v = [] {
    const auto& t = tab20();
    std::vector<std::string> c;
    // Dark shades without grey, then light shades without grey, then two additions.
    for (size_t i = 0; i < 14; i += 2) c.push_back(t[i]);
    for (size_t i = 16; i < 20; i += 2) c.push_back(t[i]);
    for (size_t i = 1; i < 15; i += 2) c.push_back(t[i]);
    for (size_t i = 17; i < 20; i += 2) c.push_back(t[i]);
    c.push_back("#ad494a");
    c.push_back("#8c6d31");
    c[2] = vega_10_scanpy()[2];
    c[4] = vega_10_scanpy()[4];
    c[7] = vega_10_scanpy()[8];
    return c;
  }();
  return v;
}

const std::vector<std::string>& default_28() {
  static const std::vector<std::string> v = {
      "#023fa5", "#7d87b9", "#bec1d4", "#d6bcc0", "#bb7784", "#8e063b", "#4a6fe3", "#8595e1", "#b5bbe3", "#e6afb9",
      "#e07b91", "#d33f6a", "#11c638", "#8dd593", "#c6dec7", "#ead3c6", "#f0b98d", "#ef9708", "#0fcfc0", "#9cded6",
      "#d5eae7", "#f3e1eb", "#f6c4e1", "#f79cd4", "#7f7f7f", "#c7c7c7", "#1CE6FF", "#336600"};
  return v;
}

const std::vector<std::string>& default_102() {
  static const std::vector<std::string> v = {
      "#FFFF00", "#1CE6FF", "#FF34FF", "#FF4A46", "#008941", "#006FA6", "#A30059", "#FFDBE5", "#7A4900", "#0000A6",
      "#63FFAC", "#B79762", "#004D43", "#8FB0FF", "#997D87", "#5A0007", "#809693", "#6A3A4C", "#1B4400", "#4FC601",
      "#3B5DFF", "#4A3B53", "#FF2F80", "#61615A", "#BA0900", "#6B7900", "#00C2A0", "#FFAA92", "#FF90C9", "#B903AA",
      "#D16100", "#DDEFFF", "#000035", "#7B4F4B", "#A1C299", "#300018", "#0AA6D8", "#013349", "#00846F", "#372101",
      "#FFB500", "#C2FFED", "#A079BF", "#CC0744", "#C0B9B2", "#C2FF99", "#001E09", "#00489C", "#6F0062", "#0CBD66",
      "#EEC3FF", "#456D75", "#B77B68", "#7A87A1", "#788D66", "#885578", "#FAD09F", "#FF8A9A", "#D157A0", "#BEC459",
      "#456648", "#0086ED", "#886F4C", "#34362D", "#B4A8BD", "#00A6AA", "#452C2C", "#636375", "#A3C8C9", "#FF913F",
      "#938A81", "#575329", "#00FECF", "#B05B6F", "#8CD0FF", "#3B9700", "#04F757", "#C8A1A1", "#1E6E00", "#7900D7",
      "#A77500", "#6367A9", "#A05837", "#6B002C", "#772600", "#D790FF", "#9B9700", "#549E79", "#FFF69F", "#201625",
      "#72418F", "#BC23FF", "#99ADC0", "#3A2465", "#922329", "#5B4534", "#FDE8DC", "#404E55", "#0089A3", "#CB7E98",
      "#A4E804", "#324E72"};
  return v;
}

std::vector<std::string> default_palette(size_t n) {
  const std::vector<std::string>* src = nullptr;
  if (n <= default_20().size())
    src = &default_20();
  else if (n <= default_28().size())
    src = &default_28();
  else if (n <= default_102().size())
    src = &default_102();
  if (!src) return std::vector<std::string>(n, "grey");
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(to_hex(parse_color((*src)[i])));
  return out;
}

std::vector<std::string> palette_colors(const std::vector<std::string>& palette, size_t n) {
  if (palette.empty()) throw ValueError("palette is empty");
  std::vector<std::string> out;
  if (palette.size() == 1 && !is_color(palette[0])) {
    const std::string& name = palette[0];
    const std::vector<std::string>* listed = name == "tab10"         ? &tab10()
                                             : name == "tab20"       ? &tab20()
                                             : name == "default_20"  ? &default_20()
                                             : name == "default_28"  ? &default_28()
                                             : name == "default_102" ? &default_102()
                                                                     : nullptr;
    if (listed) {
      for (size_t i = 0; i < n; ++i) out.push_back(to_hex(parse_color((*listed)[i % listed->size()])));
      return out;
    }
    // Scanpy calls a linear colormap with the integer category index, which
    // matplotlib reads as a LUT position (not as a value in [0, 1]).
    const Colormap& cm = colormap(name);
    for (size_t i = 0; i < n; ++i) out.push_back(to_hex(cm.lut()[std::min<size_t>(i, Colormap::N - 1)], true));
    return out;
  }
  for (size_t i = 0; i < n; ++i) out.push_back(to_hex(parse_color(palette[i % palette.size()])));
  return out;
}

std::vector<std::string> category_labels(const Categorical& c) {
  if (c.has_string_categories()) return c.string_categories();
  Categorical tmp = c;
  tmp.codes.clear();
  for (int64_t i = 0; i < c.n_categories(); ++i) tmp.codes.push_back(static_cast<int32_t>(i));
  std::vector<std::string> out;
  for (int64_t i = 0; i < c.n_categories(); ++i) out.push_back(tmp.label(i));
  return out;
}

std::vector<RGBA> categorical_colors(AnnData& ad, const std::string& key,
                                     const std::optional<std::vector<std::string>>& palette) {
  if (!ad.obs.has(key)) throw KeyError("obs has no column '" + key + "'");
  const Column& col = ad.obs.at(key);
  if (!std::holds_alternative<Categorical>(col)) throw ValueError("obs['" + key + "'] is not categorical");
  const auto n = static_cast<size_t>(std::get<Categorical>(col).n_categories());
  const std::string ukey = key + "_colors";
  std::vector<std::string> stored;
  if (auto it = ad.uns.find(ukey); it != ad.uns.end() && it->second.is<StringArray>())
    stored = it->second.get<StringArray>().values;
  bool valid = stored.size() >= n;
  for (size_t i = 0; valid && i < n; ++i) valid = is_color(stored[i]);
  if (palette || !valid) {
    stored = palette ? palette_colors(*palette, n) : default_palette(n);
    ad.uns[ukey] = StringArray{stored, {}};
  }
  std::vector<RGBA> out;
  for (size_t i = 0; i < n; ++i) out.push_back(parse_color(stored[i]));
  return out;
}

}  // namespace scanpp::pl
