#include "scanpp/io/atomic_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "scanpp/core/error.hpp"

namespace scanpp::io {

AtomicFile::AtomicFile(std::string target) : target_(std::move(target)) {
  namespace fs = std::filesystem;
  fs::path t(target_);
  fs::path dir = t.has_parent_path() ? t.parent_path() : fs::path(".");
  // Like Scanpy's figure folder and anndata's writers, missing folders are made.
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir))
    throw InputError(target_, "", "folder " + dir.string() + " does not exist and cannot be created" +
                                      (ec ? ": " + ec.message() : std::string()));
  temp_ = (dir / ("." + t.filename().string() + ".tmp" + std::to_string(::getpid()))).string();
}

AtomicFile::~AtomicFile() {
  if (!committed_) std::remove(temp_.c_str());
}

void AtomicFile::commit() {
  if (std::rename(temp_.c_str(), target_.c_str()) != 0)
    throw InputError(target_, "", std::string("cannot move the written file into place: ") + std::strerror(errno));
  committed_ = true;
}

}  // namespace scanpp::io
