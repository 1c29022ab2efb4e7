// Reading Scanpy's sim_models format: the two shipped models and their
// parameter files (../shared/data/sim_models), Boolean rules reduced to truth
// tables with Python's operator precedence, and InputErrors that name the file
// and the line for malformed models.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "scanpp/core/error.hpp"
#include "scanpp/tl/sim_model.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using namespace scanpp::tl;

namespace {

std::string models(const std::string& f) { return scanpp::testing::shared("data/sim_models/" + f); }

std::vector<std::string> names_of(const SimModel& m, const std::vector<int>& idx) {
  std::vector<std::string> out;
  for (int i : idx) out.push_back(m.var_names[static_cast<size_t>(i)]);
  return out;
}

// Truth table of a rule recomputed from a C++ predicate over its parents.
std::vector<uint32_t> rows_where(size_t k, const std::function<bool(const std::vector<bool>&)>& f) {
  std::vector<uint32_t> out;
  for (uint32_t r = 0; r < (1u << k); ++r) {
    std::vector<bool> v(k);
    for (size_t p = 0; p < k; ++p) v[p] = ((r >> (k - 1 - p)) & 1u) != 0;
    if (f(v)) out.push_back(r);
  }
  return out;
}

// Parses `text` and expects an InputError whose message names `line` and
// contains `needle`.
void expect_model_error(const std::string& text, int line, const std::string& needle) {
  try {
    parse_sim_model(text, "bad_model.txt", "bad_model");
    FAIL() << "no error for:\n" << text;
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.file(), "bad_model.txt");
    if (line > 0) {
      EXPECT_EQ(e.element(), "line " + std::to_string(line)) << msg;
    }
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
}

const char* kHeader =
    "# modelType = hill\n"
    "# invTimeStep = 0.1\n";

}  // namespace

TEST(SimModel, ReadsKrumsiek11) {
  const SimModel m = read_sim_model(models("krumsiek11.txt"));
  EXPECT_EQ(m.name, "krumsiek11");
  EXPECT_EQ(m.model_type, SimModelType::Hill);
  ASSERT_TRUE(m.inv_time_step);
  EXPECT_DOUBLE_EQ(*m.inv_time_step, 0.02);
  const std::vector<std::string> expect = {"Gata2", "Gata1", "Fog1", "EKLF",   "Fli1", "SCL",
                                           "Cebpa", "Pu.1",  "cJun", "EgrNab", "Gfi1"};
  EXPECT_EQ(m.var_names, expect);
  // 30 coupling lines, with their signs and strengths.
  int nonzero = 0;
  for (double c : m.coupling) nonzero += c != 0.0;
  EXPECT_EQ(nonzero, 30);
  EXPECT_DOUBLE_EQ(m.coupl(m.index_of("Cebpa"), m.index_of("Cebpa")), 10.0);
  EXPECT_DOUBLE_EQ(m.coupl(m.index_of("Gata1"), m.index_of("Pu.1")), -1.21);
  EXPECT_DOUBLE_EQ(m.coupl(m.index_of("Gfi1"), m.index_of("EgrNab")), -5.0);
  EXPECT_DOUBLE_EQ(m.coupl(m.index_of("Pu.1"), m.index_of("Gata1")), -1.0);

  // Gata1 = (Gata1 or Gata2 or Fli1) and not Pu.1: parents in order of appearance.
  const SimRule& g1 = m.rules[1];
  EXPECT_EQ(g1.line, 14);
  EXPECT_EQ(names_of(m, g1.parents), (std::vector<std::string>{"Gata1", "Gata2", "Fli1", "Pu.1"}));
  EXPECT_EQ(g1.true_rows, rows_where(4, [](auto v) { return (v[0] || v[1] || v[2]) && !v[3]; }));
  EXPECT_EQ(g1.true_rows, (std::vector<uint32_t>{2, 4, 6, 8, 10, 12, 14}));
  // Gata2 = Gata2 and not (Gata1 and Fog1) and not Pu.1
  const SimRule& g2 = m.rules[0];
  EXPECT_EQ(names_of(m, g2.parents), (std::vector<std::string>{"Gata2", "Gata1", "Fog1", "Pu.1"}));
  EXPECT_EQ(g2.true_rows, rows_where(4, [](auto v) { return v[0] && !(v[1] && v[2]) && !v[3]; }));
  // EgrNab = (Pu.1 and cJun) and not Gfi1: one true row, 110.
  EXPECT_EQ(m.rules[9].true_rows, (std::vector<uint32_t>{6}));
  EXPECT_TRUE(rule_is_true(m.rules[9], 6));
  EXPECT_FALSE(rule_is_true(m.rules[9], 7));

  // krumsiek11_params.txt read beside the model.
  ASSERT_TRUE(m.params.tmax && m.params.branching && m.params.nrRealizations && m.params.noiseObs &&
              m.params.noiseDyn && m.params.step && m.params.seed && m.params.model);
  EXPECT_EQ(*m.params.tmax, 800);
  EXPECT_TRUE(*m.params.branching);
  EXPECT_EQ(*m.params.nrRealizations, 4);
  EXPECT_DOUBLE_EQ(*m.params.noiseObs, 0.0);
  EXPECT_DOUBLE_EQ(*m.params.noiseDyn, 0.001);
  EXPECT_EQ(*m.params.step, 5);
  EXPECT_EQ(*m.params.seed, 0u);
  EXPECT_EQ(*m.params.model, "SCANPY_PATH/sim_models/krumsiek11.txt");

  // Without params_file the parameters stay unset.
  const SimModel bare = read_sim_model(models("krumsiek11.txt"), false);
  EXPECT_FALSE(bare.params.tmax);
}

TEST(SimModel, ReadsToggleswitch) {
  const SimModel m = read_sim_model(models("toggleswitch.txt"));
  EXPECT_EQ(m.var_names, (std::vector<std::string>{"0", "1"}));
  EXPECT_DOUBLE_EQ(*m.inv_time_step, 0.1);
  // 0 = 0 and not 1: true only for (0 on, 1 off) = row 10b.
  EXPECT_EQ(m.rules[0].true_rows, (std::vector<uint32_t>{2}));
  EXPECT_EQ(names_of(m, m.rules[1].parents), (std::vector<std::string>{"1", "0"}));
  EXPECT_EQ(m.rules[1].true_rows, (std::vector<uint32_t>{2}));
  EXPECT_DOUBLE_EQ(m.coupl(0, 1), -1.0);
  EXPECT_EQ(*m.params.tmax, 100);
  EXPECT_EQ(*m.params.nrRealizations, 2);
  EXPECT_DOUBLE_EQ(*m.params.noiseObs, 0.01);
  EXPECT_EQ(*m.params.step, 1);
}

TEST(SimModel, PythonPrecedenceAndParentheses) {
  const std::string text = std::string(kHeader) +
                           "a = a\n"
                           "b = a or b and not c\n"
                           "c = not a and b\n"
                           "d = not (a or (b and not(c))) or d\n"
                           "e =\n"
                           "# coupling list:\n"
                           "a a 1\n"
                           "b a 1\nb b 1\nb c -1\n"
                           "c a -1\nc b 1\n"
                           "d a -1\nd b 1\nd c 1\nd d 1\n";
  const SimModel m = parse_sim_model(text, "prec.txt", "prec");
  EXPECT_EQ(m.rules[1].true_rows, rows_where(3, [](auto v) { return v[0] || (v[1] && !v[2]); }));
  EXPECT_EQ(m.rules[2].true_rows, rows_where(2, [](auto v) { return !v[0] && v[1]; }));
  EXPECT_EQ(m.rules[3].true_rows, rows_where(4, [](auto v) { return !(v[0] || (v[1] && !v[2])) || v[3]; }));
  // An empty rule has no inputs: the variable is held constant.
  EXPECT_TRUE(m.rules[4].parents.empty());
  EXPECT_TRUE(m.rules[4].true_rows.empty());
  // A repeated name is one input.
  const SimModel r = parse_sim_model(std::string(kHeader) + "x = x and (x or y)\ny = y\n# coupling list:\nx x 1\nx y 1\ny y 1\n",
                                     "rep.txt", "rep");
  EXPECT_EQ(r.rules[0].parents.size(), 2u);
  EXPECT_EQ(r.rules[0].true_rows, (std::vector<uint32_t>{2, 3}));
}

TEST(SimModel, MalformedRulesNameTheLine) {
  const std::string couplings = "# coupling list:\na a 1\nb a 1\nb b 1\n";
  // Lines 1-2 are the header, so the rules are lines 3 and 4.
  expect_model_error(std::string(kHeader) + "a = a\nb = (a and b\n" + couplings, 4, "'(' is never closed");
  expect_model_error(std::string(kHeader) + "a = a\nb = a and b)\n" + couplings, 4,
                     "')' without a matching '('");
  expect_model_error(std::string(kHeader) + "a = a\nb = a and Foo\n" + couplings, 4, "unknown gene 'Foo'");
  expect_model_error(std::string(kHeader) + "a = a\nb = a and\n" + couplings, 4, "expression ends");
  expect_model_error(std::string(kHeader) + "a = a\nb = a b\n" + couplings, 4, "unexpected 'b'");
  expect_model_error(std::string(kHeader) + "a = a\nb a and b\n" + couplings, 4, "exactly one '='");
  expect_model_error(std::string(kHeader) + "a = a\na = a\n" + couplings, 4, "already has a rule (line 3)");
  expect_model_error(std::string(kHeader) + "a = a\nb = (a) and () b\n" + couplings, 4, "unexpected ')'");
}

TEST(SimModel, MalformedCouplingsNameTheLine) {
  const std::string rules = std::string(kHeader) + "a = a\nb = a and not b\n# coupling list:\n";
  // The coupling lines start at line 6.
  expect_model_error(rules + "a a 1\nb a\nb b -1\n", 7, "'child parent strength'");
  expect_model_error(rules + "a a 1\nb a strong\nb b -1\n", 7, "'strong' is not a number");
  expect_model_error(rules + "a a 1\nb Foo 1\nb b -1\n", 7, "unknown gene 'Foo'");
  expect_model_error(rules + "a a 1\nb a 0\nb b -1\n", 7, "non-zero");
  expect_model_error(rules + "a a 1\nb a 1\nb a 2\nb b -1\n", 8, "given twice (also line 7)");
  // A coupling the rule does not use names the coupling line; a missing one the rule line.
  expect_model_error(rules + "a a 1\na b 1\nb a 1\nb b -1\n", 7, "does not use 'b'");
  expect_model_error(rules + "a a 1\nb a 1\n", 4, "no 'b b' line");
}

TEST(SimModel, MalformedHeaderAndParams) {
  expect_model_error("# modelType = hill\na = a\n# coupling list:\na a 1\n", 0, "invTimeStep");
  expect_model_error("# modelType = ode\n", 1, "modelType must be 'hill' or 'var'");
  expect_model_error("# modelType = hill\n# invTimeStep = fast\n", 2, "invTimeStep must be a positive number");
  expect_model_error("# only comments\n", 0, "no Boolean update rules");

  const SimParams p = parse_sim_params("# comment\ntmax = 10\nbranching = False\nseed = 4294967295\nstep = None\n", "p.txt");
  EXPECT_EQ(*p.tmax, 10);
  EXPECT_FALSE(*p.branching);
  EXPECT_EQ(*p.seed, 4294967295u);
  EXPECT_FALSE(p.step);
  auto expect_param_error = [](const std::string& text, int line, const std::string& needle) {
    try {
      parse_sim_params(text, "p.txt");
      FAIL() << text;
    } catch (const InputError& e) {
      EXPECT_EQ(e.element(), "line " + std::to_string(line));
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_param_error("tmax = 10\nnrRealizations = many\n", 2, "nrRealizations must be a positive integer");
  expect_param_error("tmax = 10.5\n", 1, "tmax must be a positive integer");
  expect_param_error("branching = maybe\n", 1, "True or False");
  expect_param_error("noiseDyn = -1\n", 1, "non-negative number");
  expect_param_error("seed = 4294967296\n", 1, "below 2**32");
  expect_param_error("tmax 10\n", 1, "'key = value'");
  expect_param_error("tmx = 10\n", 1, "unknown parameter 'tmx'");
  EXPECT_THROW(read_sim_model(models("no_such_model.txt")), InputError);
}
