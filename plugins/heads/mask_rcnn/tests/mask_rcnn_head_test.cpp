// The "mask_rcnn" head: registry entry and defaults, torchvision's key names, shapes and counts (maskrcnn_resnet50_fpn
// without norm, _v2 with BatchNorm, and GroupNorm), the group rule, the forward against plain torch ops and a
// brute-force transposed conv written from the module's own weights, K = 0 boxes, gradients, initialisation, and every
// message.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/head.hpp"
#include "autotimm/layers/batch_norm.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "mask_rcnn_head.hpp"
#include "support/error_text.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace autotimm::mask_rcnn {
namespace {

using autotimm::testing::error_text;
using torch::indexing::None;
using torch::indexing::Slice;
using Shape = std::vector<std::int64_t>;
using Keys = std::vector<std::pair<std::string, Shape>>;

std::shared_ptr<Head> make(const std::string& options) {
  auto config = Config::parse(options, "head options");
  auto head = autotimm::testing::registry_of(autotimm_plugin_descriptor()).heads().get("mask_rcnn").factory(config);
  config.expect_all_used();
  return head;
}

MaskRCNNHeadImpl& as_mask(const std::shared_ptr<Head>& head) { return dynamic_cast<MaskRCNNHeadImpl&>(*head); }

Keys keys_of(const Head& head) {
  Keys keys;
  for (const auto& [key, tensor] : state_dict(head)) keys.emplace_back(key, tensor.sizes().vec());
  return keys;
}

std::int64_t parameter_count(const Head& head) {
  std::int64_t count = 0;
  for (const auto& parameter : head.parameters()) count += parameter.numel();
  return count;
}

// Norm parameters and running statistics away from the identity, so the reference checks the norm's own numbers.
void randomise_norms(Head& head) {
  torch::NoGradGuard no_grad;
  for (auto& item : head.named_parameters()) {
    if (item.key().ends_with(".1.weight")) item.value().uniform_(0.5, 1.5);
  }
  for (auto& item : head.named_buffers()) {
    if (item.key().ends_with("running_mean")) item.value().normal_(0.0, 0.5);
    if (item.key().ends_with("running_var")) item.value().uniform_(0.5, 2.0);
  }
  for (auto& item : head.named_parameters()) {
    if (item.key().ends_with("bias")) item.value().normal_(0.0, 0.3);
  }
}

// The mask branch from plain ops and the module's own tensors, read by their torchvision key names. The 2x2 stride-2
// transposed conv is written out: output pixel (2y + a, 2x + b) is the input pixel (y, x) times weight[:, :, a, b].
torch::Tensor reference(Head& head, torch::Tensor x, MaskHeadNorm norm, std::int64_t num_convs, std::int64_t dilation) {
  auto parameters = head.named_parameters();
  auto buffers = head.named_buffers();
  const Shape channel = {1, -1, 1, 1};
  for (std::int64_t i = 0; i < num_convs; ++i) {
    const std::string block = "mask_head." + std::to_string(i) + ".";
    const auto bias = norm == MaskHeadNorm::none ? parameters[block + "0.bias"] : torch::Tensor();
    x = torch::conv2d(x, parameters[block + "0.weight"], bias, 1, dilation, dilation);
    if (norm == MaskHeadNorm::bn) {
      const auto scale = parameters[block + "1.weight"].view(channel) /
                         torch::sqrt(buffers[block + "1.running_var"].view(channel) + 1e-5);
      x = (x - buffers[block + "1.running_mean"].view(channel)) * scale + parameters[block + "1.bias"].view(channel);
    } else if (norm == MaskHeadNorm::gn) {
      const auto groups = group_norm_groups(x.size(1));
      auto grouped = x.reshape({x.size(0), groups, -1});
      const auto mean = grouped.mean(-1, true);
      const auto var = (grouped - mean).pow(2).mean(-1, true);
      x = ((grouped - mean) / torch::sqrt(var + 1e-5)).view(x.sizes()) * parameters[block + "1.weight"].view(channel) +
          parameters[block + "1.bias"].view(channel);
    }
    x = torch::relu(x);
  }
  const auto& up_weight = parameters["mask_predictor.conv5_mask.weight"];  // [in, out, 2, 2]
  const auto& up_bias = parameters["mask_predictor.conv5_mask.bias"];
  auto up = torch::zeros({x.size(0), up_weight.size(1), 2 * x.size(2), 2 * x.size(3)}, x.options());
  for (std::int64_t a = 0; a < 2; ++a) {
    for (std::int64_t b = 0; b < 2; ++b) {
      up.index_put_({Slice(), Slice(), Slice(a, None, 2), Slice(b, None, 2)},
                    torch::einsum("kcyx,co->koyx", {x, up_weight.index({Slice(), Slice(), a, b})}) +
                        up_bias.view(channel));
    }
  }
  up = torch::relu(up);
  const auto& logits_weight = parameters["mask_predictor.mask_fcn_logits.weight"];  // [classes, channels, 1, 1]
  return torch::einsum("kcyx,oc->koyx", {up, logits_weight.flatten(1)}) +
         parameters["mask_predictor.mask_fcn_logits.bias"].view(channel);
}

TEST(MaskRcnnHead, RegistryEntryAppliesOptionsAndDefaults) {
  auto& registry = autotimm::testing::registry_of(autotimm_plugin_descriptor());
  ASSERT_TRUE(registry.heads().contains("mask_rcnn"));
  auto head = make(R"({"in_channels": 12, "num_classes": 5, "channels": 7, "num_convs": 2, "dilation": 3,
                       "norm": "gn"})");
  const auto& options = as_mask(head).options();
  EXPECT_EQ(options.in_channels, 12);
  EXPECT_EQ(options.num_classes, 5);
  EXPECT_EQ(options.channels, 7);
  EXPECT_EQ(options.num_convs, 2);
  EXPECT_EQ(options.dilation, 3);
  EXPECT_EQ(options.norm, MaskHeadNorm::gn);
  EXPECT_EQ(as_mask(head).mask_head->size(), 2u);

  // torchvision's MaskRCNN defaults: four 256-channel convs, dilation 1, no norm.
  auto defaults = make(R"({"in_channels": 8, "num_classes": 3})");
  const auto& d = as_mask(defaults).options();
  EXPECT_EQ(d.channels, 256);
  EXPECT_EQ(d.num_convs, 4);
  EXPECT_EQ(d.dilation, 1);
  EXPECT_EQ(d.norm, MaskHeadNorm::none);
  EXPECT_EQ(make(R"({"in_channels": 8, "num_classes": 3, "norm": "none"})")->parameters().size(), 12u);
  EXPECT_EQ(as_mask(make(R"({"in_channels": 8, "num_classes": 3, "norm": "bn"})")).options().norm, MaskHeadNorm::bn);
  EXPECT_EQ(norm_name(MaskHeadNorm::none), "none");
  EXPECT_EQ(norm_name(MaskHeadNorm::bn), "bn");
  EXPECT_EQ(norm_name(MaskHeadNorm::gn), "gn");
}

// maskrcnn_resnet50_fpn's roi_heads.mask_head and roi_heads.mask_predictor with 91 COCO classes, "roi_heads." dropped.
TEST(MaskRcnnHead, TorchvisionKeysShapesAndCountWithoutNorm) {
  auto head = make(R"({"in_channels": 256, "num_classes": 91})");
  Keys expected;
  for (int i = 0; i < 4; ++i) {
    const std::string block = "mask_head." + std::to_string(i) + ".0.";
    expected.emplace_back(block + "weight", Shape{256, 256, 3, 3});
    expected.emplace_back(block + "bias", Shape{256});
  }
  expected.emplace_back("mask_predictor.conv5_mask.weight", Shape{256, 256, 2, 2});
  expected.emplace_back("mask_predictor.conv5_mask.bias", Shape{256});
  expected.emplace_back("mask_predictor.mask_fcn_logits.weight", Shape{91, 256, 1, 1});
  expected.emplace_back("mask_predictor.mask_fcn_logits.bias", Shape{91});
  EXPECT_EQ(keys_of(*head), expected);
  // 4 × (256·256·9 + 256) + (256·256·4 + 256) + (91·256 + 91).
  EXPECT_EQ(parameter_count(*head), 2360320 + 262400 + 23387);

  std::vector<std::string> children, block, predictor;
  for (const auto& item : head->named_children()) children.push_back(item.key());
  for (const auto& item : as_mask(head).mask_head[0]->named_children()) block.push_back(item.key());
  for (const auto& item : as_mask(head).mask_predictor->named_children()) predictor.push_back(item.key());
  EXPECT_EQ(children, (std::vector<std::string>{"mask_head", "mask_predictor"}));
  EXPECT_EQ(block, (std::vector<std::string>{"0", "1"}));  // conv, ReLU
  EXPECT_EQ(predictor, (std::vector<std::string>{"conv5_mask", "relu", "mask_fcn_logits"}));
}

// maskrcnn_resnet50_fpn_v2: MaskRCNNHeads with norm_layer=BatchNorm2d, so the convs have no bias.
TEST(MaskRcnnHead, TorchvisionKeysWithBatchNormAndGroupNorm) {
  auto bn = make(R"({"in_channels": 6, "num_classes": 3, "channels": 4, "num_convs": 2, "norm": "bn"})");
  Keys expected;
  for (int i = 0; i < 2; ++i) {
    const std::string block = "mask_head." + std::to_string(i) + ".";
    expected.emplace_back(block + "0.weight", Shape{4, i == 0 ? 6 : 4, 3, 3});
    expected.emplace_back(block + "1.weight", Shape{4});
    expected.emplace_back(block + "1.bias", Shape{4});
    expected.emplace_back(block + "1.running_mean", Shape{4});
    expected.emplace_back(block + "1.running_var", Shape{4});
    expected.emplace_back(block + "1.num_batches_tracked", Shape{});
  }
  const Keys predictor = {{"mask_predictor.conv5_mask.weight", {4, 4, 2, 2}},
                          {"mask_predictor.conv5_mask.bias", {4}},
                          {"mask_predictor.mask_fcn_logits.weight", {3, 4, 1, 1}},
                          {"mask_predictor.mask_fcn_logits.bias", {3}}};
  expected.insert(expected.end(), predictor.begin(), predictor.end());
  EXPECT_EQ(keys_of(*bn), expected);
  std::vector<std::string> block;
  for (const auto& item : as_mask(bn).mask_head[1]->named_children()) block.push_back(item.key());
  EXPECT_EQ(block, (std::vector<std::string>{"0", "1", "2"}));  // conv, norm, ReLU
  EXPECT_NE(dynamic_cast<layers::BatchNorm2dImpl*>(as_mask(bn).mask_head[0]->named_children()["1"].get()), nullptr);
  // The default four blocks: 4 × 6 + 4 keys, as maskrcnn_resnet50_fpn_v2's mask branch.
  EXPECT_EQ(keys_of(*make(R"({"in_channels": 8, "num_classes": 3, "channels": 8, "norm": "bn"})")).size(), 28u);

  auto gn = make(R"({"in_channels": 6, "num_classes": 3, "channels": 48, "num_convs": 1, "norm": "gn"})");
  const Keys gn_expected = {{"mask_head.0.0.weight", {48, 6, 3, 3}},
                            {"mask_head.0.1.weight", {48}},
                            {"mask_head.0.1.bias", {48}},
                            {"mask_predictor.conv5_mask.weight", {48, 48, 2, 2}},
                            {"mask_predictor.conv5_mask.bias", {48}},
                            {"mask_predictor.mask_fcn_logits.weight", {3, 48, 1, 1}},
                            {"mask_predictor.mask_fcn_logits.bias", {3}}};
  EXPECT_EQ(keys_of(*gn), gn_expected);
  auto* group_norm = dynamic_cast<torch::nn::GroupNormImpl*>(as_mask(gn).mask_head[0]->named_children()["1"].get());
  ASSERT_NE(group_norm, nullptr);
  EXPECT_EQ(group_norm->options.num_groups(), 24);

  // No convs: conv5_mask reads the RoI features directly.
  auto bare = make(R"({"in_channels": 6, "num_classes": 3, "channels": 4, "num_convs": 0})");
  const Keys bare_expected = {{"mask_predictor.conv5_mask.weight", {6, 4, 2, 2}},
                              {"mask_predictor.conv5_mask.bias", {4}},
                              {"mask_predictor.mask_fcn_logits.weight", {3, 4, 1, 1}},
                              {"mask_predictor.mask_fcn_logits.bias", {3}}};
  EXPECT_EQ(keys_of(*bare), bare_expected);
}

TEST(MaskRcnnHead, GroupNormGroupsRule) {
  EXPECT_EQ(group_norm_groups(256), 32);
  EXPECT_EQ(group_norm_groups(64), 32);
  EXPECT_EQ(group_norm_groups(32), 32);
  EXPECT_EQ(group_norm_groups(48), 24);  // 32 does not divide 48; 24 is its largest divisor below 32
  EXPECT_EQ(group_norm_groups(33), 11);
  EXPECT_EQ(group_norm_groups(20), 20);
  EXPECT_EQ(group_norm_groups(7), 7);
  EXPECT_EQ(group_norm_groups(1), 1);
}

TEST(MaskRcnnHead, DoublesTheResolution) {
  auto head = make(R"({"in_channels": 8, "num_classes": 3, "channels": 4})");
  auto outputs = head->forward({torch::randn({2, 8, 14, 14})});
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].sizes().vec(), (Shape{2, 3, 28, 28}));
  // Non-square RoIs work the same; dilation keeps the size.
  auto dilated = make(R"({"in_channels": 8, "num_classes": 5, "channels": 4, "dilation": 2})");
  EXPECT_EQ(dilated->forward({torch::randn({1, 8, 5, 3})})[0].sizes().vec(), (Shape{1, 5, 10, 6}));
}

TEST(MaskRcnnHead, ForwardMatchesPlainOps) {
  struct Case {
    const char* options;
    MaskHeadNorm norm;
    std::int64_t num_convs, dilation;
  };
  const Case cases[] = {
      {R"({"in_channels": 6, "num_classes": 3, "channels": 5, "num_convs": 2})", MaskHeadNorm::none, 2, 1},
      {R"({"in_channels": 6, "num_classes": 3, "channels": 5, "num_convs": 3, "dilation": 2})", MaskHeadNorm::none, 3,
       2},
      {R"({"in_channels": 6, "num_classes": 3, "channels": 5, "num_convs": 2, "norm": "bn"})", MaskHeadNorm::bn, 2, 1},
      {R"({"in_channels": 6, "num_classes": 3, "channels": 12, "num_convs": 2, "norm": "gn"})", MaskHeadNorm::gn, 2,
       1},
      {R"({"in_channels": 6, "num_classes": 3, "channels": 5, "num_convs": 0})", MaskHeadNorm::none, 0, 1},
  };
  for (const auto& c : cases) {
    torch::manual_seed(5);
    auto head = make(c.options);
    randomise_norms(*head);
    head->eval();
    torch::NoGradGuard no_grad;
    const auto x = torch::randn({3, 6, 4, 5});
    const auto logits = head->forward({x})[0];
    const auto expected = reference(*head, x, c.norm, c.num_convs, c.dilation);
    ASSERT_EQ(logits.sizes(), expected.sizes()) << c.options;
    EXPECT_TRUE(torch::allclose(logits, expected, 1e-4, 1e-5)) << c.options << ": " << (logits - expected).abs().max();
  }
}

TEST(MaskRcnnHead, ZeroBoxes) {
  for (const char* norm : {"none", "bn", "gn"}) {
    auto head = make(std::string(R"({"in_channels": 6, "num_classes": 3, "channels": 8, "num_convs": 2, "norm": ")") +
                     norm + "\"}");
    for (bool training : {true, false}) {
      head->train(training);
      const auto logits = head->forward({torch::zeros({0, 6, 14, 14})})[0];
      EXPECT_EQ(logits.sizes().vec(), (Shape{0, 3, 28, 28})) << norm << ", training " << training;
      // Still part of the graph: backward on an empty sum reaches the parameters with zero gradients.
      head->zero_grad();
      logits.sum().backward();
      for (const auto& parameter : head->parameters()) {
        if (parameter.grad().defined()) {
          EXPECT_EQ(parameter.grad().abs().sum().item<double>(), 0.0) << norm;
        }
      }
    }
    for (const auto& item : head->named_buffers()) {
      EXPECT_FALSE(item.value().to(torch::kDouble).isnan().any().item<bool>()) << item.key();
    }
  }
}

TEST(MaskRcnnHead, TrainingReachesEveryParameter) {
  for (const char* norm : {"none", "bn", "gn"}) {
    torch::manual_seed(3);
    auto head = make(std::string(R"({"in_channels": 6, "num_classes": 3, "channels": 8, "norm": ")") + norm + "\"}");
    head->train();
    auto logits = head->forward({torch::randn({2, 6, 5, 5})})[0];
    (logits * torch::randn_like(logits)).sum().backward();
    for (const auto& item : head->named_parameters()) {
      ASSERT_TRUE(item.value().grad().defined()) << item.key();
      EXPECT_GT(item.value().grad().abs().sum().item<double>(), 0.0) << item.key();
    }
  }
}

TEST(MaskRcnnHead, KaimingNormalFanOutInitAndZeroBias) {
  torch::manual_seed(4);
  auto head = make(R"({"in_channels": 64, "num_classes": 64, "channels": 64, "num_convs": 2, "norm": "gn"})");
  for (const auto& [key, tensor] : state_dict(*head)) {
    if (tensor.dim() == 4) {
      // kaiming_normal_(fan_out, relu): N(0, 2 / fan_out), fan_out = size(0) · kh · kw, as torch computes it also
      // for the transposed conv's [in, out, 2, 2] weight.
      const double fan_out = static_cast<double>(tensor.size(0) * tensor.size(2) * tensor.size(3));
      EXPECT_NEAR(tensor.mean().item<double>(), 0.0, 0.1 * std::sqrt(2.0 / fan_out)) << key;
      EXPECT_NEAR(tensor.std().item<double>(), std::sqrt(2.0 / fan_out), 0.1 * std::sqrt(2.0 / fan_out)) << key;
    } else if (key.ends_with(".1.weight")) {
      EXPECT_TRUE(torch::equal(tensor, torch::ones_like(tensor))) << key;  // GroupNorm's own default
    } else {
      EXPECT_TRUE(torch::equal(tensor, torch::zeros_like(tensor))) << key;
    }
  }
  // The transposed conv's std follows its in_channels (dimension 0), not its out_channels.
  auto wide = make(R"({"in_channels": 256, "num_classes": 2, "channels": 16, "num_convs": 0})");
  const auto up = as_mask(wide).mask_predictor->named_parameters()["conv5_mask.weight"];
  EXPECT_NEAR(up.std().item<double>(), std::sqrt(2.0 / (256 * 4)), 0.1 * std::sqrt(2.0 / (256 * 4)));
}

TEST(MaskRcnnHead, Messages) {
  EXPECT_EQ(error_text([] { make(R"({"num_classes": 3})"); }),
            "option 'in_channels' in head options is required: expected integer; add it");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8})"); }),
            "option 'num_classes' in head options is required: expected integer; add it");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8, "num_classes": 3, "channels": 2.5})"); }),
            "option 'channels' in head options: expected integer, got number 2.5E0");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8, "num_classes": 3, "num_convs": "four"})"); }),
            "option 'num_convs' in head options: expected integer, got string \"four\"");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8, "num_classes": 3, "dilation": [1]})"); }),
            "option 'dilation' in head options: expected integer, got array [1]");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8, "num_classes": 3, "norm": "ln"})"); }),
            "option 'norm' in head options: expected a norm ('none', 'bn', 'gn'), got 'ln'");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8, "num_classes": 3, "norm": true})"); }),
            "option 'norm' in head options: expected string, got boolean true");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8, "num_classes": 3, "num_conv": 2})"); }),
            "unknown option 'num_conv' in head options; did you mean 'num_convs'? (valid options: channels, dilation, "
            "in_channels, norm, num_classes, num_convs)");

  EXPECT_EQ(error_text([] { make(R"({"in_channels": 0, "num_classes": 3})"); }),
            "mask_rcnn head: 'in_channels' must be >= 1, got 0; set the channels of the RoI features (the FPN's "
            "channels)");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8, "num_classes": 0})"); }),
            "mask_rcnn head: 'num_classes' must be >= 1, got 0; set the number of classes the box labels index "
            "(background included)");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8, "num_classes": 3, "channels": 0})"); }),
            "mask_rcnn head: 'channels' must be >= 1, got 0; torchvision uses 256");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8, "num_classes": 3, "num_convs": -1})"); }),
            "mask_rcnn head: 'num_convs' must be >= 0, got -1; torchvision uses 4");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 8, "num_classes": 3, "dilation": 0})"); }),
            "mask_rcnn head: 'dilation' must be >= 1, got 0; 1 is a plain 3x3 conv");

  auto head = make(R"({"in_channels": 8, "num_classes": 3, "channels": 4})");
  const std::string several = "mask_rcnn head: expected one tensor, the RoI features [K, 8, S, S], got ";
  const std::string advice = "; pool every box's features into one tensor (multi-level RoIAlign) first";
  EXPECT_EQ(error_text([&] { head->forward({}); }), several + "0" + advice);
  EXPECT_EQ(error_text([&] { head->forward({torch::randn({2, 8, 4, 4}), torch::randn({2, 8, 2, 2})}); }),
            several + "2" + advice);
  const std::string bad = "mask_rcnn head: RoI features: expected floating [K, 8, S, S], got ";
  const std::string fix = "; set 'in_channels' to the channels of the pooled level";
  EXPECT_EQ(error_text([&] { head->forward({torch::randn({2, 6, 4, 4})}); }), bad + "Float [2, 6, 4, 4]" + fix);
  EXPECT_EQ(error_text([&] { head->forward({torch::randn({2, 8})}); }), bad + "Float [2, 8]" + fix);
  EXPECT_EQ(error_text([&] { head->forward({torch::zeros({2, 8, 4, 4}, torch::kLong)}); }),
            bad + "Long [2, 8, 4, 4]" + fix);
  EXPECT_EQ(error_text([&] { head->forward({torch::Tensor()}); }), bad + "an undefined tensor" + fix);
}

}  // namespace
}  // namespace autotimm::mask_rcnn
