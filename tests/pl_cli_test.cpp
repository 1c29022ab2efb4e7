// `scanpp pl` / `scanpp get` on the command line: figures are written where
// save= says, the input file is left untouched, mistakes end in one line and
// exit code 2.
#include <gtest/gtest.h>

#include <filesystem>

#include "pl_support.hpp"
#include "test_paths.hpp"

using scanpp::testing::run_command;
using scanpp::testing::shared;
using scanpp::testing::TempDir;
using namespace scanpp::testing::plot;

namespace {
const std::string kCli = SCANPP_CLI;
const std::string kGolden = shared("golden/pbmc3k/pbmc3k_scanpy.h5ad");

void expect_user_error(const std::string& args, const std::string& needle) {
  std::string out;
  EXPECT_EQ(run_command(kCli + " " + args, &out), 2) << args << "\n" << out;
  EXPECT_NE(out.find(needle), std::string::npos) << "'" << needle << "' not in: " << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
}
}  // namespace

TEST(PlCli, DrawsFiguresAndLeavesTheInputAlone) {
  TempDir tmp;
  const std::string in = tmp.file("in.h5ad");
  std::filesystem::copy_file(kGolden, in);
  const std::string before = slurp(in);
  std::string out;
  ASSERT_EQ(run_command(kCli + " pl umap " + in + " 'color=[leiden,NKG7]' save=" + tmp.file("u.png") + " dpi=50", &out), 0)
      << out;
  const Image im = read_png(tmp.file("u.png"));
  EXPECT_EQ(im.height, 200);
  EXPECT_GT(count_color(im, scanpp::pl::parse_color("#279e68"), 1), 5);  // leiden '2' in default_20
  ASSERT_EQ(run_command(kCli + " pl pca_variance_ratio " + in + " save=" + tmp.file("v.pdf") + " log=true", &out), 0)
      << out;
  EXPECT_EQ(slurp(tmp.file("v.pdf")).rfind("%PDF", 0), 0u);
  EXPECT_EQ(slurp(in), before) << "pl must not write its input back";
}

TEST(PlCli, MistakesEndInOneLine) {
  TempDir tmp;
  expect_user_error("pl umap " + kGolden + " color=leiden", "save");
  expect_user_error("pl umap " + kGolden + " color=leiden save=" + tmp.file("x.jpg"), ".png");
  expect_user_error("pl umap " + kGolden + " color=NOPE save=" + tmp.file("x.png"), "NOPE");
  expect_user_error("pl nosuchplot " + kGolden + " save=" + tmp.file("x.png"), "pl.nosuchplot");
  expect_user_error("get nosuchtable " + kGolden + " save=" + tmp.file("x.csv"), "get.nosuchtable");
  expect_user_error("pl umap " + tmp.file("missing.h5ad") + " save=" + tmp.file("x.png"), "missing.h5ad");
  EXPECT_FALSE(std::filesystem::exists(tmp.file("x.png")));
}
