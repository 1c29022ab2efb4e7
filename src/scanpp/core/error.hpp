#pragma once
// scanpp's error types. Every failure a user can cause by bad input or bad
// parameters is reported through one of these, naming the file and element,
// so the command line can print a single line and exit with code 2.
#include <stdexcept>
#include <string>

namespace scanpp {

// Base of all errors scanpp throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The input (a file, a matrix handed in) is malformed or inconsistent.
class InputError : public Error {
 public:
  InputError(const std::string& file, const std::string& element, const std::string& problem)
      : Error(compose(file, element, problem)), file_(file), element_(element) {}
  const std::string& file() const { return file_; }
  const std::string& element() const { return element_; }

 private:
  static std::string compose(const std::string& file, const std::string& element,
                             const std::string& problem) {
    std::string s;
    if (!file.empty()) s += file;
    if (!element.empty()) s += (s.empty() ? "" : ": ") + element;
    s += (s.empty() ? "" : ": ") + problem;
    return s;
  }
  std::string file_, element_;
};

// A parameter has a value the function cannot accept (Scanpy's ValueError).
class ValueError : public Error {
 public:
  using Error::Error;
};

// A key (column, obsm entry, uns entry) that the call needs is absent.
class KeyError : public Error {
 public:
  using Error::Error;
};

}  // namespace scanpp
