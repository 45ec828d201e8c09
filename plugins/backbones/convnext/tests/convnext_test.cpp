// The ConvNeXt family against timm's numbers: parameter and state-dict key counts, key names, order and shapes,
// feature_info, heads, Global Response Norm and LayerNorm2d numerics, drop path, options and their messages, and the
// registry entries with their pretrained tags.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <set>

#include "autotimm/backbones.hpp"
#include "autotimm/config.hpp"
#include "autotimm/error.hpp"
#include "autotimm/layers/grn.hpp"
#include "autotimm/layers/layer_norm2d.hpp"
#include "autotimm/layers/norm_mlp_classifier_head.hpp"
#include "autotimm/layers/weight_init.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/testing/module_inspection.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "support/error_text.hpp"
#include "variants.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace autotimm::convnext {
namespace {

using autotimm::testing::error_text;
using autotimm::testing::Shape;
using autotimm::testing::shapes_of;
using autotimm::testing::parameter_count;

Registry& plugin_registry() { return testing::registry_of(autotimm_plugin_descriptor()); }

std::shared_ptr<Backbone> build(const std::string& name, const std::string& model_args = "{}") {
  return testing::build_backbone(plugin_registry(), name, model_args);
}

// ---- counts against timm ------------------------------------------------------------------------------------------

using Expected = testing::TimmCounts;  // timm's parameters (1000 classes) and state-dict keys

// timm's published sizes round to these (convnext_atto 3.70M, femto 5.22M, tiny 28.59M, convnextv2_atto 3.71M,
// convnextv2_nano 15.62M, convnextv2_tiny 28.64M); the exact values follow from convnext.py's layer shapes.
TEST(ConvNeXtCounts, ParametersAndKeysMatchTimm) {
  constexpr Expected kSmall[] = {
      {"convnext_atto", 3'695'520, 128},   {"convnext_atto_ols", 3'702'912, 130}, {"convnext_femto", 5'217'784, 128},
      {"convnext_tiny", 28'589'128, 182},  {"convnextv2_atto", 3'708'400, 140},  {"convnextv2_nano", 15'623'800, 160},
      {"convnextv2_tiny", 28'635'496, 200},
  };
  testing::expect_timm_counts(plugin_registry(), kSmall);
  // The shared fixture's model: 10 classes (its README: 3.4 M).
  EXPECT_EQ(parameter_count(*build("convnext_atto", R"({"num_classes": 10})")), 3'377'730);
}

// The other counts, up to 846 million parameters: on demand only
// (--gtest_also_run_disabled_tests --gtest_filter='*AtFullSize*').
TEST(ConvNeXtCounts, DISABLED_OtherModelsAtFullSize) {
  constexpr Expected kLarge[] = {
      {"convnext_small", 50'223'688, 344},   {"convnext_base", 88'591'464, 344},
      {"convnext_large", 197'767'336, 344},  {"convnext_large_mlp", 200'128'168, 346},
      {"convnext_xlarge", 350'196'968, 344}, {"convnext_xxlarge", 846'471'016, 380},
      {"convnextv2_huge", 660'289'640, 380},
  };
  testing::expect_timm_counts(plugin_registry(), kLarge);
}

// ---- key names, order and shapes ----------------------------------------------------------------------------------

TEST(ConvNeXtKeys, AttoLayoutIsTimms) {
  const auto entries = state_dict(*build("convnext_atto"));
  const std::vector<std::string> first = {
      "stem.0.weight",
      "stem.0.bias",
      "stem.1.weight",
      "stem.1.bias",
      "stages.0.blocks.0.gamma",  // the block's own parameter precedes its submodules, as in timm
      "stages.0.blocks.0.conv_dw.weight",
      "stages.0.blocks.0.conv_dw.bias",
      "stages.0.blocks.0.norm.weight",
      "stages.0.blocks.0.norm.bias",
      "stages.0.blocks.0.mlp.fc1.weight",
      "stages.0.blocks.0.mlp.fc1.bias",
      "stages.0.blocks.0.mlp.fc2.weight",
      "stages.0.blocks.0.mlp.fc2.bias",
      "stages.0.blocks.1.gamma"};
  for (std::size_t i = 0; i < first.size(); ++i) EXPECT_EQ(entries[i].first, first[i]);
  const std::vector<std::string> last = {"head.norm.weight", "head.norm.bias", "head.fc.weight", "head.fc.bias"};
  for (std::size_t i = 0; i < last.size(); ++i) EXPECT_EQ(entries[entries.size() - last.size() + i].first, last[i]);

  const auto shapes = shapes_of(*build("convnext_atto"));
  EXPECT_EQ(shapes.at("stem.0.weight"), (Shape{40, 3, 4, 4}));
  EXPECT_FALSE(shapes.count("stages.0.downsample.0.weight"));  // stage 0 keeps the stem's width and stride
  EXPECT_EQ(shapes.at("stages.1.downsample.0.weight"), (Shape{40}));
  EXPECT_EQ(shapes.at("stages.1.downsample.1.weight"), (Shape{80, 40, 2, 2}));
  EXPECT_EQ(shapes.at("stages.0.blocks.0.conv_dw.weight"), (Shape{40, 1, 7, 7}));
  EXPECT_EQ(shapes.at("stages.0.blocks.0.mlp.fc1.weight"), (Shape{160, 40, 1, 1}));  // conv MLP
  EXPECT_EQ(shapes.at("stages.3.blocks.1.mlp.fc2.weight"), (Shape{320, 1280, 1, 1}));
  EXPECT_EQ(shapes.at("stages.2.blocks.5.gamma"), (Shape{160}));
  EXPECT_EQ(shapes.at("head.fc.weight"), (Shape{1000, 320}));
}

TEST(ConvNeXtKeys, LinearMlpGrnStemsAndHeads) {
  const auto tiny = shapes_of(*build("convnext_tiny", R"({"depths": [1, 1, 1, 1]})"));
  EXPECT_EQ(tiny.at("stages.0.blocks.0.mlp.fc1.weight"), (Shape{384, 96}));  // Linear MLP on NHWC
  EXPECT_EQ(tiny.at("stages.0.blocks.0.norm.weight"), (Shape{96}));

  const auto v2 = shapes_of(*build("convnextv2_atto"));
  EXPECT_FALSE(v2.count("stages.0.blocks.0.gamma"));  // no layer scale
  EXPECT_EQ(v2.at("stages.0.blocks.0.mlp.grn.weight"), (Shape{160}));
  EXPECT_EQ(v2.at("stages.0.blocks.0.mlp.grn.bias"), (Shape{160}));
  const auto v2_entries = state_dict(*build("convnextv2_atto"));
  const auto grn = std::find_if(v2_entries.begin(), v2_entries.end(),
                                [](const auto& e) { return e.first == "stages.0.blocks.0.mlp.grn.weight"; });
  ASSERT_NE(grn, v2_entries.end());
  EXPECT_EQ(std::prev(grn)->first, "stages.0.blocks.0.mlp.fc1.bias");  // fc1 → grn → fc2, timm's order
  EXPECT_EQ(std::next(grn, 2)->first, "stages.0.blocks.0.mlp.fc2.weight");
  const auto v2_tiny = shapes_of(*build("convnextv2_tiny", R"({"depths": [1, 1, 1, 1]})"));
  EXPECT_EQ(v2_tiny.at("stages.3.blocks.0.mlp.grn.weight"), (Shape{3072}));

  const auto ols = shapes_of(*build("convnext_atto_ols"));  // tiered: make_divisible(40 / 2) = 24 wide first conv
  EXPECT_EQ(ols.at("stem.0.weight"), (Shape{24, 3, 3, 3}));
  EXPECT_EQ(ols.at("stem.1.weight"), (Shape{40, 24, 3, 3}));
  EXPECT_EQ(ols.at("stem.2.weight"), (Shape{40}));
  const auto nano_ols = shapes_of(*build("convnext_nano_ols", R"({"depths": [1, 1, 1, 1]})"));
  EXPECT_EQ(nano_ols.at("stem.0.weight"), (Shape{80, 3, 3, 3}));
  const auto act_stem = shapes_of(*build("convnext_atto", R"({"stem_type": "overlap_act"})"));
  EXPECT_EQ(act_stem.at("stem.2.weight"), (Shape{40, 40, 3, 3}));  // stem.1 is the activation
  EXPECT_EQ(act_stem.at("stem.3.weight"), (Shape{40}));

  const auto hnf = shapes_of(*build("convnext_tiny_hnf", R"({"depths": [1, 1, 1, 1]})"));
  EXPECT_EQ(hnf.at("norm_pre.weight"), (Shape{768}));
  EXPECT_FALSE(hnf.count("head.norm.weight"));
  EXPECT_EQ(hnf.at("head.fc.weight"), (Shape{1000, 768}));

  // convnext_large_mlp's head keeps its 1536-wide hidden layer on narrower (test) widths.
  const auto mlp = shapes_of(*build("convnext_large_mlp", R"({"depths": [1, 1, 1, 1], "dims": [8, 16, 32, 64]})"));
  EXPECT_EQ(mlp.at("head.pre_logits.fc.weight"), (Shape{1536, 64}));
  EXPECT_EQ(mlp.at("head.fc.weight"), (Shape{1000, 1536}));

  const auto kernels = shapes_of(*build("test_convnext3"));
  EXPECT_EQ(kernels.at("stages.1.blocks.0.conv_dw.weight"), (Shape{64, 1, 5, 5}));
  EXPECT_EQ(kernels.at("stages.3.blocks.0.conv_dw.weight"), (Shape{128, 1, 3, 3}));
}

TEST(ConvNeXtKeys, KeysAreUniqueAndLayerScaleStartsAtItsInitValue) {
  auto net = build("convnext_atto", R"({"ls_init_value": 0.25, "conv_bias": false})");
  std::set<std::string> seen;
  for (const auto& [key, tensor] : state_dict(*net)) {
    EXPECT_TRUE(seen.insert(key).second) << key;
    EXPECT_EQ(key.find("conv_dw.bias"), std::string::npos) << key;  // conv_bias false
  }
  EXPECT_TRUE(torch::all(net->named_parameters()["stages.1.blocks.0.gamma"] == 0.25).item<bool>());
}

// ---- features, outputs and heads ----------------------------------------------------------------------------------

TEST(ConvNeXtFeatures, FeatureInfoAndIntermediatesAreNchw) {
  auto net = build("convnext_atto", R"({"num_classes": 5})");
  const std::vector<FeatureInfo> expected = {
      {40, 4, "stages.0"}, {80, 8, "stages.1"}, {160, 16, "stages.2"}, {320, 32, "stages.3"}};
  ASSERT_EQ(net->feature_info().size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(net->feature_info()[i].num_chs, expected[i].num_chs);
    EXPECT_EQ(net->feature_info()[i].reduction, expected[i].reduction);
    EXPECT_EQ(net->feature_info()[i].module, expected[i].module);
  }
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 64, 64});
  const auto maps = net->forward_intermediates(x, {-1, 0, 2});
  ASSERT_EQ(maps.size(), 3u);
  EXPECT_EQ(maps[0].sizes(), torch::IntArrayRef({2, 320, 2, 2}));
  EXPECT_EQ(maps[1].sizes(), torch::IntArrayRef({2, 40, 16, 16}));
  EXPECT_EQ(maps[2].sizes(), torch::IntArrayRef({2, 160, 4, 4}));
  EXPECT_TRUE(torch::allclose(maps[0], net->forward_features(x)));
  // A channels-last input gives the same numbers.
  const auto cl = net->forward(x.contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(torch::allclose(cl, net->forward(x), 1e-5, 1e-5));
}

TEST(ConvNeXtFeatures, OutputStrideDilatesTheLastStages) {
  for (const auto& [stride, reductions] :
       std::vector<std::pair<int, std::vector<std::int64_t>>>{{16, {4, 8, 16, 16}}, {8, {4, 8, 8, 8}}}) {
    SCOPED_TRACE(stride);
    auto net = build("convnext_atto", R"({"depths": [1, 1, 1, 1], "output_stride": )" + std::to_string(stride) + "}");
    net->eval();
    torch::NoGradGuard no_grad;
    const auto maps = net->forward_intermediates(torch::randn({1, 3, 64, 64}), {0, 1, 2, 3});
    for (std::size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(net->feature_info()[i].reduction, reductions[i]);
      EXPECT_EQ(maps[i].size(2), 64 / reductions[i]);
      EXPECT_EQ(maps[i].size(3), 64 / reductions[i]);
    }
  }
}

TEST(ConvNeXtHeads, HiddenHeadResetAndNoPoolConvHead) {
  auto net = build("convnext_atto", R"({"depths": [1, 1, 1, 1], "head_hidden_size": 64, "num_classes": 3})");
  auto* convnext = dynamic_cast<ConvNeXtImpl*>(net.get());
  ASSERT_NE(convnext, nullptr);
  EXPECT_EQ(convnext->head_hidden_size(), 64);
  EXPECT_EQ(net->num_features(), 320);
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 32, 32});
  const auto features = net->forward_features(x);
  const auto pre = net->forward_head(features, /*pre_logits=*/true);
  EXPECT_EQ(pre.sizes(), torch::IntArrayRef({2, 64}));
  EXPECT_EQ(shapes_of(*net).at("head.pre_logits.fc.weight"), (Shape{64, 320}));
  net->reset_classifier(0);  // keeps the hidden layer: forward gives the pre-logits
  EXPECT_TRUE(torch::allclose(net->forward(x), pre));
  net->reset_classifier(4);
  EXPECT_EQ(net->forward(x).sizes(), torch::IntArrayRef({2, 4}));

  // No pooling: timm's head runs per position with 1×1 convs.
  auto maps = build("convnext_atto", R"({"depths": [1, 1, 1, 1], "global_pool": "", "num_classes": 6})");
  EXPECT_EQ(shapes_of(*maps).at("head.fc.weight"), (Shape{6, 320, 1, 1}));
  maps->eval();
  EXPECT_EQ(maps->forward(torch::randn({1, 3, 64, 64})).sizes(), torch::IntArrayRef({1, 6, 2, 2}));

  // head_norm_first: norm_pre is part of the features; the head pools and classifies.
  auto hnf = build("convnext_tiny_hnf", R"({"depths": [1, 1, 1, 1], "num_classes": 2, "global_pool": "max"})");
  hnf->eval();
  EXPECT_EQ(hnf->forward(x).sizes(), torch::IntArrayRef({2, 2}));
  hnf->reset_classifier(0);
  EXPECT_EQ(hnf->forward(x).sizes(), torch::IntArrayRef({2, 768}));
}

TEST(ConvNeXtTraining, DropPathOnlyInTrainMode) {
  const std::string args = R"({"depths": [1, 1, 1, 1], "drop_path_rate": 0.5, "ls_init_value": 1.0})";
  auto net = build("convnext_atto", args);
  const auto x = torch::randn({8, 3, 32, 32});
  torch::NoGradGuard no_grad;
  net->eval();
  EXPECT_TRUE(torch::equal(net->forward(x), net->forward(x)));
  net->train();
  torch::manual_seed(1);
  const auto first = net->forward(x);
  torch::manual_seed(2);
  EXPECT_FALSE(torch::allclose(first, net->forward(x)));
  // Without drop path a train-mode forward is deterministic (ConvNeXt has no BatchNorm or dropout by default).
  auto plain = build("convnext_atto", R"({"depths": [1, 1, 1, 1], "ls_init_value": 1.0})");
  plain->train();
  EXPECT_TRUE(torch::equal(plain->forward(x), plain->forward(x)));
}

TEST(ConvNeXtInit, TimmInitialisation) {
  auto net = build("convnext_atto", R"({"head_init_scale": 0.5})");
  auto params = net->named_parameters();
  const auto w = params["stages.2.blocks.0.mlp.fc1.weight"];
  EXPECT_NEAR(w.std().item<double>(), 0.02, 0.002);
  EXPECT_LE(w.abs().max().item<double>(), 2.0);
  EXPECT_TRUE(torch::all(params["stages.2.blocks.0.mlp.fc1.bias"] == 0).item<bool>());
  EXPECT_TRUE(torch::all(params["stem.1.weight"] == 1).item<bool>());
  EXPECT_NEAR(params["head.fc.weight"].std().item<double>(), 0.01, 0.002);  // scaled by head_init_scale
  EXPECT_TRUE(torch::all(params["stages.0.blocks.0.gamma"] == 1e-6f).item<bool>());
  // trunc_normal_ keeps to its absolute bounds.
  const auto cut = layers::trunc_normal_(torch::empty({10000}), 0.0, 1.0, -0.5, 0.5);
  EXPECT_LE(cut.abs().max().item<double>(), 0.5);
}

// ---- shared layers: GRN and LayerNorm2d ---------------------------------------------------------------------------

TEST(ConvNeXtLayers, GlobalResponseNormOnAHandComputedCase) {
  // One sample, 1×2 positions, 2 channels (NHWC): channel 0 holds 1, 3; channel 1 holds 2, 4.
  layers::GlobalResponseNorm grn(layers::GlobalResponseNormOptions{.dim = 2, .eps = 0.0, .channels_last = true});
  {
    torch::NoGradGuard no_grad;
    grn->weight.copy_(torch::tensor({1.0f, 0.5f}));
    grn->bias.copy_(torch::tensor({0.1f, -0.2f}));
  }
  const auto x = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).reshape({1, 1, 2, 2});
  // ‖c0‖ = √10, ‖c1‖ = √20, mean = (√10 + √20) / 2, so the relative norms are 2 / (1 + √2) and 2√2 / (1 + √2).
  const double r0 = 2.0 / (1.0 + std::sqrt(2.0)), r1 = 2.0 * std::sqrt(2.0) / (1.0 + std::sqrt(2.0));
  const auto expected = torch::tensor({float(1 + 0.1 + 1 * 1 * r0), float(2 - 0.2 + 0.5 * 2 * r1),
                                       float(3 + 0.1 + 1 * 3 * r0), float(4 - 0.2 + 0.5 * 4 * r1)})
                            .reshape({1, 1, 2, 2});
  const auto y = grn(x);
  EXPECT_TRUE(torch::allclose(y, expected, 1e-6, 1e-6)) << y << expected;

  // The NCHW form computes the same on the permuted tensor; fresh (zero) parameters are the identity.
  layers::GlobalResponseNorm first(layers::GlobalResponseNormOptions{.dim = 2, .eps = 0.0, .channels_last = false});
  {
    torch::NoGradGuard no_grad;
    first->weight.copy_(grn->weight);
    first->bias.copy_(grn->bias);
  }
  EXPECT_TRUE(torch::allclose(first(x.permute({0, 3, 1, 2})).permute({0, 2, 3, 1}), expected, 1e-6, 1e-6));
  layers::GlobalResponseNorm fresh(layers::GlobalResponseNormOptions{.dim = 3});
  const auto z = torch::randn({2, 4, 4, 3});
  EXPECT_TRUE(torch::equal(fresh(z), z));
}

TEST(ConvNeXtLayers, LayerNorm2dNormalisesChannels) {
  layers::LayerNorm2d norm(layers::LayerNorm2dOptions{.num_channels = 3, .eps = 1e-6});
  {
    torch::NoGradGuard no_grad;
    norm->weight.copy_(torch::tensor({1.0f, 2.0f, 0.5f}));
    norm->bias.copy_(torch::tensor({0.0f, 1.0f, -1.0f}));
  }
  const auto x = torch::randn({2, 3, 5, 4});
  const auto mean = x.mean(1, true);
  const auto var = x.var(1, /*unbiased=*/false, true);
  const auto expected =
      (x - mean) / torch::sqrt(var + 1e-6) * norm->weight.view({1, 3, 1, 1}) + norm->bias.view({1, 3, 1, 1});
  EXPECT_TRUE(torch::allclose(norm(x), expected, 1e-5, 1e-5));
  EXPECT_THROW(norm(torch::randn({2, 4, 5, 4})), c10::Error);
}

// ---- options and messages -----------------------------------------------------------------------------------------

TEST(ConvNeXtOptions, UserArgumentsOverrideTheVariant) {
  auto net = build("convnext_atto", R"({"depths": [1, 1, 1, 1], "dims": [16, 32, 48, 64], "kernel_sizes": 5,
                                       "conv_mlp": false, "use_grn": true, "act_layer": "gelu_tanh",
                                       "norm_eps": 1e-5, "stem_type": "overlap", "in_chans": 1})");
  const auto shapes = shapes_of(*net);
  EXPECT_EQ(shapes.at("stem.0.weight"), (Shape{16, 1, 3, 3}));
  EXPECT_EQ(shapes.at("stages.3.blocks.0.conv_dw.weight"), (Shape{64, 1, 5, 5}));
  EXPECT_EQ(shapes.at("stages.0.blocks.0.mlp.fc1.weight"), (Shape{64, 16}));
  EXPECT_EQ(shapes.at("stages.0.blocks.0.mlp.grn.weight"), (Shape{64}));
  EXPECT_EQ(net->forward(torch::randn({1, 1, 32, 32})).sizes(), torch::IntArrayRef({1, 1000}));
  // A null keeps the variant's value, as create_model drops None.
  EXPECT_EQ(shapes_of(*build("convnext_atto_ols", R"({"stem_type": null})")).at("stem.0.weight"), (Shape{24, 3, 3, 3}));
}

TEST(ConvNeXtOptions, MessagesNameTheField) {
  EXPECT_EQ(error_text([] { build("convnext_atto", R"({"depths": [2, 2, 6]})"); }),
            "convnext_atto: option 'depths': expected 4 block counts of at least 1, got [2, 2, 6]");
  EXPECT_EQ(error_text([] { build("convnext_atto", R"({"kernel_sizes": [7, 7, 4, 7]})"); }),
            "convnext_atto: option 'kernel_sizes': expected one odd kernel size, or 4 (one per stage), got "
            "[7, 7, 4, 7]; even depthwise kernels would shrink the maps");
  EXPECT_EQ(error_text([] { build("convnext_atto", R"({"output_stride": 4})"); }),
            "convnext_atto: option 'output_stride': expected 8, 16 or 32, got 4");
  EXPECT_EQ(error_text([] { build("convnext_tiny_hnf", R"({"head_hidden_size": 512})"); }),
            "convnext_tiny_hnf: option 'head_hidden_size': expected unset with head_norm_first, got 512; the hidden "
            "head layer exists only in the pool → norm → fc head (head_norm_first false)");
  EXPECT_EQ(error_text([] { build("convnext_atto", R"({"global_pool": "catavgmax"})"); }),
            "convnext_atto: option 'global_pool': expected avg, max, avgmax or '' for the pool → norm → fc head, got "
            "'catavgmax'; head.norm is dims[3] wide and catavgmax pools twice as many channels (timm fails the same "
            "way)");
  EXPECT_EQ(error_text([] { build("convnext_atto", R"({"drop_path_rate": 1.0})"); }),
            "convnext_atto: option 'drop_path_rate': expected a probability in [0, 1), got 1");
  EXPECT_EQ(error_text([] { build("convnext_atto", R"({"stem_type": "overlapped"})"); }),
            "option 'stem_type' in model_args of convnext_atto: expected a stem type ('patch', 'overlap', "
            "'overlap_tiered', 'overlap_act'), got 'overlapped'");
  EXPECT_EQ(error_text([] { build("convnext_atto", R"({"norm_layer": "rmsnorm2d"})"); }),
            "option 'norm_layer' in model_args of convnext_atto: norm layer 'rmsnorm2d' is a timm choice this "
            "ConvNeXt plugin does not build yet; use 'layernorm'");
  EXPECT_EQ(error_text([] { build("convnext_atto", R"({"patch_size": 2, "stem_type": "overlap"})"); }),
            "convnext_atto: option 'patch_size': expected 4 (the default) with stem_type 'overlap', got 2; "
            "patch_size only applies to stem_type 'patch'");
  // Wrong types come from the Config getters; unknown keys from expect_all_used, with a suggestion.
  EXPECT_EQ(error_text([] { build("convnext_atto", R"({"conv_mlp": "yes"})"); }),
            "option 'conv_mlp' in model_args of convnext_atto: expected boolean, got string \"yes\"");
  EXPECT_EQ(error_text([] {
              build("convnext_atto", R"({"dim": [8, 16, 32, 64]})");
            }).rfind("unknown option 'dim' in model_args of convnext_atto; did you mean 'dims'?", 0),
            0u);
}

// ---- registry and pretrained tags ---------------------------------------------------------------------------------

TEST(ConvNeXtRegistry, TagsFollowTimmsDefaultCfgs) {
  auto& backbones = plugin_registry().backbones();
  const auto& tiny = backbones.get("convnext_tiny").pretrained;
  ASSERT_FALSE(tiny.empty());
  EXPECT_EQ(tiny.front().tag, "in12k_ft_in1k");  // timm's default: the first listed
  std::set<std::string> tiny_tags;
  for (const auto& cfg : tiny) tiny_tags.insert(cfg.tag);
  for (const char* tag : {"fb_in1k", "fb_in22k", "fb_in22k_ft_in1k", "fb_in22k_ft_in1k_384", "in12k"}) {
    EXPECT_TRUE(tiny_tags.count(tag)) << tag;
  }

  const auto atto = resolve_pretrained_cfg("convnext_atto.d2_in1k", &plugin_registry());
  EXPECT_EQ(atto.hf_hub_id, "timm/convnext_atto.d2_in1k");
  EXPECT_EQ(atto.input_size, (std::array<std::int64_t, 3>{3, 224, 224}));
  EXPECT_EQ(atto.test_input_size, (std::array<std::int64_t, 3>{3, 288, 288}));
  EXPECT_EQ(atto.test_crop_pct, 0.95);
  EXPECT_EQ(atto.interpolation, "bicubic");
  EXPECT_EQ(atto.crop_pct, 0.875);
  EXPECT_EQ(atto.first_conv, "stem.0");
  EXPECT_EQ(atto.classifier, "head.fc");
  EXPECT_EQ(atto.license, "apache-2.0");

  const auto in22k = resolve_pretrained_cfg("convnext_base.fb_in22k", &plugin_registry());
  EXPECT_EQ(in22k.num_classes, 21841);
  const auto r384 = resolve_pretrained_cfg("convnext_large.fb_in22k_ft_in1k_384", &plugin_registry());
  EXPECT_EQ(r384.input_size, (std::array<std::int64_t, 3>{3, 384, 384}));
  EXPECT_EQ(r384.crop_mode, "squash");
  EXPECT_EQ(r384.crop_pct, 1.0);
  const auto clip =
      resolve_pretrained_cfg("convnext_large_mlp.clip_laion2b_soup_ft_in12k_in1k_320", &plugin_registry());
  EXPECT_EQ(clip.input_size, (std::array<std::int64_t, 3>{3, 320, 320}));
  EXPECT_DOUBLE_EQ(clip.mean[0], 0.48145466);
  const auto v2 = resolve_pretrained_cfg("convnextv2_atto.fcmae_ft_in1k", &plugin_registry());
  EXPECT_EQ(v2.license, "cc-by-nc-4.0");
  EXPECT_EQ(v2.paper, "arXiv:2301.00808");
  EXPECT_EQ(resolve_pretrained_cfg("convnextv2_tiny.fcmae", &plugin_registry()).num_classes, 0);
  EXPECT_EQ(backbones.get("convnextv2_nano").pretrained.front().tag, "fcmae_ft_in22k_in1k");
  EXPECT_TRUE(backbones.get("convnextv2_small").pretrained.empty());  // timm lists it untrained

  // Every deprecated name resolves to a registered arch.tag.
  for (const auto& deprecated : kConvNeXtDeprecatedNames) {
    SCOPED_TRACE(deprecated.name);
    EXPECT_NO_THROW(resolve_pretrained_cfg(deprecated.replacement, &plugin_registry()));
  }
  const auto message = error_text([] { plugin_registry().backbones().get("convnext_tiniy"); });
  EXPECT_NE(message.find("convnext_tiny"), std::string::npos) << message;
}

TEST(ConvNeXtRegistry, EveryVariantBuildsAtDepthOne) {
  ASSERT_EQ(kConvNeXtVariants.size(), 28u);
  for (const auto& variant : kConvNeXtVariants) {
    SCOPED_TRACE(std::string(variant.name));
    const auto dims = variant.dims;
    // The variant's layout at a quarter of its widths, so the sweep stays small.
    const std::string args = R"({"depths": [1, 1, 1, 1], "num_classes": 3, "dims": [)" + std::to_string(dims[0] / 4) +
                             ", " + std::to_string(dims[1] / 4) + ", " + std::to_string(dims[2] / 4) + ", " +
                             std::to_string(dims[3] / 4) + "]" +
                             (variant.head_hidden_size ? R"(, "head_hidden_size": 32)" : "") + "}";
    auto net = build(std::string(variant.name), args);
    net->eval();
    torch::NoGradGuard no_grad;
    EXPECT_EQ(net->forward(torch::randn({1, 3, 32, 32})).sizes(), torch::IntArrayRef({1, 3}));
    EXPECT_EQ(net->pretrained_cfg().architecture, variant.name);
  }
}

}  // namespace
}  // namespace autotimm::convnext
