#include "scanpp/io/read_10x_mtx.hpp"

#include <charconv>
#include <filesystem>
#include <string_view>
#include <vector>

#include "scanpp/core/dataframe.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/io/mtx.hpp"
#include "scanpp/io/text_reader.hpp"

namespace scanpp::io {
namespace {

namespace fs = std::filesystem;

// One column of a header-less table as pandas.read_csv(header=None) types it:
// int64 when every value is an integer, text otherwise.
struct TableColumn {
  std::vector<std::string> text;
  std::vector<int64_t> ints;
  bool all_int = true;

  // The values as pandas would hand them to an index (then made str by anndata).
  std::vector<std::string> names() const {
    if (!all_int) return text;
    std::vector<std::string> out;
    out.reserve(ints.size());
    for (int64_t v : ints) out.push_back(std::to_string(v));
    return out;
  }
  Column column() const {
    if (all_int) return Array::from_vector(ints);
    return text;
  }
};

bool parse_int64(std::string_view s, int64_t& v) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

// pandas' default quoting: a field wrapped in '"' loses the quotes, '""' is '"'.
std::string unquote(std::string_view f) {
  if (f.size() >= 2 && f.front() == '"' && f.back() == '"') {
    std::string out;
    f = f.substr(1, f.size() - 2);
    for (size_t i = 0; i < f.size(); ++i) {
      out += f[i];
      if (f[i] == '"' && i + 1 < f.size() && f[i + 1] == '"') ++i;
    }
    return out;
  }
  return std::string(f);
}

// The first `n_needed` columns of a header-less delimited file. Blank lines
// are skipped (pandas' skip_blank_lines); a line with more fields than the
// first one is an error, as in pandas' C parser.
std::vector<TableColumn> read_table(const std::string& path, char sep, size_t n_needed, const char* what) {
  const TextBuffer text = read_text_file(path);
  std::vector<TableColumn> cols(n_needed);
  std::string_view rest = text.view();
  int64_t line_no = 0;
  size_t first_fields = 0;
  std::vector<std::string_view> fields;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    fields.clear();
    size_t start = 0;
    for (;;) {
      const size_t t = line.find(sep, start);
      fields.push_back(line.substr(start, t == std::string_view::npos ? std::string_view::npos : t - start));
      if (t == std::string_view::npos) break;
      start = t + 1;
    }
    if (first_fields == 0) first_fields = fields.size();
    if (fields.size() > first_fields)
      throw InputError(path, "line " + std::to_string(line_no),
                       "expected " + std::to_string(first_fields) + " fields (as on the first line), found " +
                           std::to_string(fields.size()));
    if (fields.size() < n_needed)
      throw InputError(path, "line " + std::to_string(line_no),
                       std::string("expected at least ") + std::to_string(n_needed) + " " +
                           (sep == '\t' ? "tab-separated " : "") + "columns (" + what + "), found " +
                           std::to_string(fields.size()));
    for (size_t c = 0; c < n_needed; ++c) {
      TableColumn& col = cols[c];
      col.text.push_back(unquote(fields[c]));
      if (col.all_int) {
        int64_t v = 0;
        if (parse_int64(col.text.back(), v)) col.ints.push_back(v);
        else col.all_int = false;
      }
    }
  }
  for (auto& c : cols) {
    if (c.text.empty()) c.all_int = false;  // an empty file has no typed values
    if (!c.all_int) c.ints.clear();
  }
  return cols;
}

void require_file(const fs::path& p, const fs::path& dir, const std::string& alt_hint) {
  std::error_code ec;
  if (fs::is_regular_file(p, ec)) return;
  std::string problem = "no such file in the 10x folder " + dir.string();
  if (!alt_hint.empty() && fs::is_regular_file(dir / alt_hint, ec))
    problem += " (the folder has " + alt_hint + "; read it with compressed = false)";
  throw InputError(p.string(), "", problem);
}

// Keeps the columns of a CSR matrix where keep[j]; indices stay sorted.
SparseMatrix keep_columns(const SparseMatrix& m, const std::vector<bool>& keep) {
  std::vector<int32_t> remap(static_cast<size_t>(m.n_cols), -1);
  int32_t n = 0;
  for (size_t j = 0; j < keep.size(); ++j)
    if (keep[j]) remap[j] = n++;
  SparseMatrix out;
  out.format = SparseFormat::CSR;
  out.n_rows = m.n_rows;
  out.n_cols = n;
  out.indptr.assign(static_cast<size_t>(m.n_rows) + 1, 0);
  const auto src = m.data.as<float>();
  std::vector<float> vals;
  vals.reserve(src.size());
  out.indices.reserve(m.indices.size());
  for (int64_t i = 0; i < m.n_rows; ++i) {
    for (int64_t k = m.indptr[static_cast<size_t>(i)]; k < m.indptr[static_cast<size_t>(i) + 1]; ++k) {
      const int32_t j = remap[static_cast<size_t>(m.indices[static_cast<size_t>(k)])];
      if (j < 0) continue;
      out.indices.push_back(j);
      vals.push_back(src[static_cast<size_t>(k)]);
    }
    out.indptr[static_cast<size_t>(i) + 1] = static_cast<int64_t>(out.indices.size());
  }
  out.data = Array::from_vector(vals);
  return out;
}

}  // namespace

AnnData read_10x_mtx(const std::string& dir_name, const Read10xMtxOptions& opt) {
  if (opt.var_names != "gene_symbols" && opt.var_names != "gene_ids")
    throw ValueError("read_10x_mtx: var_names needs to be 'gene_symbols' or 'gene_ids', not '" + opt.var_names + "'");
  const fs::path dir(dir_name);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(dir_name, "", "no such folder (expected a 10x matrix folder)");

  const std::string& pre = opt.prefix;
  const bool legacy = fs::is_regular_file(dir / (pre + "genes.tsv"), ec);
  const std::string suffix = legacy || !opt.compressed ? "" : ".gz";
  const fs::path matrix_path = dir / (pre + "matrix.mtx" + suffix);
  const fs::path genes_path = dir / (pre + (legacy ? "genes" : "features") + ".tsv" + suffix);
  const fs::path barcodes_path = dir / (pre + "barcodes.tsv" + suffix);
  const bool plain_v3 = !legacy && opt.compressed;
  require_file(matrix_path, dir, plain_v3 ? pre + "matrix.mtx" : "");
  require_file(genes_path, dir, plain_v3 ? pre + "features.tsv" : "");
  require_file(barcodes_path, dir, plain_v3 ? pre + "barcodes.tsv" : "");

  // Genes and barcodes first: a count mismatch is found before the big parse.
  const std::vector<TableColumn> genes =
      read_table(genes_path.string(), '\t', legacy ? 2 : 3, legacy ? "gene id, gene symbol" : "feature id, name, type");
  const std::vector<TableColumn> barcodes = read_table(barcodes_path.string(), ',', 1, "barcode");
  const MtxHeader header = read_mtx_header(matrix_path.string());
  const int64_t n_genes = static_cast<int64_t>(genes[0].text.size());
  const int64_t n_barcodes = static_cast<int64_t>(barcodes[0].text.size());
  const std::string mname = matrix_path.filename().string();
  if (n_genes != header.n_rows)
    throw InputError(genes_path.string(), "",
                     "has " + std::to_string(n_genes) + " " + (legacy ? "genes" : "features") + " but " + mname + " has " +
                         std::to_string(header.n_rows) + " rows (one per " + (legacy ? "gene" : "feature") + ")");
  if (n_barcodes != header.n_cols)
    throw InputError(barcodes_path.string(), "",
                     "has " + std::to_string(n_barcodes) + " barcodes but " + mname + " has " +
                         std::to_string(header.n_cols) + " columns (one per barcode)");

  AnnData adata;
  SparseMatrix X = read_mtx_matrix_transposed(matrix_path.string(), DType::Float32);

  if (opt.var_names == "gene_symbols") {
    std::vector<std::string> names = genes[1].names();
    if (opt.make_unique) names = make_index_unique(names);
    adata.var = DataFrame(std::move(names));
    adata.var.set("gene_ids", genes[0].column());
  } else {
    adata.var = DataFrame(genes[0].names());
    adata.var.set("gene_symbols", genes[1].column());
  }
  if (!legacy) adata.var.set("feature_types", genes[2].column());
  adata.obs = DataFrame(barcodes[0].names());

  if (!legacy && opt.gex_only) {
    const std::vector<std::string> types = genes[2].names();
    std::vector<bool> keep(types.size());
    std::vector<int64_t> kept;
    for (size_t j = 0; j < types.size(); ++j)
      if ((keep[j] = types[j] == "Gene Expression")) kept.push_back(static_cast<int64_t>(j));
    if (static_cast<int64_t>(kept.size()) != n_genes) {
      X = keep_columns(X, keep);
      adata.var = adata.var.take(kept);
    }
  }
  adata.X = Element(std::move(X));
  return adata;
}

}  // namespace scanpp::io
