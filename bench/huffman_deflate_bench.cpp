// Literal-only Huffman deflate (io/huffman_deflate) against libdeflate on
// the scaled PBMC 3k matrix cut into gzip chunks, one thread: MB/s and ratio.
//   huffman_deflate_bench [X_scaled.npy] [chunk_bytes] [repeats]
// And the gzip-4 write of a whole .h5ad, of its X alone and of the rest
// (median wall and CPU seconds, on scanpp's threads):
//   huffman_deflate_bench h5ad IN.h5ad OUT.h5ad [repeats]
#include <libdeflate.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "bench_timing.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/io/huffman_deflate.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int h5ad_writes(const std::string& in, const std::string& out, int repeats) {
  using scanpp::AnnData;
  const AnnData full = scanpp::io::read_h5ad(in);
  AnnData x_only;
  x_only.X = full.X;
  x_only.obs = scanpp::DataFrame(full.obs.index());
  x_only.var = scanpp::DataFrame(full.var.index());
  AnnData rest = full;
  rest.X.reset();
  const std::pair<const char*, const AnnData*> cases[] = {{"whole file", &full}, {"X alone", &x_only}, {"all but X", &rest}};
  std::printf("%-12s %10s %10s\n", "gzip 4", "wall s", "cpu s");
  for (const auto& [name, ad] : cases) {
    const auto t = scanpp::bench::median_time(repeats, [&] { scanpp::io::write_h5ad(*ad, out, {.compression = 4}); });
    std::printf("%-12s %10.3f %10.3f\n", name, t.wall, t.cpu);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "h5ad") {
    if (argc < 4) {
      std::fprintf(stderr, "usage: huffman_deflate_bench h5ad IN.h5ad OUT.h5ad [repeats]\n");
      return 2;
    }
    return h5ad_writes(argv[2], argv[3], argc > 4 ? std::atoi(argv[4]) : 5);
  }
  const std::string path = argc > 1 ? argv[1] : std::string(SCANPP_SHARED_DIR) + "/golden/pbmc3k/X_scaled.npy";
  const size_t chunk = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : size_t{1} << 20;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 3;
  std::ifstream in(path, std::ios::binary);
  std::vector<char> all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (all.size() < 128) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return 1;
  }
  const size_t header = 10 + static_cast<unsigned char>(all[8]) + 256 * static_cast<size_t>(static_cast<unsigned char>(all[9]));
  const auto* data = reinterpret_cast<const std::byte*>(all.data() + header);
  const size_t n = all.size() - header;
  std::vector<std::byte> out(chunk + chunk / 8 + 4096);
  std::printf("%zu bytes in chunks of %zu, best of %d, one thread\n", n, chunk, repeats);
  std::printf("%-22s %10s %8s %9s\n", "codec", "bytes", "ratio", "MB/s");

  auto run = [&](const char* name, auto&& compress) {
    double best = 1e30;
    size_t total = 0;
    for (int r = 0; r < repeats; ++r) {
      total = 0;
      const auto t0 = std::chrono::steady_clock::now();
      for (size_t off = 0; off < n; off += chunk) {
        const size_t k = std::min(chunk, n - off);
        const size_t z = compress(data + off, k);
        total += z ? z : k;
      }
      best = std::min(best, seconds_since(t0));
    }
    std::printf("%-22s %10zu %8.4f %9.1f\n", name, total, static_cast<double>(total) / static_cast<double>(n),
                static_cast<double>(n) / best / 1e6);
  };
  for (int level : {1, 4, 6}) {
    libdeflate_compressor* c = libdeflate_alloc_compressor(level);
    run(("libdeflate level " + std::to_string(level)).c_str(), [&](const std::byte* p, size_t k) {
      return libdeflate_zlib_compress(c, p, k, out.data(), k);
    });
    libdeflate_free_compressor(c);
  }
  run("huffman_zlib_compress", [&](const std::byte* p, size_t k) {
    return scanpp::io::huffman_zlib_compress(p, k, out.data(), k);
  });
  run("huffman_zlib_size", [&](const std::byte* p, size_t k) { return scanpp::io::huffman_zlib_size(p, k); });
  run("adler32 only", [&](const std::byte* p, size_t k) {
    return static_cast<size_t>(libdeflate_adler32(1, p, k) & 1) + k;
  });
  // The probe deflate_chunks runs per chunk: libdeflate level 4 on three
  // 16 KiB slices.
  libdeflate_compressor* c4 = libdeflate_alloc_compressor(4);
  run("probe (3 x 16 KiB, l4)", [&](const std::byte* p, size_t k) {
    size_t z = 0;
    const size_t s = size_t{16} << 10;
    for (size_t i = 0; i < 3; ++i) z += libdeflate_zlib_compress(c4, p + (k - s) / 2 * i, s, out.data(), out.size());
    return z;
  });
  libdeflate_free_compressor(c4);
  return 0;
}
