#include "scanpp/io/csv.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <type_traits>
#include <vector>

#include "scanpp/core/error.hpp"
#include "scanpp/io/text_reader.hpp"

namespace scanpp::io {
namespace {

// Python's str.split()/str.strip() whitespace (the ASCII part).
inline bool py_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1f);
}

std::string_view py_strip(std::string_view s) {
  while (!s.empty() && py_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && py_space(s.back())) s.remove_suffix(1);
  return s;
}

// line.split(delimiter): every occurrence splits, empty fields kept; without
// a delimiter, runs of whitespace split and no field is empty.
void split_line(std::string_view line, const std::optional<char>& delim, std::vector<std::string_view>& out) {
  out.clear();
  if (delim) {
    size_t start = 0;
    for (;;) {
      const size_t t = line.find(*delim, start);
      if (t == std::string_view::npos) {
        out.push_back(line.substr(start));
        return;
      }
      out.push_back(line.substr(start, t - start));
      start = t + 1;
    }
  }
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && py_space(line[i])) ++i;
    size_t j = i;
    while (j < line.size() && !py_space(line[j])) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

// Python's rule for '_' in numeric literals: only between two digits.
bool drop_underscores(std::string_view s, std::string& buf) {
  buf.clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      if (i == 0 || i + 1 == s.size() || !std::isdigit(static_cast<unsigned char>(s[i - 1])) ||
          !std::isdigit(static_cast<unsigned char>(s[i + 1])))
        return false;
      continue;
    }
    buf += s[i];
  }
  return true;
}

// Python's float(s): surrounding whitespace, a sign, decimal or exponent
// notation, inf/infinity/nan in any case, '_' between digits.
bool parse_py_float(std::string_view s, double& v) {
  s = py_strip(s);
  std::string buf;
  if (s.find('_') != std::string_view::npos) {
    if (!drop_underscores(s, buf)) return false;
    s = buf;
  }
  bool neg = false;
  std::string_view body = s;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body.empty()) return false;
  if (std::isalpha(static_cast<unsigned char>(body[0]))) {
    if (iequals(body, "inf") || iequals(body, "infinity")) v = std::numeric_limits<double>::infinity();
    else if (iequals(body, "nan")) v = std::numeric_limits<double>::quiet_NaN();
    else return false;
    if (neg) v = -v;
    return true;
  }
  if (body[0] == '+' || body[0] == '-') return false;
  auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), v);
  if (p != body.data() + body.size()) return false;
  if (ec == std::errc::result_out_of_range) v = std::strtod(std::string(body).c_str(), nullptr);
  else if (ec != std::errc()) return false;
  if (neg) v = -v;
  return true;
}

bool is_float(std::string_view s) {
  double v;
  return parse_py_float(s, v);
}

// One field converted as numpy converts a string to the dtype.
template <class T>
bool parse_number(std::string_view s, T& out) {
  if constexpr (std::is_floating_point_v<T>) {
    double v;
    if (!parse_py_float(s, v)) return false;
    out = static_cast<T>(v);
    return true;
  } else {
    // int(s): whitespace, sign, digits (and '_' between digits); in range.
    s = py_strip(s);
    std::string buf;
    if (s.find('_') != std::string_view::npos) {
      if (!drop_underscores(s, buf)) return false;
      s = buf;
    }
    if (!s.empty() && s[0] == '+') s.remove_prefix(1);
    if (s.empty() || s[0] == '+') return false;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return false;
    if constexpr (std::is_unsigned_v<T>) {
      if (v < 0 || static_cast<uint64_t>(v) > std::numeric_limits<T>::max()) return false;
    } else {
      if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) return false;
    }
    out = static_cast<T>(v);
    return true;
  }
}

std::string strip_quotes(std::string_view s) {
  while (!s.empty() && s.front() == '"') s.remove_prefix(1);
  while (!s.empty() && s.back() == '"') s.remove_suffix(1);
  return std::string(s);
}

std::string quoted(std::string_view s) {
  std::string out(s.substr(0, 60));
  if (s.size() > 60) out += "...";
  return "'" + out + "'";
}

template <class T>
class TextMatrixReader {
 public:
  TextMatrixReader(const std::string& path, std::optional<char> delim, std::optional<bool> first_column_names)
      : lines_(path), path_(path), delim_(delim), fcn_(first_column_names) {}

  AnnData read(bool transpose) {
    std::vector<std::string> comments, col_names;
    std::string_view line;
    std::vector<std::string_view> tok;

    // Header: comments, then one line that is either names or the first row.
    while (next_line(line)) {
      if (line[0] == '#') {
        size_t k = 0;
        while (k < line.size() && (line[k] == '#' || line[k] == ' ')) ++k;
        if (k < line.size()) comments.emplace_back(line.substr(k));
        continue;
      }
      if (delim_ && line.find(*delim_) == std::string_view::npos)
        throw InputError(path_, here(), std::string("did not find the delimiter '") + *delim_ + "' in the first line");
      split_line(line, delim_, tok);
      if (tok.empty()) throw InputError(path_, here(), "the first line has no fields");
      if (!is_float(tok.back())) {
        for (auto t : tok) col_names.emplace_back(t);
      } else if (!is_float(tok[0]) || fcn_.value_or(false)) {
        fcn_ = true;
        row_names_.emplace_back(tok[0]);
        first_row_ = parse_row(tok, 1);
        first_line_ = lines_.line_number();
        n_rows_ = 1;
      } else {
        first_row_ = parse_row(tok, 0);
        first_line_ = lines_.line_number();
        n_rows_ = 1;
      }
      break;
    }
    if (col_names.empty()) {
      if (!comments.empty()) {
        std::vector<std::string_view> ws;
        split_line(comments.back(), std::nullopt, ws);
        for (auto t : ws) col_names.emplace_back(t);
      } else {
        if (n_rows_ == 0) throw InputError(path_, "", "no data lines");
        for (size_t j = 0; j < first_row_.size(); ++j) col_names.push_back(std::to_string(j));
      }
    }
    if (!fcn_) fcn_ = false;

    // The second line decides whether the first column holds names.
    std::vector<T> second;
    int64_t second_line = 0;
    if (next_line(line)) {
      split_line(line, delim_, tok);
      if (tok.empty()) throw InputError(path_, here(), "line has no fields");
      if (*fcn_ || !is_float(tok[0])) {
        fcn_ = true;
        row_names_.emplace_back(tok[0]);
        second = parse_row(tok, 1);
      } else {
        second = parse_row(tok, 0);
      }
      second_line = lines_.line_number();
      if (n_rows_ == 0) {
        first_row_ = std::move(second);
        first_line_ = second_line;
        n_rows_ = 1;
      } else if (second.size() != first_row_.size()) {
        if (second.empty()) throw InputError(path_, "line " + std::to_string(second_line), "line has no values");
        // anndata: a numeric header one field shorter than the rows gives
        // integer column names, and the rows carry integer row names.
        *fcn_ = true;
        col_names.clear();
        for (T v : first_row_) col_names.push_back(integer_name(v, first_line_));
        row_names_.push_back(integer_name(second[0], second_line));
        first_row_.assign(second.begin() + 1, second.end());
        first_line_ = second_line;
      } else {
        n_rows_ = 2;
      }
    }
    if (n_rows_ == 0) throw InputError(path_, "", "no data lines (only a header)");
    const size_t n_cols = first_row_.size();
    values_ = std::move(first_row_);
    if (n_rows_ == 2) values_.insert(values_.end(), second.begin(), second.end());

    // The rest, in the layout the first two lines established.
    while (next_line(line)) {
      split_line(line, delim_, tok);
      size_t from = 0;
      if (*fcn_) {
        if (tok.empty()) throw InputError(path_, here(), "line has no fields");
        row_names_.emplace_back(tok[0]);
        from = 1;
      }
      if (tok.size() - from != n_cols)
        throw InputError(path_, here(),
                         "has " + std::to_string(tok.size() - from) + " values but line " + std::to_string(first_line_) +
                             " has " + std::to_string(n_cols) + " (rows of different lengths)");
      append_row(tok, from);
      ++n_rows_;
    }

    // Names, and their agreement with the shape.
    if (n_cols == 0) throw InputError(path_, "", "rows hold no values");
    if (col_names.size() > n_cols) col_names.erase(col_names.begin());
    if (col_names.size() != n_cols)
      throw InputError(path_, "", "the header names " + std::to_string(col_names.size()) + " columns but the rows have " +
                                      std::to_string(n_cols) + " values");
    for (auto& n : col_names) n = strip_quotes(n);
    std::vector<std::string> row_names;
    if (row_names_.empty()) {
      for (int64_t i = 0; i < n_rows_; ++i) row_names.push_back(std::to_string(i));
    } else {
      if (static_cast<int64_t>(row_names_.size()) != n_rows_)
        throw InputError(path_, "", "some lines have a row name in the first column and some do not (" +
                                        std::to_string(row_names_.size()) + " names for " + std::to_string(n_rows_) +
                                        " rows)");
      row_names.reserve(row_names_.size());
      for (auto& n : row_names_) row_names.push_back(strip_quotes(n));
    }

    const int64_t nr = n_rows_, nc = static_cast<int64_t>(n_cols);
    AnnData ad;
    if (!transpose) {
      Array X = Array::from_vector(values_, {nr, nc});
      ad.X = Element(std::move(X));
      ad.obs = DataFrame(std::move(row_names));
      ad.var = DataFrame(std::move(col_names));
    } else {
      Array X(dtype_of<T>(), {nc, nr});
      T* out = X.as<T>().data();
      constexpr int64_t B = 64;  // cache blocks
      for (int64_t i0 = 0; i0 < nr; i0 += B)
        for (int64_t j0 = 0; j0 < nc; j0 += B)
          for (int64_t i = i0; i < std::min(nr, i0 + B); ++i)
            for (int64_t j = j0; j < std::min(nc, j0 + B); ++j) out[j * nr + i] = values_[static_cast<size_t>(i * nc + j)];
      ad.X = Element(std::move(X));
      ad.obs = DataFrame(std::move(col_names));
      ad.var = DataFrame(std::move(row_names));
    }
    return ad;
  }

 private:
  // Next non-empty line with trailing '\r'/'\n' removed (anndata's iter_lines).
  bool next_line(std::string_view& line) {
    while (lines_.next(line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
      if (!line.empty()) return true;
    }
    return false;
  }
  std::string here() const { return "line " + std::to_string(lines_.line_number()); }

  std::vector<T> parse_row(const std::vector<std::string_view>& tok, size_t from) {
    std::vector<T> row;
    row.reserve(tok.size() - std::min(from, tok.size()));
    for (size_t j = from; j < tok.size(); ++j) row.push_back(field(tok[j], j));
    return row;
  }
  void append_row(const std::vector<std::string_view>& tok, size_t from) {
    for (size_t j = from; j < tok.size(); ++j) values_.push_back(field(tok[j], j));
  }
  T field(std::string_view s, size_t j) {
    T v{};
    if (!parse_number(s, v))
      throw InputError(path_, here() + ", column " + std::to_string(j + 1),
                       quoted(s) + " is not " + (std::is_floating_point_v<T> ? "a number" : "an integer"));
    return v;
  }
  std::string integer_name(T v, int64_t line) const {
    const double d = static_cast<double>(v);
    if (!std::isfinite(d)) throw InputError(path_, "line " + std::to_string(line), "a column name is not a finite number");
    return std::to_string(static_cast<int64_t>(d));
  }

  LineReader lines_;
  std::string path_;
  std::optional<char> delim_;
  std::optional<bool> fcn_;
  std::vector<std::string> row_names_;
  std::vector<T> first_row_, values_;
  int64_t first_line_ = 0, n_rows_ = 0;
};

AnnData read_delimited(const std::string& path, std::optional<char> delim, std::optional<bool> fcn, DType dtype,
                       bool transpose) {
  if (dtype == DType::Bool) throw ValueError("read_csv/read_text: dtype bool is not supported (use a numeric dtype)");
  return dispatch_dtype(dtype, [&](auto tag) -> AnnData {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, Bool8>) {
      throw ValueError("read_csv/read_text: dtype bool is not supported");
    } else {
      return TextMatrixReader<T>(path, delim, fcn).read(transpose);
    }
  });
}

}  // namespace

AnnData read_csv(const std::string& path, const ReadCsvOptions& opt) {
  return read_delimited(path, opt.delimiter, opt.first_column_names, opt.dtype, opt.transpose);
}

AnnData read_text(const std::string& path, const ReadTextOptions& opt) {
  return read_delimited(path, opt.delimiter, opt.first_column_names, opt.dtype, opt.transpose);
}

}  // namespace scanpp::io
