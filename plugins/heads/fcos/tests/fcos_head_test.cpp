// The "fcos" head: registry entry and options, torchvision key names and shapes, output layout for a 5-level pyramid
// of odd sizes, initialisation (prior on the class bias), box distances against the submodules called directly, the
// centerness branch's tower, and its messages.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/head.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "fcos_head.hpp"
#include "support/error_text.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace autotimm::fcos {
namespace {

using autotimm::testing::error_text;
using Shape = std::vector<std::int64_t>;

std::shared_ptr<Head> make(const std::string& options) {
  auto config = Config::parse(options, "head options");
  auto head = autotimm::testing::registry_of(autotimm_plugin_descriptor()).heads().get("fcos").factory(config);
  config.expect_all_used();
  return head;
}

FCOSHeadImpl& as_fcos(const std::shared_ptr<Head>& head) { return dynamic_cast<FCOSHeadImpl&>(*head); }

// P3..P7 of a 64x48 image: 8x6, 4x3, 2x2, then P6 and P7 at 1x1.
const std::vector<std::pair<std::int64_t, std::int64_t>> kLevelSizes = {{8, 6}, {4, 3}, {2, 2}, {1, 1}, {1, 1}};

std::vector<torch::Tensor> pyramid(std::int64_t channels, std::size_t levels = 5, std::int64_t batch = 2) {
  std::vector<torch::Tensor> maps;
  for (std::size_t l = 0; l < levels; ++l) {
    maps.push_back(torch::randn({batch, channels, kLevelSizes[l].first, kLevelSizes[l].second}));
  }
  return maps;
}

constexpr const char* kSmallHead = R"({"in_channels": 8, "num_classes": 3, "num_convs": 2, "num_groups": 4})";

TEST(FcosHead, RegistryEntryAppliesOptions) {
  auto& registry = autotimm::testing::registry_of(autotimm_plugin_descriptor());
  ASSERT_TRUE(registry.heads().contains("fcos"));
  auto head = make(R"({"in_channels": 16, "num_classes": 7, "num_convs": 1, "strides": [4, 8], "prior_prob": 0.1,
                       "num_groups": 8, "centerness_on_reg": false})");
  const auto& options = as_fcos(head).options();
  EXPECT_EQ(options.in_channels, 16);
  EXPECT_EQ(options.num_classes, 7);
  EXPECT_EQ(options.num_convs, 1);
  EXPECT_EQ(options.strides, (Shape{4, 8}));
  EXPECT_DOUBLE_EQ(options.prior_prob, 0.1);
  EXPECT_EQ(options.num_groups, 8);
  EXPECT_FALSE(options.centerness_on_reg);

  const auto defaults = as_fcos(make(R"({"num_classes": 2})")).options();
  EXPECT_EQ(defaults.in_channels, 256);
  EXPECT_EQ(defaults.num_convs, 4);
  EXPECT_EQ(defaults.strides, (Shape{8, 16, 32, 64, 128}));
  EXPECT_DOUBLE_EQ(defaults.prior_prob, 0.01);
  EXPECT_EQ(defaults.num_groups, 32);
  EXPECT_TRUE(defaults.centerness_on_reg);
}

TEST(FcosHead, TorchvisionKeyNamesAndShapes) {
  auto head = make(kSmallHead);
  std::vector<std::pair<std::string, Shape>> keys;
  for (const auto& [key, tensor] : state_dict(*head)) keys.emplace_back(key, tensor.sizes().vec());
  // Tower children: 0 conv, 1 GroupNorm, 2 ReLU (no parameters), 3 conv, 4 GroupNorm, 5 ReLU.
  auto tower = [](const std::string& prefix) {
    return std::vector<std::pair<std::string, Shape>>{
        {prefix + ".conv.0.weight", {8, 8, 3, 3}}, {prefix + ".conv.0.bias", {8}},
        {prefix + ".conv.1.weight", {8}},          {prefix + ".conv.1.bias", {8}},
        {prefix + ".conv.3.weight", {8, 8, 3, 3}}, {prefix + ".conv.3.bias", {8}},
        {prefix + ".conv.4.weight", {8}},          {prefix + ".conv.4.bias", {8}}};
  };
  std::vector<std::pair<std::string, Shape>> expected = tower("classification_head");
  expected.push_back({"classification_head.cls_logits.weight", {3, 8, 3, 3}});
  expected.push_back({"classification_head.cls_logits.bias", {3}});
  for (auto& entry : tower("regression_head")) expected.push_back(entry);
  expected.push_back({"regression_head.bbox_reg.weight", {4, 8, 3, 3}});
  expected.push_back({"regression_head.bbox_reg.bias", {4}});
  expected.push_back({"regression_head.bbox_ctrness.weight", {1, 8, 3, 3}});
  expected.push_back({"regression_head.bbox_ctrness.bias", {1}});
  for (int l = 0; l < 5; ++l) expected.push_back({"scales." + std::to_string(l), {1}});
  EXPECT_EQ(keys, expected);
}

TEST(FcosHead, OutputLayoutForFiveLevels) {
  auto head = make(kSmallHead);
  auto outputs = head->forward(pyramid(8));
  ASSERT_EQ(outputs.size(), 15u);
  for (std::size_t l = 0; l < 5; ++l) {
    const auto [h, w] = kLevelSizes[l];
    EXPECT_EQ(outputs[3 * l].sizes().vec(), (Shape{2, 3, h, w})) << "cls, level " << l;
    EXPECT_EQ(outputs[3 * l + 1].sizes().vec(), (Shape{2, 4, h, w})) << "box, level " << l;
    EXPECT_EQ(outputs[3 * l + 2].sizes().vec(), (Shape{2, 1, h, w})) << "ctr, level " << l;
  }
}

TEST(FcosHead, Initialisation) {
  auto head = make(R"({"in_channels": 32, "num_classes": 5, "num_convs": 2, "num_groups": 8, "prior_prob": 0.2})");
  auto& fcos = as_fcos(head);
  // The class bias is the prior's logit: sigmoid(bias) == prior_prob.
  auto prior = torch::sigmoid(fcos.classification_head->cls_logits->bias);
  EXPECT_TRUE(torch::allclose(prior, torch::full({5}, 0.2), 0.0, 1e-6)) << prior;
  EXPECT_NEAR(torch::sigmoid(as_fcos(make(R"({"num_classes": 1})")).classification_head->cls_logits->bias).item<double>(),
              0.01, 1e-7);
  for (const auto& [key, tensor] : state_dict(*head)) {
    if (key.starts_with("scales.")) {
      EXPECT_TRUE(torch::equal(tensor, torch::ones({1}))) << key;
      EXPECT_TRUE(tensor.requires_grad()) << key;
    } else if (key.find(".conv.1.") != std::string::npos || key.find(".conv.4.") != std::string::npos) {
      // GroupNorm: weight 1, bias 0.
      EXPECT_TRUE(torch::equal(tensor, key.ends_with(".weight") ? torch::ones_like(tensor) : torch::zeros_like(tensor)))
          << key;
    } else if (key.ends_with(".weight")) {
      // Every conv N(0, 0.01): at least 288 samples each, so the sample std is within 20% (about 5 sigma).
      EXPECT_NEAR(tensor.std().item<double>(), 0.01, 0.002) << key;
      EXPECT_NEAR(tensor.mean().item<double>(), 0.0, 0.003) << key;
    } else if (key != "classification_head.cls_logits.bias") {
      EXPECT_TRUE(torch::equal(tensor, torch::zeros_like(tensor))) << key;
    }
  }
}

TEST(FcosHead, PredictionsMatchSubmodulesCalledDirectly) {
  auto head = make(R"({"in_channels": 8, "num_classes": 3, "num_convs": 2, "num_groups": 4, "strides": [8, 16]})");
  auto& fcos = as_fcos(head);
  {
    // Larger weights than the N(0, 0.01) init, so raw distances take both signs at a visible size.
    torch::NoGradGuard no_grad;
    fcos.regression_head->bbox_reg->weight.normal_(0.0, 0.5);
  }
  auto features = pyramid(8, 2);
  torch::NoGradGuard no_grad;
  auto outputs = head->forward(features);
  ASSERT_EQ(outputs.size(), 6u);
  std::vector<torch::Tensor> raw;
  const std::vector<double> strides = {8.0, 16.0};
  for (std::size_t l = 0; l < 2; ++l) {
    auto cls_tower = fcos.classification_head->conv->forward(features[l]);
    auto reg_tower = fcos.regression_head->conv->forward(features[l]);
    raw.push_back(fcos.regression_head->bbox_reg->forward(reg_tower));
    EXPECT_GT((raw[l] < 0).sum().item<int64_t>(), 0) << "level " << l;  // the relu has something to cut
    EXPECT_TRUE(torch::allclose(outputs[3 * l], fcos.classification_head->cls_logits->forward(cls_tower)));
    EXPECT_TRUE(torch::allclose(outputs[3 * l + 1], torch::relu(raw[l]) * strides[l]));
    EXPECT_TRUE(torch::allclose(outputs[3 * l + 2], fcos.regression_head->bbox_ctrness->forward(reg_tower)));
    EXPECT_GE(outputs[3 * l + 1].min().item<double>(), 0.0);
  }

  // A new scale on level 1 moves only level 1's distances: relu(-0.5 * raw) * 16 keeps the negative raw values.
  fcos.scales[1].fill_(-0.5);
  auto rescaled = head->forward(features);
  EXPECT_TRUE(torch::equal(rescaled[1], outputs[1]));
  EXPECT_TRUE(torch::allclose(rescaled[4], torch::relu(-0.5 * raw[1]) * 16.0));
  EXPECT_FALSE(torch::allclose(rescaled[4], outputs[4]));
  EXPECT_GE(rescaled[4].min().item<double>(), 0.0);
}

TEST(FcosHead, ScalesAreLearned) {
  auto head = make(kSmallHead);
  auto& fcos = as_fcos(head);
  {
    torch::NoGradGuard no_grad;
    fcos.regression_head->bbox_reg->bias.fill_(1.0);  // every raw distance positive, so the relu passes gradients
  }
  auto outputs = head->forward(pyramid(8));
  (outputs[1].sum() + outputs[4].sum()).backward();
  EXPECT_GT(fcos.scales[0].grad().abs().item<double>(), 0.0);
  EXPECT_GT(fcos.scales[1].grad().abs().item<double>(), 0.0);
  EXPECT_FALSE(fcos.scales[2].grad().defined() && fcos.scales[2].grad().abs().item<double>() > 0.0);
}

TEST(FcosHead, CenternessTowerFollowsOption) {
  auto on_cls = make(R"({"in_channels": 8, "num_classes": 2, "num_convs": 1, "num_groups": 2, "strides": [8],
                         "centerness_on_reg": false})");
  auto& fcos = as_fcos(on_cls);
  auto features = pyramid(8, 1);
  torch::NoGradGuard no_grad;
  auto ctr = on_cls->forward(features).at(2);
  auto from_cls = fcos.regression_head->bbox_ctrness->forward(fcos.classification_head->conv->forward(features[0]));
  auto from_reg = fcos.regression_head->bbox_ctrness->forward(fcos.regression_head->conv->forward(features[0]));
  EXPECT_TRUE(torch::allclose(ctr, from_cls));
  EXPECT_FALSE(torch::allclose(ctr, from_reg));
}

TEST(FcosHead, NoTowerConvsReadTheLevelDirectly) {
  auto head = make(R"({"in_channels": 4, "num_classes": 2, "num_convs": 0, "num_groups": 1, "strides": [8]})");
  auto& fcos = as_fcos(head);
  auto features = pyramid(4, 1);
  torch::NoGradGuard no_grad;
  auto outputs = head->forward(features);
  EXPECT_TRUE(torch::allclose(outputs[0], fcos.classification_head->cls_logits->forward(features[0])));
  for (const auto& [key, tensor] : state_dict(*head)) EXPECT_EQ(key.find(".conv."), std::string::npos) << key;
}

TEST(FcosHead, Messages) {
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8})"); }),
            "option 'num_classes' in head options is required: expected integer; add it");
  EXPECT_EQ(error_text([] { make(R"({"num_classes": "80"})"); }),
            "option 'num_classes' in head options: expected integer, got string \"80\"");
  EXPECT_EQ(error_text([] { make(R"({"num_classes": 2, "strides": 8})"); }),
            "option 'strides' in head options: expected array of integers, got integer 8");
  EXPECT_EQ(error_text([] { make(R"({"num_classes": 2, "centerness_on_reg": 1})"); }),
            "option 'centerness_on_reg' in head options: expected boolean, got integer 1");
  EXPECT_EQ(error_text([] { make(R"({"num_classes": 2, "prior_prob": "low"})"); }),
            "option 'prior_prob' in head options: expected number, got string \"low\"");
  EXPECT_EQ(error_text([] { make(R"({"num_classes": 2, "in_channels": 8.5})"); }),
            "option 'in_channels' in head options: expected integer, got number 8.5E0");

  EXPECT_EQ(error_text([] { make(R"({"num_classes": 0})"); }),
            "fcos head: 'num_classes' must be >= 1, got 0; set the number of object classes of the data "
            "(no background class)");
  EXPECT_EQ(error_text([] { make(R"({"num_classes": 2, "in_channels": 0})"); }),
            "fcos head: 'in_channels' must be >= 1, got 0");
  EXPECT_EQ(error_text([] { make(R"({"num_classes": 2, "num_convs": -1})"); }),
            "fcos head: 'num_convs' must be >= 0, got -1");
  EXPECT_EQ(error_text([] { make(R"({"num_classes": 2, "strides": []})"); }),
            "fcos head: 'strides' is empty: expected one stride per pyramid level, e.g. [8, 16, 32, 64, 128]");
  EXPECT_EQ(error_text([] { make(R"({"num_classes": 2, "strides": [8, 0]})"); }),
            "fcos head: 'strides' must all be >= 1, got [8, 0]");
  EXPECT_EQ(error_text([] { make(R"({"num_classes": 2, "prior_prob": 1.0})"); }),
            "fcos head: 'prior_prob' must be in (0, 1), got 1");
  EXPECT_EQ(error_text([] { make(R"({"num_classes": 2, "prior_prob": 0})"); }),
            "fcos head: 'prior_prob' must be in (0, 1), got 0");
  EXPECT_EQ(error_text([] { make(R"({"num_classes": 2, "num_groups": 0})"); }),
            "fcos head: 'num_groups' must be >= 1, got 0");
  EXPECT_EQ(error_text([] { make(R"({"num_classes": 2, "in_channels": 48, "num_groups": 32})"); }),
            "fcos head: 'in_channels' 48 is not divisible by 'num_groups' 32; choose a number of GroupNorm groups "
            "that divides the channels");

  auto head = make(kSmallHead);
  EXPECT_EQ(error_text([&] { head->forward(pyramid(8, 3)); }),
            "fcos head: expected 5 feature maps (one per entry of 'strides' [8, 16, 32, 64, 128]), got 3; give the "
            "head every pyramid level, or list one stride per level");
  auto maps = pyramid(8);
  maps[2] = torch::randn({2, 6, 2, 2});
  EXPECT_EQ(error_text([&] { head->forward(maps); }),
            "fcos head: feature map 2: expected [N, 8, H, W], got [2, 6, 2, 2]; set 'in_channels' to the neck's "
            "out_channels");
  maps[2] = torch::randn({8, 2, 2});
  EXPECT_EQ(error_text([&] { head->forward(maps); }),
            "fcos head: feature map 2: expected [N, 8, H, W], got [8, 2, 2]; set 'in_channels' to the neck's "
            "out_channels");
}

}  // namespace
}  // namespace autotimm::fcos
