// The `scanpp` command: sets the runtime settings that OpenBLAS and libgomp
// read when they load (runtime_env.hpp), then starts the program proper,
// libexec/scanpp beside this file, with the same arguments. It links
// nothing but the C library: the program's shared libraries then load once,
// where a program restarting itself loads them twice (~25 ms each time).
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "runtime_env.hpp"

namespace {

constexpr char kProgram[] = "libexec/scanpp";

// Writes the folder of this executable, with its trailing '/', to out; false
// where it cannot be known.
bool own_folder(const char* argv0, char* out, size_t size) {
  ssize_t n = ::readlink("/proc/self/exe", out, size - 1);
  if (n <= 0 || static_cast<size_t>(n) >= size - 1) {
    // No /proc: the path it was started by, when that names a folder.
    if (argv0 == nullptr || std::strchr(argv0, '/') == nullptr || std::strlen(argv0) >= size) return false;
    n = static_cast<ssize_t>(std::strlen(argv0));
    std::memcpy(out, argv0, static_cast<size_t>(n));
  }
  out[n] = '\0';
  char* slash = std::strrchr(out, '/');
  if (slash == nullptr) return false;
  slash[1] = '\0';
  return true;
}

}  // namespace

int main(int, char** argv) {
  scanpp::app::set_runtime_defaults();
  char path[PATH_MAX];
  if (!own_folder(argv[0], path, sizeof path) || std::strlen(path) + sizeof kProgram > sizeof path) {
    std::fprintf(stderr, "scanpp: error: cannot find the folder of this executable to start %s\n", kProgram);
    return 2;
  }
  std::strcat(path, kProgram);
  ::execv(path, argv);
  std::fprintf(stderr, "scanpp: error: cannot start %s: %s\n", path, std::strerror(errno));
  return 2;
}
