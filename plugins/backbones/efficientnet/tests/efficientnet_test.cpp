// The EfficientNet / MobileNet family against timm: block-string decoding and depth scaling, parameter and key counts,
// key names and shapes, SE widths, TF "same" padding, mixed kernels, feature_info, heads, block numerics against
// plain torch calls, options and their messages, and the registry with its pretrained tags.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <set>

#include "autotimm/backbones.hpp"
#include "autotimm/config.hpp"
#include "autotimm/error.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/testing/module_inspection.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "support/error_text.hpp"
#include "variants.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace autotimm::efficientnet {
namespace {

using autotimm::testing::error_text;
using autotimm::testing::Shape;
using autotimm::testing::shapes_of;
using autotimm::testing::parameter_count;

Registry& plugin_registry() { return testing::registry_of(autotimm_plugin_descriptor()); }

std::shared_ptr<Backbone> build(const std::string& name, const std::string& model_args = "{}") {
  return testing::build_backbone(plugin_registry(), name, model_args);
}

std::vector<std::size_t> blocks_per_stage(const std::string& name) {
  auto net = std::dynamic_pointer_cast<EfficientNetImpl>(build(name));
  std::vector<std::size_t> counts;
  for (const auto& stage : net->blocks()) counts.push_back(stage.size());
  return counts;
}

// ---- block strings ------------------------------------------------------------------------------------------------

TEST(EfficientNetArchDef, DecodesEveryToken) {
  const auto ir = decode_block_string("ir_r2_k3_s2_e6_c24_se0.25");
  EXPECT_EQ(ir.repeats, 2);
  EXPECT_EQ(ir.args.type, BlockType::inverted_residual);
  EXPECT_EQ(ir.args.kernel_size, (Shape{3}));
  EXPECT_EQ(ir.args.stride, 2);
  EXPECT_DOUBLE_EQ(ir.args.exp_ratio, 6.0);
  EXPECT_EQ(ir.args.out_chs, 24);
  EXPECT_DOUBLE_EQ(ir.args.se_ratio, 0.25);
  EXPECT_FALSE(ir.args.act_layer.has_value());
  EXPECT_FALSE(ir.args.noskip);

  const auto mixed = decode_block_string("ir_r3_k3.5.7.9_a1.1_p1.1_s1_e3_c120_se0.5_nsw");
  EXPECT_EQ(mixed.args.kernel_size, (Shape{3, 5, 7, 9}));
  EXPECT_EQ(mixed.args.exp_kernel_size, (Shape{1, 1}));
  EXPECT_EQ(mixed.args.pw_kernel_size, (Shape{1, 1}));
  EXPECT_EQ(mixed.args.act_layer, layers::Activation::silu);

  const auto relu = decode_block_string("ds_r1_k3_s1_e1_c16_nre_noskip");
  EXPECT_EQ(relu.args.type, BlockType::depthwise_separable);
  EXPECT_EQ(relu.args.act_layer, layers::Activation::relu);
  EXPECT_TRUE(relu.args.noskip);
  EXPECT_TRUE(decode_block_string("dsa_r1_k3_s1_c16").args.noskip);  // dsa never has a residual
  EXPECT_EQ(decode_block_string("ir_r1_k3_s1_e6_c16_nhs").args.act_layer, layers::Activation::hard_swish);
  EXPECT_EQ(decode_block_string("ir_r1_k3_s1_e6_c16_nr6").args.act_layer, layers::Activation::relu6);

  const auto edge = decode_block_string("er_r1_k3_s1_e4_c24_fc24_noskip");
  EXPECT_EQ(edge.args.type, BlockType::edge_residual);
  EXPECT_EQ(edge.args.force_in_chs, 24);
  EXPECT_TRUE(edge.args.noskip);
  const auto conv = decode_block_string("cn_r2_k3_s1_e1_c24_skip");
  EXPECT_EQ(conv.args.type, BlockType::conv_bn_act);
  EXPECT_TRUE(conv.args.skip);
  EXPECT_EQ(decode_block_string("ir_r1_k3_s1_e6_c16_gs8").args.group_size, 8);
}

TEST(EfficientNetArchDef, BadStringsNameTheStringAndTheProblem) {
  EXPECT_EQ(error_text([] { decode_block_string("xx_r1_k3_s1_c16"); }),
            "block string 'xx_r1_k3_s1_c16': unknown block type 'xx'; supported: ds, dsa, ir, er, cn");
  EXPECT_EQ(error_text([] { decode_block_string("ir_k3_s1_e6_c16"); }),
            "block string 'ir_k3_s1_e6_c16': missing 'r' for a 'ir' block");
  EXPECT_EQ(error_text([] { decode_block_string("ir_r1_k3_s1_c16"); }),
            "block string 'ir_r1_k3_s1_c16': missing 'e' for a 'ir' block");
  EXPECT_EQ(error_text([] { decode_block_string("ir_r1_k3x_s1_e6_c16"); }),
            "block string 'ir_r1_k3x_s1_e6_c16': 'k' expects a whole number, got '3x'");
  EXPECT_EQ(error_text([] { decode_block_string("ir_r1_k3_s3_e6_c16"); }),
            "block string 'ir_r1_k3_s3_e6_c16': 's' must be 1 or 2");
  EXPECT_EQ(error_text([] { decode_block_string("ir_r1_k3_s1_e6_c16_cc4"); }),
            "block string 'ir_r1_k3_s1_e6_c16_cc4': 'cc' (CondConv experts) is not built by this plugin");
  EXPECT_EQ(error_text([] { decode_block_string("ir_r1_k3_s1_e6_c16_nzz"); }),
            "block string 'ir_r1_k3_s1_e6_c16_nzz': unknown activation 'nzz'; expected nre, nr6, nhs, nsw or nmi");
  EXPECT_EQ(error_text([] { decode_block_string("uir_r1_a3_k5_s1_e4_c80"); }),
            "block string 'uir_r1_a3_k5_s1_e4_c80': block type 'uir' (MobileNetV4) is not built by this plugin; "
            "supported: ds, dsa, ir, er, cn");
  EXPECT_EQ(error_text([] { decode_block_string("cn_r1_k3.5_s1_c16"); }),
            "block string 'cn_r1_k3.5_s1_c16': 'k' expects a whole number, got '3.5'");
}

TEST(EfficientNetArchDef, DepthScalingIsTimms) {
  // Python's round halves to even: timm's stage repeats depend on it.
  EXPECT_EQ(python_round(2.5), 2);
  EXPECT_EQ(python_round(3.5), 4);
  EXPECT_EQ(python_round(0.5), 0);
  EXPECT_EQ(python_round(-1.5), -2);
  // ceil of each stage total (B1: 1.1 × [1, 2, 2, 3, 3, 4, 1]).
  const auto b1 = decode_arch_def({{"ds_r1_k3_s1_e1_c16"}, {"ir_r2_k3_s2_e6_c24"}, {"ir_r4_k5_s2_e6_c192"}}, {1.1});
  EXPECT_EQ(b1[0].size(), 2u);
  EXPECT_EQ(b1[1].size(), 3u);
  EXPECT_EQ(b1[2].size(), 5u);
  // A stage of several strings: the scaled total is handed back from the last string (round: 4 × 1.2 → 5 = 1 + 4).
  const auto stage = decode_arch_def({{"ir_r1_k3_s2_e6_c40", "ir_r3_k3_s1_e6_c40_se0.5"}}, {1.2}, DepthTrunc::round);
  ASSERT_EQ(stage[0].size(), 5u);
  EXPECT_EQ(stage[0][0].stride, 2);
  for (std::size_t i = 1; i < 5; ++i) EXPECT_DOUBLE_EQ(stage[0][i].se_ratio, 0.5);
  // fix_first_last keeps the outer stages; per-stage multipliers; group_size fills blocks without "gs".
  const auto fixed = decode_arch_def({{"ds_r1_k3_s1_c16"}, {"ir_r2_k3_s2_e6_c24"}, {"ir_r1_k3_s1_e6_c320"}}, {2.0},
                                     DepthTrunc::ceil, /*fix_first_last=*/true, 8);
  EXPECT_EQ(fixed[0].size(), 1u);
  EXPECT_EQ(fixed[1].size(), 4u);
  EXPECT_EQ(fixed[2].size(), 1u);
  EXPECT_EQ(fixed[1][0].group_size, 8);
  const auto per_stage = decode_arch_def({{"ir_r2_k3_s2_e6_c24"}, {"ir_r2_k3_s2_e6_c24"}}, {1.0, 1.6});
  EXPECT_EQ(per_stage[0].size(), 2u);
  EXPECT_EQ(per_stage[1].size(), 4u);
  EXPECT_EQ(error_text([] { decode_arch_def({{"ir_r2_k3_s2_e6_c24"}}, {1.0, 2.0}); }),
            "depth_multiplier: expected one value or one per stage (1), got 2");
  // The models' block counts per stage.
  EXPECT_EQ(blocks_per_stage("efficientnet_b0"), (std::vector<std::size_t>{1, 2, 2, 3, 3, 4, 1}));
  EXPECT_EQ(blocks_per_stage("efficientnet_b3"), (std::vector<std::size_t>{2, 3, 3, 5, 5, 6, 2}));
  EXPECT_EQ(blocks_per_stage("efficientnetv2_rw_t"), (std::vector<std::size_t>{2, 4, 4, 6, 9, 14}));
  EXPECT_EQ(blocks_per_stage("mixnet_xl"), (std::vector<std::size_t>{1, 2, 5, 5, 5, 5}));
  EXPECT_EQ(blocks_per_stage("efficientnet_lite4"), (std::vector<std::size_t>{1, 4, 4, 6, 6, 8, 1}));
  EXPECT_EQ(blocks_per_stage("mobilenetv2_120d"), (std::vector<std::size_t>{1, 3, 5, 6, 5, 5, 1}));
}

TEST(EfficientNetArchDef, ChannelRounding) {
  EXPECT_EQ(round_channels(32, 1.1), 32);    // 35.2 → 32, within 10 %
  EXPECT_EQ(round_channels(16, 1.4), 24);    // 22.4 → 24
  EXPECT_EQ(round_channels(24, 0.8), 24);    // 19.2 → 16 loses more than 10 % → 24
  EXPECT_EQ(round_channels(24, 0.8, 8, 0.0), 16);  // round_limit 0 (EfficientNet-V2 B*) keeps 16
  EXPECT_EQ(round_channels(1280, 2.0), 2560);
  EXPECT_EQ(round_channels(37, 0.0), 37);    // no multiplier: unchanged
}

// ---- counts against timm ------------------------------------------------------------------------------------------

using Expected = testing::TimmCounts;  // timm's parameters (1000 classes) and state-dict keys

TEST(EfficientNetCounts, ParametersAndKeysMatchTimm) {
  // ../shared/docs/timm-architectures.md §4.
  constexpr Expected kModels[] = {{"efficientnet_b0", 5'288'548, 360},
                                  {"tf_efficientnet_b0", 5'288'548, 360},
                                  {"mobilenetv3_large_100", 5'483'032, 312}};
  testing::expect_timm_counts(plugin_registry(), kModels);
}

// timm's published sizes (its results tables, millions of parameters with 1000 classes, two decimals).
TEST(EfficientNetCounts, SizesRoundToTimmsPublishedOnes) {
  const std::vector<std::pair<const char*, double>> published = {
      {"efficientnet_b1", 7.79},        {"efficientnet_b2", 9.11},        {"efficientnet_b3", 12.23},
      {"efficientnet_lite0", 4.65},     {"efficientnet_es", 5.44},        {"efficientnet_em", 6.90},
      {"efficientnetv2_rw_t", 13.65},   {"tf_efficientnetv2_b0", 7.14},   {"tf_efficientnetv2_b1", 8.14},
      {"tf_efficientnetv2_b2", 10.10},  {"mixnet_s", 4.13},               {"mixnet_m", 5.01},
      {"mixnet_l", 7.33},               {"mobilenetv2_035", 1.68},        {"mobilenetv2_050", 1.97},
      {"mobilenetv2_100", 3.50},        {"mobilenetv2_110d", 4.52},       {"mobilenetv2_120d", 5.83},
      {"mobilenetv2_140", 6.11},        {"mobilenetv3_small_050", 1.59},  {"mobilenetv3_small_075", 2.04},
      {"mobilenetv3_small_100", 2.54},  {"mobilenetv3_large_075", 3.99},  {"mobilenetv3_rw", 5.48},
      {"tf_mobilenetv3_large_minimal_100", 3.92},
  };
  for (const auto& [name, millions] : published) {
    SCOPED_TRACE(name);
    EXPECT_DOUBLE_EQ(std::round(static_cast<double>(parameter_count(*build(name))) / 1e4) / 100.0, millions);
  }
}

// The large ones: on demand only (--gtest_also_run_disabled_tests --gtest_filter='*AtFullSize*').
TEST(EfficientNetCounts, DISABLED_LargeModelsAtFullSize) {
  const std::vector<std::pair<const char*, double>> published = {
      {"efficientnet_b4", 19.34},     {"efficientnet_b5", 30.39},     {"efficientnet_b6", 43.04},
      {"efficientnet_b7", 66.35},     {"efficientnet_el", 10.59},     {"efficientnetv2_rw_s", 23.94},
      {"efficientnetv2_rw_m", 53.24}, {"tf_efficientnetv2_s", 21.46}, {"tf_efficientnetv2_m", 54.14},
      {"tf_efficientnetv2_l", 118.52}, {"tf_efficientnetv2_xl", 208.12}, {"tf_efficientnetv2_b3", 14.36},
      {"mixnet_xl", 11.90},
  };
  for (const auto& [name, millions] : published) {
    SCOPED_TRACE(name);
    EXPECT_DOUBLE_EQ(std::round(static_cast<double>(parameter_count(*build(name))) / 1e4) / 100.0, millions);
  }
}

// ---- key names, order and shapes ----------------------------------------------------------------------------------

TEST(EfficientNetKeys, B0LayoutIsTimms) {
  auto net = build("efficientnet_b0");
  const auto entries = state_dict(*net);
  const std::vector<std::string> first = {
      "conv_stem.weight",        "bn1.weight",
      "bn1.bias",                "bn1.running_mean",
      "bn1.running_var",         "bn1.num_batches_tracked",
      "blocks.0.0.conv_dw.weight", "blocks.0.0.bn1.weight",
      "blocks.0.0.bn1.bias",       "blocks.0.0.bn1.running_mean",
      "blocks.0.0.bn1.running_var", "blocks.0.0.bn1.num_batches_tracked",
      "blocks.0.0.se.conv_reduce.weight", "blocks.0.0.se.conv_reduce.bias",
      "blocks.0.0.se.conv_expand.weight", "blocks.0.0.se.conv_expand.bias",
      "blocks.0.0.conv_pw.weight"};
  for (std::size_t i = 0; i < first.size(); ++i) EXPECT_EQ(entries[i].first, first[i]);
  const std::vector<std::string> last = {"conv_head.weight", "bn2.weight", "bn2.bias", "bn2.running_mean",
                                         "bn2.running_var", "bn2.num_batches_tracked", "classifier.weight",
                                         "classifier.bias"};
  for (std::size_t i = 0; i < last.size(); ++i) EXPECT_EQ(entries[entries.size() - last.size() + i].first, last[i]);

  const auto shapes = shapes_of(*net);
  EXPECT_EQ(shapes.at("conv_stem.weight"), (Shape{32, 3, 3, 3}));
  EXPECT_EQ(shapes.at("blocks.0.0.conv_dw.weight"), (Shape{32, 1, 3, 3}));
  EXPECT_EQ(shapes.at("blocks.0.0.se.conv_reduce.weight"), (Shape{8, 32, 1, 1}));
  EXPECT_EQ(shapes.at("blocks.0.0.conv_pw.weight"), (Shape{16, 32, 1, 1}));
  EXPECT_EQ(shapes.at("blocks.1.0.conv_pw.weight"), (Shape{96, 16, 1, 1}));
  EXPECT_EQ(shapes.at("blocks.1.0.conv_dw.weight"), (Shape{96, 1, 3, 3}));
  EXPECT_EQ(shapes.at("blocks.1.0.se.conv_reduce.weight"), (Shape{4, 96, 1, 1}));  // from the block input: 16 / 4
  EXPECT_EQ(shapes.at("blocks.1.0.conv_pwl.weight"), (Shape{24, 96, 1, 1}));
  EXPECT_EQ(shapes.at("blocks.2.0.conv_dw.weight"), (Shape{144, 1, 5, 5}));
  EXPECT_EQ(shapes.at("blocks.6.0.conv_pwl.weight"), (Shape{320, 1152, 1, 1}));
  EXPECT_EQ(shapes.at("conv_head.weight"), (Shape{1280, 320, 1, 1}));
  EXPECT_EQ(shapes.at("classifier.weight"), (Shape{1000, 1280}));
  EXPECT_EQ(state_dict(*net).back().second.scalar_type(), torch::kFloat32);
  EXPECT_EQ(net->named_buffers()["bn1.num_batches_tracked"].scalar_type(), torch::kLong);
}

TEST(EfficientNetKeys, MobileNetV3LargeHeadAndSeWidths) {
  const auto shapes = shapes_of(*build("mobilenetv3_large_100"));
  EXPECT_EQ(shapes.at("conv_stem.weight"), (Shape{16, 3, 3, 3}));
  EXPECT_FALSE(shapes.count("blocks.0.0.se.conv_reduce.weight"));
  // SE from the expanded width, rounded to multiples of 8: 24, 32, 32 | 120, 168 | 168, 240, 240.
  const std::vector<std::pair<std::string, std::int64_t>> se = {
      {"blocks.2.0", 24},  {"blocks.2.1", 32},  {"blocks.2.2", 32},  {"blocks.4.0", 120},
      {"blocks.4.1", 168}, {"blocks.5.0", 168}, {"blocks.5.1", 240}, {"blocks.5.2", 240}};
  for (const auto& [block, width] : se) {
    SCOPED_TRACE(block);
    EXPECT_EQ(shapes.at(block + ".se.conv_reduce.weight")[0], width);
  }
  // Mid widths of stage 3 (e6, e2.5, e2.3, e2.3 of 40 and 80 channels).
  EXPECT_EQ(shapes.at("blocks.3.0.conv_pw.weight"), (Shape{240, 40, 1, 1}));
  EXPECT_EQ(shapes.at("blocks.3.1.conv_pw.weight"), (Shape{200, 80, 1, 1}));
  EXPECT_EQ(shapes.at("blocks.3.2.conv_pw.weight"), (Shape{184, 80, 1, 1}));
  EXPECT_EQ(shapes.at("blocks.6.0.conv.weight"), (Shape{960, 160, 1, 1}));
  EXPECT_EQ(shapes.at("blocks.6.0.bn1.weight"), (Shape{960}));
  EXPECT_EQ(shapes.at("conv_head.weight"), (Shape{1280, 960, 1, 1}));
  EXPECT_EQ(shapes.at("conv_head.bias"), (Shape{1280}));
  EXPECT_EQ(shapes.at("classifier.weight"), (Shape{1000, 1280}));
  EXPECT_FALSE(shapes.count("bn2.weight"));
  EXPECT_FALSE(shapes_of(*build("mobilenetv3_rw")).count("conv_head.bias"));  // timm's layout: no head bias
}

TEST(EfficientNetKeys, MixedKernelsEdgeAndConvBlocks) {
  const auto mixnet = shapes_of(*build("mixnet_s"));
  // 144 expanded channels in three groups of 48: kernels 3, 5, 7; the expansion is two 1×1 groups ("a1.1").
  EXPECT_EQ(mixnet.at("blocks.2.0.conv_dw.0.weight"), (Shape{48, 1, 3, 3}));
  EXPECT_EQ(mixnet.at("blocks.2.0.conv_dw.1.weight"), (Shape{48, 1, 5, 5}));
  EXPECT_EQ(mixnet.at("blocks.2.0.conv_dw.2.weight"), (Shape{48, 1, 7, 7}));
  EXPECT_EQ(mixnet.at("blocks.1.0.conv_pw.0.weight"), (Shape{48, 8, 1, 1}));
  EXPECT_EQ(mixnet.at("blocks.1.0.conv_pw.1.weight"), (Shape{48, 8, 1, 1}));
  EXPECT_EQ(mixnet.at("blocks.1.0.conv_pwl.0.weight"), (Shape{12, 48, 1, 1}));
  EXPECT_EQ(mixnet.at("conv_head.weight"), (Shape{1536, 200, 1, 1}));

  const auto v2 = shapes_of(*build("efficientnetv2_rw_t"));
  EXPECT_EQ(v2.at("conv_stem.weight"), (Shape{24, 3, 3, 3}));
  EXPECT_EQ(v2.at("blocks.0.0.conv.weight"), (Shape{24, 24, 3, 3}));  // cn with a skip: 24 → 24
  EXPECT_EQ(v2.at("blocks.1.0.conv_exp.weight"), (Shape{96, 24, 3, 3}));
  EXPECT_EQ(v2.at("blocks.1.0.conv_pwl.weight"), (Shape{40, 96, 1, 1}));
  EXPECT_FALSE(v2.count("blocks.1.0.se.conv_reduce.weight"));

  const auto edge = shapes_of(*build("efficientnet_es"));
  EXPECT_EQ(edge.at("blocks.0.0.conv_exp.weight"), (Shape{96, 32, 3, 3}));  // sized from fc24: 24 × 4
}

// ---- padding, features, heads -------------------------------------------------------------------------------------

TEST(EfficientNetPadding, TfSamePadsTheStrideTwoStemAfter) {
  auto tf = std::dynamic_pointer_cast<EfficientNetImpl>(build("tf_efficientnet_b0"));
  auto sym = std::dynamic_pointer_cast<EfficientNetImpl>(build("efficientnet_b0"));
  auto tf_stem = tf->named_modules()["conv_stem"]->as<Conv2dPadImpl>();
  auto sym_stem = sym->named_modules()["conv_stem"]->as<Conv2dPadImpl>();
  ASSERT_NE(tf_stem, nullptr);
  ASSERT_NE(sym_stem, nullptr);
  EXPECT_TRUE(tf_stem->dynamic_same);
  EXPECT_FALSE(sym_stem->dynamic_same);
  const auto x = torch::randn({1, 3, 224, 224});
  torch::NoGradGuard no_grad;
  // At 224 the 3×3/2 stem pads nothing before and one row/column after.
  const auto expected = torch::conv2d(torch::constant_pad_nd(x, {0, 1, 0, 1}), tf_stem->weight, {}, 2);
  EXPECT_TRUE(torch::allclose(tf_stem->forward(x), expected));
  EXPECT_EQ(tf_stem->forward(x).sizes(), torch::IntArrayRef({1, 32, 112, 112}));
  // An odd size needs one pixel on each side: ceil(225 / 2) = 113.
  const auto odd = torch::randn({1, 3, 225, 225});
  EXPECT_TRUE(torch::allclose(tf_stem->forward(odd),
                              torch::conv2d(torch::constant_pad_nd(odd, {1, 1, 1, 1}), tf_stem->weight, {}, 2)));
  // Symmetric (PyTorch) padding pads one on every side.
  EXPECT_TRUE(torch::allclose(sym_stem->forward(x), torch::conv2d(x, sym_stem->weight, {}, 2, 1)));
  // Stride-1 3×3 convs stay static under "same"; BatchNorm eps is TF's.
  auto dw = tf->named_modules()["blocks.0.0.conv_dw"]->as<Conv2dPadImpl>();
  EXPECT_FALSE(dw->dynamic_same);
  EXPECT_DOUBLE_EQ(tf->named_modules()["bn1"]->as<layers::BatchNorm2dImpl>()->options.eps, 1e-3);
  EXPECT_DOUBLE_EQ(sym->named_modules()["bn1"]->as<layers::BatchNorm2dImpl>()->options.eps, 1e-5);
}

TEST(EfficientNetFeatures, FeatureInfoIsTimms) {
  const auto expect_info = [](const std::string& name, const std::vector<FeatureInfo>& expected) {
    SCOPED_TRACE(name);
    const auto info = build(name)->feature_info();
    ASSERT_EQ(info.size(), expected.size());
    for (std::size_t i = 0; i < info.size(); ++i) {
      EXPECT_EQ(info[i].num_chs, expected[i].num_chs);
      EXPECT_EQ(info[i].reduction, expected[i].reduction);
      EXPECT_EQ(info[i].module, expected[i].module);
    }
  };
  expect_info("efficientnet_b0", {{16, 2, "blocks.0"}, {24, 4, "blocks.1"}, {40, 8, "blocks.2"},
                                  {112, 16, "blocks.4"}, {320, 32, "blocks.6"}});
  expect_info("mobilenetv3_large_100", {{16, 2, "blocks.0"}, {24, 4, "blocks.1"}, {40, 8, "blocks.2"},
                                        {112, 16, "blocks.4"}, {960, 32, "blocks.6"}});
  expect_info("mobilenetv3_small_100",
              {{16, 2, "bn1"}, {16, 4, "blocks.0"}, {24, 8, "blocks.1"}, {48, 16, "blocks.3"}, {576, 32, "blocks.5"}});
  expect_info("efficientnetv2_rw_t", {{24, 2, "blocks.0"}, {40, 4, "blocks.1"}, {48, 8, "blocks.2"},
                                      {128, 16, "blocks.4"}, {208, 32, "blocks.5"}});

  auto net = build("efficientnet_b0", R"({"num_classes": 0})");
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 3, 64, 64});
  const auto maps = net->forward_intermediates(x, {-1, 0, 2});
  ASSERT_EQ(maps.size(), 3u);
  EXPECT_EQ(maps[0].sizes(), torch::IntArrayRef({1, 320, 2, 2}));
  EXPECT_EQ(maps[1].sizes(), torch::IntArrayRef({1, 16, 32, 32}));
  EXPECT_EQ(maps[2].sizes(), torch::IntArrayRef({1, 40, 8, 8}));
}

TEST(EfficientNetFeatures, OutputStrideDilatesTheLastStages) {
  for (const auto& [stride, reductions] :
       std::vector<std::pair<int, std::vector<std::int64_t>>>{{16, {2, 4, 8, 16, 16}}, {8, {2, 4, 8, 8, 8}}}) {
    SCOPED_TRACE(stride);
    auto net = build("mobilenetv3_large_075", R"({"output_stride": )" + std::to_string(stride) + "}");
    net->eval();
    torch::NoGradGuard no_grad;
    const auto maps = net->forward_intermediates(torch::randn({1, 3, 64, 64}), {0, 1, 2, 3, 4});
    for (std::size_t i = 0; i < 5; ++i) {
      EXPECT_EQ(net->feature_info()[i].reduction, reductions[i]);
      EXPECT_EQ(maps[i].size(2), 64 / reductions[i]);
    }
    // The blocks that would have strided dilate their depthwise conv instead.
    auto dw = net->named_modules()["blocks.5.1.conv_dw"]->as<torch::nn::Conv2dImpl>();
    EXPECT_EQ((*dw->options.dilation())[0], 32 / stride);
  }
}

TEST(EfficientNetHeads, PreLogitsAndReset) {
  // MobileNet-V3: features end at the blocks (576), the pre-logits are conv_head's 1024.
  auto small = build("mobilenetv3_small_100", R"({"num_classes": 5})");
  auto* impl = dynamic_cast<EfficientNetImpl*>(small.get());
  ASSERT_NE(impl, nullptr);
  EXPECT_EQ(small->num_features(), 576);
  EXPECT_EQ(impl->head_hidden_size(), 1024);
  small->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 64, 64});
  const auto features = small->forward_features(x);
  EXPECT_EQ(features.sizes(), torch::IntArrayRef({2, 576, 2, 2}));
  const auto pre = small->forward_head(features, /*pre_logits=*/true);
  EXPECT_EQ(pre.sizes(), torch::IntArrayRef({2, 1024}));
  // By hand: pool → conv_head → hard-swish.
  auto conv_head = small->named_modules()["conv_head"]->as<torch::nn::Conv2dImpl>();
  const auto by_hand = torch::hardswish(conv_head->forward(features.mean({2, 3}, true))).flatten(1);
  EXPECT_TRUE(torch::allclose(pre, by_hand, 1e-5, 1e-5));
  small->reset_classifier(0);
  EXPECT_TRUE(torch::allclose(small->forward(x), pre));
  small->reset_classifier(3);
  EXPECT_EQ(small->forward(x).sizes(), torch::IntArrayRef({2, 3}));
  EXPECT_EQ(shapes_of(*small).at("classifier.weight"), (Shape{3, 1024}));

  // EfficientNet: conv_head and bn2 belong to the features; num_features 0 drops them.
  auto b0 = build("efficientnet_b0", R"({"num_classes": 4, "global_pool": "catavgmax"})");
  EXPECT_EQ(b0->num_features(), 1280);
  b0->eval();
  EXPECT_EQ(b0->forward_features(x).sizes(), torch::IntArrayRef({2, 1280, 2, 2}));
  EXPECT_EQ(b0->forward_head(b0->forward_features(x), true).sizes(), torch::IntArrayRef({2, 2560}));
  EXPECT_EQ(shapes_of(*b0).at("classifier.weight"), (Shape{4, 2560}));
  auto bare = build("efficientnet_b0", R"({"num_features": 0})");
  EXPECT_EQ(bare->num_features(), 320);
  EXPECT_FALSE(shapes_of(*bare).count("conv_head.weight"));
  EXPECT_EQ(shapes_of(*bare).at("classifier.weight"), (Shape{1000, 320}));
}

// ---- numerics of the blocks against plain torch calls -------------------------------------------------------------

torch::Tensor bn(const torch::Tensor& x, layers::BatchNorm2dImpl& norm) {
  return torch::batch_norm(x, norm.weight, norm.bias, norm.running_mean, norm.running_var, false, 0.0,
                           norm.options.eps, false);
}

// Random weights and statistics everywhere, so every op matters.
void randomise(torch::nn::Module& net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net.parameters()) p.normal_(0.0, 0.3);
  for (auto& item : net.named_buffers()) {
    if (item.key().find("running_var") != std::string::npos) item.value().uniform_(0.5, 1.5);
    if (item.key().find("running_mean") != std::string::npos) item.value().normal_(0.0, 0.2);
  }
}

TEST(EfficientNetBlocks, InvertedResidualWithSeMatchesPlainOps) {
  // efficientnet_b0's blocks.2.1: 40 → 240 (e6), 5×5 depthwise, SE 10 wide (40 × 0.25) with SiLU, 240 → 40, residual.
  auto net = build("efficientnet_b0");
  randomise(*net);
  net->eval();
  auto modules = net->named_modules();
  const auto m = [&](const std::string& name) { return modules[name]; };
  auto* block = m("blocks.2.1")->as<EfficientBlockImpl>();
  ASSERT_NE(block, nullptr);
  EXPECT_TRUE(block->has_skip());
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 40, 8, 8});
  const auto conv = [&](const std::string& name) { return m(name)->as<torch::nn::Conv2dImpl>(); };
  const auto norm = [&](const std::string& name) { return m(name)->as<layers::BatchNorm2dImpl>(); };
  torch::Tensor y = torch::silu(bn(torch::conv2d(x, conv("blocks.2.1.conv_pw")->weight), *norm("blocks.2.1.bn1")));
  y = torch::silu(bn(torch::conv2d(y, conv("blocks.2.1.conv_dw")->weight, {}, 1, 2, 1, 240), *norm("blocks.2.1.bn2")));
  auto reduce = conv("blocks.2.1.se.conv_reduce");
  auto expand = conv("blocks.2.1.se.conv_expand");
  EXPECT_EQ(reduce->weight.size(0), 10);
  const auto s = torch::silu(torch::conv2d(y.mean({2, 3}, true), reduce->weight, reduce->bias));
  y = y * torch::sigmoid(torch::conv2d(s, expand->weight, expand->bias));
  y = bn(torch::conv2d(y, conv("blocks.2.1.conv_pwl")->weight), *norm("blocks.2.1.bn3")) + x;
  EXPECT_TRUE(torch::allclose(block->forward(x), y, 1e-4, 1e-4));
}

TEST(EfficientNetBlocks, EdgeResidualAndConvBnActMatchPlainOps) {
  auto net = build("efficientnetv2_rw_t");
  randomise(*net);
  net->eval();
  auto modules = net->named_modules();
  const auto conv = [&](const std::string& name) { return modules[name]->as<torch::nn::Conv2dImpl>(); };
  const auto norm = [&](const std::string& name) { return modules[name]->as<layers::BatchNorm2dImpl>(); };
  torch::NoGradGuard no_grad;
  // blocks.1.1: edge residual 40 → 160 (3×3 full conv) → 40 with a residual, no SE.
  const auto x = torch::randn({2, 40, 8, 8});
  torch::Tensor y =
      torch::silu(bn(torch::conv2d(x, conv("blocks.1.1.conv_exp")->weight, {}, 1, 1), *norm("blocks.1.1.bn1")));
  y = bn(torch::conv2d(y, conv("blocks.1.1.conv_pwl")->weight), *norm("blocks.1.1.bn2")) + x;
  EXPECT_TRUE(torch::allclose(modules["blocks.1.1"]->as<EfficientBlockImpl>()->forward(x), y, 1e-4, 1e-4));
  // blocks.0.1: conv + BN + SiLU with the "skip" residual.
  const auto c = torch::randn({2, 24, 8, 8});
  const auto expected =
      torch::silu(bn(torch::conv2d(c, conv("blocks.0.1.conv")->weight, {}, 1, 1), *norm("blocks.0.1.bn1"))) + c;
  EXPECT_TRUE(torch::allclose(modules["blocks.0.1"]->as<EfficientBlockImpl>()->forward(c), expected, 1e-4, 1e-4));
}

TEST(EfficientNetBlocks, MixedConvIsOneConvPerChannelGroup) {
  auto net = build("mixnet_m");
  randomise(*net);
  net->eval();
  auto modules = net->named_modules();
  // mixnet_m blocks.2.0: 32 → 192 expanded, split 48 × 4 for kernels 3, 5, 7, 9, stride 2.
  auto* mixed = modules["blocks.2.0.conv_dw"]->as<MixedConv2dImpl>();
  ASSERT_NE(mixed, nullptr);
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 192, 16, 16});
  std::vector<torch::Tensor> parts;
  for (int i = 0; i < 4; ++i) {
    const auto w = modules["blocks.2.0.conv_dw." + std::to_string(i)]->as<torch::nn::Conv2dImpl>()->weight;
    const std::int64_t k = 3 + 2 * i;
    parts.push_back(torch::conv2d(x.slice(1, 48 * i, 48 * (i + 1)), w, {}, 2, k / 2, 1, 48));
  }
  EXPECT_TRUE(torch::allclose(mixed->forward(x), torch::cat(parts, 1), 1e-5, 1e-5));
  // A width that does not split evenly: the first group takes the remainder (timm's _split_channels).
  const auto shapes = shapes_of(*MixedConv2d(ConvSpec{.in_channels = 10, .out_channels = 10, .kernel_size = {3, 5, 7},
                                                      .groups = 10}));
  EXPECT_EQ(shapes.at("0.weight"), (Shape{4, 1, 3, 3}));
  EXPECT_EQ(shapes.at("1.weight"), (Shape{3, 1, 5, 5}));
  EXPECT_EQ(shapes.at("2.weight"), (Shape{3, 1, 7, 7}));
  EXPECT_NE(error_text([] { MixedConv2d(ConvSpec{.in_channels = 8, .out_channels = 8, .kernel_size = {3, 5},
                                                 .groups = 2}); })
                .find("depthwise or dense"),
            std::string::npos);
}

TEST(EfficientNetTraining, DropPathRisesOverTheBlocksAndOnlyActsInTraining) {
  auto net = build("efficientnet_lite0", R"({"drop_path_rate": 0.4, "num_classes": 3})");
  const auto x = torch::randn({8, 3, 32, 32});
  torch::NoGradGuard no_grad;
  net->eval();
  EXPECT_TRUE(torch::equal(net->forward(x), net->forward(x)));
  net->train();
  torch::manual_seed(1);
  const auto first = net->forward(x);
  torch::manual_seed(2);
  EXPECT_FALSE(torch::allclose(first, net->forward(x)));
}

TEST(EfficientNetInit, TimmInitialisation) {
  auto net = build("efficientnet_b0");
  auto params = net->named_parameters();
  // conv: N(0, sqrt(2 / fan_out)), fan_out per group: 3·3·96/96 = 9 for the depthwise conv of blocks.1.0.
  EXPECT_NEAR(params["blocks.1.0.conv_pw.weight"].std().item<double>(), std::sqrt(2.0 / 96.0), 0.01);
  EXPECT_NEAR(params["blocks.1.0.conv_dw.weight"].std().item<double>(), std::sqrt(2.0 / 9.0), 0.05);
  const double range = 1.0 / std::sqrt(1000.0);
  EXPECT_LE(params["classifier.weight"].abs().max().item<double>(), range);
  EXPECT_NEAR(params["classifier.weight"].abs().max().item<double>(), range, range * 0.01);
  EXPECT_TRUE(torch::all(params["classifier.bias"] == 0).item<bool>());
  EXPECT_TRUE(torch::all(params["blocks.0.0.se.conv_reduce.bias"] == 0).item<bool>());
  EXPECT_TRUE(torch::all(params["bn1.weight"] == 1).item<bool>());
}

// ---- options and their messages ----------------------------------------------------------------------------------

TEST(EfficientNetOptions, ModelArgsHaveTheirEffect) {
  auto net = build("mobilenetv3_small_100",
                   R"({"in_chans": 1, "num_classes": 2, "act_layer": "relu", "bn_eps": 0.01, "pad_type": "same",
                       "head_bias": false, "stem_size": 24, "fix_stem": true, "num_features": 512})");
  const auto shapes = shapes_of(*net);
  EXPECT_EQ(shapes.at("conv_stem.weight"), (Shape{24, 1, 3, 3}));
  EXPECT_EQ(shapes.at("conv_head.weight"), (Shape{512, 576, 1, 1}));
  EXPECT_FALSE(shapes.count("conv_head.bias"));
  EXPECT_TRUE(net->named_modules()["conv_stem"]->as<Conv2dPadImpl>()->dynamic_same);
  EXPECT_DOUBLE_EQ(net->named_modules()["bn1"]->as<layers::BatchNorm2dImpl>()->options.eps, 0.01);
  net->eval();
  EXPECT_EQ(net->forward(torch::randn({1, 1, 32, 32})).sizes(), torch::IntArrayRef({1, 2}));
}

TEST(EfficientNetOptions, BadValuesSayWhatAndWhere) {
  EXPECT_EQ(error_text([] { build("efficientnet_b0", R"({"output_stride": 12})"); }),
            "efficientnet_b0: option 'output_stride': expected 8, 16 or 32, got 12");
  EXPECT_EQ(error_text([] { build("efficientnet_b0", R"({"drop_rate": 1.0})"); }),
            "efficientnet_b0: option 'drop_rate': expected a probability in [0, 1), got 1");
  EXPECT_EQ(error_text([] { build("efficientnet_b0", R"({"global_pool": "", "num_classes": 3})"); }),
            "efficientnet_b0: option 'global_pool': expected a pool type (avg, max, avgmax, catavgmax) when "
            "num_classes > 0, got '' (no pooling) with num_classes=3; set num_classes=0 to get unpooled maps from "
            "forward_head");
  EXPECT_NE(error_text([] { build("efficientnet_b0", R"({"pad_type": "reflect"})"); })
                .find("expected a padding type ('', 'same', 'valid'), got 'reflect'"),
            std::string::npos);
  EXPECT_NE(error_text([] { build("efficientnet_b0", R"({"head_bias": true})"); })
                .find("only MobileNet-V3 models have a biased conv_head"),
            std::string::npos);
  EXPECT_NE(error_text([] { build("efficientnet_b0", R"({"act_layer": "swoosh"})"); }).find("swoosh"),
            std::string::npos);
  EXPECT_NE(error_text([] { build("efficientnet_b0", R"({"depth_multiplier": 2.0})"); }).find("depth_multiplier"),
            std::string::npos);  // the architecture is the variant's, as in timm: an unused key is reported
  EXPECT_EQ(error_text([] { build("mobilenetv3_small_100", R"({"num_features": 0})"); }),
            "mobilenetv3_small_100: option 'num_features': expected at least 1 (the head's conv width), got 0");
}

// ---- registry -----------------------------------------------------------------------------------------------------

TEST(EfficientNetRegistry, EveryVariantWithItsTags) {
  auto& registry = plugin_registry();
  for (const auto& variant : efficientnet_variants()) {
    EXPECT_TRUE(registry.backbones().contains(std::string(variant.name))) << variant.name;
  }
  EXPECT_GE(efficientnet_variants().size(), 80u);
  const auto expect_default = [&](const std::string& arch, const std::string& tag) {
    SCOPED_TRACE(arch);
    const auto& entry = registry.backbones().get(arch);
    ASSERT_FALSE(entry.pretrained.empty());
    EXPECT_EQ(entry.pretrained.front().tag, tag);
    EXPECT_EQ(entry.pretrained.front().hf_hub_id, "timm/" + arch + "." + tag);
    EXPECT_EQ(entry.pretrained.front().first_conv, "conv_stem");
    EXPECT_EQ(entry.pretrained.front().classifier, "classifier");
  };
  expect_default("efficientnet_b0", "ra_in1k");
  expect_default("mobilenetv3_large_100", "ra_in1k");
  expect_default("tf_efficientnet_b0", "ns_jft_in1k");
  const auto cfg = build("efficientnet_b0")->pretrained_cfg();
  EXPECT_EQ(cfg.first_conv, "conv_stem");
  EXPECT_EQ(cfg.interpolation, "bicubic");
}

}  // namespace
}  // namespace autotimm::efficientnet
