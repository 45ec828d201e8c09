// The "fcn" head: registry entry and options (channels defaulting to in_channels / 4), torchvision's Sequential key
// names and shapes, output on the last map for odd sizes, the forward against plain torch ops, dropout (0 makes
// training equal eval once BN is in eval), gradients to every parameter, initialisation, and every message.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/head.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "fcn_head.hpp"
#include "support/error_text.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace autotimm::fcn {
namespace {

using autotimm::testing::error_text;
using Shape = std::vector<std::int64_t>;

std::shared_ptr<Head> make(const std::string& options) {
  auto config = Config::parse(options, "head options");
  auto head = autotimm::testing::registry_of(autotimm_plugin_descriptor()).heads().get("fcn").factory(config);
  config.expect_all_used();
  return head;
}

FCNHeadImpl& as_fcn(const std::shared_ptr<Head>& head) { return dynamic_cast<FCNHeadImpl&>(*head); }

// Running statistics and affine parameters away from the identity, so the reference checks the BN's own numbers.
void randomise_batch_norm(layers::BatchNorm2dImpl& bn) {
  torch::NoGradGuard no_grad;
  bn.running_mean.normal_(0.0, 0.5);
  bn.running_var.uniform_(0.5, 2.0);
  bn.weight.uniform_(0.5, 1.5);
  bn.bias.normal_(0.0, 0.5);
}

TEST(FcnHead, RegistryEntryAppliesOptions) {
  auto& registry = autotimm::testing::registry_of(autotimm_plugin_descriptor());
  ASSERT_TRUE(registry.heads().contains("fcn"));
  auto head = make(R"({"in_channels": 12, "num_classes": 5, "channels": 7, "dropout": 0.25})");
  const auto& options = as_fcn(head).options();
  EXPECT_EQ(options.in_channels, 12);
  EXPECT_EQ(options.num_classes, 5);
  EXPECT_EQ(options.channels, 7);
  EXPECT_EQ(options.resolved_channels(), 7);
  EXPECT_DOUBLE_EQ(options.dropout, 0.25);
  EXPECT_DOUBLE_EQ(as_fcn(head).dropout->options.p(), 0.25);

  // torchvision's inter_channels = in_channels // 4, rounded down.
  auto defaults = make(R"({"in_channels": 2050, "num_classes": 21})");
  EXPECT_FALSE(as_fcn(defaults).options().channels.has_value());
  EXPECT_EQ(as_fcn(defaults).options().resolved_channels(), 512);
  EXPECT_EQ(as_fcn(defaults).conv->weight.size(0), 512);
  EXPECT_DOUBLE_EQ(as_fcn(defaults).options().dropout, 0.1);
}

TEST(FcnHead, TorchvisionSequentialKeyNamesAndShapes) {
  auto head = make(R"({"in_channels": 16, "num_classes": 5})");
  std::vector<std::pair<std::string, Shape>> keys;
  for (const auto& [key, tensor] : state_dict(*head)) keys.emplace_back(key, tensor.sizes().vec());
  const std::vector<std::pair<std::string, Shape>> expected = {
      {"0.weight", {4, 16, 3, 3}}, {"1.weight", {4}},           {"1.bias", {4}},
      {"1.running_mean", {4}},     {"1.running_var", {4}},      {"1.num_batches_tracked", {}},
      {"4.weight", {5, 4, 1, 1}},  {"4.bias", {5}},
  };
  EXPECT_EQ(keys, expected);
  // The children, in torchvision's order (ReLU and Dropout hold no tensors).
  std::vector<std::string> children;
  for (const auto& item : head->named_children()) children.push_back(item.key());
  EXPECT_EQ(children, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
}

TEST(FcnHead, LogitsOnTheLastMapForOddSizes) {
  auto head = make(R"({"in_channels": 16, "num_classes": 3})");
  // Earlier maps are ignored, whatever their channels.
  auto outputs = head->forward({torch::randn({2, 3, 9, 7}), torch::randn({2, 16, 5, 3})});
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].sizes().vec(), (Shape{2, 3, 5, 3}));
  head->eval();
  EXPECT_EQ(head->forward({torch::randn({1, 16, 7, 1})})[0].sizes().vec(), (Shape{1, 3, 7, 1}));
}

TEST(FcnHead, ForwardMatchesPlainOps) {
  torch::manual_seed(1);
  auto head = make(R"({"in_channels": 8, "num_classes": 3, "channels": 6})");
  auto& fcn = as_fcn(head);
  randomise_batch_norm(*fcn.bn);
  {
    torch::NoGradGuard no_grad;
    fcn.classifier->bias.normal_();
  }
  head->eval();
  auto x = torch::randn({2, 8, 5, 3});
  torch::NoGradGuard no_grad;
  const Shape shape = {1, -1, 1, 1};
  auto pre = torch::conv2d(x, fcn.conv->weight, {}, 1, 1);
  auto bn = (pre - fcn.bn->running_mean.view(shape)) / torch::sqrt(fcn.bn->running_var.view(shape) + 1e-5) *
                fcn.bn->weight.view(shape) +
            fcn.bn->bias.view(shape);
  auto expected = torch::conv2d(torch::relu(bn), fcn.classifier->weight, fcn.classifier->bias);
  auto logits = head->forward({x})[0];
  EXPECT_TRUE(torch::allclose(logits, expected, 1e-5, 1e-6)) << (logits - expected).abs().max();
  // One logit written out at an interior pixel from the ReLU output: classifier weights times features, plus bias.
  auto features = torch::relu(bn);
  for (std::int64_t k = 0; k < 3; ++k) {
    double sum = fcn.classifier->bias[k].item<double>();
    for (std::int64_t c = 0; c < 6; ++c) {
      sum += fcn.classifier->weight[k][c][0][0].item<double>() * features[1][c][2][1].item<double>();
    }
    EXPECT_NEAR(logits[1][k][2][1].item<double>(), sum, 1e-5) << "class " << k;
  }
}

TEST(FcnHead, DropoutZeroMakesTrainingEqualEvalWithBatchNormInEval) {
  torch::manual_seed(2);
  auto x = torch::randn({2, 8, 5, 3});
  for (double p : {0.0, 0.5}) {
    auto head = make(R"({"in_channels": 8, "num_classes": 3, "channels": 6, "dropout": )" + std::to_string(p) + "}");
    auto& fcn = as_fcn(head);
    randomise_batch_norm(*fcn.bn);
    torch::NoGradGuard no_grad;
    head->eval();
    auto eval_logits = head->forward({x})[0];
    head->train();
    fcn.bn->eval();  // running statistics in both, so dropout is the only difference
    auto train_logits = head->forward({x})[0];
    if (p == 0.0) {
      EXPECT_TRUE(torch::equal(train_logits, eval_logits));
    } else {
      EXPECT_FALSE(torch::allclose(train_logits, eval_logits));
    }
  }
}

TEST(FcnHead, TrainingReachesEveryParameter) {
  for (std::int64_t batch : {2, 1}) {
    torch::manual_seed(3);
    auto head = make(R"({"in_channels": 8, "num_classes": 3})");
    head->train();
    auto logits = head->forward({torch::randn({batch, 8, 5, 3})})[0];
    (logits * torch::randn_like(logits)).sum().backward();
    for (const auto& item : head->named_parameters()) {
      const auto& key = item.key();
      const auto& parameter = item.value();
      ASSERT_TRUE(parameter.grad().defined()) << key << ", batch " << batch;
      EXPECT_GT(parameter.grad().abs().sum().item<double>(), 0.0) << key << ", batch " << batch;
    }
    EXPECT_EQ(as_fcn(head).bn->num_batches_tracked.item<std::int64_t>(), 1);
  }
}

TEST(FcnHead, KaimingNormalFanOutInit) {
  torch::manual_seed(4);
  auto head = make(R"({"in_channels": 64, "num_classes": 8})");
  for (const auto& [key, tensor] : state_dict(*head)) {
    if (tensor.dim() == 4) {
      // kaiming_normal_(fan_out, relu): N(0, 2 / (out_channels * kh * kw)); at least 128 samples, fixed seed.
      const double fan_out = static_cast<double>(tensor.size(0) * tensor.size(2) * tensor.size(3));
      EXPECT_NEAR(tensor.std().item<double>(), std::sqrt(2.0 / fan_out), 0.2 * std::sqrt(2.0 / fan_out)) << key;
    } else if (key == "1.weight" || key == "1.running_var") {
      EXPECT_TRUE(torch::equal(tensor, torch::ones_like(tensor))) << key;
    } else {
      EXPECT_TRUE(torch::equal(tensor, torch::zeros_like(tensor))) << key;  // BN bias, running mean, classifier bias
    }
  }
}

TEST(FcnHead, Messages) {
  EXPECT_EQ(error_text([] { make(R"({"num_classes": 3})"); }),
            "option 'in_channels' in head options is required: expected integer; add it");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8})"); }),
            "option 'num_classes' in head options is required: expected integer; add it");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [8], "num_classes": 3})"); }),
            "option 'in_channels' in head options: expected integer, got array [8]");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8, "num_classes": 3, "channels": 2.5})"); }),
            "option 'channels' in head options: expected integer, got number 2.5E0");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8, "num_classes": 3, "dropout": "none"})"); }),
            "option 'dropout' in head options: expected number, got string \"none\"");

  EXPECT_EQ(error_text([] { make(R"({"in_channels": 0, "num_classes": 3})"); }),
            "fcn head: 'in_channels' must be >= 1, got 0; set the channels of the last feature map");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8, "num_classes": 0})"); }),
            "fcn head: 'num_classes' must be >= 1, got 0; set the number of classes the labels index (background "
            "included)");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8, "num_classes": 3, "channels": 0})"); }),
            "fcn head: 'channels' must be >= 1, got 0");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 3, "num_classes": 3})"); }),
            "fcn head: 'channels' defaults to in_channels / 4, which is 0 for in_channels 3; set 'channels' "
            "explicitly");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 3, "num_classes": 3, "channels": 2})"); }), "(no error)");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8, "num_classes": 3, "dropout": 1.0})"); }),
            "fcn head: 'dropout' must be in [0, 1), got 1; 0 disables it");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8, "num_classes": 3, "dropout": -0.5})"); }),
            "fcn head: 'dropout' must be in [0, 1), got -0.5; 0 disables it");

  auto head = make(R"({"in_channels": 8, "num_classes": 3})");
  EXPECT_EQ(error_text([&] { head->forward({}); }),
            "fcn head: expected at least one feature map, got none; give the head the backbone's last level");
  EXPECT_EQ(error_text([&] { head->forward({torch::randn({2, 8, 4, 4}), torch::randn({2, 6, 2, 2})}); }),
            "fcn head: feature map 1 (the last): expected [N, 8, H, W], got [2, 6, 2, 2]; set 'in_channels' to the "
            "channels of the last selected backbone level");
  EXPECT_EQ(error_text([&] { head->forward({torch::randn({2, 8})}); }),
            "fcn head: feature map 0 (the last): expected [N, 8, H, W], got [2, 8]; set 'in_channels' to the "
            "channels of the last selected backbone level");
  EXPECT_EQ(error_text([&] { head->forward({torch::Tensor()}); }),
            "fcn head: feature map 0 (the last): expected [N, 8, H, W], got an undefined tensor; set 'in_channels' "
            "to the channels of the last selected backbone level");
}

}  // namespace
}  // namespace autotimm::fcn
