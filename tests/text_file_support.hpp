#pragma once
// Shared by the text-format reader tests (csv, mtx): a per-test folder to write
// small plain or gzip files into, and the message of the InputError a read raises.
#include <gtest/gtest.h>
#include <zlib.h>

#include <exception>
#include <fstream>
#include <string>

#include "scanpp/core/error.hpp"
#include "test_paths.hpp"

namespace scanpp::testing {

class TextFiles : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    const std::string p = dir_.file(name);
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  std::string write_gz(const std::string& name, const std::string& text) {
    const std::string p = dir_.file(name);
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    gzclose(f);
    return p;
  }
  TempDir dir_;
};

// "no error" and "wrong exception type: ..." make a failing EXPECT readable.
template <class F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "no error";
}

}  // namespace scanpp::testing

#define EXPECT_CONTAINS(text, piece) EXPECT_NE((text).find(piece), std::string::npos) << (text)
