#include "scanpp/pipeline/pipeline.hpp"

#include <gtest/gtest.h>

#include "example_adata.hpp"
#include "scanpp/io/h5ad.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using scanpp::testing::TempDir;

namespace {
std::string error_of(const std::string& yaml) {
  try {
    pipeline::run_yaml(yaml, "p.yaml", {.verbose = false});
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Pipeline, UnknownStepAndParameterNameTheLineBeforeRunning) {
  TempDir tmp;
  const std::string out = tmp.file("never.h5ad");
  // The write step comes first, so if anything ran the file would exist.
  std::string e = error_of("- write: {path: " + out + "}\n- pp.nonsense: {}\n");
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown step 'pp.nonsense'"), std::string::npos) << e;
  e = error_of("- write: {path: " + out + "}\n- subset:\n    obs: \"a < 1\"\n    colour: red\n");
  EXPECT_NE(e.find("line 4"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown parameter 'colour'"), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(out));
  e = error_of("- read: {}\n");
  EXPECT_NE(e.find("missing required parameter 'path'"), std::string::npos) << e;
  e = error_of("- read: {path: [1, 2\n");
  EXPECT_NE(e.find("not valid YAML"), std::string::npos) << e;
  e = error_of("{a: 1}");
  EXPECT_NE(e.find("list of steps"), std::string::npos) << e;
}

TEST(Pipeline, BuiltinStepsReadAnnotateSubsetSetUnsWrite) {
  TempDir tmp;
  io::write_h5ad(scanpp::testing::example_adata(), tmp.file("in.h5ad"));
  const std::string yaml = "- read: {path: " + tmp.file("in.h5ad") +
                           "}\n"
                           "- annotate: {var: first, startswith: g1}\n"
                           "- raw: {}\n"
                           "- subset: {obs: \"n >= 2 and f < 2.6\", var: \"not first\"}\n"
                           "- set_uns: {iroot: 0, label: \"x\", ratio: 0.5, flag: true}\n"
                           "- write: {path: " +
                           tmp.file("out.h5ad") + "}\n";
  AnnData ad;
  auto report = pipeline::run_yaml(yaml, "p.yaml", {.verbose = false}, &ad);
  EXPECT_EQ(report.size(), 6u);
  // n >= 2 and f < 2.6 keeps c3 (f=2.5) and c4 (f=-1); c2 has f = NaN, and NaN < x is false.
  EXPECT_EQ(ad.obs_names(), (std::vector<std::string>{"c3", "c4"}));
  EXPECT_EQ(ad.var_names(), (std::vector<std::string>{"g2", "g3"}));
  EXPECT_EQ(ad.raw->n_vars(), 3);  // raw keeps every gene
  EXPECT_EQ(ad.uns.at("iroot").get<Array>().scalar_value<int64_t>(), 0);
  EXPECT_EQ(ad.uns.at("label").get<std::string>(), "x");
  EXPECT_EQ(ad.uns.at("ratio").get<Array>().scalar_value<double>(), 0.5);
  EXPECT_TRUE(ad.uns.at("flag").get<Array>().scalar_value<Bool8>());
  AnnData back = io::read_h5ad(tmp.file("out.h5ad"));
  EXPECT_TRUE(back == ad);
}

TEST(Pipeline, MaskExpressions) {
  DataFrame df(std::vector<std::string>{"a", "b", "c"});
  df.set_array("x", std::vector<double>{1, 2, 3});
  df.set("kind", Categorical::from_strings({"t", "u", "t"}));
  df.set_array("ok", std::vector<Bool8>{true, false, true});
  EXPECT_EQ(pipeline::eval_mask(df, "x > 1"), (std::vector<bool>{false, true, true}));
  EXPECT_EQ(pipeline::eval_mask(df, "x <= 2 and ok"), (std::vector<bool>{true, false, false}));
  EXPECT_EQ(pipeline::eval_mask(df, "kind == 't'"), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(pipeline::eval_mask(df, "kind != t and not ok"), (std::vector<bool>{false, true, false}));
  EXPECT_THROW(pipeline::eval_mask(df, "y > 1"), KeyError);
  EXPECT_THROW(pipeline::eval_mask(df, "x > abc"), ValueError);
}
