#pragma once
// matplotlib's listed viridis colours (256 RGB rows in [0, 1]).
namespace scanpp::pl::detail {
extern const double kViridis[256][3];
}  // namespace scanpp::pl::detail
