#pragma once
// Helpers for the score_genes / dendrogram / embedding_density /
// marker_gene_overlap tests: the golden PBMC 3k object read once, and Debian's
// /usr/bin/python3 (numpy, scipy, pandas, anndata 0.8) run on a script held in
// the test, its numeric output parsed.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "golden_support.hpp"
#include "scanpp/core/anndata.hpp"
#include "scanpp/io/h5ad.hpp"
#include "test_paths.hpp"

namespace scoring_test {

inline std::string golden_h5ad() { return golden::shared("golden/pbmc3k/pbmc3k_scanpy.h5ad"); }

// The final PBMC 3k object of the golden run (with raw), read once per process.
inline const scanpp::AnnData& golden_pbmc() {
  static const std::unique_ptr<scanpp::AnnData> a =
      std::make_unique<scanpp::AnnData>(scanpp::io::read_h5ad(golden_h5ad()));
  return *a;
}

// Runs `script` with /usr/bin/python3 and the given arguments; returns stdout
// (the test fails with the output when the script fails).
inline std::string run_python(const scanpp::testing::TempDir& tmp, const std::string& script,
                              const std::string& args = "") {
  const std::string path = tmp.file("script.py");
  {
    std::ofstream out(path);
    out << script;
  }
  std::string output;
  const int rc = scanpp::testing::run_command("/usr/bin/python3 " + path + " " + args, &output);
  EXPECT_EQ(rc, 0) << output;
  return output;
}

// Whitespace-separated numbers of a text.
inline std::vector<double> numbers(const std::string& text) {
  std::istringstream in(text);
  std::vector<double> v;
  std::string tok;
  while (in >> tok) v.push_back(tok == "nan" ? std::nan("") : std::stod(tok));
  return v;
}

// A vector written with full precision, one value a line.
inline void write_numbers(const std::string& path, const std::vector<double>& v) {
  std::ofstream out(path);
  char buf[64];
  for (double x : v) {
    std::snprintf(buf, sizeof buf, "%.17g\n", x);
    out << buf;
  }
}

}  // namespace scoring_test
