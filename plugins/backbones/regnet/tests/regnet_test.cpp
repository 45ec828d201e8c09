// The RegNet family against timm's numbers: parameter and state-dict key counts, the resolved stage table, key
// names, order and shapes, block numerics against plain torch functional calls, feature_info and output stride,
// initialisation, options and their messages, and the registry entries with their pretrained tags. There is no timm
// golden fixture for RegNet in ../shared/fixtures: the block-level reference below stands in for one.
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

namespace autotimm::regnet {
namespace {

using autotimm::testing::error_text;
using autotimm::testing::Shape;
using autotimm::testing::shapes_of;
using autotimm::testing::parameter_count;

Registry& plugin_registry() { return testing::registry_of(autotimm_plugin_descriptor()); }

std::shared_ptr<Backbone> build(const std::string& name, const std::string& model_args = "{}") {
  return testing::build_backbone(plugin_registry(), name, model_args);
}

const RegNetVariant& variant(std::string_view name) {
  for (const auto& v : kRegNetVariants) {
    if (v.name == name) return v;
  }
  throw std::runtime_error("no variant " + std::string(name));
}

// Four stages of 1, 1, 3 and 1 blocks, 16, 32, 64 and 128 wide.
const std::string kShallow = R"("w0": 16, "wa": 16.0, "wm": 2.0, "depth": 6)";

// ---- counts against timm ------------------------------------------------------------------------------------------

using Expected = testing::TimmCounts;  // timm's parameters (1000 classes) and state-dict keys

// Exact parameter counts from two trusted sources: ../shared/docs/timm-architectures.md §5.3 (regnety_002,
// regnety_040), and torchvision's published num_params for the models whose torchvision weights timm loads as they
// are (the tv2_in1k tags: same architecture, same tensors). Key counts from §5.3.
TEST(RegNetCounts, ParametersAndKeysMatchTimm) {
  constexpr Expected kModels[] = {
      {"regnety_002", 3'162'996, 318},   {"regnety_040", 20'646'656, 516}, {"regnety_004", 4'344'144, 384},
      {"regnety_016", 11'202'430, 626},  {"regnety_032", 19'436'338, 494}, {"regnety_008_tv", 6'432'512, 0},
      {"regnetx_004_tv", 5'495'976, 0},  {"regnetx_008", 7'259'656, 0},    {"regnetx_016", 9'190'136, 0},
      {"regnetx_032", 15'296'552, 0},
  };
  testing::expect_timm_counts(plugin_registry(), kModels);
  // Key counts of §5.3 without a trusted exact parameter count; the parameters against timm's published sizes
  // (model cards: regnetx_002 2.68 M, regnety_006 6.06 M, regnety_008 6.26 M).
  struct Rounded {
    const char* name;
    double millions;
    std::size_t keys;
  };
  for (const auto& expected : {Rounded{"regnetx_002", 2.68, 266}, Rounded{"regnety_006", 6.06, 362},
                               Rounded{"regnety_008", 6.26, 340}}) {
    SCOPED_TRACE(expected.name);
    auto net = build(expected.name);
    EXPECT_NEAR(static_cast<double>(parameter_count(*net)) / 1e6, expected.millions, 0.005);
    EXPECT_EQ(state_dict(*net).size(), expected.keys);
  }
}

// timm's published sizes (the RegNet model cards' comparison table, millions to two decimals) for the designs with
// no exact count above: RegNet-V (pre-activation, avg shortcut) and RegNet-Z (inverted bottleneck, final conv).
TEST(RegNetCounts, ParametersMatchTimmsPublishedSizes) {
  struct Published {
    const char* name;
    double millions;
  };
  for (const auto& expected : {Published{"regnetx_004", 5.16}, Published{"regnetx_006", 6.2},
                               Published{"regnetv_040", 20.64}, Published{"regnetv_064", 30.58},
                               Published{"regnetz_040", 27.12}, Published{"regnetz_040_h", 28.94}}) {
    SCOPED_TRACE(expected.name);
    EXPECT_NEAR(static_cast<double>(parameter_count(*build(expected.name))) / 1e6, expected.millions, 0.005);
  }
}

TEST(RegNetCounts, DISABLED_PublishedSizesAtFullSize) {
  struct Published {
    const char* name;
    double millions;
  };
  for (const auto& expected :
       {Published{"regnetx_040", 22.12}, Published{"regnetx_064", 26.21}, Published{"regnetx_120", 46.11},
        Published{"regnety_064", 30.58}, Published{"regnety_080", 39.18}, Published{"regnety_120", 51.82},
        Published{"regnety_640", 281.38}, Published{"regnety_1280", 644.81}}) {
    SCOPED_TRACE(expected.name);
    EXPECT_NEAR(static_cast<double>(parameter_count(*build(expected.name))) / 1e6, expected.millions, 0.005);
  }
  EXPECT_EQ(parameter_count(*build("regnety_1280")), 644'812'894);  // torchvision's RegNet_Y_128GF
}

// The big models, up to 145 million parameters: on demand only
// (--gtest_also_run_disabled_tests --gtest_filter='*AtFullSize*').
TEST(RegNetCounts, DISABLED_OtherModelsAtFullSize) {
  constexpr Expected kLarge[] = {
      {"regnety_064", 0, 582},           {"regnety_080", 0, 406},           {"regnety_120", 0, 450},
      {"regnety_160", 83'590'140, 428},  {"regnety_320", 145'046'770, 472}, {"regnety_080_tv", 39'381'472, 0},
      {"regnetx_080", 39'572'648, 0},    {"regnetx_160", 54'278'536, 0},    {"regnetx_320", 107'811'560, 0},
  };
  testing::expect_timm_counts(plugin_registry(), kLarge);
}

// ---- the generator: resolved stages --------------------------------------------------------------------------------

struct StageRow {
  std::int64_t depth, width, groups, group_width;
};

// ../shared/docs/timm-architectures.md §5.1, every row: depth, width, groups, group width per stage.
TEST(RegNetGenerator, StagesMatchTimmsTable) {
  const std::map<std::string, std::array<StageRow, 4>> table = {
      {"regnetx_002", {{{1, 24, 3, 8}, {1, 56, 7, 8}, {4, 152, 19, 8}, {7, 368, 46, 8}}}},
      {"regnety_002", {{{1, 24, 3, 8}, {1, 56, 7, 8}, {4, 152, 19, 8}, {7, 368, 46, 8}}}},
      {"regnety_004", {{{1, 48, 6, 8}, {3, 104, 13, 8}, {6, 208, 26, 8}, {6, 440, 55, 8}}}},
      {"regnety_006", {{{1, 48, 3, 16}, {3, 112, 7, 16}, {7, 256, 16, 16}, {4, 608, 38, 16}}}},
      {"regnety_008", {{{1, 64, 4, 16}, {3, 128, 8, 16}, {8, 320, 20, 16}, {2, 768, 48, 16}}}},
      {"regnety_016", {{{2, 48, 2, 24}, {6, 120, 5, 24}, {17, 336, 14, 24}, {2, 888, 37, 24}}}},
      {"regnety_032", {{{2, 72, 3, 24}, {5, 216, 9, 24}, {13, 576, 24, 24}, {1, 1512, 63, 24}}}},
      {"regnety_040", {{{2, 128, 2, 64}, {6, 192, 3, 64}, {12, 512, 8, 64}, {2, 1088, 17, 64}}}},
      {"regnety_064", {{{2, 144, 2, 72}, {7, 288, 4, 72}, {14, 576, 8, 72}, {2, 1296, 18, 72}}}},
      {"regnety_080", {{{2, 168, 3, 56}, {4, 448, 8, 56}, {10, 896, 16, 56}, {1, 2016, 36, 56}}}},
      {"regnety_120", {{{2, 224, 2, 112}, {5, 448, 4, 112}, {11, 896, 8, 112}, {1, 2240, 20, 112}}}},
      {"regnety_160", {{{2, 224, 2, 112}, {4, 448, 4, 112}, {11, 1232, 11, 112}, {1, 3024, 27, 112}}}},
      {"regnety_320", {{{2, 232, 1, 232}, {5, 696, 3, 232}, {12, 1392, 6, 232}, {1, 3712, 16, 232}}}},
  };
  for (const auto& [name, rows] : table) {
    SCOPED_TRACE(name);
    const auto stages = regnet_stages(options_of(variant(name)), name);
    ASSERT_EQ(stages.size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) {
      SCOPED_TRACE(i + 1);
      EXPECT_EQ(stages[i].depth, rows[i].depth);
      EXPECT_EQ(stages[i].out_chs, rows[i].width);
      EXPECT_EQ(stages[i].groups, rows[i].groups);
      EXPECT_EQ(stages[i].group_size, rows[i].group_width);
      EXPECT_EQ(stages[i].bottleneck_chs, rows[i].width);  // bottle_ratio 1
      EXPECT_EQ(stages[i].stride, 2);
      EXPECT_EQ(stages[i].dilation, 1);
    }
  }
  // Every registered design resolves to four stages whose depths add up to its depth.
  for (const auto& v : kRegNetVariants) {
    SCOPED_TRACE(std::string(v.name));
    const auto stages = regnet_stages(options_of(v), std::string(v.name));
    std::int64_t blocks = 0;
    for (const auto& stage : stages) blocks += stage.depth;
    EXPECT_EQ(blocks, v.depth);
  }
}

TEST(RegNetGenerator, WidthsGroupRoundingAndDropPath) {
  // regnetx_002's 13 block widths (timm's generate_regnet).
  EXPECT_EQ(generate_regnet_widths(36.44, 24, 2.49, 13),
            (std::vector<std::int64_t>{24, 56, 152, 152, 152, 152, 368, 368, 368, 368, 368, 368, 368}));
  // RegNet-Z: an inverted bottleneck 4× the block width, group width 8.
  const auto z = regnet_stages(options_of(variant("regnetz_040")), "regnetz_040");
  for (const auto& stage : z) {
    EXPECT_EQ(stage.bottleneck_chs, 4 * stage.out_chs);
    EXPECT_EQ(stage.groups, stage.bottleneck_chs / 8);
  }
  // Group widths wider than the stage are capped to it (regnety_320's 232-wide groups are exact; a 64-wide stage
  // with 96-wide groups gets one 64-wide group).
  auto capped = options_of(variant("regnety_002"));
  capped.group_size = 96;
  EXPECT_EQ(regnet_stages(capped)[0].group_size, 24);
  EXPECT_EQ(regnet_stages(capped)[0].groups, 1);
  // Drop path rises linearly over all 13 blocks: 0 at s1.b1, the full rate at s4.b7.
  auto dpr = options_of(variant("regnetx_002"));
  dpr.drop_path_rate = 0.12;
  const auto stages = regnet_stages(dpr);
  EXPECT_DOUBLE_EQ(stages[0].drop_path_rates[0], 0.0);
  EXPECT_DOUBLE_EQ(stages[1].drop_path_rates[0], 0.01);
  EXPECT_DOUBLE_EQ(stages[3].drop_path_rates.back(), 0.12);
  // Output stride 16 and 8: the last stages keep their resolution and dilate.
  dpr.output_stride = 8;
  const auto dilated = regnet_stages(dpr);
  EXPECT_EQ(dilated[2].stride, 1);
  EXPECT_EQ(dilated[2].dilation, 2);
  EXPECT_EQ(dilated[3].stride, 1);
  EXPECT_EQ(dilated[3].dilation, 4);
}

// ---- key names, order and shapes ----------------------------------------------------------------------------------

TEST(RegNetKeys, Regnety040LayoutIsTimms) {
  auto net = build("regnety_040");
  const auto entries = state_dict(*net);
  const std::vector<std::pair<std::string, Shape>> first = {
      {"stem.conv.weight", {32, 3, 3, 3}},
      {"stem.bn.weight", {32}},
      {"stem.bn.bias", {32}},
      {"stem.bn.running_mean", {32}},
      {"stem.bn.running_var", {32}},
      {"stem.bn.num_batches_tracked", {}},
      {"s1.b1.conv1.conv.weight", {128, 32, 1, 1}},
      {"s1.b1.conv1.bn.weight", {128}},
      {"s1.b1.conv1.bn.bias", {128}},
      {"s1.b1.conv1.bn.running_mean", {128}},
      {"s1.b1.conv1.bn.running_var", {128}},
      {"s1.b1.conv1.bn.num_batches_tracked", {}},
      {"s1.b1.conv2.conv.weight", {128, 64, 3, 3}},  // 2 groups of 64
      {"s1.b1.conv2.bn.weight", {128}},
      {"s1.b1.conv2.bn.bias", {128}},
      {"s1.b1.conv2.bn.running_mean", {128}},
      {"s1.b1.conv2.bn.running_var", {128}},
      {"s1.b1.conv2.bn.num_batches_tracked", {}},
      {"s1.b1.se.fc1.weight", {8, 128, 1, 1}},  // round(32 × 0.25): the block's input width
      {"s1.b1.se.fc1.bias", {8}},
      {"s1.b1.se.fc2.weight", {128, 8, 1, 1}},
      {"s1.b1.se.fc2.bias", {128}},
      {"s1.b1.conv3.conv.weight", {128, 128, 1, 1}},
      {"s1.b1.conv3.bn.weight", {128}},
      {"s1.b1.conv3.bn.bias", {128}},
      {"s1.b1.conv3.bn.running_mean", {128}},
      {"s1.b1.conv3.bn.running_var", {128}},
      {"s1.b1.conv3.bn.num_batches_tracked", {}},
      {"s1.b1.downsample.conv.weight", {128, 32, 1, 1}},
      {"s1.b1.downsample.bn.weight", {128}},
      {"s1.b1.downsample.bn.bias", {128}},
      {"s1.b1.downsample.bn.running_mean", {128}},
      {"s1.b1.downsample.bn.running_var", {128}},
      {"s1.b1.downsample.bn.num_batches_tracked", {}},
      {"s1.b2.conv1.conv.weight", {128, 128, 1, 1}},
  };
  ASSERT_GT(entries.size(), first.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    SCOPED_TRACE(first[i].first);
    EXPECT_EQ(entries[i].first, first[i].first);
    EXPECT_EQ(entries[i].second.sizes().vec(), first[i].second);
  }
  const std::vector<std::pair<std::string, Shape>> last = {
      {"s4.b2.conv3.conv.weight", {1088, 1088, 1, 1}},
      {"s4.b2.conv3.bn.weight", {1088}},
      {"s4.b2.conv3.bn.bias", {1088}},
      {"s4.b2.conv3.bn.running_mean", {1088}},
      {"s4.b2.conv3.bn.running_var", {1088}},
      {"s4.b2.conv3.bn.num_batches_tracked", {}},  // s4.b2 keeps its shape: identity shortcut, no downsample keys
      {"head.fc.weight", {1000, 1088}},
      {"head.fc.bias", {1000}},
  };
  for (std::size_t i = 0; i < last.size(); ++i) {
    const auto& entry = entries[entries.size() - last.size() + i];
    SCOPED_TRACE(last[i].first);
    EXPECT_EQ(entry.first, last[i].first);
    EXPECT_EQ(entry.second.sizes().vec(), last[i].second);
  }
  EXPECT_EQ(entries[5].second.scalar_type(), torch::kLong);  // num_batches_tracked is I64
  const auto shapes = shapes_of(*net);
  EXPECT_EQ(shapes.at("s1.b2.se.fc1.weight"), (Shape{32, 128, 1, 1}));  // round(128 × 0.25)
  EXPECT_EQ(shapes.at("s4.b1.conv2.conv.weight"), (Shape{1088, 64, 3, 3}));
  EXPECT_EQ(shapes.at("s4.b1.downsample.conv.weight"), (Shape{1088, 512, 1, 1}));
  EXPECT_FALSE(shapes.count("s2.b2.downsample.conv.weight"));
  std::set<std::string> unique;
  for (const auto& [key, tensor] : entries) EXPECT_TRUE(unique.insert(key).second) << key;
}

TEST(RegNetKeys, SeWidthsAndTheOtherBlockKinds) {
  // regnety_002: SE width round(block input × 0.25) at each stage's first block (§5.1: 8, 6, 14, 38).
  const auto y = shapes_of(*build("regnety_002"));
  EXPECT_EQ(y.at("s1.b1.se.fc1.weight"), (Shape{8, 24, 1, 1}));
  EXPECT_EQ(y.at("s2.b1.se.fc1.weight"), (Shape{6, 56, 1, 1}));
  EXPECT_EQ(y.at("s3.b1.se.fc1.weight"), (Shape{14, 152, 1, 1}));
  EXPECT_EQ(y.at("s4.b1.se.fc1.weight"), (Shape{38, 368, 1, 1}));
  EXPECT_FALSE(shapes_of(*build("regnetx_002")).count("s1.b1.se.fc1.weight"));  // RegNet-X: no SE

  // RegNet-V: plain stem conv, pre-activation norms, plain-conv shortcut; avg shortcut: pool "0", conv "1".
  const auto v = shapes_of(*build("regnetv_040", "{" + kShallow + R"(, "group_size": 8})"));
  EXPECT_EQ(v.at("stem.weight"), (Shape{32, 3, 3, 3}));
  EXPECT_EQ(v.at("s1.b1.norm1.weight"), (Shape{32}));
  EXPECT_EQ(v.at("s1.b1.conv1.weight"), (Shape{16, 32, 1, 1}));
  EXPECT_EQ(v.at("s1.b1.norm3.running_var"), (Shape{16}));
  EXPECT_EQ(v.at("s1.b1.conv3.weight"), (Shape{16, 16, 1, 1}));
  EXPECT_EQ(v.at("s1.b1.downsample.weight"), (Shape{16, 32, 1, 1}));
  EXPECT_FALSE(v.count("final_conv.conv.weight"));
  const auto v64 = shapes_of(*build("regnetv_064", "{" + kShallow + R"(, "group_size": 8})"));
  EXPECT_EQ(v64.at("s2.b1.downsample.1.weight"), (Shape{32, 16, 1, 1}));

  // RegNet-Z: 4× inverted bottleneck, no shortcut where the shape changes, a 1×1 final conv (regnetz_005, _040_h).
  const auto z = shapes_of(*build("regnetz_005", "{" + kShallow + R"(, "group_size": 4})"));
  EXPECT_EQ(z.at("s1.b1.conv1.conv.weight"), (Shape{64, 32, 1, 1}));
  EXPECT_EQ(z.at("s1.b1.conv2.conv.weight"), (Shape{64, 4, 3, 3}));
  EXPECT_EQ(z.at("s1.b1.se.fc1.weight"), (Shape{8, 64, 1, 1}));
  EXPECT_FALSE(z.count("s1.b1.downsample.conv.weight"));
  EXPECT_EQ(z.at("final_conv.conv.weight"), (Shape{1024, 128, 1, 1}));
  EXPECT_EQ(z.at("head.fc.weight"), (Shape{1000, 1024}));
  auto z040h = build("regnetz_040_h", "{" + kShallow + "}");
  EXPECT_EQ(z040h->num_features(), 1536);

  // GroupNorm (groups of 16 channels): weight and bias only.
  const auto gn = shapes_of(*build("regnety_040_sgn", "{" + kShallow + R"(, "group_size": 16})"));
  EXPECT_EQ(gn.at("stem.bn.weight"), (Shape{32}));
  EXPECT_FALSE(gn.count("stem.bn.running_mean"));
}

// ---- block numerics against plain torch functional calls ----------------------------------------------------------

// Random values for every parameter and buffer (positive running variances), so a misplaced op shows.
void randomise(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.named_parameters()) p.value().normal_(0.0, 0.5);
  for (auto& b : module.named_buffers()) {
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 1.5);
    if (b.key().find("running_mean") != std::string::npos) b.value().normal_(0.0, 0.2);
  }
}

struct Tensors {
  std::map<std::string, torch::Tensor> values;
  explicit Tensors(const torch::nn::Module& module) {
    for (const auto& p : module.named_parameters()) values[p.key()] = p.value();
    for (const auto& b : module.named_buffers()) values[b.key()] = b.value();
  }
  const torch::Tensor& operator[](const std::string& key) const { return values.at(key); }
  torch::Tensor bn(const torch::Tensor& x, const std::string& prefix) const {
    return torch::batch_norm(x, (*this)[prefix + ".weight"], (*this)[prefix + ".bias"],
                             (*this)[prefix + ".running_mean"], (*this)[prefix + ".running_var"],
                             /*training=*/false, 0.1, 1e-5, /*cudnn_enabled=*/false);
  }
  torch::Tensor se(const torch::Tensor& x, bool silu) const {
    auto s = x.mean({2, 3}, /*keepdim=*/true);
    s = torch::conv2d(s, (*this)["se.fc1.weight"], (*this)["se.fc1.bias"]);
    s = silu ? torch::silu(s) : torch::relu(s);
    s = torch::conv2d(s, (*this)["se.fc2.weight"], (*this)["se.fc2.bias"]);
    return x * torch::sigmoid(s);
  }
};

TEST(RegNetNumerics, RegNetYBlockMatchesAFunctionalReference) {
  torch::manual_seed(3);
  // 16 → 32 channels, stride 2, groups of 8 (32 / 8 = 4 groups), SE 4 wide, conv1x1 shortcut.
  Bottleneck block(BlockOptions{.in_chs = 16, .out_chs = 32, .stride = 2, .group_size = 8, .se_ratio = 0.25},
                   "test");
  randomise(*block);
  block->eval();
  const Tensors w(*block);
  const auto x = torch::randn({2, 16, 9, 9});
  auto h = torch::relu(w.bn(torch::conv2d(x, w["conv1.conv.weight"]), "conv1.bn"));
  h = torch::relu(w.bn(torch::conv2d(h, w["conv2.conv.weight"], {}, 2, 1, 1, 4), "conv2.bn"));
  h = w.se(h, /*silu=*/false);
  h = w.bn(torch::conv2d(h, w["conv3.conv.weight"]), "conv3.bn");
  const auto shortcut = w.bn(torch::conv2d(x, w["downsample.conv.weight"], {}, 2), "downsample.bn");
  const auto expected = torch::relu(h + shortcut);
  torch::NoGradGuard no_grad;
  const auto y = block(x);
  ASSERT_EQ(y.sizes(), torch::IntArrayRef({2, 32, 5, 5}));
  EXPECT_TRUE(torch::allclose(y, expected, 1e-5, 1e-5)) << (y - expected).abs().max();

  // A block that keeps its shape adds its input as it is; dilation pads by the dilation.
  Bottleneck same(BlockOptions{.in_chs = 32, .out_chs = 32, .first_dilation = 2, .dilation = 2, .group_size = 8},
                  "test");
  randomise(*same);
  same->eval();
  const Tensors s(*same);
  auto g = torch::relu(s.bn(torch::conv2d(y, s["conv1.conv.weight"]), "conv1.bn"));
  g = torch::relu(s.bn(torch::conv2d(g, s["conv2.conv.weight"], {}, 1, 2, 2, 4), "conv2.bn"));
  g = s.bn(torch::conv2d(g, s["conv3.conv.weight"]), "conv3.bn");
  EXPECT_TRUE(torch::allclose(same(y), torch::relu(g + y), 1e-5, 1e-5));
  EXPECT_FALSE(same->named_parameters().contains("downsample.conv.weight"));
}

TEST(RegNetNumerics, PreActivationBlockWithAvgShortcutMatchesAFunctionalReference) {
  torch::manual_seed(4);
  const BlockOptions options{.in_chs = 16, .out_chs = 32, .stride = 2, .group_size = 8, .se_ratio = 0.25,
                             .downsample = Downsample::avg, .act_layer = layers::Activation::silu};
  PreBottleneck block(options, "test");
  randomise(*block);
  block->eval();
  const Tensors w(*block);
  const auto x = torch::randn({2, 16, 9, 9});
  const auto shortcut = torch::silu(w.bn(x, "norm1"));
  auto h = torch::conv2d(shortcut, w["conv1.weight"]);
  h = torch::conv2d(torch::silu(w.bn(h, "norm2")), w["conv2.weight"], {}, 2, 1, 1, 4);
  h = w.se(h, /*silu=*/true);
  h = torch::conv2d(torch::silu(w.bn(h, "norm3")), w["conv3.weight"]);
  const auto pooled = torch::avg_pool2d(shortcut, {2, 2}, {2, 2}, {0, 0}, /*ceil_mode=*/true,
                                        /*count_include_pad=*/false);
  const auto expected = h + torch::conv2d(pooled, w["downsample.1.weight"]);  // no activation after the add
  torch::NoGradGuard no_grad;
  const auto y = block(x);
  ASSERT_EQ(y.sizes(), torch::IntArrayRef({2, 32, 5, 5}));
  EXPECT_TRUE(torch::allclose(y, expected, 1e-5, 1e-5)) << (y - expected).abs().max();
}

TEST(RegNetNumerics, RegNetZBlocksMatchAFunctionalReference) {
  torch::manual_seed(5);
  const BlockOptions z{.in_chs = 16, .out_chs = 16, .bottle_ratio = 4.0, .group_size = 4, .se_ratio = 0.25,
                       .downsample = Downsample::none, .linear_out = true, .act_layer = layers::Activation::silu};
  // Same shape: the input is added, and nothing follows the add (linear_out).
  Bottleneck keep(z, "test");
  randomise(*keep);
  keep->eval();
  const Tensors w(*keep);
  const auto x = torch::randn({2, 16, 6, 6});
  const auto branch = [](const Tensors& t, const torch::Tensor& input, std::int64_t stride) {
    auto h = torch::silu(t.bn(torch::conv2d(input, t["conv1.conv.weight"]), "conv1.bn"));
    h = torch::silu(t.bn(torch::conv2d(h, t["conv2.conv.weight"], {}, stride, 1, 1, 16), "conv2.bn"));
    h = t.se(h, /*silu=*/true);
    return t.bn(torch::conv2d(h, t["conv3.conv.weight"]), "conv3.bn");
  };
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(keep(x), branch(w, x, 1) + x, 1e-5, 1e-5));
  // A strided block has no shortcut at all with downsample None.
  BlockOptions strided = z;
  strided.stride = 2;
  Bottleneck change(strided, "test");
  randomise(*change);
  change->eval();
  EXPECT_TRUE(torch::allclose(change(x), branch(Tensors(*change), x, 2), 1e-5, 1e-5));
}

// ---- features, output stride, heads ---------------------------------------------------------------------------------

TEST(RegNetFeatures, FeatureInfoIntermediatesAndOutputStride) {
  auto net = build("regnety_002", R"({"num_classes": 5})");
  const std::vector<FeatureInfo> expected = {
      {32, 2, "stem"}, {24, 4, "s1"}, {56, 8, "s2"}, {152, 16, "s3"}, {368, 32, "s4"}};
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
  EXPECT_EQ(maps[0].sizes(), torch::IntArrayRef({2, 368, 2, 2}));
  EXPECT_EQ(maps[1].sizes(), torch::IntArrayRef({2, 32, 32, 32}));
  EXPECT_EQ(maps[2].sizes(), torch::IntArrayRef({2, 56, 8, 8}));
  EXPECT_TRUE(torch::allclose(maps[0], net->forward_features(x)));  // final_conv is the identity here
  EXPECT_EQ(net->pretrained_cfg().first_conv, "stem.conv");
  EXPECT_EQ(net->pretrained_cfg().classifier, "head.fc");

  for (const auto& [stride, reductions] : std::vector<std::pair<int, std::vector<std::int64_t>>>{
           {16, {2, 4, 8, 16, 16}}, {8, {2, 4, 8, 8, 8}}}) {
    SCOPED_TRACE(stride);
    auto dilated = build("regnetx_002", R"({"output_stride": )" + std::to_string(stride) + "}");
    dilated->eval();
    const auto all = dilated->forward_intermediates(x, {0, 1, 2, 3, 4});
    for (std::size_t i = 0; i < 5; ++i) {
      EXPECT_EQ(dilated->feature_info()[i].reduction, reductions[i]);
      EXPECT_EQ(all[i].size(2), 64 / reductions[i]);
    }
    // Dilation changes no shapes: the pretrained weights still fit.
    EXPECT_EQ(shapes_of(*dilated), shapes_of(*build("regnetx_002")));
  }
}

TEST(RegNetFeatures, HeadsFinalConvAndReset) {
  // A final 1×1 ConvNormAct (regnetz_005, 1024 wide) makes num_features; the s4 map skips it.
  auto z = build("regnetz_005", "{" + kShallow + R"(, "group_size": 4, "num_classes": 3})");
  z->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 3, 64, 64});
  EXPECT_EQ(z->num_features(), 1024);
  EXPECT_EQ(z->forward_features(x).sizes(), torch::IntArrayRef({1, 1024, 2, 2}));
  EXPECT_EQ(z->forward_intermediates(x, {4})[0].size(1), 128);
  EXPECT_EQ(z->forward_head(z->forward_features(x), /*pre_logits=*/true).sizes(), torch::IntArrayRef({1, 1024}));
  // linear_out without num_features: final_conv is the activation (regnetz_040), so features are ≥ 0 only for ReLU.
  auto z040 = build("regnetz_040", "{" + kShallow + R"(, "act_layer": "relu"})");
  z040->eval();
  EXPECT_GE(z040->forward_features(x).min().item<double>(), 0.0);
  EXPECT_LT(z040->forward_intermediates(x, {4})[0].min().item<double>(), 0.0);

  auto net = build("regnetx_002", R"({"global_pool": "max", "num_classes": 4})");
  net->eval();
  EXPECT_EQ(net->forward(x).sizes(), torch::IntArrayRef({1, 4}));
  const auto pooled = net->forward_features(x).amax({2, 3});
  EXPECT_TRUE(torch::allclose(net->forward_head(net->forward_features(x), true), pooled));
  net->reset_classifier(0);  // the pool type is kept
  EXPECT_TRUE(torch::allclose(net->forward(x), pooled));
  net->reset_classifier(6);
  EXPECT_EQ(net->forward(x).sizes(), torch::IntArrayRef({1, 6}));
  EXPECT_EQ(shapes_of(*net).at("head.fc.weight"), (Shape{6, 368}));
}

// ---- training behaviour and initialisation ------------------------------------------------------------------------

TEST(RegNetTraining, DropPathOnlyInTrainMode) {
  auto net = build("regnetx_002", R"({"drop_path_rate": 0.5, "zero_init_last": false})");
  const auto x = torch::randn({4, 3, 32, 32});
  torch::NoGradGuard no_grad;
  net->eval();
  EXPECT_TRUE(torch::equal(net->forward(x), net->forward(x)));
  net->train();
  torch::manual_seed(1);
  const auto first = net->forward_features(x);
  torch::manual_seed(2);
  EXPECT_FALSE(torch::allclose(first, net->forward_features(x)));
  torch::manual_seed(1);
  EXPECT_TRUE(torch::allclose(first, net->forward_features(x)));  // the same draws give the same result
}

TEST(RegNetInit, TimmInitialisation) {
  auto net = build("regnety_040");
  auto params = net->named_parameters();
  // Grouped conv: N(0, sqrt(2 / fan_out)), fan_out = 3·3·1088 / 17 groups = 576.
  EXPECT_NEAR(params["s4.b1.conv2.conv.weight"].std().item<double>(), std::sqrt(2.0 / 576.0), 0.003);
  EXPECT_NEAR(params["s3.b1.conv1.conv.weight"].std().item<double>(), std::sqrt(2.0 / 512.0), 0.002);
  EXPECT_NEAR(params["head.fc.weight"].std().item<double>(), 0.01, 0.0005);
  EXPECT_TRUE(torch::all(params["head.fc.bias"] == 0).item<bool>());
  EXPECT_TRUE(torch::all(params["s1.b1.se.fc1.bias"] == 0).item<bool>());
  EXPECT_TRUE(torch::all(params["s1.b1.conv1.bn.weight"] == 1).item<bool>());
  // zero_init_last: conv3's norm weight starts at zero (not in RegNet-Z, whose entry functions turn it off).
  EXPECT_TRUE(torch::all(params["s2.b3.conv3.bn.weight"] == 0).item<bool>());
  auto z = build("regnetz_005", "{" + kShallow + R"(, "group_size": 4})");
  EXPECT_TRUE(torch::all(z->named_parameters()["s3.b2.conv3.bn.weight"] == 1).item<bool>());
  auto off = build("regnety_002", R"({"zero_init_last": false})");
  EXPECT_TRUE(torch::all(off->named_parameters()["s1.b1.conv3.bn.weight"] == 1).item<bool>());
}

// ---- options and messages -----------------------------------------------------------------------------------------

TEST(RegNetOptions, UserArgumentsOverrideTheVariant) {
  auto net = build("regnety_002", "{" + kShallow + R"(, "group_size": 8, "stem_width": 24, "in_chans": 1,
                                                      "se_ratio": 0.5, "bottle_ratio": 2.0, "act_layer": "silu",
                                                      "downsample": "avg", "num_features": 40})");
  const auto shapes = shapes_of(*net);
  EXPECT_EQ(shapes.at("stem.conv.weight"), (Shape{24, 1, 3, 3}));
  EXPECT_EQ(shapes.at("s1.b1.conv1.conv.weight"), (Shape{32, 24, 1, 1}));  // bottleneck 2 × 16
  EXPECT_EQ(shapes.at("s1.b1.se.fc1.weight"), (Shape{12, 32, 1, 1}));      // round(24 × 0.5)
  EXPECT_EQ(shapes.at("s1.b1.downsample.1.conv.weight"), (Shape{16, 24, 1, 1}));
  EXPECT_EQ(shapes.at("final_conv.conv.weight"), (Shape{40, 128, 1, 1}));
  EXPECT_EQ(net->forward(torch::randn({1, 1, 32, 32})).sizes(), torch::IntArrayRef({1, 1000}));
  // A null keeps the variant's value, as create_model drops None; "" is timm's "no shortcut".
  EXPECT_FALSE(shapes_of(*build("regnetz_005", "{" + kShallow + R"(, "group_size": 4, "downsample": null})"))
                   .count("s1.b1.downsample.conv.weight"));
  EXPECT_FALSE(shapes_of(*build("regnetx_002", R"({"downsample": ""})")).count("s1.b1.downsample.conv.weight"));
  EXPECT_TRUE(shapes_of(*build("regnety_040_sgn", "{" + kShallow + R"(, "group_size": 16,
                                                                      "norm_layer": "batchnorm"})"))
                  .count("stem.bn.running_mean"));
}

TEST(RegNetOptions, MessagesNameTheField) {
  EXPECT_EQ(error_text([] { build("regnetx_002", R"({"depth": 0})"); }),
            "regnetx_002: option 'depth': expected at least 1 block, got 0");
  EXPECT_EQ(error_text([] { build("regnetx_002", R"({"w0": 20})"); }),
            "regnetx_002: option 'w0': expected a positive multiple of 8, got 20; timm's generate_regnet asserts it");
  EXPECT_EQ(error_text([] { build("regnetx_002", R"({"wm": 1.0})"); }),
            "regnetx_002: option 'wm': expected a finite multiplier > 1, got 1");
  EXPECT_EQ(error_text([] { build("regnetx_002", R"({"depth": 3})"); }),
            "regnetx_002: options 'w0', 'wa', 'wm', 'depth': expected a design giving exactly 4 stages, got 3 "
            "(stage widths [24, 56, 152]); RegNet builds stages s1 to s4 (timm asserts the same)");
  EXPECT_EQ(error_text([] { build("regnetx_002", R"({"output_stride": 4})"); }),
            "regnetx_002: option 'output_stride': expected 8, 16 or 32, got 4");
  EXPECT_EQ(error_text([] { build("regnetx_002", R"({"drop_path_rate": 1.0})"); }),
            "regnetx_002: option 'drop_path_rate': expected a probability in [0, 1), got 1");
  EXPECT_EQ(error_text([] { build("regnetx_002", R"({"global_pool": "", "num_classes": 3})"); }),
            "regnetx_002: option 'global_pool': expected a pool type (avg, max, avgmax, catavgmax) when num_classes "
            "> 0, got '' (no pooling) with num_classes=3; set num_classes=0 to get unpooled maps from forward_head");
  EXPECT_EQ(error_text([] { Bottleneck(BlockOptions{.in_chs = 16, .out_chs = 4, .group_size = 8}, "test s1.b1"); }),
            "test s1.b1: option 'group_size': expected a group width giving whole groups of the bottleneck width 4, "
            "got 8 (0 groups); choose bottle_ratio and group_size so that they fit");
  EXPECT_EQ(error_text([] { build("regnetx_002", R"({"downsample": "max"})"); }),
            "option 'downsample' in model_args of regnetx_002: expected a downsample type ('conv1x1', 'avg', ''), "
            "got 'max'");
  EXPECT_EQ(error_text([] { build("regnetx_002", R"({"norm_layer": "layernorm"})"); }),
            "option 'norm_layer' in model_args of regnetx_002: expected a norm layer ('batchnorm', 'batchnorm2d', "
            "'groupnorm'), got 'layernorm'");
  EXPECT_EQ(error_text([] { build("regnetx_002", R"({"norm_layer": "groupnorm"})"); }),
            "regnetx_002 s1.b1.conv1.bn: norm_layer 'groupnorm' with 32 groups must divide the channels evenly; got "
            "24 channels; use norm_layer 'batchnorm' or other widths");
  const auto act = error_text([] { build("regnetx_002", R"({"act_layer": "relu7"})"); });
  EXPECT_EQ(act.rfind("option 'act_layer' in model_args of regnetx_002", 0), 0u) << act;
  // Wrong types come from the Config getters; unknown keys from expect_all_used, with a suggestion.
  EXPECT_EQ(error_text([] { build("regnetx_002", R"({"preact": "yes"})"); }),
            "option 'preact' in model_args of regnetx_002: expected boolean, got string \"yes\"");
  EXPECT_EQ(error_text([] { build("regnetx_002", R"({"stem_widht": 8})"); })
                .rfind("unknown option 'stem_widht' in model_args of regnetx_002; did you mean 'stem_width'?", 0),
            0u);
}

// ---- registry and pretrained tags ---------------------------------------------------------------------------------

TEST(RegNetRegistry, EveryNameIsRegisteredWithTimmsTags) {
  auto& backbones = plugin_registry().backbones();
  ASSERT_EQ(kRegNetVariants.size(), 36u);
  std::size_t tags = 0;
  for (const auto& v : kRegNetVariants) {
    SCOPED_TRACE(std::string(v.name));
    const auto& entry = backbones.get(v.name);
    EXPECT_EQ(entry.description, v.description);
    for (const auto& cfg : entry.pretrained) {
      EXPECT_EQ(cfg.hf_hub_id, "timm/" + std::string(v.name) + "." + cfg.tag);
      EXPECT_EQ(cfg.classifier, "head.fc");
      EXPECT_EQ(cfg.first_conv, v.preact ? "stem" : "stem.conv");
      EXPECT_EQ(cfg.interpolation, "bicubic");
      ++tags;
    }
  }
  EXPECT_EQ(tags, 65u);  // timm's default_cfgs less the two untrained entries
  EXPECT_EQ(backbones.list("regnet*").size(), 36u);

  // Default tags: ../shared/docs/hub.md §8.3, and the first listed tag for the others.
  const std::map<std::string, std::string> defaults = {
      {"regnety_040", "ra3_in1k"},       {"regnety_002", "pycls_in1k"},      {"regnety_006", "pycls_in1k"},
      {"regnety_008", "pycls_in1k"},     {"regnety_004", "tv2_in1k"},        {"regnety_016", "tv2_in1k"},
      {"regnety_320", "tv2_in1k"},       {"regnety_032", "ra_in1k"},         {"regnety_120", "sw_in12k_ft_in1k"},
      {"regnety_160", "sw_in12k_ft_in1k"}, {"regnetx_002", "pycls_in1k"},    {"regnetx_008", "tv2_in1k"},
      {"regnety_1280", "swag_ft_in1k"},  {"regnety_640", "seer_ft_in1k"},    {"regnety_2560", "seer_ft_in1k"},
      {"regnetv_040", "ra3_in1k"},       {"regnetz_040_h", "ra3_in1k"},      {"regnetx_004_tv", "tv2_in1k"},
  };
  for (const auto& [arch, tag] : defaults) {
    SCOPED_TRACE(arch);
    ASSERT_FALSE(backbones.get(arch).pretrained.empty());
    EXPECT_EQ(backbones.get(arch).pretrained.front().tag, tag);
  }
  std::vector<std::string> y160;
  for (const auto& cfg : backbones.get("regnety_160").pretrained) y160.push_back(cfg.tag);
  EXPECT_EQ(y160, (std::vector<std::string>{"sw_in12k_ft_in1k", "lion_in12k_ft_in1k", "sw_in12k", "deit_in1k",
                                            "tv2_in1k", "swag_ft_in1k", "swag_lc_in1k", "pycls_in1k"}));
  // timm lists these untrained: no tags, but a preprocessing cfg.
  EXPECT_TRUE(backbones.get("regnety_040_sgn").pretrained.empty());
  EXPECT_TRUE(backbones.get("regnetz_005").pretrained.empty());
  const auto untrained = build("regnetz_005", "{" + kShallow + R"(, "group_size": 4})")->pretrained_cfg();
  EXPECT_EQ(untrained.architecture, "regnetz_005");
  EXPECT_TRUE(untrained.hf_hub_id.empty());
  EXPECT_EQ(untrained.crop_pct, 0.95);
}

TEST(RegNetRegistry, PretrainedCfgValues) {
  Registry* registry = &plugin_registry();
  const auto ra3 = resolve_pretrained_cfg("regnety_040.ra3_in1k", registry);
  EXPECT_EQ(ra3.input_size, (std::array<std::int64_t, 3>{3, 224, 224}));
  EXPECT_EQ(ra3.crop_pct, 0.95);
  EXPECT_EQ(ra3.test_input_size, (std::array<std::int64_t, 3>{3, 288, 288}));
  EXPECT_EQ(ra3.test_crop_pct, 1.0);
  EXPECT_TRUE(ra3.license.empty());  // timm's _cfg lists none

  const auto pycls = resolve_pretrained_cfg("regnety_002.pycls_in1k", registry);
  EXPECT_EQ(pycls.crop_pct, 0.875);
  EXPECT_FALSE(pycls.test_input_size.has_value());
  EXPECT_EQ(pycls.license, "mit");
  EXPECT_DOUBLE_EQ(pycls.mean[0], 0.485);

  const auto tv2 = resolve_pretrained_cfg("regnety_016.tv2_in1k", registry);
  EXPECT_EQ(tv2.crop_pct, 0.965);
  EXPECT_EQ(tv2.license, "bsd-3-clause");

  const auto z = resolve_pretrained_cfg("regnetz_040.ra3_in1k", registry);
  EXPECT_EQ(z.input_size, (std::array<std::int64_t, 3>{3, 256, 256}));
  EXPECT_EQ(z.test_input_size, (std::array<std::int64_t, 3>{3, 320, 320}));
  EXPECT_EQ(z.crop_pct, 1.0);

  const auto swag = resolve_pretrained_cfg("regnety_1280.swag_ft_in1k", registry);
  EXPECT_EQ(swag.input_size, (std::array<std::int64_t, 3>{3, 384, 384}));
  EXPECT_EQ(swag.crop_pct, 1.0);
  EXPECT_EQ(swag.license, "cc-by-nc-4.0");
  EXPECT_EQ(resolve_pretrained_cfg("regnety_320.swag_lc_in1k", registry).input_size,
            (std::array<std::int64_t, 3>{3, 224, 224}));

  const auto seer = resolve_pretrained_cfg("regnety_320.seer", registry);
  EXPECT_EQ(seer.num_classes, 0);
  EXPECT_EQ(seer.license, "other");
  EXPECT_EQ(resolve_pretrained_cfg("regnety_120.sw_in12k", registry).num_classes, 11821);
  EXPECT_EQ(resolve_pretrained_cfg("regnetv_064.ra3_in1k", registry).first_conv, "stem");
  EXPECT_EQ(resolve_pretrained_cfg("regnety_160.deit_in1k", registry).hf_hub_id, "timm/regnety_160.deit_in1k");

  // timm's deprecated name resolves to its replacement.
  for (const auto& deprecated : kRegNetDeprecatedNames) {
    SCOPED_TRACE(deprecated.name);
    EXPECT_EQ(plugin_registry().backbone_aliases().get(deprecated.name).target, deprecated.replacement);
    EXPECT_TRUE(plugin_registry().backbones().contains(deprecated.replacement));
  }
  const auto message = error_text([] { plugin_registry().backbones().get("regnety_04"); });
  EXPECT_NE(message.find("regnety_040"), std::string::npos) << message;
}

TEST(RegNetRegistry, EveryVariantBuildsShallow) {
  for (const auto& v : kRegNetVariants) {
    SCOPED_TRACE(std::string(v.name));
    // The variant's block kind on a small four-stage design (group widths that fit it).
    const std::int64_t group = v.bottle_ratio > 1.0 ? 4 : (v.norm_layer == NormLayer::groupnorm ? 16 : 8);
    auto net = build(std::string(v.name),
                     "{" + kShallow + R"(, "num_classes": 3, "group_size": )" + std::to_string(group) + "}");
    net->eval();
    torch::NoGradGuard no_grad;
    EXPECT_EQ(net->forward(torch::randn({1, 3, 32, 32})).sizes(), torch::IntArrayRef({1, 3}));
    EXPECT_EQ(net->pretrained_cfg().architecture, v.name);
  }
}

}  // namespace
}  // namespace autotimm::regnet
