// Writes and reads back a synthetic CSR h5ad (default 100k cells x 20k genes,
// ~2,000 stored values per cell, about 200M non-zeros), printing times,
// throughput and the process's peak memory.
//   bench_h5ad_io write FILE [cells genes per_cell gzip_level]
//   bench_h5ad_io read FILE
//   bench_h5ad_io backed FILE [block_rows]
//   bench_h5ad_io rewrite IN OUT [gzip_level repeats]   (read IN once, time reads and writes)
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <filesystem>
#include <string>

#include "scanpp/io/h5ad.hpp"

using namespace scanpp;

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
// CPU seconds (user + system) of the whole process so far: a figure that a
// loaded machine inflates far less than wall time.
double cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}
double peak_gib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / (1024.0 * 1024.0);
}
uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
SparseMatrix synthetic(int64_t cells, int64_t genes, int64_t per_cell) {
  SparseMatrix m;
  m.n_rows = cells;
  m.n_cols = genes;
  m.indptr.resize(static_cast<size_t>(cells) + 1);
  m.indices.reserve(static_cast<size_t>(cells * per_cell * 11 / 10));
  std::vector<float> vals;
  vals.reserve(m.indices.capacity());
  uint64_t s = 42;
  const uint64_t span = static_cast<uint64_t>(2 * genes / per_cell);
  for (int64_t i = 0; i < cells; ++i) {
    int64_t g = static_cast<int64_t>(splitmix(s) % span);
    while (g < genes) {
      m.indices.push_back(static_cast<int32_t>(g));
      vals.push_back(static_cast<float>(1 + splitmix(s) % 5));
      g += 1 + static_cast<int64_t>(splitmix(s) % span);
    }
    m.indptr[i + 1] = static_cast<int64_t>(m.indices.size());
  }
  m.data = Array::from_vector(vals);
  return m;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s write|read|backed FILE [...]\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1], path = argv[2];
  if (mode == "write") {
    const int64_t cells = argc > 3 ? std::atoll(argv[3]) : 100000, genes = argc > 4 ? std::atoll(argv[4]) : 20000;
    const int64_t per = argc > 5 ? std::atoll(argv[5]) : 2000;
    const int level = argc > 6 ? std::atoi(argv[6]) : -1;
    double t0 = now();
    AnnData ad{Element(synthetic(cells, genes, per))};
    double t1 = now();
    const auto& x = ad.X_sparse();
    const double mib = static_cast<double>(x.nnz()) * 8 / (1 << 20);
    std::printf("generated %lld x %lld, nnz %lld (%.0f MiB of data+indices) in %.2f s, peak %.2f GiB\n",
                (long long)cells, (long long)genes, (long long)x.nnz(), mib, t1 - t0, peak_gib());
    io::write_h5ad(ad, path, {.compression = level});
    double t2 = now();
    std::printf("write (gzip %d): %.2f s, %.0f MiB/s, file %.0f MiB, peak %.2f GiB\n", level, t2 - t1, mib / (t2 - t1),
                static_cast<double>(std::filesystem::file_size(path)) / (1 << 20), peak_gib());
  } else if (mode == "read") {
    double t0 = now();
    AnnData ad = io::read_h5ad(path);
    double t1 = now();
    const double mib = static_cast<double>(ad.X_sparse().nnz()) * 8 / (1 << 20);
    std::printf("read: %.2f s, %.0f MiB/s, nnz %lld, peak %.2f GiB\n", t1 - t0, mib / (t1 - t0),
                (long long)ad.X_sparse().nnz(), peak_gib());
  } else if (mode == "backed") {
    const int64_t block = argc > 3 ? std::atoll(argv[3]) : 10000;
    double t0 = now();
    io::BackedAnnData b(path);
    double total = 0;
    b.for_each_block(block, [&](const Element& e, int64_t, int64_t) {
      for (float v : e.get<SparseMatrix>().data.as<float>()) total += v;
    });
    double t1 = now();
    std::printf("backed pass in blocks of %lld rows: %.2f s, sum %.0f, peak %.2f GiB\n", (long long)block, t1 - t0,
                total, peak_gib());
  } else if (mode == "rewrite") {
    if (argc < 4) {
      std::fprintf(stderr, "usage: %s rewrite IN OUT [gzip_level repeats]\n", argv[0]);
      return 2;
    }
    const std::string out = argv[3];
    const int level = argc > 4 ? std::atoi(argv[4]) : 4;
    const int reps = argc > 5 ? std::max(1, std::atoi(argv[5])) : 3;
    AnnData ad;
    double best_read = 1e30, best_write = 1e30, cpu_read = 1e30, cpu_write = 1e30;
    for (int r = 0; r < reps; ++r) {
      double t0 = now(), c0 = cpu_s();
      ad = io::read_h5ad(path);
      double t1 = now(), c1 = cpu_s();
      io::write_h5ad(ad, out, {.compression = level});
      double t2 = now(), c2 = cpu_s();
      best_read = std::min(best_read, t1 - t0);
      best_write = std::min(best_write, t2 - t1);
      cpu_read = std::min(cpu_read, c1 - c0);
      cpu_write = std::min(cpu_write, c2 - c1);
    }
    std::printf("rewrite (best of %d): read %.3f s wall %.3f s cpu; write (gzip %d) %.3f s wall %.3f s cpu; file %.1f MiB, peak %.2f GiB\n",
                reps, best_read, cpu_read, level, best_write, cpu_write,
                static_cast<double>(std::filesystem::file_size(out)) / (1 << 20), peak_gib());
  } else {
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  return 0;
}
