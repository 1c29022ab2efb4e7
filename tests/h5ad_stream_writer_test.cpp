// The block-by-block h5ad writer with gzip: data and indices go through the
// parallel chunk compressor, and the file is what the uncompressed writer
// writes, value for value, as h5py reads it (with gzip reported).
#include "scanpp/io/h5ad_stream_writer.hpp"

#include <gtest/gtest.h>

#include "scanpp/core/parallel.hpp"
#include "scanpp/datasets/synthetic.hpp"
#include "scanpp/io/h5ad.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using scanpp::testing::run_command;
using scanpp::testing::TempDir;

namespace {

datasets::SyntheticOptions small() {
  datasets::SyntheticOptions o;
  o.n_cells = 3000;  // several writer blocks and several 2^18-value chunks
  o.n_genes = 1500;
  o.n_clusters = 3;
  o.block_rows = 700;
  return o;
}

}  // namespace

TEST(H5adStreamWriter, GzipEqualsUncompressedAndH5pySeesGzip) {
  TempDir tmp;
  datasets::write_synthetic_h5ad(tmp.file("plain.h5ad"), small(), -1);
  set_num_threads(1);
  datasets::write_synthetic_h5ad(tmp.file("z1.h5ad"), small(), 4);
  set_num_threads(2);
  datasets::write_synthetic_h5ad(tmp.file("z2.h5ad"), small(), 4);
  const AnnData plain = io::read_h5ad(tmp.file("plain.h5ad"));
  const AnnData z1 = io::read_h5ad(tmp.file("z1.h5ad"));
  const AnnData z2 = io::read_h5ad(tmp.file("z2.h5ad"));
  ASSERT_TRUE(plain.x_is_sparse());
  EXPECT_GT(plain.X_sparse().nnz(), int64_t{1} << 19);
  EXPECT_TRUE(z1 == plain);
  EXPECT_TRUE(z2 == plain);
  std::string out;
  const std::string py =
      "import sys, h5py, numpy as np\n"
      "a, b = h5py.File(sys.argv[1]), h5py.File(sys.argv[2])\n"
      "for k in ('data', 'indices', 'indptr'):\n"
      "    assert a['X'][k].compression == 'gzip' and a['X'][k].compression_opts == 4, k\n"
      "    assert np.array_equal(a['X'][k][:], b['X'][k][:]), k\n"
      "print('ok', a['X']['data'].shape[0])\n";
  ASSERT_EQ(run_command("/usr/bin/python3 -c \"" + py + "\" " + tmp.file("z2.h5ad") + " " + tmp.file("plain.h5ad"), &out),
            0)
      << out;
  EXPECT_NE(out.find("ok "), std::string::npos) << out;
}
