// The "deeplabv3plus" head: registry entry and options, torchvision's ASPP key names and shapes, output size for odd
// map sizes, the ASPP branches and the whole forward against plain torch ops (a dilated tap written out by hand), the
// image-pooling branch (a constant map; batches of one in training, with and without synchronised statistics),
// gradients to every parameter, initialisation, and every message.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "autotimm/distributed/collective.hpp"
#include "autotimm/distributed/sync_batch_norm.hpp"
#include "autotimm/error.hpp"
#include "autotimm/head.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "deeplabv3plus_head.hpp"
#include "support/error_text.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace autotimm::deeplabv3plus {
namespace {

using autotimm::testing::error_text;
using Shape = std::vector<std::int64_t>;
using Keys = std::vector<std::pair<std::string, Shape>>;

std::shared_ptr<Head> make(const std::string& options) {
  auto config = Config::parse(options, "head options");
  auto head =
      autotimm::testing::registry_of(autotimm_plugin_descriptor()).heads().get("deeplabv3plus").factory(config);
  config.expect_all_used();
  return head;
}

DeepLabV3PlusHeadImpl& as_deeplab(const std::shared_ptr<Head>& head) {
  return dynamic_cast<DeepLabV3PlusHeadImpl&>(*head);
}

// low 6 channels, high 10; ASPP 8 channels with rates 2 and 3; low projection 4; decoder 5; 3 classes.
constexpr const char* kSmallHead = R"({"in_channels": [6, 10], "num_classes": 3, "aspp_channels": 8,
                                       "aspp_rates": [2, 3], "low_level_channels": 4, "decoder_channels": 5})";

// A stride-4 map of 17x13 and a deepest map of 5x4: odd sizes, and 5x4 does not scale to 17x13 by an integer.
std::vector<torch::Tensor> maps(std::int64_t batch = 2, std::int64_t low = 6, std::int64_t high = 10) {
  return {torch::randn({batch, low, 17, 13}), torch::randn({batch, high, 5, 4})};
}

// Every BatchNorm gets running statistics and affine parameters away from the identity, so eval-mode references test
// that each BN is applied, with its own numbers.
void randomise_batch_norms(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (const auto& child : module.modules()) {
    if (auto* bn = dynamic_cast<layers::BatchNorm2dImpl*>(child.get())) {
      bn->running_mean.normal_(0.0, 0.5);
      bn->running_var.uniform_(0.5, 2.0);
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.normal_(0.0, 0.5);
    }
  }
}

// Plain-op references, eval mode: BN written out from its running statistics.
torch::Tensor bn_eval(const torch::Tensor& x, const layers::BatchNorm2dImpl& bn) {
  const Shape shape = {1, -1, 1, 1};
  return (x - bn.running_mean.view(shape)) / torch::sqrt(bn.running_var.view(shape) + bn.options.eps) *
             bn.weight.view(shape) +
         bn.bias.view(shape);
}

torch::Tensor conv(const torch::Tensor& x, const torch::nn::Conv2dImpl& c, std::int64_t dilation = 1) {
  const std::int64_t padding = dilation * (c.weight.size(2) / 2);
  return torch::conv2d(x, c.weight, c.bias, 1, padding, dilation);
}

// conv (at `conv_index`), BN (the next child), ReLU of a Sequential, with plain ops.
torch::Tensor conv_bn_relu(const torch::Tensor& x, const torch::nn::Sequential& seq, std::size_t conv_index = 0,
                           std::int64_t dilation = 1) {
  return torch::relu(bn_eval(conv(x, seq->at<torch::nn::Conv2dImpl>(conv_index), dilation),
                             seq->at<layers::BatchNorm2dImpl>(conv_index + 1)));
}

void append_bn(Keys& keys, const std::string& prefix, std::int64_t channels) {
  keys.push_back({prefix + ".weight", {channels}});
  keys.push_back({prefix + ".bias", {channels}});
  keys.push_back({prefix + ".running_mean", {channels}});
  keys.push_back({prefix + ".running_var", {channels}});
  keys.push_back({prefix + ".num_batches_tracked", {}});
}

// Two ranks holding the same batch: a sum over ranks is twice the local value.
class TwoIdenticalRanks final : public Collective {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 2; }
  void all_reduce_sum(std::vector<torch::Tensor>& tensors) override {
    ++calls;
    for (auto& t : tensors) t.mul_(2.0);
  }
  torch::Tensor all_gather_rows(const torch::Tensor& rows) override { return torch::cat({rows, rows}); }
  int calls = 0;
};

TEST(DeepLabV3PlusHead, RegistryEntryAppliesOptions) {
  auto& registry = autotimm::testing::registry_of(autotimm_plugin_descriptor());
  ASSERT_TRUE(registry.heads().contains("deeplabv3plus"));
  auto head = make(R"({"in_channels": [24, 320], "num_classes": 7, "aspp_channels": 64, "aspp_rates": [12, 24, 36],
                       "low_level_channels": 32, "decoder_channels": 96, "dropout": 0.5})");
  const auto& options = as_deeplab(head).options();
  EXPECT_EQ(options.in_channels, (Shape{24, 320}));
  EXPECT_EQ(options.num_classes, 7);
  EXPECT_EQ(options.aspp_channels, 64);
  EXPECT_EQ(options.aspp_rates, (Shape{12, 24, 36}));
  EXPECT_EQ(options.low_level_channels, 32);
  EXPECT_EQ(options.decoder_channels, 96);
  EXPECT_DOUBLE_EQ(options.dropout, 0.5);
  EXPECT_DOUBLE_EQ(as_deeplab(head).aspp->project->at<torch::nn::DropoutImpl>(3).options.p(), 0.5);

  const auto defaults = as_deeplab(make(R"({"in_channels": [256, 2048], "num_classes": 21})")).options();
  EXPECT_EQ(defaults.aspp_channels, 256);
  EXPECT_EQ(defaults.aspp_rates, (Shape{6, 12, 18}));
  EXPECT_EQ(defaults.low_level_channels, 48);
  EXPECT_EQ(defaults.decoder_channels, 256);
  EXPECT_DOUBLE_EQ(defaults.dropout, 0.1);
}

TEST(DeepLabV3PlusHead, TorchvisionAsppKeyNamesAndShapes) {
  auto head = make(kSmallHead);
  Keys keys;
  for (const auto& [key, tensor] : state_dict(*head)) keys.emplace_back(key, tensor.sizes().vec());
  Keys expected;
  expected.push_back({"aspp.convs.0.0.weight", {8, 10, 1, 1}});
  append_bn(expected, "aspp.convs.0.1", 8);
  expected.push_back({"aspp.convs.1.0.weight", {8, 10, 3, 3}});
  append_bn(expected, "aspp.convs.1.1", 8);
  expected.push_back({"aspp.convs.2.0.weight", {8, 10, 3, 3}});
  append_bn(expected, "aspp.convs.2.1", 8);
  expected.push_back({"aspp.convs.3.1.weight", {8, 10, 1, 1}});  // child 0 is the pooling, without parameters
  append_bn(expected, "aspp.convs.3.2", 8);
  expected.push_back({"aspp.project.0.weight", {8, 32, 1, 1}});  // 4 branches of 8
  append_bn(expected, "aspp.project.1", 8);
  expected.push_back({"low_level_project.0.weight", {4, 6, 1, 1}});
  append_bn(expected, "low_level_project.1", 4);
  expected.push_back({"decoder.0.weight", {5, 12, 3, 3}});  // ASPP 8 + low 4
  append_bn(expected, "decoder.1", 5);
  expected.push_back({"decoder.3.weight", {5, 5, 3, 3}});
  append_bn(expected, "decoder.4", 5);
  expected.push_back({"classifier.weight", {3, 5, 1, 1}});
  expected.push_back({"classifier.bias", {3}});
  EXPECT_EQ(keys, expected);

  // No rates: the 1x1 branch and the pooling only, projected from 2 branches.
  auto bare = make(R"({"in_channels": [6, 10], "num_classes": 3, "aspp_channels": 8, "aspp_rates": []})");
  EXPECT_EQ(as_deeplab(bare).aspp->convs->size(), 2u);
  EXPECT_EQ(as_deeplab(bare).aspp->project->at<torch::nn::Conv2dImpl>(0).weight.sizes().vec(), (Shape{8, 16, 1, 1}));
  EXPECT_EQ(bare->forward(maps())[0].sizes().vec(), (Shape{2, 3, 17, 13}));
}

TEST(DeepLabV3PlusHead, LogitsAtTheLowMapsResolutionForOddSizes) {
  auto head = make(kSmallHead);
  auto outputs = head->forward(maps());
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].sizes().vec(), (Shape{2, 3, 17, 13}));
  head->eval();
  EXPECT_EQ(head->forward(maps(1))[0].sizes().vec(), (Shape{1, 3, 17, 13}));
  // A stride-32 deepest map (17x13 / 8 rounded up) works as well as stride 16.
  EXPECT_EQ(head->forward({torch::randn({1, 6, 17, 13}), torch::randn({1, 10, 3, 2})})[0].sizes().vec(),
            (Shape{1, 3, 17, 13}));
}

TEST(DeepLabV3PlusHead, DilatedBranchMatchesPlainOps) {
  torch::manual_seed(1);
  auto head = make(kSmallHead);
  auto& aspp = *as_deeplab(head).aspp;
  randomise_batch_norms(aspp);
  aspp.eval();
  auto x = torch::randn({2, 10, 5, 4});
  torch::NoGradGuard no_grad;
  // Branch 2 is the rate-3 one: dilation 3, padding 3, so the map keeps its size.
  auto branch = aspp.branch(2);
  auto& c = branch->at<torch::nn::Conv2dImpl>(0);
  auto& bn = branch->at<layers::BatchNorm2dImpl>(1);
  auto pre_bn = torch::conv2d(x, c.weight, {}, 1, 3, 3);
  auto output = branch->forward(x);
  EXPECT_TRUE(torch::allclose(output, torch::relu(bn_eval(pre_bn, bn)), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(output, torch::relu(torch::batch_norm(pre_bn, bn.weight, bn.bias, bn.running_mean,
                                                                    bn.running_var, false, 0.0, bn.options.eps, false)),
                              1e-5, 1e-6));
  // The tap written out at output (0, 0): with padding 3 only kernel rows/cols 1 and 2 (offsets 0 and +3) land inside
  // the 5x4 map.
  for (std::int64_t o = 0; o < 8; ++o) {
    double sum = 0.0;
    for (std::int64_t ci = 0; ci < 10; ++ci) {
      for (std::int64_t ky = 1; ky < 3; ++ky) {
        for (std::int64_t kx = 1; kx < 3; ++kx) {
          sum += c.weight[o][ci][ky][kx].item<double>() * x[1][ci][3 * (ky - 1)][3 * (kx - 1)].item<double>();
        }
      }
    }
    EXPECT_NEAR(pre_bn[1][o][0][0].item<double>(), sum, 1e-4) << "channel " << o;
  }
  // The dilation matters: an undilated conv gives other numbers.
  EXPECT_FALSE(torch::allclose(output, torch::relu(bn_eval(torch::conv2d(x, c.weight, {}, 1, 1, 1), bn))));
  // The 1x1 branch and the rate-2 one likewise.
  EXPECT_TRUE(torch::allclose(aspp.branch(0)->forward(x), conv_bn_relu(x, aspp.branch(0)),
                              1e-5, 1e-6));
  auto rate2 = aspp.branch(1);
  EXPECT_TRUE(torch::allclose(rate2->forward(x), conv_bn_relu(x, rate2, 0, 2), 1e-5, 1e-6));
}

TEST(DeepLabV3PlusHead, PoolingBranchUpsamplesAConstant) {
  torch::manual_seed(2);
  auto head = make(kSmallHead);
  auto& aspp = *as_deeplab(head).aspp;
  randomise_batch_norms(aspp);
  aspp.eval();
  auto x = torch::randn({2, 10, 5, 4});
  torch::NoGradGuard no_grad;
  auto output = aspp.pooling->forward(x);
  ASSERT_EQ(output.sizes().vec(), (Shape{2, 8, 5, 4}));
  // Bilinear upsampling of a 1x1 map is that value everywhere (up to rounding of the interpolation weights).
  EXPECT_TRUE(torch::allclose(output, output.slice(2, 0, 1).slice(3, 0, 1).expand_as(output), 1e-6, 1e-7));
  auto& pooling = *aspp.pooling;
  auto expected = torch::relu(bn_eval(conv(x.mean({2, 3}, /*keepdim=*/true), *pooling.conv), *pooling.bn));
  EXPECT_TRUE(torch::allclose(output.slice(2, 0, 1).slice(3, 0, 1), expected, 1e-5, 1e-6));
  // The pooled value differs between samples (it is not a per-channel constant of the layer).
  EXPECT_FALSE(torch::allclose(output[0], output[1]));
}

TEST(DeepLabV3PlusHead, PoolingBranchTrainsOnBatchesOfOne) {
  torch::manual_seed(3);
  auto head = make(kSmallHead);
  auto& aspp = *as_deeplab(head).aspp;
  randomise_batch_norms(aspp);
  auto& pooling = *aspp.pooling;
  const auto running_var = pooling.bn->running_var.clone();
  auto x = torch::randn({1, 10, 5, 4});
  aspp.eval();
  torch::Tensor eval_output;
  {
    torch::NoGradGuard no_grad;
    eval_output = pooling.forward(x);
  }
  // Training, one sample: normalised by the running statistics, which stay as they were.
  aspp.train();
  auto output = pooling.forward(x);
  EXPECT_TRUE(torch::allclose(output, eval_output, 1e-6, 1e-7));
  EXPECT_EQ(pooling.bn->num_batches_tracked.item<std::int64_t>(), 0);
  EXPECT_TRUE(torch::equal(pooling.bn->running_var, running_var));
  (output * torch::randn_like(output)).sum().backward();
  EXPECT_GT(pooling.conv->weight.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(pooling.bn->weight.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(pooling.bn->bias.grad().abs().sum().item<double>(), 0.0);

  // Two samples: batch statistics and a running-average update, as torchvision.
  auto pair = torch::randn({2, 10, 5, 4});
  auto trained = pooling.forward(pair);
  EXPECT_EQ(pooling.bn->num_batches_tracked.item<std::int64_t>(), 1);
  EXPECT_FALSE(torch::equal(pooling.bn->running_var, running_var));
  // Normalising two values per channel by their own mean and (biased) variance gives -1 and +1 before the affine.
  auto pre = conv(pair.mean({2, 3}, true), *pooling.conv);
  auto normalised = (pre - pre.mean(0, true)) / torch::sqrt(pre.var(0, /*unbiased=*/false, true) + 1e-5);
  const Shape channel = {1, -1, 1, 1};
  auto expected = torch::relu(normalised * pooling.bn->weight.view(channel) + pooling.bn->bias.view(channel));
  EXPECT_TRUE(torch::allclose(trained.slice(2, 0, 1).slice(3, 0, 1), expected, 1e-4, 1e-5));
}

TEST(DeepLabV3PlusHead, WhyBatchesOfOneNeedTheirOwnPath) {
  // The plain layer in training on one value per channel: the output no longer depends on the input (every value is
  // its channel's mean, so only the BN bias remains, up to rounding), and the unbiased running variance divides 0 by
  // 0, which would make every later eval pass NaN.
  layers::BatchNorm2d bn(layers::BatchNorm2dOptions{.num_features = 3});
  {
    torch::NoGradGuard no_grad;
    bn->bias.copy_(torch::tensor({0.5, -1.0, 2.0}));
  }
  const auto bias = torch::tensor({0.5, -1.0, 2.0});
  EXPECT_TRUE(torch::allclose(bn->forward(torch::randn({1, 3, 1, 1})).flatten(), bias, 0.0, 1e-3));
  EXPECT_TRUE(torch::allclose(bn->forward(10.0 * torch::randn({1, 3, 1, 1})).flatten(), bias, 0.0, 1e-3));
  EXPECT_TRUE(torch::isnan(bn->running_var).all().item<bool>());
}

TEST(DeepLabV3PlusHead, PoolingBranchSynchronisesBatchesOfOneAcrossRanks) {
  // Under a two-rank SyncBatchNormScope, one sample per rank is two values per channel: the layer runs its collective
  // (every rank must take part) and updates its statistics.
  auto head = make(kSmallHead);
  auto& pooling = *as_deeplab(head).aspp->pooling;
  TwoIdenticalRanks ranks;
  {
    SyncBatchNormScope scope(ranks);
    torch::NoGradGuard no_grad;
    pooling.forward(torch::randn({1, 10, 5, 4}));
  }
  EXPECT_GT(ranks.calls, 0);
  EXPECT_EQ(pooling.bn->num_batches_tracked.item<std::int64_t>(), 1);
  // A world of one changes nothing: still the single-sample path.
  SingleProcess alone;
  SyncBatchNormScope scope(alone);
  torch::NoGradGuard no_grad;
  pooling.forward(torch::randn({1, 10, 5, 4}));
  EXPECT_EQ(pooling.bn->num_batches_tracked.item<std::int64_t>(), 1);
}

TEST(DeepLabV3PlusHead, ForwardMatchesPlainOps) {
  torch::manual_seed(4);
  auto head = make(kSmallHead);
  auto& net = as_deeplab(head);
  randomise_batch_norms(net);
  {
    torch::NoGradGuard no_grad;
    net.classifier->bias.normal_();
  }
  head->eval();
  auto features = maps();
  const auto& low = features[0];
  const auto& high = features[1];
  torch::NoGradGuard no_grad;

  std::vector<torch::Tensor> branches = {conv_bn_relu(high, net.aspp->branch(0))};
  const Shape rates = {2, 3};
  for (std::size_t r = 0; r < rates.size(); ++r) {
    auto branch = net.aspp->branch(r + 1);
    branches.push_back(conv_bn_relu(high, branch, 0, rates[r]));
  }
  auto& pooling = *net.aspp->pooling;
  auto pooled = torch::relu(bn_eval(conv(high.mean({2, 3}, true), *pooling.conv), *pooling.bn));
  branches.push_back(pooled.expand({2, 8, 5, 4}));
  auto projected = conv_bn_relu(torch::cat(branches, 1), net.aspp->project);
  auto context = torch::upsample_bilinear2d(projected, {17, 13}, /*align_corners=*/false);
  auto detail = conv_bn_relu(low, net.low_level_project);
  auto decoded = conv_bn_relu(conv_bn_relu(torch::cat({context, detail}, 1), net.decoder, 0), net.decoder, 3);
  auto expected = conv(decoded, *net.classifier);

  auto logits = head->forward(features)[0];
  EXPECT_TRUE(torch::allclose(logits, expected, 1e-4, 1e-5)) << (logits - expected).abs().max();
  // The ASPP output comes first in the decoder's input: the other order gives other logits.
  auto swapped = conv(conv_bn_relu(conv_bn_relu(torch::cat({detail, context}, 1), net.decoder, 0), net.decoder, 3),
                      *net.classifier);
  EXPECT_FALSE(torch::allclose(logits, swapped, 1e-3, 1e-3));
  // Bilinear with align_corners=false is not align_corners=true at these sizes.
  auto aligned = torch::upsample_bilinear2d(projected, {17, 13}, true);
  EXPECT_FALSE(torch::allclose(aligned, context));
}

TEST(DeepLabV3PlusHead, TrainingReachesEveryParameter) {
  for (std::int64_t batch : {2, 1}) {
    torch::manual_seed(5);
    auto head = make(kSmallHead);
    head->train();
    auto logits = head->forward(maps(batch))[0];
    (logits * torch::randn_like(logits)).sum().backward();
    for (const auto& item : head->named_parameters()) {
      const auto& key = item.key();
      const auto& parameter = item.value();
      ASSERT_TRUE(parameter.grad().defined()) << key << ", batch " << batch;
      EXPECT_GT(parameter.grad().abs().sum().item<double>(), 0.0) << key << ", batch " << batch;
      EXPECT_TRUE(torch::isfinite(parameter.grad()).all().item<bool>()) << key << ", batch " << batch;
    }
    for (const auto& item : head->named_buffers()) {
      EXPECT_TRUE(torch::isfinite(item.value()).all().item<bool>()) << item.key() << ", batch " << batch;
    }
  }
}

TEST(DeepLabV3PlusHead, KaimingNormalFanOutInit) {
  torch::manual_seed(6);
  auto head = make(R"({"in_channels": [16, 32], "num_classes": 8, "aspp_channels": 16, "aspp_rates": [2],
                       "low_level_channels": 8, "decoder_channels": 16})");
  for (const auto& [key, tensor] : state_dict(*head)) {
    if (tensor.dim() == 4) {
      // kaiming_normal_(fan_out, relu): N(0, 2 / (out_channels * kh * kw)); at least 128 samples each, fixed seed.
      const double fan_out = static_cast<double>(tensor.size(0) * tensor.size(2) * tensor.size(3));
      EXPECT_NEAR(tensor.std().item<double>(), std::sqrt(2.0 / fan_out), 0.2 * std::sqrt(2.0 / fan_out)) << key;
    } else if (key.ends_with("running_var") || (key.ends_with(".weight") && key != "classifier.weight")) {
      EXPECT_TRUE(torch::equal(tensor, torch::ones_like(tensor))) << key;  // BN weight 1, running variance 1
    } else {
      EXPECT_TRUE(torch::equal(tensor, torch::zeros_like(tensor))) << key;  // BN bias, running mean, classifier bias
    }
  }
}

TEST(DeepLabV3PlusHead, Messages) {
  EXPECT_EQ(error_text([] { make(R"({"num_classes": 3})"); }),
            "option 'in_channels' in head options is required: expected array of integers; add it");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [6, 10]})"); }),
            "option 'num_classes' in head options is required: expected integer; add it");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": 10, "num_classes": 3})"); }),
            "option 'in_channels' in head options: expected array of integers, got integer 10");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [6, 10], "num_classes": 3, "dropout": "high"})"); }),
            "option 'dropout' in head options: expected number, got string \"high\"");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [6, 10], "num_classes": 3, "aspp_rates": 6})"); }),
            "option 'aspp_rates' in head options: expected array of integers, got integer 6");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [6, 10], "num_classes": 3, "asp_rates": [6]})"); }).rfind(
                "unknown option 'asp_rates' in head options", 0),
            0u);

  EXPECT_EQ(error_text([] { make(R"({"in_channels": [10], "num_classes": 3})"); }),
            "deeplabv3plus head: 'in_channels' must list 2 channel counts [low, high] (the stride-4 map and the "
            "deepest map), got [10]; e.g. [256, 2048] for a resnet50's layer1 and layer4");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [6, 8, 10], "num_classes": 3})"); }),
            "deeplabv3plus head: 'in_channels' must list 2 channel counts [low, high] (the stride-4 map and the "
            "deepest map), got [6, 8, 10]; e.g. [256, 2048] for a resnet50's layer1 and layer4");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [6, 0], "num_classes": 3})"); }),
            "deeplabv3plus head: 'in_channels' must all be >= 1, got [6, 0] (entry 1)");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [6, 10], "num_classes": 0})"); }),
            "deeplabv3plus head: 'num_classes' must be >= 1, got 0; set the number of classes the labels index "
            "(background included)");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [6, 10], "num_classes": 3, "aspp_channels": 0})"); }),
            "deeplabv3plus head: 'aspp_channels' must be >= 1, got 0");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [6, 10], "num_classes": 3, "aspp_rates": [6, 0]})"); }),
            "deeplabv3plus head: 'aspp_rates' must all be >= 1, got [6, 0] (entry 1); 1 is an undilated 3x3 conv");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [6, 10], "num_classes": 3, "low_level_channels": -1})"); }),
            "deeplabv3plus head: 'low_level_channels' must be >= 1, got -1");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [6, 10], "num_classes": 3, "decoder_channels": 0})"); }),
            "deeplabv3plus head: 'decoder_channels' must be >= 1, got 0");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [6, 10], "num_classes": 3, "dropout": 1})"); }),
            "deeplabv3plus head: 'dropout' must be in [0, 1), got 1; 0 disables it");
  EXPECT_EQ(error_text([] { make(R"({"in_channels": [6, 10], "num_classes": 3, "dropout": -0.1})"); }),
            "deeplabv3plus head: 'dropout' must be in [0, 1), got -0.1; 0 disables it");

  auto head = make(kSmallHead);
  auto features = maps();
  EXPECT_EQ(error_text([&] { head->forward({features[1]}); }),
            "deeplabv3plus head: expected 2 feature maps [low (stride 4), high (the deepest)], got 1; select the "
            "backbone's stride-4 level and its last level");
  EXPECT_EQ(error_text([&] { head->forward({features[0], features[1], features[1]}); }),
            "deeplabv3plus head: expected 2 feature maps [low (stride 4), high (the deepest)], got 3; select the "
            "backbone's stride-4 level and its last level");
  EXPECT_EQ(error_text([&] { head->forward({features[1], features[0]}); }),
            "deeplabv3plus head: feature map 0 (low): expected [N, 6, H, W], got [2, 10, 5, 4]; 'in_channels' must "
            "list the channels of the selected backbone levels, [low, high]");
  EXPECT_EQ(error_text([&] { head->forward({features[0], torch::randn({2, 10})}); }),
            "deeplabv3plus head: feature map 1 (high): expected [N, 10, H, W], got [2, 10]; 'in_channels' must "
            "list the channels of the selected backbone levels, [low, high]");
  EXPECT_EQ(error_text([&] { head->forward({features[0], torch::Tensor()}); }),
            "deeplabv3plus head: feature map 1 (high): expected [N, 10, H, W], got an undefined tensor; "
            "'in_channels' must list the channels of the selected backbone levels, [low, high]");
  EXPECT_EQ(error_text([&] { head->forward({features[0], torch::randn({3, 10, 5, 4})}); }),
            "deeplabv3plus head: the feature maps hold different batch sizes: low [2, 6, 17, 13], high "
            "[3, 10, 5, 4]; give both levels of the same images");
}

}  // namespace
}  // namespace autotimm::deeplabv3plus
