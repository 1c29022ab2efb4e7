// read_csv / read_text: every case checked against what anndata 0.8's
// read_csv/read_text return for the same text, the CellBench count table
// against values read with anndata, and the errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "scanpp/core/error.hpp"
#include "text_file_support.hpp"
#include "scanpp/io/csv.hpp"

namespace fs = std::filesystem;
using namespace scanpp;
using scanpp::testing::input_error;

namespace {

const std::string kCellmix1 = std::string(SCANPP_SHARED_DIR) + "/data/cellbench/cellmix1.count.csv.gz";

using CsvFiles = scanpp::testing::TextFiles;

std::vector<double> values(const AnnData& a) {
  const Array& X = a.X_dense();
  std::vector<double> v(static_cast<size_t>(X.size()));
  for (int64_t i = 0; i < X.size(); ++i) v[static_cast<size_t>(i)] = X.get_double(i);
  return v;
}

using Names = std::vector<std::string>;


}  // namespace

TEST_F(CsvFiles, HeaderAndRowNames) {
  const auto p = write("a.csv", "gene,c1,c2,c3\ncellA,1,2.5,3\ncellB,4,5,6e2\n");
  const AnnData a = io::read_csv(p);
  EXPECT_EQ(a.obs_names(), (Names{"cellA", "cellB"}));
  EXPECT_EQ(a.var_names(), (Names{"c1", "c2", "c3"}));  // the corner name is dropped
  EXPECT_FALSE(a.x_is_sparse());
  EXPECT_EQ(a.X_dense().dtype(), DType::Float32);
  EXPECT_EQ(a.X_dense().shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(values(a), (std::vector<double>{1, 2.5, 3, 4, 5, 600}));
  EXPECT_NO_THROW(a.validate());

  const AnnData d = io::read_csv(p, {.dtype = DType::Float64});
  EXPECT_EQ(d.X_dense().dtype(), DType::Float64);
  EXPECT_EQ(values(d), values(a));

  // The same text gzip-compressed.
  EXPECT_EQ(io::read_csv(write_gz("a.csv.gz", "gene,c1,c2,c3\ncellA,1,2.5,3\ncellB,4,5,6e2\n")), a);

  const AnnData t = io::read_csv(p, {.transpose = true});
  EXPECT_EQ(t.obs_names(), (Names{"c1", "c2", "c3"}));
  EXPECT_EQ(t.var_names(), (Names{"cellA", "cellB"}));
  EXPECT_EQ(values(t), (std::vector<double>{1, 4, 2.5, 5, 3, 600}));
}

TEST_F(CsvFiles, NoNamesGivesRangeNames) {
  const auto p = write("b.csv", "1,2,3\n4,5,6\n");
  const AnnData a = io::read_csv(p);
  EXPECT_EQ(a.obs_names(), (Names{"0", "1"}));
  EXPECT_EQ(a.var_names(), (Names{"0", "1", "2"}));
  EXPECT_EQ(values(a), (std::vector<double>{1, 2, 3, 4, 5, 6}));

  const AnnData i = io::read_csv(p, {.dtype = DType::Int32});
  EXPECT_EQ(i.X_dense().dtype(), DType::Int32);
  EXPECT_EQ(i.X_dense().to_vector<int32_t>(), (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));

  // first_column_names=True on numbers: the first column names the rows.
  const AnnData f = io::read_csv(write("g.csv", "1,2\n3,4\n"), {.first_column_names = true});
  EXPECT_EQ(f.obs_names(), (Names{"1", "3"}));
  EXPECT_EQ(f.var_names(), (Names{"0"}));
  EXPECT_EQ(values(f), (std::vector<double>{2, 4}));
}

TEST_F(CsvFiles, ReadTextCommentsAndWhitespace) {
  // The last comment line names the columns.
  const AnnData c = io::read_text(write("c.txt", "# a comment\n# x y z\n1 2 3\n4 5 6\n"));
  EXPECT_EQ(c.obs_names(), (Names{"0", "1"}));
  EXPECT_EQ(c.var_names(), (Names{"x", "y", "z"}));
  EXPECT_EQ(values(c), (std::vector<double>{1, 2, 3, 4, 5, 6}));

  // A numeric header one shorter than the rows: integer names both ways.
  const AnnData d = io::read_text(write("d.txt", "7 8 9\n1 0.5 0.25 0.125\n2 1 2 3\n"));
  EXPECT_EQ(d.obs_names(), (Names{"1", "2"}));
  EXPECT_EQ(d.var_names(), (Names{"7", "8", "9"}));
  EXPECT_EQ(values(d), (std::vector<double>{0.5, 0.25, 0.125, 1, 2, 3}));

  // Runs of spaces and tabs, blank lines, nan/inf and '_' as Python's float().
  const AnnData i = io::read_text(write("i.txt", "c1  c2\n  r1 1   nan\n\nr2\t-inf 1_000\n"));
  EXPECT_EQ(i.obs_names(), (Names{"r1", "r2"}));
  EXPECT_EQ(i.var_names(), (Names{"c1", "c2"}));
  const auto v = values(i);
  EXPECT_EQ(v[0], 1);
  EXPECT_TRUE(std::isnan(v[1]));
  EXPECT_EQ(v[2], -INFINITY);
  EXPECT_EQ(v[3], 1000);

  // A tab delimiter given explicitly.
  const auto f = write("f.tsv", "a\tb\nr1\t2\t3\n\nr2\t5\t6\n");
  const AnnData t = io::read_text(f, {.delimiter = '\t'});
  EXPECT_EQ(t.obs_names(), (Names{"r1", "r2"}));
  EXPECT_EQ(t.var_names(), (Names{"a", "b"}));
  EXPECT_EQ(values(t), (std::vector<double>{2, 3, 5, 6}));
  EXPECT_EQ(io::read_text(f), t);
}

TEST_F(CsvFiles, QuotesAndCrlf) {
  const AnnData e = io::read_csv(write("e.csv", "\"g\",\"s1\",\"s2\"\n\"r1\",1,2\n\"r2\",3,4\n"));
  EXPECT_EQ(e.obs_names(), (Names{"r1", "r2"}));
  EXPECT_EQ(e.var_names(), (Names{"s1", "s2"}));
  EXPECT_EQ(values(e), (std::vector<double>{1, 2, 3, 4}));

  const AnnData h = io::read_csv(write("h.csv", "x,y\r\n10,20\r\n30,40\r\n"));
  EXPECT_EQ(h.obs_names(), (Names{"0", "1"}));
  EXPECT_EQ(h.var_names(), (Names{"x", "y"}));
  EXPECT_EQ(values(h), (std::vector<double>{10, 20, 30, 40}));
}

TEST(CsvCellBench, Cellmix1GenesByCells) {
  // anndata.read_csv: 11798 genes x 266 cells; read transposed: cells x genes.
  const AnnData g = io::read_csv(kCellmix1);
  EXPECT_EQ(g.n_obs(), 11798);
  EXPECT_EQ(g.n_vars(), 266);
  EXPECT_EQ(g.obs_names()[0], "ENSG00000250584");
  EXPECT_EQ(g.var_names()[0], "L19");
  EXPECT_EQ(g.var_names()[205], "L17");

  const AnnData a = io::read_csv(kCellmix1, {.transpose = true});
  EXPECT_EQ(a.n_obs(), 266);
  EXPECT_EQ(a.n_vars(), 11798);
  EXPECT_EQ(a.obs_names()[0], "L19");
  EXPECT_EQ(a.obs_names()[1], "A10");
  EXPECT_EQ(a.obs_names().back(), "P9");
  EXPECT_EQ(a.var_names()[0], "ENSG00000250584");
  EXPECT_EQ(a.var_names()[117], "ENSG00000137274");
  EXPECT_EQ(a.var_names().back(), "ENSG00000183840");
  const Array& X = a.X_dense();
  const int64_t p = 11798;
  EXPECT_EQ(X.get_double(205 * p + 0), 3.0);     // L17, ENSG00000250584
  EXPECT_EQ(X.get_double(92 * p + 117), 3.0);    // F17, ENSG00000137274
  EXPECT_EQ(X.get_double(135 * p + 1386), 1.0);  // H18, ENSG00000102738
  EXPECT_EQ(X.get_double(265 * p + 11797), 0.0);
  double total = 0, cell0 = 0, gene5 = 0;
  for (int64_t i = 0; i < X.size(); ++i) total += X.get_double(i);
  for (int64_t j = 0; j < p; ++j) cell0 += X.get_double(j);
  for (int64_t i = 0; i < 266; ++i) gene5 += X.get_double(i * p + 5);
  EXPECT_EQ(total, 1633091.0);
  EXPECT_EQ(cell0, 6723.0);
  EXPECT_EQ(gene5, 13.0);
}

TEST_F(CsvFiles, ErrorRaggedRows) {
  const auto p = write("r.csv", "x,y\n1,2\n3,4,5\n");
  EXPECT_CONTAINS(input_error([&] { io::read_csv(p); }), p + ": line 3: has 3 values but line 2 has 2");
  const auto q = write("q.csv", "n,x,y\na,1,2\nb,3\n");
  EXPECT_CONTAINS(input_error([&] { io::read_csv(q); }), "line 3: has 1 values but line 2 has 2");
  const auto h = write("h.tsv", "a\tb\n1\t2\t3\n4\t5\t6\n");
  EXPECT_CONTAINS(input_error([&] { io::read_text(h); }), "the header names 2 columns but the rows have 3 values");
}

TEST_F(CsvFiles, ErrorNonNumericValue) {
  const auto p = write("n.csv", "x,y\n1,2\n\n3,abc\n");
  EXPECT_CONTAINS(input_error([&] { io::read_csv(p); }), p + ": line 4, column 2: 'abc' is not a number");
  const auto q = write("i.csv", "x,y\n1,2.5\n");
  EXPECT_CONTAINS(input_error([&] { io::read_csv(q, {.dtype = DType::Int64}); }), "line 2, column 2: '2.5' is not an integer");
}

TEST_F(CsvFiles, ErrorDelimiterEmptyMissing) {
  const auto p = write("s.csv", "a b c\n1 2 3\n");
  EXPECT_CONTAINS(input_error([&] { io::read_csv(p); }), p + ": line 1: did not find the delimiter ','");
  EXPECT_CONTAINS(input_error([&] { io::read_csv(write("e.csv", "")); }), "no data lines");
  EXPECT_CONTAINS(input_error([&] { io::read_csv(write("o.csv", "x,y\n")); }), "no data lines (only a header)");
  const std::string missing = dir_.file("absent.csv");
  EXPECT_CONTAINS(input_error([&] { io::read_csv(missing); }), missing + ": cannot open file");
  EXPECT_THROW(io::read_csv(p, {.dtype = DType::Bool}), ValueError);
  // A gzip file cut short, read through the streaming line reader.
  std::string big = "x,y\n";
  for (int i = 0; i < 20000; ++i) big += std::to_string(i) + "," + std::to_string(i * 7 % 13) + "\n";
  const auto gz = write_gz("cut.csv.gz", big);
  fs::resize_file(gz, fs::file_size(gz) - 20);
  EXPECT_CONTAINS(input_error([&] { io::read_csv(gz); }), gz + ": gzip data is truncated");
}
