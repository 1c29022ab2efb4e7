#pragma once
// Gene regulatory network models in Scanpy's sim_models format, and their
// parameter files.
//
// A model file (e.g. krumsiek11.txt) holds
//   # modelType = hill          (comment-line settings, before the couplings)
//   # invTimeStep = 0.02
//   Gata1 = (Gata1 or Gata2 or Fli1) and not Pu.1     (one Boolean rule per variable)
//   # coupling list:
//   Gata1      Pu.1     -1.21                          (child, parent, signed strength)
// The variables are the rules' left-hand sides, in file order. A rule's
// right-hand side is empty or a Python-style expression of variable names,
// `and`, `or`, `not` and parentheses. Each variable must have a coupling to
// exactly the variables its rule names (Scanpy's GRNsim checks the same).
//
// A parameter file (krumsiek11_params.txt) holds `key = value` lines for
// tl::sim: model, tmax, branching, nrRealizations, noiseObs, noiseDyn, step, seed.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scanpp::tl {

enum class SimModelType {
  Var,   // x_{t+1} = x_t + (C x_t - x_t): Scanpy's default when the file names none
  Hill,  // Boolean rules as sums of products of Hill functions (Wittmann et al. 2009)
};

// One Boolean update rule, reduced to its truth table as Scanpy does: the
// rule's parents in order of first appearance, and the parent states for which
// the rule is true. Row r sets parent p (0-based) to bit (k-1-p) of r, k the
// number of parents, so rows follow itertools.product([False, True], repeat=k).
struct SimRule {
  std::string expression;        // right-hand side as written (may be empty)
  std::vector<int> parents;      // indices into SimModel::var_names
  std::vector<uint32_t> true_rows;
  int line = 0;                  // 1-based line in the model file
};

// The values of a parameter file; absent keys stay empty.
struct SimParams {
  std::optional<std::string> model;
  std::optional<int64_t> tmax;
  std::optional<bool> branching;
  std::optional<int64_t> nrRealizations;
  std::optional<double> noiseObs;
  std::optional<double> noiseDyn;
  std::optional<int64_t> step;
  std::optional<uint32_t> seed;
};

struct SimModel {
  std::string name;    // file stem ("krumsiek11"); Scanpy picks initial states by it
  std::string source;  // file path, for messages
  SimModelType model_type = SimModelType::Var;
  std::optional<double> inv_time_step;  // required for Hill models
  std::vector<std::string> var_names;
  std::vector<SimRule> rules;   // one per variable, in var_names order
  std::vector<double> coupling; // dim x dim, row = child, column = parent
  SimParams params;             // <name>_params.txt beside the model, when read

  int64_t dim() const { return static_cast<int64_t>(var_names.size()); }
  double coupl(int64_t child, int64_t parent) const {
    return coupling[static_cast<size_t>(child * dim() + parent)];
  }
  // Index of a variable, or -1.
  int64_t index_of(std::string_view var) const;
};

// Parses model text; `source` names the file in errors, `name` is the model key.
// Throws InputError (file, line, problem) for a malformed rule, an unknown
// variable, a bad coupling line, or couplings that do not match the rules.
SimModel parse_sim_model(std::string_view text, const std::string& source, const std::string& name);

// Reads a model file. With params_file, also reads `<stem>_params.txt` from
// the same folder when it exists (Scanpy's params_file=True).
SimModel read_sim_model(const std::filesystem::path& path, bool params_file = true);

// Parses `key = value` lines (blank lines and '#' comments skipped). Unknown
// keys and values of the wrong type are InputErrors naming the line.
SimParams parse_sim_params(std::string_view text, const std::string& source);
SimParams read_sim_params(const std::filesystem::path& path);

// Value of a rule for one row of its truth table (see SimRule).
bool rule_is_true(const SimRule& rule, uint32_t row);

}  // namespace scanpp::tl
