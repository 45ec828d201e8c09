// The "fpn" neck: registry entry and options, torchvision key names and shapes, output sizes for odd inputs, the
// top-down pathway against a hand computation with plain torch ops, its initialisation, and its messages.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/head.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "feature_pyramid_network.hpp"
#include "support/error_text.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace autotimm::fpn {
namespace {

using autotimm::testing::error_text;
using Shape = std::vector<std::int64_t>;

std::shared_ptr<Head> make(const std::string& options) {
  auto config = Config::parse(options, "head options");
  auto head = autotimm::testing::registry_of(autotimm_plugin_descriptor()).heads().get("fpn").factory(config);
  config.expect_all_used();
  return head;
}

// C3..C5 of a 64x48 image (strides 8, 16, 32): odd sizes on purpose, 4x3 does not double to 8x6 by column.
std::vector<torch::Tensor> backbone_levels(const Shape& channels, std::int64_t batch = 2) {
  const std::vector<std::pair<std::int64_t, std::int64_t>> sizes = {{8, 6}, {4, 3}, {2, 2}};
  std::vector<torch::Tensor> levels;
  for (std::size_t i = 0; i < channels.size(); ++i) {
    levels.push_back(torch::randn({batch, channels[i], sizes[i].first, sizes[i].second}));
  }
  return levels;
}

// Nearest upsampling written out: output row r reads input row floor(r * in / out), as PyTorch's "nearest".
torch::Tensor nearest_by_hand(const torch::Tensor& x, std::int64_t height, std::int64_t width) {
  auto source_index = [](std::int64_t out, std::int64_t in) {
    std::vector<std::int64_t> index;
    for (std::int64_t o = 0; o < out; ++o) index.push_back(o * in / out);
    return torch::tensor(index, torch::kLong);
  };
  return x.index_select(2, source_index(height, x.size(2))).index_select(3, source_index(width, x.size(3)));
}

TEST(FpnHead, RegistryEntryAppliesOptions) {
  auto& registry = autotimm::testing::registry_of(autotimm_plugin_descriptor());
  ASSERT_TRUE(registry.heads().contains("fpn"));
  auto head = make(R"({"in_channels": [3, 5], "out_channels": 6, "num_extra_levels": 1})");
  auto* fpn = dynamic_cast<FeaturePyramidNetworkImpl*>(head.get());
  ASSERT_NE(fpn, nullptr);
  EXPECT_EQ(fpn->options().in_channels, (Shape{3, 5}));
  EXPECT_EQ(fpn->options().out_channels, 6);
  EXPECT_EQ(fpn->options().num_extra_levels, 1);
  auto defaults = make(R"({"in_channels": [8]})");
  const auto& options = dynamic_cast<FeaturePyramidNetworkImpl&>(*defaults).options();
  EXPECT_EQ(options.out_channels, 256);
  EXPECT_EQ(options.num_extra_levels, 2);
}

TEST(FpnHead, TorchvisionKeyNamesAndShapes) {
  auto head = make(R"({"in_channels": [128, 256, 512]})");
  std::vector<std::pair<std::string, Shape>> keys;
  for (const auto& [key, tensor] : state_dict(*head)) keys.emplace_back(key, tensor.sizes().vec());
  const std::vector<std::pair<std::string, Shape>> expected = {
      {"inner_blocks.0.0.weight", {256, 128, 1, 1}}, {"inner_blocks.0.0.bias", {256}},
      {"inner_blocks.1.0.weight", {256, 256, 1, 1}}, {"inner_blocks.1.0.bias", {256}},
      {"inner_blocks.2.0.weight", {256, 512, 1, 1}}, {"inner_blocks.2.0.bias", {256}},
      {"layer_blocks.0.0.weight", {256, 256, 3, 3}}, {"layer_blocks.0.0.bias", {256}},
      {"layer_blocks.1.0.weight", {256, 256, 3, 3}}, {"layer_blocks.1.0.bias", {256}},
      {"layer_blocks.2.0.weight", {256, 256, 3, 3}}, {"layer_blocks.2.0.bias", {256}},
      {"extra_blocks.p6.weight", {256, 256, 3, 3}},  {"extra_blocks.p6.bias", {256}},
      {"extra_blocks.p7.weight", {256, 256, 3, 3}},  {"extra_blocks.p7.bias", {256}},
  };
  EXPECT_EQ(keys, expected);
}

TEST(FpnHead, ExtraLevelsChangeKeysAndOutputs) {
  auto count_extra = [](const std::shared_ptr<Head>& head) {
    int n = 0;
    for (const auto& [key, tensor] : state_dict(*head)) n += key.rfind("extra_blocks.", 0) == 0;
    return n;
  };
  auto none = make(R"({"in_channels": [4, 6, 8], "out_channels": 4, "num_extra_levels": 0})");
  auto one = make(R"({"in_channels": [4, 6, 8], "out_channels": 4, "num_extra_levels": 1})");
  EXPECT_EQ(count_extra(none), 0);
  EXPECT_EQ(count_extra(one), 2);  // p6 weight and bias
  auto features = backbone_levels({4, 6, 8});
  EXPECT_EQ(none->forward(features).size(), 3u);
  EXPECT_EQ(one->forward(features).size(), 4u);
}

TEST(FpnHead, OutputShapesForOddSizes) {
  auto head = make(R"({"in_channels": [4, 6, 8], "out_channels": 5})");
  auto pyramid = head->forward(backbone_levels({4, 6, 8}));
  ASSERT_EQ(pyramid.size(), 5u);
  const std::vector<Shape> expected = {{2, 5, 8, 6}, {2, 5, 4, 3}, {2, 5, 2, 2}, {2, 5, 1, 1}, {2, 5, 1, 1}};
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(pyramid[i].sizes().vec(), expected[i]) << "level " << i;
}

TEST(FpnHead, TopDownMatchesHandComputation) {
  // Laterals pass channel c of the input through to output channel c (the first 3 of 3/5/7), plus a per-level bias,
  // so the hand computation needs no 1x1 conv; the 3x3, P6 and P7 convs keep their random initial weights.
  const Shape in_channels = {3, 5, 7};
  const std::int64_t out = 3;
  auto head = make(R"({"in_channels": [3, 5, 7], "out_channels": 3})");
  auto& fpn = dynamic_cast<FeaturePyramidNetworkImpl&>(*head);
  {
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < in_channels.size(); ++i) {
      auto weight = torch::zeros({out, in_channels[i], 1, 1});
      for (std::int64_t c = 0; c < out; ++c) weight[c][c][0][0] = 1.0;
      fpn.inner_conv(i)->weight.copy_(weight);
      fpn.inner_conv(i)->bias.fill_(0.25 * static_cast<double>(i + 1));
    }
  }
  auto features = backbone_levels(in_channels);
  auto lateral = [&](std::size_t i) { return features[i].slice(1, 0, out) + 0.25 * static_cast<double>(i + 1); };
  auto smooth = [&](std::size_t i, const torch::Tensor& x) {
    return torch::conv2d(x, fpn.layer_conv(i)->weight, fpn.layer_conv(i)->bias, 1, 1);
  };
  auto c5 = lateral(2);
  auto c4 = lateral(1) + nearest_by_hand(c5, 4, 3);
  auto c3 = lateral(0) + nearest_by_hand(c4, 8, 6);
  auto p5 = smooth(2, c5);
  auto p6 = torch::conv2d(p5, fpn.extra_blocks->p6->weight, fpn.extra_blocks->p6->bias, 2, 1);
  auto p7 = torch::conv2d(torch::relu(p6), fpn.extra_blocks->p7->weight, fpn.extra_blocks->p7->bias, 2, 1);
  const std::vector<torch::Tensor> expected = {smooth(0, c3), smooth(1, c4), p5, p6, p7};

  torch::NoGradGuard no_grad;
  auto pyramid = head->forward(features);
  ASSERT_EQ(pyramid.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(torch::allclose(pyramid[i], expected[i], 1e-5, 1e-6)) << "level " << i;
  }
  // P6 uses P5's output, not C5: changing the P5 smoothing conv moves P6.
  {
    torch::NoGradGuard guard;
    fpn.layer_conv(2)->bias.add_(1.0);
  }
  EXPECT_FALSE(torch::allclose(head->forward(features)[3], expected[3]));
}

TEST(FpnHead, KaimingUniformInitAndZeroBias) {
  auto head = make(R"({"in_channels": [16, 32], "out_channels": 16})");
  for (const auto& [key, tensor] : state_dict(*head)) {
    if (key.ends_with(".bias")) {
      EXPECT_TRUE(torch::equal(tensor, torch::zeros_like(tensor))) << key;
      continue;
    }
    // kaiming_uniform_(a=1): U(-b, b) with b = sqrt(6 / ((1 + a^2) fan_in)) = sqrt(3 / fan_in).
    const double fan_in = static_cast<double>(tensor.size(1) * tensor.size(2) * tensor.size(3));
    const double bound = std::sqrt(3.0 / fan_in);
    EXPECT_LE(tensor.abs().max().item<double>(), bound) << key;
    EXPECT_GT(tensor.abs().max().item<double>(), 0.8 * bound) << key;
    // The variance of U(-b, b) is b^2 / 3.
    EXPECT_NEAR(tensor.var().item<double>(), bound * bound / 3.0, 0.25 * bound * bound / 3.0) << key;
  }
}

TEST(FpnHead, Messages) {
  EXPECT_EQ(error_text([] { make(R"({"out_channels": 4})"); }),
            "option 'in_channels' in head options is required: expected array of integers; add it");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 256})"); }),
            "option 'in_channels' in head options: expected array of integers, got integer 256");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [4], "out_channels": "wide"})"); }),
            "option 'out_channels' in head options: expected integer, got string \"wide\"");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [4], "num_extra_levels": 1.5})"); }),
            "option 'num_extra_levels' in head options: expected integer, got number 1.5E0");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": []})"); }),
            "fpn head: 'in_channels' is empty: expected the channels of each input level, finest first "
            "(e.g. [512, 1024, 2048] for a resnet50's C3..C5)");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [4, 0]})"); }),
            "fpn head: 'in_channels' must all be >= 1, got [4, 0] (entry 1)");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [4], "out_channels": 0})"); }),
            "fpn head: 'out_channels' must be >= 1, got 0");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [4], "num_extra_levels": 3})"); }),
            "fpn head: 'num_extra_levels' must be 0, 1 (P6) or 2 (P6 and P7), got 3");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [4], "num_extra_levels": -1})"); }),
            "fpn head: 'num_extra_levels' must be 0, 1 (P6) or 2 (P6 and P7), got -1");

  auto head = make(R"({"in_channels": [4, 6, 8], "out_channels": 4})");
  auto features = backbone_levels({4, 6, 8});
  EXPECT_EQ(error_text([&] { head->forward({features[0], features[1]}); }),
            "fpn head: expected 3 feature maps (one per entry of 'in_channels' [4, 6, 8]), got 2; select as many "
            "backbone levels as 'in_channels' lists");
  EXPECT_EQ(error_text([&] { head->forward({features[0], torch::randn({2, 5, 4, 3}), features[2]}); }),
            "fpn head: feature map 1: expected [N, 6, H, W], got [2, 5, 4, 3]; 'in_channels' must list the channels "
            "of the selected backbone levels, finest first");
  EXPECT_EQ(error_text([&] { head->forward({features[0], features[1], torch::randn({2, 8})}); }),
            "fpn head: feature map 2: expected [N, 8, H, W], got [2, 8]; 'in_channels' must list the channels "
            "of the selected backbone levels, finest first");
}

}  // namespace
}  // namespace autotimm::fpn
