#include "scanpp/tl/sim_model.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "scanpp/core/error.hpp"

namespace scanpp::tl {

namespace {

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string line_element(int line) { return "line " + std::to_string(line); }

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string l(text.substr(start, nl - start));
    if (!l.empty() && l.back() == '\r') l.pop_back();
    lines.push_back(std::move(l));
    if (nl == text.size()) break;
    start = nl + 1;
  }
  return lines;
}

bool parse_double(const std::string& s, double& out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return errno == 0 && end == s.c_str() + s.size() && std::isfinite(out);
}

bool parse_int(const std::string& s, int64_t& out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return false;
  out = v;
  return true;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string(), "", "cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- Boolean expressions -------------------------------------------------

struct Node {
  enum class Kind { Var, Const, Not, And, Or } kind;
  int var = -1;       // Var: position in the rule's parent list
  bool value = false; // Const
  std::unique_ptr<Node> a, b;
};

// Recursive descent with Python's precedence: not > and > or.
class RuleParser {
 public:
  RuleParser(std::vector<std::string> tokens, const std::vector<std::string>& names, const std::string& source,
             int line, const std::string& lhs)
      : tok_(std::move(tokens)), names_(names), source_(source), line_(line), lhs_(lhs) {}

  std::unique_ptr<Node> parse() {
    auto n = parse_or();
    if (pos_ < tok_.size()) {
      if (tok_[pos_] == ")") fail("unbalanced parentheses: ')' without a matching '('");
      fail("unexpected '" + tok_[pos_] + "' (operators are and, or, not)");
    }
    return n;
  }
  const std::vector<int>& parents() const { return parents_; }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw InputError(source_, line_element(line_), "rule for '" + lhs_ + "': " + problem);
  }
  const std::string* peek() const { return pos_ < tok_.size() ? &tok_[pos_] : nullptr; }

  std::unique_ptr<Node> binary(Node::Kind k, std::unique_ptr<Node> a, std::unique_ptr<Node> b) {
    auto n = std::make_unique<Node>();
    n->kind = k;
    n->a = std::move(a);
    n->b = std::move(b);
    return n;
  }
  std::unique_ptr<Node> parse_or() {
    auto n = parse_and();
    while (peek() && *peek() == "or") {
      ++pos_;
      n = binary(Node::Kind::Or, std::move(n), parse_and());
    }
    return n;
  }
  std::unique_ptr<Node> parse_and() {
    auto n = parse_not();
    while (peek() && *peek() == "and") {
      ++pos_;
      n = binary(Node::Kind::And, std::move(n), parse_not());
    }
    return n;
  }
  std::unique_ptr<Node> parse_not() {
    if (peek() && *peek() == "not") {
      ++pos_;
      auto n = std::make_unique<Node>();
      n->kind = Node::Kind::Not;
      n->a = parse_not();
      return n;
    }
    return parse_atom();
  }
  std::unique_ptr<Node> parse_atom() {
    const std::string* t = peek();
    if (!t) fail("expression ends where a variable or '(' is expected");
    if (*t == "(") {
      ++pos_;
      auto n = parse_or();
      if (!peek() || *peek() != ")") fail("unbalanced parentheses: '(' is never closed");
      ++pos_;
      return n;
    }
    if (*t == ")" || *t == "and" || *t == "or") fail("unexpected '" + *t + "' where a variable or '(' is expected");
    ++pos_;
    auto n = std::make_unique<Node>();
    if (*t == "True" || *t == "False") {
      n->kind = Node::Kind::Const;
      n->value = *t == "True";
      return n;
    }
    int gene = -1;
    for (size_t i = 0; i < names_.size(); ++i)
      if (names_[i] == *t) gene = static_cast<int>(i);
    if (gene < 0) fail("unknown gene '" + *t + "' (not the left-hand side of any rule)");
    int slot = -1;
    for (size_t i = 0; i < parents_.size(); ++i)
      if (parents_[i] == gene) slot = static_cast<int>(i);
    if (slot < 0) {
      slot = static_cast<int>(parents_.size());
      parents_.push_back(gene);
    }
    n->kind = Node::Kind::Var;
    n->var = slot;
    return n;
  }

  std::vector<std::string> tok_;
  const std::vector<std::string>& names_;
  const std::string& source_;
  int line_;
  const std::string& lhs_;
  size_t pos_ = 0;
  std::vector<int> parents_;
};

std::vector<std::string> tokenize(const std::string& expr) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) out.push_back(std::move(cur));
    cur.clear();
  };
  for (char c : expr) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      flush();
    } else if (c == '(' || c == ')') {
      flush();
      out.emplace_back(1, c);
    } else {
      cur.push_back(c);
    }
  }
  flush();
  return out;
}

bool eval(const Node& n, uint32_t row, int k) {
  switch (n.kind) {
    case Node::Kind::Var: return ((row >> (k - 1 - n.var)) & 1u) != 0;
    case Node::Kind::Const: return n.value;
    case Node::Kind::Not: return !eval(*n.a, row, k);
    case Node::Kind::And: return eval(*n.a, row, k) && eval(*n.b, row, k);
    case Node::Kind::Or: return eval(*n.a, row, k) || eval(*n.b, row, k);
  }
  return false;
}

// 2^k truth-table rows are enumerated per rule; beyond this the Hill sum is
// impractically large anyway (Scanpy would enumerate them too).
constexpr size_t kMaxParents = 20;

}  // namespace

int64_t SimModel::index_of(std::string_view var) const {
  for (size_t i = 0; i < var_names.size(); ++i)
    if (var_names[i] == var) return static_cast<int64_t>(i);
  return -1;
}

bool rule_is_true(const SimRule& rule, uint32_t row) {
  for (uint32_t r : rule.true_rows)
    if (r == row) return true;
  return false;
}

SimModel parse_sim_model(std::string_view text, const std::string& source, const std::string& name) {
  SimModel m;
  m.name = name;
  m.source = source;
  struct RawRule {
    std::string lhs, rhs;
    int line;
  };
  struct RawCoupling {
    std::string child, parent;
    double value;
    int line;
  };
  std::vector<RawRule> raw_rules;
  std::vector<RawCoupling> raw_couplings;
  bool in_couplings = false;
  std::optional<std::string> model_type;

  const auto lines = split_lines(text);
  for (size_t li = 0; li < lines.size(); ++li) {
    const int lineno = static_cast<int>(li) + 1;
    const std::string& line = lines[li];
    const std::string t = trim(line);
    if (t.empty()) continue;
    if (line.rfind("#", 0) == 0) {
      if (in_couplings) continue;
      if (line.rfind("# coupling list:", 0) == 0) {
        in_couplings = true;
        continue;
      }
      // Settings such as "# modelType = hill | str" (text after '|' is a type hint).
      std::string keyval = line.substr(0, line.find('|'));
      auto setting = [&](const char* key) -> std::optional<std::string> {
        const size_t at = keyval.find(key);
        if (at == std::string::npos) return std::nullopt;
        const size_t eq = keyval.find('=', at);
        return trim(keyval.substr(eq + 1));
      };
      if (auto v = setting("modelType =")) {
        if (*v != "hill" && *v != "var")
          throw InputError(source, line_element(lineno), "modelType must be 'hill' or 'var', got '" + *v + "'");
        model_type = *v;
      }
      if (auto v = setting("invTimeStep =")) {
        double d;
        if (!parse_double(*v, d) || d <= 0)
          throw InputError(source, line_element(lineno), "invTimeStep must be a positive number, got '" + *v + "'");
        m.inv_time_step = d;
      }
      continue;
    }
    if (!in_couplings) {
      const size_t eq = line.find('=');
      if (eq == std::string::npos || line.find('=', eq + 1) != std::string::npos)
        throw InputError(source, line_element(lineno),
                         "a rule must read 'gene = expression' with exactly one '=': '" + t + "'");
      RawRule r{trim(line.substr(0, eq)), trim(line.substr(eq + 1)), lineno};
      if (r.lhs.empty() || r.lhs.find_first_of(" \t()") != std::string::npos || r.lhs == "and" || r.lhs == "or" ||
          r.lhs == "not")
        throw InputError(source, line_element(lineno), "invalid variable name '" + r.lhs + "'");
      for (const auto& o : raw_rules)
        if (o.lhs == r.lhs)
          throw InputError(source, line_element(lineno),
                           "variable '" + r.lhs + "' already has a rule (line " + std::to_string(o.line) + ")");
      raw_rules.push_back(std::move(r));
    } else {
      std::istringstream ss(t);
      std::vector<std::string> f;
      for (std::string w; ss >> w;) f.push_back(w);
      if (f.size() != 3)
        throw InputError(source, line_element(lineno),
                         "a coupling line must read 'child parent strength', got '" + t + "'");
      double v;
      if (!parse_double(f[2], v))
        throw InputError(source, line_element(lineno), "coupling strength '" + f[2] + "' is not a number");
      if (std::abs(v) < 1e-10)
        throw InputError(source, line_element(lineno), "coupling strength must be non-zero (omit the line instead)");
      raw_couplings.push_back({f[0], f[1], v, lineno});
    }
  }
  if (raw_rules.empty()) throw InputError(source, "", "no Boolean update rules ('gene = expression' lines)");

  m.model_type = model_type && *model_type == "hill" ? SimModelType::Hill : SimModelType::Var;
  if (m.model_type == SimModelType::Hill && !m.inv_time_step)
    throw InputError(source, "", "a hill model needs '# invTimeStep = <number>' before the coupling list");
  for (const auto& r : raw_rules) m.var_names.push_back(r.lhs);
  const int64_t dim = m.dim();

  // Couplings by name; remember lines to report mismatches against the rules.
  m.coupling.assign(static_cast<size_t>(dim * dim), 0.0);
  std::vector<int> coupling_line(static_cast<size_t>(dim * dim), 0);
  for (const auto& c : raw_couplings) {
    const int64_t ci = m.index_of(c.child), pi = m.index_of(c.parent);
    if (ci < 0) throw InputError(source, line_element(c.line), "unknown gene '" + c.child + "' in the coupling list");
    if (pi < 0) throw InputError(source, line_element(c.line), "unknown gene '" + c.parent + "' in the coupling list");
    const size_t at = static_cast<size_t>(ci * dim + pi);
    if (coupling_line[at] != 0)
      throw InputError(source, line_element(c.line),
                       "coupling " + c.child + " <- " + c.parent + " given twice (also line " +
                           std::to_string(coupling_line[at]) + ")");
    m.coupling[at] = c.value;
    coupling_line[at] = c.line;
  }

  for (const auto& r : raw_rules) {
    SimRule rule;
    rule.expression = r.rhs;
    rule.line = r.line;
    auto tokens = tokenize(r.rhs);
    if (!tokens.empty()) {
      RuleParser p(std::move(tokens), m.var_names, source, r.line, r.lhs);
      const auto tree = p.parse();
      rule.parents = p.parents();
      const size_t k = rule.parents.size();
      if (k > kMaxParents)
        throw InputError(source, line_element(r.line),
                         "rule for '" + r.lhs + "' has " + std::to_string(k) + " inputs (at most 20 supported)");
      if (k == 0 && eval(*tree, 0, 0)) rule.true_rows.push_back(0);
      if (k > 0)
        for (uint32_t row = 0; row < (1u << k); ++row)
          if (eval(*tree, row, static_cast<int>(k))) rule.true_rows.push_back(row);
    }
    m.rules.push_back(std::move(rule));
  }

  // Every input of a rule needs a coupling strength (its Hill threshold), and
  // only inputs may have one: a stray coupling is almost always a typo.
  for (int64_t c = 0; c < dim; ++c) {
    const auto& rule = m.rules[static_cast<size_t>(c)];
    for (int64_t p = 0; p < dim; ++p) {
      const bool is_parent = std::find(rule.parents.begin(), rule.parents.end(), p) != rule.parents.end();
      const int cl = coupling_line[static_cast<size_t>(c * dim + p)];
      if (is_parent && cl == 0)
        throw InputError(source, line_element(rule.line),
                         "rule for '" + m.var_names[c] + "' uses '" + m.var_names[p] +
                             "' but the coupling list has no '" + m.var_names[c] + " " + m.var_names[p] + "' line");
      if (!is_parent && cl != 0)
        throw InputError(source, line_element(cl),
                         "coupling " + m.var_names[c] + " <- " + m.var_names[p] + " but the rule for '" +
                             m.var_names[c] + "' (line " + std::to_string(rule.line) + ") does not use '" +
                             m.var_names[p] + "'");
    }
  }
  return m;
}

SimModel read_sim_model(const std::filesystem::path& path, bool params_file) {
  SimModel m = parse_sim_model(read_text(path), path.string(), path.stem().string());
  if (params_file) {
    const auto pfile = path.parent_path() / (path.stem().string() + "_params.txt");
    if (std::filesystem::exists(pfile)) m.params = read_sim_params(pfile);
  }
  return m;
}

SimParams parse_sim_params(std::string_view text, const std::string& source) {
  SimParams p;
  const auto lines = split_lines(text);
  for (size_t li = 0; li < lines.size(); ++li) {
    const int lineno = static_cast<int>(li) + 1;
    const std::string t = trim(lines[li]);
    if (t.empty() || t[0] == '#') continue;
    const size_t eq = t.find('=');
    if (eq == std::string::npos)
      throw InputError(source, line_element(lineno), "expected 'key = value', got '" + t + "'");
    const std::string key = trim(t.substr(0, eq)), val = trim(t.substr(eq + 1));
    if (val == "None") continue;  // Scanpy reads None as "not set"
    auto bad = [&](const char* what) {
      return InputError(source, line_element(lineno), key + " must be " + what + ", got '" + val + "'");
    };
    auto as_int = [&](int64_t min) {
      int64_t v;
      if (!parse_int(val, v) || v < min) throw bad(min > 0 ? "a positive integer" : "a non-negative integer");
      return v;
    };
    auto as_double = [&] {
      double v;
      if (!parse_double(val, v) || v < 0) throw bad("a non-negative number");
      return v;
    };
    if (key == "model") {
      p.model = val;
    } else if (key == "tmax") {
      p.tmax = as_int(1);
    } else if (key == "branching") {
      if (val == "True" || val == "true" || val == "1") p.branching = true;
      else if (val == "False" || val == "false" || val == "0") p.branching = false;
      else throw bad("True or False");
    } else if (key == "nrRealizations") {
      p.nrRealizations = as_int(1);
    } else if (key == "noiseObs") {
      p.noiseObs = as_double();
    } else if (key == "noiseDyn") {
      p.noiseDyn = as_double();
    } else if (key == "step") {
      p.step = as_int(1);
    } else if (key == "seed") {
      const int64_t v = as_int(0);
      if (v > 0xffffffffLL) throw bad("below 2**32");
      p.seed = static_cast<uint32_t>(v);
    } else {
      throw InputError(source, line_element(lineno),
                       "unknown parameter '" + key +
                           "' (known: model, tmax, branching, nrRealizations, noiseObs, noiseDyn, step, seed)");
    }
  }
  return p;
}

SimParams read_sim_params(const std::filesystem::path& path) {
  return parse_sim_params(read_text(path), path.string());
}

}  // namespace scanpp::tl
