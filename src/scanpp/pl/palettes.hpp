#pragma once
// Scanpy's categorical palettes (scanpy/plotting/palettes.py) and the
// uns['<key>_colors'] convention for categorical obs columns.
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/pl/color.hpp"

namespace scanpp::pl {

// matplotlib's tab10 / tab20 and Scanpy's palettes, as lower-case hex strings.
const std::vector<std::string>& tab10();
const std::vector<std::string>& tab20();
const std::vector<std::string>& vega_10_scanpy();  // tab10, colour-blind adjusted
const std::vector<std::string>& default_20();      // vega_20_scanpy: the style's colour cycle
const std::vector<std::string>& default_28();      // zeileis_28
const std::vector<std::string>& default_102();     // godsnot_102

// Scanpy's _set_default_colors_for_categorical_obs: the colour cycle
// (default_20 in Scanpy's style) when it has enough colours, else
// default_28, default_102, and "grey" for every category beyond 102.
std::vector<std::string> default_palette(size_t n_categories);

// A user palette (Scanpy's `palette` argument): a list of colours (cycled
// when shorter than n), or one name: a colormap sampled at n evenly spaced
// points (listed maps "tab10"/"tab20" taken colour by colour), or
// "default_20"/"default_28"/"default_102". ValueError for anything else.
std::vector<std::string> palette_colors(const std::vector<std::string>& palette, size_t n);

// Category names as text (numeric categories formatted as pandas prints them).
std::vector<std::string> category_labels(const Categorical& c);

// The colours of the categories of obs[key] (a Categorical column, else
// ValueError/KeyError). Uses uns['<key>_colors'] when it holds a valid colour
// for every category; otherwise (or when `palette` is given) sets it first,
// as Scanpy does, so the figure and the object agree.
std::vector<RGBA> categorical_colors(AnnData& ad, const std::string& key,
                                     const std::optional<std::vector<std::string>>& palette = std::nullopt);

}  // namespace scanpp::pl
