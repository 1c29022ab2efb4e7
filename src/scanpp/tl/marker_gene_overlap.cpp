#include "scanpp/tl/marker_gene_overlap.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iostream>
#include <limits>
#include <set>

#include "scanpp/core/error.hpp"
#include "scanpp/io/atomic_file.hpp"

namespace scanpp::tl {

namespace {

using GeneSet = std::set<std::string>;

GeneSet to_set(const std::vector<std::string>& v) { return GeneSet(v.begin(), v.end()); }

size_t intersection_size(const GeneSet& a, const GeneSet& b) {
  size_t n = 0;
  for (const auto& g : a) n += b.count(g);
  return n;
}

// numpy's nan_to_num: NaN -> 0, +-inf -> the largest finite doubles.
double nan_to_num(double v) {
  if (std::isnan(v)) return 0.0;
  if (std::isinf(v)) return v > 0 ? std::numeric_limits<double>::max() : std::numeric_limits<double>::lowest();
  return v;
}

const Dict& de_result(const AnnData& adata, const std::string& key) {
  auto it = adata.uns.find(key);
  if (it == adata.uns.end())
    throw ValueError("Could not find marker gene data in uns['" + key +
                     "']. Please run `sc.tl.rank_genes_groups()` first.");
  if (!it->second.is<Dict>()) throw ValueError("marker_gene_overlap: uns['" + key + "'] is not a mapping");
  return it->second.get<Dict>();
}

const RecArray& rec_field(const Dict& d, const std::string& key, const std::string& name) {
  auto it = d.find(name);
  if (it == d.end()) throw KeyError("marker_gene_overlap: uns['" + key + "'] has no '" + name + "'");
  if (!it->second.is<RecArray>())
    throw ValueError("marker_gene_overlap: uns['" + key + "']['" + name + "'] is not a record array");
  return it->second.get<RecArray>();
}

// Python's repr of a float: shortest round-trip digits, scientific notation
// below 1e-4 and from 1e16 on.
std::string py_float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string s(buf, res.ptr);
  const size_t e = s.find('e');
  std::string mant = s.substr(0, e);
  const int exp = std::stoi(s.substr(e + 1));
  const bool neg = mant[0] == '-';
  if (neg) mant.erase(0, 1);
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  std::string out;
  if (exp >= -5 + 1 && exp < 16) {
    if (exp >= 0) {
      if (static_cast<int>(digits.size()) <= exp + 1) {
        out = digits + std::string(static_cast<size_t>(exp + 1) - digits.size(), '0') + ".0";
      } else {
        out = digits.substr(0, static_cast<size_t>(exp + 1)) + "." + digits.substr(static_cast<size_t>(exp + 1));
      }
    } else {
      out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    out += eb;
  }
  return (neg ? "-" : "") + out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

DataFrame marker_overlap_table(const MarkerSets& reference, const MarkerSets& data, const std::string& method,
                               const std::optional<std::string>& normalize) {
  if (method != "overlap_count" && method != "overlap_coef" && method != "jaccard")
    throw ValueError("Method must be one of {'overlap_count', 'overlap_coef', 'jaccard'} (got '" + method + "')");
  if (normalize && *normalize != "reference" && *normalize != "data")
    throw ValueError("Normalize must be one of {'reference', 'data', None} (got '" + *normalize + "')");
  if (normalize && method != "overlap_count") throw ValueError("Can only normalize with method=`overlap_count`.");
  std::vector<GeneSet> ref, dat;
  std::vector<std::string> ref_names;
  for (const auto& [name, genes] : reference) {
    ref.push_back(to_set(genes));
    ref_names.push_back(name);
  }
  for (const auto& p : data) dat.push_back(to_set(p.second));
  DataFrame df(ref_names);
  for (size_t c = 0; c < dat.size(); ++c) {
    std::vector<double> col(ref.size());
    for (size_t r = 0; r < ref.size(); ++r) {
      const double inter = static_cast<double>(intersection_size(ref[r], dat[c]));
      if (method == "overlap_count") {
        col[r] = inter;
        if (normalize && *normalize == "reference") col[r] = nan_to_num(inter / static_cast<double>(ref[r].size()));
        if (normalize && *normalize == "data") col[r] = nan_to_num(inter / static_cast<double>(dat[c].size()));
      } else if (method == "overlap_coef") {
        col[r] = inter / static_cast<double>(std::max<size_t>(std::min(ref[r].size(), dat[c].size()), 1));
      } else {
        const double uni = static_cast<double>(ref[r].size() + dat[c].size()) - inter;
        if (uni == 0)
          throw ValueError("marker_gene_overlap: jaccard index of two empty marker sets ('" + ref_names[r] + "', '" +
                           data[c].first + "') is undefined");
        col[r] = inter / uni;
      }
    }
    df.set_array(data[c].first, col);
  }
  return df;
}

MarkerSets data_marker_genes(const AnnData& adata, const MarkerGeneOverlapOptions& opt) {
  const Dict& de = de_result(adata, opt.key);
  const RecArray& names = rec_field(de, opt.key, "names");
  std::optional<double> thr = opt.adj_pval_threshold;
  const RecArray* pvals_adj = nullptr;
  if (thr) {
    if (!de.count("pvals_adj"))
      throw ValueError("Could not find adjusted p-value data. Please run `sc.tl.rank_genes_groups()` with a method "
                       "that outputs adjusted p-values.");
    pvals_adj = &rec_field(de, opt.key, "pvals_adj");
    if (*thr < 0) {
      std::cerr << "WARNING: `adj_pval_threshold` was set below 0. Threshold will be set to 0.\n";
      thr = 0.0;
    } else if (*thr > 1) {
      std::cerr << "WARNING: `adj_pval_threshold` was set above 1. Threshold will be set to 1.\n";
      thr = 1.0;
    }
    if (opt.top_n_markers)
      std::cerr << "WARNING: Both `adj_pval_threshold` and `top_n_markers` is set. `adj_pval_threshold` will be "
                   "ignored.\n";
  }
  std::optional<int> top_n = opt.top_n_markers;
  if (top_n && *top_n < 1) {
    std::cerr << "WARNING: `top_n_markers` was set below 1. `top_n_markers` will be set to 1.\n";
    top_n = 1;
  }
  MarkerSets out;
  for (const auto& field : names.fields) {
    if (!std::holds_alternative<std::vector<std::string>>(field.values))
      throw ValueError("marker_gene_overlap: uns['" + opt.key + "']['names'] field '" + field.name +
                       "' does not hold gene names");
    const auto& g = std::get<std::vector<std::string>>(field.values);
    int64_t n_genes;
    if (top_n) {
      n_genes = std::min<int64_t>(*top_n, names.n_records);
    } else if (thr) {
      const auto& pf = pvals_adj->field(field.name);
      if (!std::holds_alternative<Array>(pf.values))
        throw ValueError("marker_gene_overlap: pvals_adj field '" + field.name + "' is not numeric");
      const Array& p = std::get<Array>(pf.values);
      n_genes = 0;
      for (int64_t i = 0; i < p.size(); ++i) n_genes += p.get_double(i) < *thr ? 1 : 0;
      if (n_genes == 0)
        std::cerr << "WARNING: No marker genes passed the significance threshold of " << *thr << " for cluster '"
                  << field.name << "'.\n";
    } else {
      n_genes = 100;
    }
    n_genes = std::min<int64_t>(n_genes, static_cast<int64_t>(g.size()));
    out.emplace_back(field.name, std::vector<std::string>(g.begin(), g.begin() + n_genes));
  }
  return out;
}

DataFrame marker_gene_overlap(AnnData& adata, const MarkerSets& reference_markers,
                              const MarkerGeneOverlapOptions& opt) {
  // Parameters are checked before the DE result is read, as Scanpy does.
  marker_overlap_table({}, {}, opt.method, opt.normalize);
  DataFrame df = marker_overlap_table(reference_markers, data_marker_genes(adata, opt), opt.method, opt.normalize);
  if (opt.inplace) adata.uns[opt.key_added] = df;
  return df;
}

void write_table_csv(const DataFrame& df, const std::string& path) {
  io::AtomicFile file(path);
  {
    std::ofstream out(file.temp_path());
    if (!out) throw InputError(path, "", "cannot open for writing");
    out << csv_field(df.index_name());
    for (const auto& name : df.column_names()) out << ',' << csv_field(name);
    out << '\n';
    std::vector<std::vector<double>> cols;
    for (const auto& name : df.column_names()) cols.push_back(df.numeric(name));
    for (int64_t r = 0; r < df.n_rows(); ++r) {
      out << csv_field(df.index()[static_cast<size_t>(r)]);
      for (const auto& c : cols) {
        const double v = c[static_cast<size_t>(r)];
        out << ',' << (std::isnan(v) ? std::string() : py_float_repr(v));
      }
      out << '\n';
    }
    out.flush();
    if (!out) throw InputError(path, "", "write failed");
  }
  file.commit();
}

}  // namespace scanpp::tl
