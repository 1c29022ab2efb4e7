#pragma once
// A small AnnData holding every element kind, shared by the h5ad tests and
// the interop test (tests/interop/check_scanpp_file.py checks these values).
#include <cmath>

#include "scanpp/core/anndata.hpp"

namespace scanpp::testing {

inline AnnData example_adata() {
  SparseMatrix x;
  x.n_rows = 4;
  x.n_cols = 3;
  x.indptr = {0, 2, 2, 3, 5};
  x.indices = {0, 2, 1, 0, 1};
  x.data = Array::from_vector(std::vector<float>{1.5f, 2, 3, 4, 5.25f});
  AnnData ad{Element(x)};
  ad.obs.set_index({"c1", "c2", "c3", "c4"});
  ad.var.set_index({"g1", "g2", "g3"});
  ad.obs.set_array("n", std::vector<int32_t>{1, 2, 3, 4});
  ad.obs.set_array("f", std::vector<double>{0.5, NAN, 2.5, -1});
  ad.obs.set_array("flag", std::vector<Bool8>{true, false, true, true});
  ad.obs.set("uniq", std::vector<std::string>{"a", "b", "c", "d"});
  ad.obs.set("cat", Categorical::from_strings({"x", "y", "x", "z"}));
  Categorical ordered = Categorical::from_strings({"lo", "hi", "lo", ""}, std::vector<std::string>{"lo", "hi"});
  ordered.ordered = true;
  ad.obs.set("ord", ordered);
  ad.obs.set("nint", Nullable{Array::from_vector(std::vector<int64_t>{1, 0, 3, 4}), {0, 1, 0, 0}});
  ad.obs.set("nbool", Nullable{Array::from_vector(std::vector<Bool8>{true, false, false, true}), {0, 0, 1, 0}});
  ad.var.set("gene_ids", std::vector<std::string>{"E1", "E2", "E3"});
  ad.obsm["X_pca"] = Array::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8}, {4, 2});
  ad.varm["PCs"] = Array::from_vector(std::vector<double>{1, 2, 3}, {3, 1});
  ad.obsp["distances"] = SparseMatrix{SparseFormat::CSR, 4, 4, Array::from_vector(std::vector<float>{1, 2}), {1, 0}, {0, 1, 2, 2, 2}};
  ad.layers["counts"] = to_dense(x);
  Dict params{{"n_neighbors", Array::scalar<int64_t>(15)}, {"method", "umap"}, {"flag", Array::scalar(Bool8(true))}};
  ad.uns["neighbors"] = Dict{{"params", params}};
  ad.uns["colors"] = StringArray{{"#ff0000", "#00ff00"}, {}};
  ad.uns["none"] = Null{};
  RecArray rec;
  rec.n_records = 2;
  rec.fields.push_back({"0", std::vector<std::string>{"g1", "g2"}});
  rec.fields.push_back({"1", Array::from_vector(std::vector<float>{0.5f, 0.25f})});
  ad.uns["rec"] = rec;
  DataFrame pts(std::vector<std::string>{"g1", "g2", "g3"});
  pts.set_array("0", std::vector<double>{0.1, 0.2, 0.3});
  ad.uns["pts"] = pts;
  ad.freeze_raw();
  return ad;
}

}  // namespace scanpp::testing
