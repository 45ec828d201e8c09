#include <gtest/gtest.h>

#include "autotimm/error.hpp"
#include "autotimm/feature_info.hpp"

namespace autotimm {
namespace {

TEST(FeatureInfo, AcceptsTimmStyleStages) {
  EXPECT_NO_THROW(validate_feature_info({{64, 2, "act1"}, {64, 4, "layer1"}, {128, 8, "layer2"}, {256, 16, "layer3"},
                                         {512, 32, "layer4"}},
                                        "resnet18"));
  EXPECT_NO_THROW(validate_feature_info({{192, 16, "blocks.0"}, {192, 16, "blocks.1"}}, "vit"));  // equal is fine
}

TEST(FeatureInfo, RefusesBadStagesNamingThem) {
  try {
    validate_feature_info({{64, 4, "layer1"}, {128, 2, "layer2"}}, "net");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "feature_info[1] of 'net': reductions must not decrease, got 2 after 4");
  }
  EXPECT_THROW(validate_feature_info({{0, 4, "layer1"}}, "net"), ConfigError);
  EXPECT_THROW(validate_feature_info({{8, 4, ""}}, "net"), ConfigError);
  EXPECT_THROW(validate_feature_info({}, "net"), ConfigError);
}

TEST(FeatureIndices, NegativeCountFromTheEnd) {
  EXPECT_EQ(resolve_feature_indices({-3, -2, -1}, 5), (std::vector<std::int64_t>{2, 3, 4}));
  EXPECT_EQ(resolve_feature_indices({0, 4}, 5), (std::vector<std::int64_t>{0, 4}));
  try {
    resolve_feature_indices({5}, 5);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "feature index 5 is out of range: expected -5 to 4 for 5 stages");
  }
  EXPECT_THROW(resolve_feature_indices({-6}, 5), ConfigError);
}

}  // namespace
}  // namespace autotimm
