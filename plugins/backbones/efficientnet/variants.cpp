// The model names and their generators: the block strings and the settings of timm's _gen_* functions, so each name
// builds timm's network. Facts (block strings, multipliers, widths) are timm's; see README.md for the version.
#include "variants.hpp"

#include <algorithm>

#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "pretrained.hpp"

namespace autotimm::efficientnet {
namespace {

using ArchDef = std::vector<std::vector<std::string>>;
using layers::Activation;

constexpr double kTfBatchNormEps = 1e-3;  // timm's BN_EPS_TF_DEFAULT

EfficientNetOptions gen_efficientnet(const EfficientNetVariant& v) {
  EfficientNetOptions o;
  o.arch_def = {{"ds_r1_k3_s1_e1_c16_se0.25"}, {"ir_r2_k3_s2_e6_c24_se0.25"}, {"ir_r2_k5_s2_e6_c40_se0.25"},
                {"ir_r3_k3_s2_e6_c80_se0.25"}, {"ir_r3_k5_s1_e6_c112_se0.25"}, {"ir_r4_k5_s2_e6_c192_se0.25"},
                {"ir_r1_k3_s1_e6_c320_se0.25"}};
  o.stem_size = 32;
  o.num_features = round_channels(1280, v.channel_multiplier);
  o.act_layer = Activation::silu;
  return o;
}

EfficientNetOptions gen_efficientnet_edge(const EfficientNetVariant& v) {
  EfficientNetOptions o;
  // "fc24": the first block's expansion is sized from 24 channels, not the stem's 32 (TF's EdgeTPU definition).
  o.arch_def = {{"er_r1_k3_s1_e4_c24_fc24_noskip"}, {"er_r2_k3_s2_e8_c32"}, {"er_r4_k3_s2_e8_c48"},
                {"ir_r5_k5_s2_e8_c96"}, {"ir_r4_k5_s1_e8_c144"}, {"ir_r2_k5_s2_e8_c192"}};
  o.stem_size = 32;
  o.num_features = round_channels(1280, v.channel_multiplier);
  o.act_layer = Activation::relu;
  return o;
}

EfficientNetOptions gen_efficientnet_lite(const EfficientNetVariant&) {
  EfficientNetOptions o;
  o.arch_def = {{"ds_r1_k3_s1_e1_c16"}, {"ir_r2_k3_s2_e6_c24"}, {"ir_r2_k5_s2_e6_c40"}, {"ir_r3_k3_s2_e6_c80"},
                {"ir_r3_k5_s1_e6_c112"}, {"ir_r4_k5_s2_e6_c192"}, {"ir_r1_k3_s1_e6_c320"}};
  o.fix_first_last = true;
  o.stem_size = 32;
  o.fix_stem = true;
  o.num_features = 1280;
  o.act_layer = Activation::relu6;
  return o;
}

EfficientNetOptions gen_efficientnetv2_base(const EfficientNetVariant& v) {
  EfficientNetOptions o;
  o.arch_def = {{"cn_r1_k3_s1_e1_c16_skip"},  {"er_r2_k3_s2_e4_c32"},         {"er_r2_k3_s2_e4_c48"},
                {"ir_r3_k3_s2_e4_c96_se0.25"}, {"ir_r5_k3_s1_e6_c112_se0.25"}, {"ir_r8_k3_s2_e6_c192_se0.25"}};
  o.round_limit = 0.0;
  o.stem_size = 32;
  o.num_features = round_channels(1280, v.channel_multiplier, 8, 0.0);
  o.act_layer = Activation::silu;
  return o;
}

EfficientNetOptions gen_efficientnetv2_s(const EfficientNetVariant& v) {
  EfficientNetOptions o;
  o.arch_def = {{"cn_r2_k3_s1_e1_c24_skip"},  {"er_r4_k3_s2_e4_c48"},         {"er_r4_k3_s2_e4_c64"},
                {"ir_r6_k3_s2_e4_c128_se0.25"}, {"ir_r9_k3_s1_e6_c160_se0.25"}, {"ir_r15_k3_s2_e6_c256_se0.25"}};
  std::int64_t num_features = 1280;
  if (v.rw) {  // timm's first layout, from the paper's figure before the reference code was out
    o.arch_def.front() = {"er_r2_k3_s1_e1_c24"};
    o.arch_def.back() = {"ir_r15_k3_s2_e6_c272_se0.25"};
    num_features = 1792;
  }
  o.stem_size = 24;
  o.num_features = round_channels(static_cast<double>(num_features), v.channel_multiplier);
  o.act_layer = Activation::silu;
  return o;
}

// V2 M, L and XL: their head stays 1280 wide whatever the multiplier (timm's _gen_efficientnetv2_m/l/xl).
EfficientNetOptions gen_efficientnetv2_large(const ArchDef& arch_def, std::int64_t stem_size) {
  EfficientNetOptions o;
  o.arch_def = arch_def;
  o.stem_size = stem_size;
  o.num_features = 1280;
  o.act_layer = Activation::silu;
  return o;
}

// MixNet: ReLU by default (timm resolves no activation for it), SiLU where a block says "nsw"; a 1536-wide head.
EfficientNetOptions gen_mixnet(ArchDef arch_def, std::int64_t stem_size, DepthTrunc depth_trunc) {
  EfficientNetOptions o;
  o.arch_def = std::move(arch_def);
  o.depth_trunc = depth_trunc;
  o.stem_size = stem_size;
  o.num_features = 1536;
  o.act_layer = Activation::relu;
  return o;
}

EfficientNetOptions gen_mixnet_s() {
  return gen_mixnet({{"ds_r1_k3_s1_e1_c16"},
                     {"ir_r1_k3_a1.1_p1.1_s2_e6_c24", "ir_r1_k3_a1.1_p1.1_s1_e3_c24"},
                     {"ir_r1_k3.5.7_s2_e6_c40_se0.5_nsw", "ir_r3_k3.5_a1.1_p1.1_s1_e6_c40_se0.5_nsw"},
                     {"ir_r1_k3.5.7_p1.1_s2_e6_c80_se0.25_nsw", "ir_r2_k3.5_p1.1_s1_e6_c80_se0.25_nsw"},
                     {"ir_r1_k3.5.7_a1.1_p1.1_s1_e6_c120_se0.5_nsw", "ir_r2_k3.5.7.9_a1.1_p1.1_s1_e3_c120_se0.5_nsw"},
                     {"ir_r1_k3.5.7.9.11_s2_e6_c200_se0.5_nsw", "ir_r2_k3.5.7.9_p1.1_s1_e6_c200_se0.5_nsw"}},
                    16, DepthTrunc::ceil);
}

EfficientNetOptions gen_mixnet_m() {
  return gen_mixnet({{"ds_r1_k3_s1_e1_c24"},
                     {"ir_r1_k3.5.7_a1.1_p1.1_s2_e6_c32", "ir_r1_k3_a1.1_p1.1_s1_e3_c32"},
                     {"ir_r1_k3.5.7.9_s2_e6_c40_se0.5_nsw", "ir_r3_k3.5_a1.1_p1.1_s1_e6_c40_se0.5_nsw"},
                     {"ir_r1_k3.5.7_s2_e6_c80_se0.25_nsw", "ir_r3_k3.5.7.9_a1.1_p1.1_s1_e6_c80_se0.25_nsw"},
                     {"ir_r1_k3_s1_e6_c120_se0.5_nsw", "ir_r3_k3.5.7.9_a1.1_p1.1_s1_e3_c120_se0.5_nsw"},
                     {"ir_r1_k3.5.7.9_s2_e6_c200_se0.5_nsw", "ir_r3_k3.5.7.9_p1.1_s1_e6_c200_se0.5_nsw"}},
                    24, DepthTrunc::round);
}

EfficientNetOptions gen_mobilenetv2(const EfficientNetVariant& v) {
  EfficientNetOptions o;
  o.arch_def = {{"ds_r1_k3_s1_c16"},   {"ir_r2_k3_s2_e6_c24"}, {"ir_r3_k3_s2_e6_c32"}, {"ir_r4_k3_s2_e6_c64"},
                {"ir_r3_k3_s1_e6_c96"}, {"ir_r3_k3_s2_e6_c160"}, {"ir_r1_k3_s1_e6_c320"}};
  o.fix_first_last = v.fix_stem_head;
  o.stem_size = 32;
  o.fix_stem = v.fix_stem_head;
  o.num_features = v.fix_stem_head ? 1280 : std::max<std::int64_t>(1280, round_channels(1280, v.channel_multiplier));
  o.act_layer = Activation::relu6;
  return o;
}

EfficientNetOptions gen_mobilenetv3(const EfficientNetVariant& v) {
  EfficientNetOptions o;
  const bool small = v.name.find("small") != std::string_view::npos;
  const bool minimal = v.name.find("minimal") != std::string_view::npos;
  if (small && minimal) {
    o.arch_def = {{"ds_r1_k3_s2_e1_c16"},
                  {"ir_r1_k3_s2_e4.5_c24", "ir_r1_k3_s1_e3.67_c24"},
                  {"ir_r1_k3_s2_e4_c40", "ir_r2_k3_s1_e6_c40"},
                  {"ir_r2_k3_s1_e3_c48"},
                  {"ir_r3_k3_s2_e6_c96"},
                  {"cn_r1_k1_s1_c576"}};
  } else if (small) {
    o.arch_def = {{"ds_r1_k3_s2_e1_c16_se0.25_nre"},
                  {"ir_r1_k3_s2_e4.5_c24_nre", "ir_r1_k3_s1_e3.67_c24_nre"},
                  {"ir_r1_k5_s2_e4_c40_se0.25", "ir_r2_k5_s1_e6_c40_se0.25"},
                  {"ir_r2_k5_s1_e3_c48_se0.25"},
                  {"ir_r3_k5_s2_e6_c96_se0.25"},
                  {"cn_r1_k1_s1_c576"}};
  } else if (minimal) {
    o.arch_def = {{"ds_r1_k3_s1_e1_c16"},
                  {"ir_r1_k3_s2_e4_c24", "ir_r1_k3_s1_e3_c24"},
                  {"ir_r3_k3_s2_e3_c40"},
                  {"ir_r1_k3_s2_e6_c80", "ir_r1_k3_s1_e2.5_c80", "ir_r2_k3_s1_e2.3_c80"},
                  {"ir_r2_k3_s1_e6_c112"},
                  {"ir_r3_k3_s2_e6_c160"},
                  {"cn_r1_k1_s1_c960"}};
  } else {
    o.arch_def = {{"ds_r1_k3_s1_e1_c16_nre"},
                  {"ir_r1_k3_s2_e4_c24_nre", "ir_r1_k3_s1_e3_c24_nre"},
                  {"ir_r3_k5_s2_e3_c40_se0.25_nre"},
                  {"ir_r1_k3_s2_e6_c80", "ir_r1_k3_s1_e2.5_c80", "ir_r2_k3_s1_e2.3_c80"},
                  {"ir_r2_k3_s1_e6_c112_se0.25"},
                  {"ir_r3_k5_s2_e6_c160_se0.25"},
                  {"cn_r1_k1_s1_c960"}};
  }
  o.head_type = HeadType::mobilenetv3;
  o.num_features = small ? 1024 : 1280;
  o.stem_size = 16;
  o.fix_stem = v.channel_multiplier < 0.75;
  o.act_layer = minimal ? Activation::relu : Activation::hard_swish;
  o.se_from_exp = true;
  o.se_layer = {.gate = Activation::hard_sigmoid, .force_act = Activation::relu, .round_to_divisor = true};
  return o;
}

EfficientNetOptions gen_mobilenetv3_rw(const EfficientNetVariant&) {
  EfficientNetOptions o;
  o.arch_def = {{"ds_r1_k3_s1_e1_c16_nre_noskip"},
                {"ir_r1_k3_s2_e4_c24_nre", "ir_r1_k3_s1_e3_c24_nre"},
                {"ir_r3_k5_s2_e3_c40_se0.25_nre"},
                {"ir_r1_k3_s2_e6_c80", "ir_r1_k3_s1_e2.5_c80", "ir_r2_k3_s1_e2.3_c80"},
                {"ir_r2_k3_s1_e6_c112_se0.25"},
                {"ir_r3_k5_s2_e6_c160_se0.25"},
                {"cn_r1_k1_s1_c960"}};
  o.head_type = HeadType::mobilenetv3;
  o.head_bias = false;
  o.bn_eps = kTfBatchNormEps;  // timm's rw layout was trained with TF's BatchNorm eps
  o.num_features = 1280;
  o.stem_size = 16;
  o.act_layer = Activation::hard_swish;
  o.se_from_exp = true;
  o.se_layer = {.gate = Activation::hard_sigmoid};
  return o;
}

EfficientNetOptions generate(const EfficientNetVariant& v) {
  switch (v.generator) {
    case Generator::efficientnet:
      return gen_efficientnet(v);
    case Generator::efficientnet_edge:
      return gen_efficientnet_edge(v);
    case Generator::efficientnet_lite:
      return gen_efficientnet_lite(v);
    case Generator::efficientnetv2_base:
      return gen_efficientnetv2_base(v);
    case Generator::efficientnetv2_s:
      return gen_efficientnetv2_s(v);
    case Generator::efficientnetv2_m:
      return gen_efficientnetv2_large({{"cn_r3_k3_s1_e1_c24_skip"},
                                       {"er_r5_k3_s2_e4_c48"},
                                       {"er_r5_k3_s2_e4_c80"},
                                       {"ir_r7_k3_s2_e4_c160_se0.25"},
                                       {"ir_r14_k3_s1_e6_c176_se0.25"},
                                       {"ir_r18_k3_s2_e6_c304_se0.25"},
                                       {"ir_r5_k3_s1_e6_c512_se0.25"}},
                                      24);
    case Generator::efficientnetv2_l:
      return gen_efficientnetv2_large({{"cn_r4_k3_s1_e1_c32_skip"},
                                       {"er_r7_k3_s2_e4_c64"},
                                       {"er_r7_k3_s2_e4_c96"},
                                       {"ir_r10_k3_s2_e4_c192_se0.25"},
                                       {"ir_r19_k3_s1_e6_c224_se0.25"},
                                       {"ir_r25_k3_s2_e6_c384_se0.25"},
                                       {"ir_r7_k3_s1_e6_c640_se0.25"}},
                                      32);
    case Generator::efficientnetv2_xl:
      return gen_efficientnetv2_large({{"cn_r4_k3_s1_e1_c32_skip"},
                                       {"er_r8_k3_s2_e4_c64"},
                                       {"er_r8_k3_s2_e4_c96"},
                                       {"ir_r16_k3_s2_e4_c192_se0.25"},
                                       {"ir_r24_k3_s1_e6_c256_se0.25"},
                                       {"ir_r32_k3_s2_e6_c512_se0.25"},
                                       {"ir_r8_k3_s1_e6_c640_se0.25"}},
                                      32);
    case Generator::mixnet_s:
      return gen_mixnet_s();
    case Generator::mixnet_m:
      return gen_mixnet_m();
    case Generator::mobilenetv2:
      return gen_mobilenetv2(v);
    case Generator::mobilenetv3:
      return gen_mobilenetv3(v);
    case Generator::mobilenetv3_rw:
      return gen_mobilenetv3_rw(v);
  }
  throw ConfigError("unknown generator for " + std::string(v.name));
}

using G = Generator;
constexpr std::array<double, 7> kRwMDepths = {1.2, 1.2, 1.2, 1.2, 1.6, 1.6, 0.0};

std::vector<EfficientNetVariant> make_table() {
  std::vector<EfficientNetVariant> t = {
      // efficientnet.py
      {.name = "mobilenetv2_035", .generator = G::mobilenetv2, .channel_multiplier = 0.35,
       .description = "MobileNet-V2 0.35"},
      {.name = "mobilenetv2_050", .generator = G::mobilenetv2, .channel_multiplier = 0.5,
       .description = "MobileNet-V2 0.5"},
      {.name = "mobilenetv2_075", .generator = G::mobilenetv2, .channel_multiplier = 0.75,
       .description = "MobileNet-V2 0.75"},
      {.name = "mobilenetv2_100", .generator = G::mobilenetv2, .description = "MobileNet-V2 1.0"},
      {.name = "mobilenetv2_140", .generator = G::mobilenetv2, .channel_multiplier = 1.4,
       .description = "MobileNet-V2 1.4"},
      {.name = "mobilenetv2_110d", .generator = G::mobilenetv2, .channel_multiplier = 1.1, .depth_multiplier = 1.2,
       .fix_stem_head = true, .description = "MobileNet-V2 1.1, deeper"},
      {.name = "mobilenetv2_120d", .generator = G::mobilenetv2, .channel_multiplier = 1.2, .depth_multiplier = 1.4,
       .fix_stem_head = true, .description = "MobileNet-V2 1.2, deeper"},
  };
  constexpr std::pair<double, double> kB[] = {{1.0, 1.0}, {1.0, 1.1}, {1.1, 1.2}, {1.2, 1.4}, {1.4, 1.8},
                                              {1.6, 2.2}, {1.8, 2.6}, {2.0, 3.1}, {2.2, 3.6}};
  static const std::array<std::string, 9> kBNames = {"efficientnet_b0", "efficientnet_b1", "efficientnet_b2",
                                                     "efficientnet_b3", "efficientnet_b4", "efficientnet_b5",
                                                     "efficientnet_b6", "efficientnet_b7", "efficientnet_b8"};
  static const std::array<std::string, 9> kTfBNames = {
      "tf_efficientnet_b0", "tf_efficientnet_b1", "tf_efficientnet_b2", "tf_efficientnet_b3", "tf_efficientnet_b4",
      "tf_efficientnet_b5", "tf_efficientnet_b6", "tf_efficientnet_b7", "tf_efficientnet_b8"};
  for (std::size_t i = 0; i < 9; ++i) {
    t.push_back({.name = kBNames[i], .generator = G::efficientnet, .channel_multiplier = kB[i].first,
                 .depth_multiplier = kB[i].second, .description = "EfficientNet"});
  }
  t.push_back({.name = "efficientnet_l2", .generator = G::efficientnet, .channel_multiplier = 4.3,
               .depth_multiplier = 5.3, .description = "EfficientNet-L2"});
  t.push_back({.name = "efficientnet_es", .generator = G::efficientnet_edge, .description = "EfficientNet-EdgeTPU-S"});
  t.push_back({.name = "efficientnet_es_pruned", .generator = G::efficientnet_edge,
               .description = "EfficientNet-EdgeTPU-S, pruned weights"});
  t.push_back({.name = "efficientnet_em", .generator = G::efficientnet_edge, .depth_multiplier = 1.1,
               .description = "EfficientNet-EdgeTPU-M"});
  t.push_back({.name = "efficientnet_el", .generator = G::efficientnet_edge, .channel_multiplier = 1.2,
               .depth_multiplier = 1.4, .description = "EfficientNet-EdgeTPU-L"});
  t.push_back({.name = "efficientnet_el_pruned", .generator = G::efficientnet_edge, .channel_multiplier = 1.2,
               .depth_multiplier = 1.4, .description = "EfficientNet-EdgeTPU-L, pruned weights"});
  constexpr std::pair<double, double> kLite[] = {{1.0, 1.0}, {1.0, 1.1}, {1.1, 1.2}, {1.2, 1.4}, {1.4, 1.8}};
  static const std::array<std::string, 5> kLiteNames = {"efficientnet_lite0", "efficientnet_lite1",
                                                        "efficientnet_lite2", "efficientnet_lite3",
                                                        "efficientnet_lite4"};
  static const std::array<std::string, 5> kTfLiteNames = {"tf_efficientnet_lite0", "tf_efficientnet_lite1",
                                                          "tf_efficientnet_lite2", "tf_efficientnet_lite3",
                                                          "tf_efficientnet_lite4"};
  for (std::size_t i = 0; i < 5; ++i) {
    t.push_back({.name = kLiteNames[i], .generator = G::efficientnet_lite, .channel_multiplier = kLite[i].first,
                 .depth_multiplier = kLite[i].second, .description = "EfficientNet-Lite"});
  }
  t.push_back({.name = "efficientnetv2_rw_t", .generator = G::efficientnetv2_s, .channel_multiplier = 0.8,
               .depth_multiplier = 0.9, .description = "EfficientNet-V2 Tiny (timm)"});
  t.push_back({.name = "efficientnetv2_rw_s", .generator = G::efficientnetv2_s, .rw = true,
               .description = "EfficientNet-V2 Small (timm's first layout)"});
  t.push_back({.name = "efficientnetv2_rw_m", .generator = G::efficientnetv2_s, .channel_multiplier = 1.2,
               .stage_depth_multipliers = kRwMDepths, .rw = true,
               .description = "EfficientNet-V2 Medium (timm's first layout)"});
  t.push_back({.name = "efficientnetv2_s", .generator = G::efficientnetv2_s, .description = "EfficientNet-V2 S"});
  t.push_back({.name = "efficientnetv2_m", .generator = G::efficientnetv2_m, .description = "EfficientNet-V2 M"});
  t.push_back({.name = "efficientnetv2_l", .generator = G::efficientnetv2_l, .description = "EfficientNet-V2 L"});
  t.push_back({.name = "efficientnetv2_xl", .generator = G::efficientnetv2_xl, .description = "EfficientNet-V2 XL"});
  for (std::size_t i = 0; i < 9; ++i) {
    t.push_back({.name = kTfBNames[i], .generator = G::efficientnet, .channel_multiplier = kB[i].first,
                 .depth_multiplier = kB[i].second, .tf = true, .description = "EfficientNet (TensorFlow port)"});
  }
  t.push_back({.name = "tf_efficientnet_l2", .generator = G::efficientnet, .channel_multiplier = 4.3,
               .depth_multiplier = 5.3, .tf = true, .description = "EfficientNet-L2 (TensorFlow port)"});
  t.push_back({.name = "tf_efficientnet_es", .generator = G::efficientnet_edge, .tf = true,
               .description = "EfficientNet-EdgeTPU-S (TensorFlow port)"});
  t.push_back({.name = "tf_efficientnet_em", .generator = G::efficientnet_edge, .depth_multiplier = 1.1, .tf = true,
               .description = "EfficientNet-EdgeTPU-M (TensorFlow port)"});
  t.push_back({.name = "tf_efficientnet_el", .generator = G::efficientnet_edge, .channel_multiplier = 1.2,
               .depth_multiplier = 1.4, .tf = true, .description = "EfficientNet-EdgeTPU-L (TensorFlow port)"});
  for (std::size_t i = 0; i < 5; ++i) {
    t.push_back({.name = kTfLiteNames[i], .generator = G::efficientnet_lite, .channel_multiplier = kLite[i].first,
                 .depth_multiplier = kLite[i].second, .tf = true,
                 .description = "EfficientNet-Lite (TensorFlow port)"});
  }
  t.push_back({.name = "tf_efficientnetv2_s", .generator = G::efficientnetv2_s, .tf = true,
               .description = "EfficientNet-V2 S (TensorFlow port)"});
  t.push_back({.name = "tf_efficientnetv2_m", .generator = G::efficientnetv2_m, .tf = true,
               .description = "EfficientNet-V2 M (TensorFlow port)"});
  t.push_back({.name = "tf_efficientnetv2_l", .generator = G::efficientnetv2_l, .tf = true,
               .description = "EfficientNet-V2 L (TensorFlow port)"});
  t.push_back({.name = "tf_efficientnetv2_xl", .generator = G::efficientnetv2_xl, .tf = true,
               .description = "EfficientNet-V2 XL (TensorFlow port)"});
  constexpr std::pair<double, double> kV2B[] = {{1.0, 1.0}, {1.0, 1.1}, {1.1, 1.2}, {1.2, 1.4}};
  static const std::array<std::string, 4> kV2BNames = {"tf_efficientnetv2_b0", "tf_efficientnetv2_b1",
                                                       "tf_efficientnetv2_b2", "tf_efficientnetv2_b3"};
  for (std::size_t i = 0; i < 4; ++i) {
    t.push_back({.name = kV2BNames[i], .generator = G::efficientnetv2_base, .channel_multiplier = kV2B[i].first,
                 .depth_multiplier = kV2B[i].second, .tf = true,
                 .description = "EfficientNet-V2 B (TensorFlow port)"});
  }
  t.push_back({.name = "mixnet_s", .generator = G::mixnet_s, .description = "MixNet-S"});
  t.push_back({.name = "mixnet_m", .generator = G::mixnet_m, .description = "MixNet-M"});
  t.push_back({.name = "mixnet_l", .generator = G::mixnet_m, .channel_multiplier = 1.3, .description = "MixNet-L"});
  t.push_back({.name = "mixnet_xl", .generator = G::mixnet_m, .channel_multiplier = 1.6, .depth_multiplier = 1.2,
               .description = "MixNet-XL"});
  t.push_back({.name = "mixnet_xxl", .generator = G::mixnet_m, .channel_multiplier = 2.4, .depth_multiplier = 1.3,
               .description = "MixNet-XXL"});
  t.push_back({.name = "tf_mixnet_s", .generator = G::mixnet_s, .tf = true, .description = "MixNet-S (TF port)"});
  t.push_back({.name = "tf_mixnet_m", .generator = G::mixnet_m, .tf = true, .description = "MixNet-M (TF port)"});
  t.push_back({.name = "tf_mixnet_l", .generator = G::mixnet_m, .channel_multiplier = 1.3, .tf = true,
               .description = "MixNet-L (TF port)"});
  // mobilenetv3.py
  t.push_back({.name = "mobilenetv3_large_075", .generator = G::mobilenetv3, .channel_multiplier = 0.75,
               .description = "MobileNet-V3 Large 0.75"});
  t.push_back({.name = "mobilenetv3_large_100", .generator = G::mobilenetv3, .description = "MobileNet-V3 Large 1.0"});
  t.push_back({.name = "mobilenetv3_large_150d", .generator = G::mobilenetv3, .channel_multiplier = 1.5,
               .depth_multiplier = 1.2, .description = "MobileNet-V3 Large 1.5, deeper"});
  t.push_back({.name = "mobilenetv3_small_050", .generator = G::mobilenetv3, .channel_multiplier = 0.5,
               .description = "MobileNet-V3 Small 0.5"});
  t.push_back({.name = "mobilenetv3_small_075", .generator = G::mobilenetv3, .channel_multiplier = 0.75,
               .description = "MobileNet-V3 Small 0.75"});
  t.push_back({.name = "mobilenetv3_small_100", .generator = G::mobilenetv3, .description = "MobileNet-V3 Small 1.0"});
  t.push_back({.name = "mobilenetv3_rw", .generator = G::mobilenetv3_rw, .description = "MobileNet-V3 (timm layout)"});
  t.push_back({.name = "tf_mobilenetv3_large_075", .generator = G::mobilenetv3, .channel_multiplier = 0.75,
               .tf = true, .description = "MobileNet-V3 Large 0.75 (TF port)"});
  t.push_back({.name = "tf_mobilenetv3_large_100", .generator = G::mobilenetv3, .tf = true,
               .description = "MobileNet-V3 Large 1.0 (TF port)"});
  t.push_back({.name = "tf_mobilenetv3_large_minimal_100", .generator = G::mobilenetv3, .tf = true,
               .description = "MobileNet-V3 Large minimal 1.0 (TF port)"});
  t.push_back({.name = "tf_mobilenetv3_small_075", .generator = G::mobilenetv3, .channel_multiplier = 0.75,
               .tf = true, .description = "MobileNet-V3 Small 0.75 (TF port)"});
  t.push_back({.name = "tf_mobilenetv3_small_100", .generator = G::mobilenetv3, .tf = true,
               .description = "MobileNet-V3 Small 1.0 (TF port)"});
  t.push_back({.name = "tf_mobilenetv3_small_minimal_100", .generator = G::mobilenetv3, .tf = true,
               .description = "MobileNet-V3 Small minimal 1.0 (TF port)"});
  return t;
}

}  // namespace

EfficientNetOptions options_of(const EfficientNetVariant& v) {
  EfficientNetOptions o = generate(v);
  o.channel_multiplier = v.channel_multiplier;
  if (v.stage_depth_multipliers.front() != 0.0) {
    o.depth_multiplier.assign(v.stage_depth_multipliers.begin(),
                              v.stage_depth_multipliers.begin() + static_cast<std::ptrdiff_t>(o.arch_def.size()));
  } else {
    o.depth_multiplier = {v.depth_multiplier};
  }
  if (v.tf) {
    o.bn_eps = kTfBatchNormEps;
    o.pad_type = PadType::same;
  }
  return o;
}

const std::vector<EfficientNetVariant>& efficientnet_variants() {
  static const std::vector<EfficientNetVariant> table = make_table();
  return table;
}

EfficientNetOptions efficientnet_variant_options(std::string_view name) {
  std::vector<std::string> names;
  for (const auto& variant : efficientnet_variants()) {
    if (variant.name == name) return options_of(variant);
    names.emplace_back(variant.name);
  }
  throw ConfigError("no EfficientNet / MobileNet variant '" + std::string(name) + "'; closest: " +
                    join_names(closest_names(name, names)));
}

void register_efficientnet(Registrar& registrar) {
  for (const auto& variant : efficientnet_variants()) {
    const std::string name(variant.name);
    const EfficientNetOptions defaults = options_of(variant);
    registrar.add(BackboneEntry{.name = name,
                                .factory = [defaults, name](const Config& model_args) -> std::shared_ptr<Backbone> {
                                  return std::make_shared<EfficientNetImpl>(
                                      efficientnet_options_from(model_args, defaults), efficientnet_default_cfg(name));
                                },
                                .pretrained = efficientnet_pretrained_cfgs(name),
                                .description = std::string(variant.description)});
  }
}

}  // namespace autotimm::efficientnet
