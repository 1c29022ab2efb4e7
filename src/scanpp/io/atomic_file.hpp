#pragma once
// Atomic replacement of an output file: write to a temporary file in the same
// folder, then rename it into place, so an interrupted write never destroys a
// good file. Inputs are never opened for writing.
#include <string>

namespace scanpp::io {

class AtomicFile {
 public:
  explicit AtomicFile(std::string target);
  ~AtomicFile();  // removes the temporary file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  // Path to write to.
  const std::string& temp_path() const { return temp_; }
  // Renames the temporary file onto the target.
  void commit();

 private:
  std::string target_, temp_;
  bool committed_ = false;
};

}  // namespace scanpp::io
