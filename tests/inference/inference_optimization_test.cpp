// Batch norm folded into convolutions and channels-last memory: the same outputs as the model as built, on each CNN
// family (random weights with running statistics away from 0 / 1), the right BatchNorms folded and the others kept
// with a reason, eval mode required.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>

#include "autotimm/backbones.hpp"
#include "autotimm/error.hpp"
#include "autotimm/inference/inference_optimization.hpp"
#include "autotimm/layers/batch_norm.hpp"
#include "support/error_text.hpp"

namespace autotimm {
namespace {

using autotimm::testing::error_text;

/// Running statistics and affine parameters as a trained model has them, so folding changes the weights a lot.
void randomise_batch_norms(torch::nn::Module& model, std::uint64_t seed = 3) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (const auto& module : model.modules(/*include_self=*/false)) {
    if (auto* norm = dynamic_cast<layers::BatchNorm2dImpl*>(module.get())) {
      norm->running_mean.uniform_(-0.5, 0.5);
      norm->running_var.uniform_(0.3, 2.0);
      if (norm->weight.defined()) norm->weight.uniform_(0.5, 1.5);
      if (norm->bias.defined()) norm->bias.uniform_(-0.3, 0.3);
    }
  }
}

std::int64_t count_batch_norms(torch::nn::Module& model, bool folded) {
  std::int64_t count = 0;
  for (const auto& module : model.modules(/*include_self=*/false)) {
    if (auto* norm = dynamic_cast<layers::BatchNorm2dImpl*>(module.get())) count += norm->folded == folded ? 1 : 0;
  }
  return count;
}

double relative_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(1.0, b.abs().max().item<double>());
}

struct FamilyCase {
  std::string name;
  std::int64_t expected_folded;  ///< -1: every BatchNorm of the model
};

class FoldFamilies : public ::testing::TestWithParam<FamilyCase> {};

TEST_P(FoldFamilies, FoldedModelGivesTheSameOutputs) {
  const auto& param = GetParam();
  auto model = create_backbone(param.name, {.num_classes = 7});
  randomise_batch_norms(*model);
  model->eval();
  torch::manual_seed(11);
  const auto images = torch::randn({2, 3, 48, 48});
  torch::Tensor before;
  {
    torch::NoGradGuard no_grad;
    before = model->forward(images);
  }
  const auto report = fold_batch_norm(*model, {.probe_shape = {2, 3, 32, 32}});
  const std::int64_t all = count_batch_norms(*model, true) + count_batch_norms(*model, false);
  EXPECT_EQ(report.batch_norms, all);
  EXPECT_EQ(report.folded, param.expected_folded < 0 ? all : param.expected_folded);
  EXPECT_EQ(count_batch_norms(*model, true), report.folded);
  EXPECT_TRUE(report.kept.empty()) << report.kept.front();
  EXPECT_GT(report.folded, 0);
  torch::Tensor after;
  {
    torch::NoGradGuard no_grad;
    after = model->forward(images);  // another input size than the probe's
  }
  EXPECT_LT(relative_difference(after, before), 1e-4) << param.name;
  // The folded convolutions now carry the BatchNorms' shifts as biases: a bias-free one gained a parameter.
  EXPECT_GT(model->named_parameters().size(), 0u);
  // Folding again finds nothing left to do.
  const auto again = fold_batch_norm(*model, {.probe_shape = {1, 3, 32, 32}});
  EXPECT_EQ(again.folded, 0);
  EXPECT_EQ(static_cast<std::int64_t>(again.kept.size()), report.folded);
}

// resnet18: the stem's bn1, two per BasicBlock (8 blocks), one per downsample (3) = 20, computed from timm's layout.
INSTANTIATE_TEST_SUITE_P(Families, FoldFamilies,
                         ::testing::Values(FamilyCase{"resnet18", 20}, FamilyCase{"efficientnet_b0", -1},
                                           FamilyCase{"regnetx_002", -1}, FamilyCase{"mobilenetv3_small_050", -1}),
                         [](const auto& info) { return info.param.name; });

TEST(FoldBatchNorm, ResNetBiasFreeConvolutionsGainTheirShiftAsBias) {
  auto model = create_backbone("resnet18", {.num_classes = 0});
  randomise_batch_norms(*model);
  model->eval();
  EXPECT_EQ(model->named_parameters().find("conv1.bias"), nullptr);
  const auto norm_bias = model->named_parameters()["bn1.bias"].clone();
  const auto mean = model->named_buffers()["bn1.running_mean"].clone();
  const auto var = model->named_buffers()["bn1.running_var"].clone();
  const auto gamma = model->named_parameters()["bn1.weight"].clone();
  const auto weight = model->named_parameters()["conv1.weight"].clone();
  fold_batch_norm(*model, {.probe_shape = {1, 3, 32, 32}});
  const auto* bias = model->named_parameters().find("conv1.bias");
  ASSERT_NE(bias, nullptr);
  // By hand: scale = gamma / sqrt(var + eps), bias = beta - mean · scale, weight · scale per output channel.
  const auto scale = gamma / torch::sqrt(var + 1e-5);
  EXPECT_TRUE(torch::allclose(*bias, norm_bias - mean * scale, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(model->named_parameters()["conv1.weight"], weight * scale.view({-1, 1, 1, 1}), 1e-5,
                              1e-6));
}

/// conv → relu → BN (not foldable), conv (with bias) → BN whose conv output is also added after it (not
/// foldable), conv → BN (folded).
struct MixedNetImpl : torch::nn::Module {
  MixedNetImpl() {
    a = register_module("a", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).padding(1).bias(false)));
    after_relu = register_module("after_relu", layers::BatchNorm2d(layers::BatchNorm2dOptions{.num_features = 4}));
    b = register_module("b", torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 4, 1).bias(true)));
    shared = register_module("shared", layers::BatchNorm2d(layers::BatchNorm2dOptions{.num_features = 4}));
    c = register_module("c", torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 5, 1).bias(false)));
    plain = register_module("plain", layers::BatchNorm2d(layers::BatchNorm2dOptions{.num_features = 5}));
    unused = register_module("unused", layers::BatchNorm2d(layers::BatchNorm2dOptions{.num_features = 5}));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = after_relu(torch::relu(a(x)));
    auto z = b(y);
    z = shared(z) + z;
    return plain(c(z));
  }
  torch::nn::Conv2d a{nullptr}, b{nullptr}, c{nullptr};
  layers::BatchNorm2d after_relu{nullptr}, shared{nullptr}, plain{nullptr}, unused{nullptr};
};
TORCH_MODULE(MixedNet);

TEST(FoldBatchNorm, KeepsBatchNormsThatAreNotAConvolutionsOnlyConsumer) {
  MixedNet net;
  randomise_batch_norms(*net);
  net->eval();
  const auto images = torch::randn({2, 3, 9, 9});
  torch::Tensor before;
  {
    torch::NoGradGuard no_grad;
    before = net->forward(images);
  }
  const auto report = fold_batch_norm(
      *net, {.probe_shape = {2, 3, 8, 8}, .forward = [&](const torch::Tensor& x) {
               return std::vector<torch::Tensor>{net->forward(x)};
             }});
  EXPECT_EQ(report.batch_norms, 4);
  EXPECT_EQ(report.folded, 1);
  EXPECT_TRUE(net->plain->folded);
  EXPECT_FALSE(net->after_relu->folded);
  EXPECT_FALSE(net->shared->folded);
  ASSERT_EQ(report.kept.size(), 3u);
  auto kept = [&](const std::string& start) {
    return std::any_of(report.kept.begin(), report.kept.end(),
                       [&](const auto& line) { return line.starts_with(start); });
  };
  EXPECT_TRUE(kept("after_relu: its input is not a Conv2d's output")) << report.kept[0];
  EXPECT_TRUE(kept("shared: the output of its Conv2d 'b' is used elsewhere too"));
  EXPECT_TRUE(kept("unused: not run by the forward"));
  EXPECT_NE(net->named_parameters().find("c.bias"), nullptr);
  EXPECT_EQ(net->named_parameters().find("a.bias"), nullptr);
  torch::NoGradGuard no_grad;
  EXPECT_LT(relative_difference(net->forward(images), before), 1e-5);
}

TEST(FoldBatchNorm, WorksWhenCalledInInferenceMode) {
  auto model = create_backbone("regnetx_002", {.num_classes = 0});
  randomise_batch_norms(*model);
  model->eval();
  const auto images = torch::randn({1, 3, 32, 32});
  torch::Tensor before;
  {
    torch::NoGradGuard no_grad;
    before = model->forward(images);
  }
  torch::InferenceMode inference;
  const auto report = fold_batch_norm(*model, {.probe_shape = {1, 3, 32, 32}});
  EXPECT_EQ(report.folded, report.batch_norms);
  EXPECT_LT(relative_difference(model->forward(images), before), 1e-4);
}

TEST(FoldBatchNorm, RefusesATrainingModelAndAModuleWithoutAForward) {
  auto model = create_backbone("resnet18", {.num_classes = 0});
  model->train();
  const auto training = error_text([&] { fold_batch_norm(*model); });
  EXPECT_NE(training.find("training mode"), std::string::npos) << training;
  EXPECT_NE(training.find("eval()"), std::string::npos) << training;
  // A submodule left in training mode counts too.
  model->eval();
  model->named_modules()["layer1"]->train();
  EXPECT_THROW(fold_batch_norm(*model), ConfigError);

  MixedNet net;
  net->eval();
  const auto message = error_text([&] { fold_batch_norm(*net); });
  EXPECT_NE(message.find("BatchNormFoldOptions::forward"), std::string::npos) << message;
}

TEST(FoldBatchNorm, AFoldedBatchNormRefusesToTrain) {
  MixedNet net;
  net->eval();
  fold_batch_norm(*net, {.probe_shape = {1, 3, 8, 8}, .forward = [&](const torch::Tensor& x) {
                           return std::vector<torch::Tensor>{net->forward(x)};
                         }});
  net->train();
  const auto message = error_text([&] { net->forward(torch::randn({2, 3, 8, 8})); });
  EXPECT_NE(message.find("folded"), std::string::npos) << message;
}

TEST(FoldBatchNorm, UndoesEverythingWhenTheOutputsWouldDiffer) {
  MixedNet net;
  randomise_batch_norms(*net);
  net->eval();
  const auto weight = net->c->weight.clone();
  // A forward that is not the same function before and after: the check must catch it and undo the fold.
  int calls = 0;
  const auto message = error_text([&] {
    fold_batch_norm(*net, {.probe_shape = {1, 3, 8, 8}, .forward = [&](const torch::Tensor& x) {
                             return std::vector<torch::Tensor>{net->forward(x) + static_cast<double>(calls++)};
                           }});
  });
  EXPECT_NE(message.find("differ"), std::string::npos) << message;
  EXPECT_FALSE(net->plain->folded);
  EXPECT_TRUE(torch::equal(net->c->weight, weight));
  EXPECT_FALSE(net->c->bias.defined());
  EXPECT_EQ(net->named_parameters().find("c.bias"), nullptr);
}

TEST(ChannelsLast, SameOutputsAndEveryConvolutionWeightConverted) {
  auto model = create_backbone("resnet18", {.num_classes = 5});
  randomise_batch_norms(*model);
  model->eval();
  const auto images = torch::randn({2, 3, 40, 40});
  torch::NoGradGuard no_grad;
  const auto before = model->forward(images);
  std::int64_t four_d = 0;
  for (const auto& p : model->parameters()) four_d += p.dim() == 4 ? 1 : 0;
  EXPECT_EQ(to_channels_last(*model), four_d);
  for (const auto& p : model->parameters()) {
    if (p.dim() == 4) {
      EXPECT_TRUE(p.is_contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
  const auto after = model->forward(images.contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_LT(relative_difference(after, before), 1e-5);
  // Folding works on a channels-last model as well, and keeps its layout.
  const auto report = fold_batch_norm(*model, {.probe_shape = {1, 3, 32, 32}});
  EXPECT_EQ(report.folded, 20);
  EXPECT_TRUE(model->named_parameters()["conv1.weight"].is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_LT(relative_difference(model->forward(images.contiguous(at::MemoryFormat::ChannelsLast)), before), 1e-4);
}

}  // namespace
}  // namespace autotimm
