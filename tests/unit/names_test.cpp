#include <gtest/gtest.h>

#include <algorithm>

#include "autotimm/names.hpp"

namespace autotimm {
namespace {

TEST(ClosestNames, RanksTyposAndPrefixesFirst) {
  const std::vector<std::string> names = {"convnext_tiny", "convnext_small", "resnet50", "resnet18", "vit_base_patch16_224"};
  EXPECT_EQ(closest_names("convnxt_tiny", names, 1), (std::vector<std::string>{"convnext_tiny"}));
  EXPECT_EQ(closest_names("resnet5", names, 2), (std::vector<std::string>{"resnet50", "resnet18"}));
  EXPECT_EQ(closest_names("lerning_rate", {"learning_rate", "label_smoothing", "lr"}, 1),
            (std::vector<std::string>{"learning_rate"}));
  EXPECT_EQ(closest_names("RESNET50", names, 1), (std::vector<std::string>{"resnet50"}));
  EXPECT_EQ(closest_names("x", {}, 3), (std::vector<std::string>{}));
  EXPECT_EQ(closest_names("x", names, 10).size(), names.size());
}

TEST(DidYouMean, SuggestsOnlyPlausibleTypos) {
  EXPECT_EQ(did_you_mean("lerning_rate", {"learning_rate", "epochs"}), "learning_rate");
  EXPECT_EQ(did_you_mean("--jsno", {"--json", "--list"}), "--json");
  EXPECT_EQ(did_you_mean("extra", {"optimizer"}), std::nullopt);
  EXPECT_EQ(did_you_mean("resnet", {"resnet50", "vit"}), "resnet50");
  EXPECT_EQ(did_you_mean("x", {}), std::nullopt);
}

TEST(NaturalOrder, ComparesDigitRunsAsNumbers) {
  std::vector<std::string> names = {"resnet101", "resnet18", "resnet50", "resnet152", "resnet34", "resnet",
                                    "resnet18d", "regnetx_002", "regnetx_0016"};
  std::sort(names.begin(), names.end(), [](const auto& a, const auto& b) { return natural_less(a, b); });
  EXPECT_EQ(names, (std::vector<std::string>{"regnetx_002", "regnetx_0016", "resnet", "resnet18", "resnet18d",
                                             "resnet34", "resnet50", "resnet101", "resnet152"}));
  EXPECT_FALSE(natural_less("a10", "a10"));
  EXPECT_TRUE(natural_less("a99999999999999999999999", "a100000000000000000000000"));  // no overflow
}

TEST(Wildcards, MatchLikeFnmatch) {
  EXPECT_TRUE(wildcard_match("resnet*", "resnet50"));
  EXPECT_TRUE(wildcard_match("*vit*", "deit_vit_like"));
  EXPECT_TRUE(wildcard_match("*", ""));
  EXPECT_TRUE(wildcard_match("resnet?0", "resnet50"));
  EXPECT_FALSE(wildcard_match("resnet?0", "resnet101"));
  EXPECT_TRUE(wildcard_match("resnet[15]*", "resnet50"));
  EXPECT_FALSE(wildcard_match("resnet[!15]*", "resnet50"));
  EXPECT_TRUE(wildcard_match("convnext_[a-f]*", "convnext_atto"));
  EXPECT_FALSE(wildcard_match("convnext_[a-f]*", "convnext_tiny"));
  EXPECT_FALSE(wildcard_match("resnet*", "myresnet50"));
  EXPECT_TRUE(wildcard_match("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(wildcard_match("a*b*c", "aXbYbZ"));
  EXPECT_TRUE(wildcard_match("x[", "x["));  // an unclosed set is literal
  // Hostile pattern: many stars must not take exponential time.
  EXPECT_FALSE(wildcard_match("*a*a*a*a*a*a*a*a*a*a*a*b", std::string(200, 'a')));
}

TEST(JoinNames, SaysNoneForAnEmptyList) {
  EXPECT_EQ(join_names({}), "(none)");
  EXPECT_EQ(join_names({"a", "b"}), "a, b");
}

}  // namespace
}  // namespace autotimm
