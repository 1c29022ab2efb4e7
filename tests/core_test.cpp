#include <gtest/gtest.h>
#include "scanpp/core/anndata.hpp"
TEST(Core, Placeholder) { EXPECT_TRUE(true); }
