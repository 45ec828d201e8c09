// The ResNet family against timm's numbers: parameter and state-dict key counts, key names and shapes, feature_info,
// output shapes, heads and pooling, options and their messages, and the registry entries with their pretrained tags.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <set>

#include "autotimm/backbones.hpp"
#include "autotimm/config.hpp"
#include "autotimm/error.hpp"
#include "autotimm/layers/blur_pool.hpp"
#include "autotimm/layers/drop.hpp"
#include "autotimm/layers/eca.hpp"
#include "autotimm/layers/helpers.hpp"
#include "autotimm/layers/pool2d_same.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/testing/module_inspection.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "support/error_text.hpp"
#include "variants.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace autotimm::resnet {
namespace {

using autotimm::testing::error_text;
using autotimm::testing::Shape;
using autotimm::testing::shapes_of;
using autotimm::testing::parameter_count;

Registry& plugin_registry() { return testing::registry_of(autotimm_plugin_descriptor()); }

std::shared_ptr<Backbone> build(const std::string& name, const std::string& model_args = "{}") {
  return testing::build_backbone(plugin_registry(), name, model_args);
}

// ---- counts against timm -------------------------------------------------------------------------------------------

using Expected = testing::TimmCounts;  // timm's parameters (1000 classes) and state-dict keys

// resnet18/34/50/101 and resnext50_32x4d are docs/timm-architectures.md §1.2; the others follow from timm's
// resnet.py (same arithmetic, and the published sizes round to these: resnet50d 25.58M, seresnet50 28.09M,
// resnetrs50 35.69M, senet154 115.09M, ...).
constexpr Expected kSmall[] = {
    {"resnet10t", 5'435'488, 86},         {"resnet18", 11'689'512, 122},      {"resnet18d", 11'708'744, 134},
    {"resnet34", 21'797'672, 218},        {"resnet50", 25'557'032, 320},      {"resnet50d", 25'576'264, 332},
    {"resnet50_gn", 25'557'032, 161},     {"resnext50_32x4d", 25'028'904, 320}, {"seresnet50", 28'088'024, 384},
    {"ecaresnet50d", 25'576'350, 348},    {"resnetrs50", 35'691'912, 402},
};

TEST(ResNetCounts, ParametersAndKeysMatchTimm) {
  testing::expect_timm_counts(plugin_registry(), kSmall);
}

TEST(ResNetCounts, LargeModelsBuiltButNotRun) {
  constexpr Expected kLarge[] = {{"resnet101", 44'549'160, 626},
                                 {"resnet152", 60'192'808, 932},
                                 {"wide_resnet50_2", 68'883'240, 320}};
  testing::expect_timm_counts(plugin_registry(), kLarge);
}

// Every registered name at full size: about 4.5 billion parameters in all, so it runs on demand only
// (--gtest_also_run_disabled_tests --gtest_filter='*EveryVariant*').
TEST(ResNetCounts, DISABLED_EveryVariantAtFullSize) {
  // name → {parameters, state_dict keys}
  const std::map<std::string, std::pair<std::int64_t, std::size_t>> expected = {
      {"resnet10t", {5435488, 86}}, {"resnet14t", {10081632, 116}}, {"resnet18", {11689512, 122}},
      {"resnet18d", {11708744, 134}}, {"resnet34", {21797672, 218}}, {"resnet34d", {21816904, 230}},
      {"resnet26", {15995176, 176}}, {"resnet26t", {16011872, 188}}, {"resnet26d", {16014408, 188}},
      {"resnet50", {25557032, 320}}, {"resnet50c", {25576264, 332}}, {"resnet50d", {25576264, 332}},
      {"resnet50s", {25680808, 332}}, {"resnet50t", {25573728, 332}}, {"resnet101", {44549160, 626}},
      {"resnet101c", {44568392, 638}}, {"resnet101d", {44568392, 638}}, {"resnet101s", {44672936, 638}},
      {"resnet152", {60192808, 932}}, {"resnet152c", {60212040, 944}}, {"resnet152d", {60212040, 944}},
      {"resnet152s", {60316584, 944}}, {"resnet200", {64673832, 1220}}, {"resnet200d", {64693064, 1232}},
      {"wide_resnet50_2", {68883240, 320}}, {"wide_resnet101_2", {126886696, 626}}, {"resnet50_gn", {25557032, 161}},
      {"resnext50_32x4d", {25028904, 320}}, {"resnext50d_32x4d", {25048136, 332}},
      {"resnext101_32x4d", {44177704, 626}}, {"resnext101_32x8d", {88791336, 626}},
      {"resnext101_32x16d", {194026792, 626}}, {"resnext101_32x32d", {468530472, 626}},
      {"resnext101_64x4d", {83455272, 626}}, {"ecaresnet26t", {16011916, 196}}, {"ecaresnet50d", {25576350, 348}},
      {"ecaresnet50t", {25573814, 348}}, {"ecaresnetlight", {30162046, 336}}, {"ecaresnet101d", {44568563, 671}},
      {"ecaresnet200d", {64693400, 1298}}, {"ecaresnet269d", {102093077, 1735}},
      {"ecaresnext26t_32x4d", {15406220, 196}}, {"ecaresnext50t_32x4d", {15406220, 196}},
      {"seresnet18", {11779624, 154}}, {"seresnet34", {21960416, 282}}, {"seresnet50", {28088024, 384}},
      {"seresnet50t", {28104720, 396}}, {"seresnet101", {49326872, 758}}, {"seresnet152", {66821848, 1132}},
      {"seresnet152d", {66841080, 1144}}, {"seresnet200d", {71855096, 1496}}, {"seresnet269d", {113672760, 2002}},
      {"seresnext26d_32x4d", {16809512, 220}}, {"seresnext26t_32x4d", {16806976, 220}},
      {"seresnext50_32x4d", {27559896, 384}}, {"seresnext101_32x4d", {48955416, 758}},
      {"seresnext101_32x8d", {93569048, 758}}, {"seresnext101d_32x8d", {93588280, 770}},
      {"seresnext101_64x4d", {88232984, 758}}, {"senet154", {115088984, 1144}}, {"resnetblur18", {11689512, 122}},
      {"resnetblur50", {25557032, 320}}, {"resnetblur50d", {25576264, 332}}, {"resnetblur101d", {44568392, 638}},
      {"resnetaa34d", {21816904, 230}}, {"resnetaa50", {25557032, 320}}, {"resnetaa50d", {25576264, 332}},
      {"resnetaa101d", {44568392, 638}}, {"seresnetaa50d", {28107256, 396}},
      {"seresnextaa101d_32x8d", {93588280, 770}}, {"seresnextaa201d_32x8d", {149394904, 1518}},
      {"resnetrs50", {35691912, 402}}, {"resnetrs101", {63618696, 776}}, {"resnetrs152", {86621576, 1150}},
      {"resnetrs200", {93209992, 1502}}, {"resnetrs270", {129861448, 2030}}, {"resnetrs350", {163956168, 2602}},
      {"resnetrs420", {191891656, 3108}},
  };
  ASSERT_EQ(expected.size(), kResNetVariants.size());
  for (const auto& [name, counts] : expected) {
    SCOPED_TRACE(name);
    const auto net = build(name);
    EXPECT_EQ(parameter_count(*net), counts.first);
    EXPECT_EQ(state_dict(*net).size(), counts.second);
  }
}

// ---- key names and shapes ------------------------------------------------------------------------------------------

TEST(ResNetKeys, Resnet50LayoutIsTimms) {
  auto net = build("resnet50");
  const auto entries = state_dict(*net);
  const std::vector<std::string> first = {
      "conv1.weight",          "bn1.weight",           "bn1.bias",
      "bn1.running_mean",      "bn1.running_var",      "bn1.num_batches_tracked",
      "layer1.0.conv1.weight", "layer1.0.bn1.weight",  "layer1.0.bn1.bias",
      "layer1.0.bn1.running_mean", "layer1.0.bn1.running_var", "layer1.0.bn1.num_batches_tracked",
      "layer1.0.conv2.weight"};
  for (std::size_t i = 0; i < first.size(); ++i) EXPECT_EQ(entries[i].first, first[i]);
  EXPECT_EQ(entries[entries.size() - 2].first, "fc.weight");
  EXPECT_EQ(entries.back().first, "fc.bias");

  const auto shapes = shapes_of(*net);
  EXPECT_EQ(shapes.at("conv1.weight"), (Shape{64, 3, 7, 7}));
  EXPECT_EQ(shapes.at("layer1.0.conv3.weight"), (Shape{256, 64, 1, 1}));
  EXPECT_EQ(shapes.at("layer1.0.downsample.0.weight"), (Shape{256, 64, 1, 1}));
  EXPECT_EQ(shapes.at("layer1.0.downsample.1.running_var"), (Shape{256}));
  EXPECT_EQ(shapes.at("layer2.0.conv1.weight"), (Shape{128, 256, 1, 1}));
  EXPECT_EQ(shapes.at("layer2.0.downsample.0.weight"), (Shape{512, 256, 1, 1}));
  EXPECT_EQ(shapes.at("layer4.2.conv3.weight"), (Shape{2048, 512, 1, 1}));
  EXPECT_EQ(shapes.at("bn1.num_batches_tracked"), Shape{});
  EXPECT_EQ(shapes.at("fc.weight"), (Shape{1000, 2048}));
  EXPECT_EQ(net->named_buffers()["bn1.num_batches_tracked"].scalar_type(), torch::kLong);
}

TEST(ResNetKeys, BasicBlockGroupedDeepStemSeEcaAndRsLayouts) {
  const auto r18 = shapes_of(*build("resnet18"));
  EXPECT_EQ(r18.at("layer1.0.conv1.weight"), (Shape{64, 64, 3, 3}));
  EXPECT_FALSE(r18.count("layer1.0.downsample.0.weight"));
  EXPECT_EQ(r18.at("layer2.0.conv1.weight"), (Shape{128, 64, 3, 3}));
  EXPECT_EQ(r18.at("layer2.0.downsample.0.weight"), (Shape{128, 64, 1, 1}));
  EXPECT_EQ(r18.at("fc.weight"), (Shape{1000, 512}));

  const auto rx50 = shapes_of(*build("resnext50_32x4d"));
  EXPECT_EQ(rx50.at("layer1.0.conv1.weight"), (Shape{128, 64, 1, 1}));
  EXPECT_EQ(rx50.at("layer1.0.conv2.weight"), (Shape{128, 4, 3, 3}));
  EXPECT_EQ(rx50.at("layer1.0.conv3.weight"), (Shape{256, 128, 1, 1}));

  const auto r50d = shapes_of(*build("resnet50d"));
  EXPECT_EQ(r50d.at("conv1.0.weight"), (Shape{32, 3, 3, 3}));
  EXPECT_EQ(r50d.at("conv1.1.running_mean"), (Shape{32}));
  EXPECT_EQ(r50d.at("conv1.3.weight"), (Shape{32, 32, 3, 3}));
  EXPECT_EQ(r50d.at("conv1.4.weight"), (Shape{32}));
  EXPECT_EQ(r50d.at("conv1.6.weight"), (Shape{64, 32, 3, 3}));
  EXPECT_EQ(r50d.at("bn1.weight"), (Shape{64}));
  EXPECT_EQ(r50d.at("layer1.0.downsample.1.weight"), (Shape{256, 64, 1, 1}));  // .0 is the (identity) pool
  EXPECT_EQ(r50d.at("layer2.0.downsample.2.running_var"), (Shape{512}));

  const auto r50t = shapes_of(*build("resnet50t"));
  EXPECT_EQ(r50t.at("conv1.0.weight"), (Shape{24, 3, 3, 3}));
  EXPECT_EQ(r50t.at("conv1.3.weight"), (Shape{32, 24, 3, 3}));

  const auto se50 = shapes_of(*build("seresnet50"));
  EXPECT_EQ(se50.at("layer1.0.se.fc1.weight"), (Shape{16, 256, 1, 1}));
  EXPECT_EQ(se50.at("layer1.0.se.fc1.bias"), (Shape{16}));
  EXPECT_EQ(se50.at("layer1.0.se.fc2.weight"), (Shape{256, 16, 1, 1}));
  EXPECT_EQ(se50.at("layer4.0.se.fc1.weight"), (Shape{128, 2048, 1, 1}));

  const auto se18 = shapes_of(*build("seresnet18"));
  EXPECT_EQ(se18.at("layer1.0.se.fc1.weight"), (Shape{8, 64, 1, 1}));  // 64 / 16 = 4, raised to the divisor 8

  const auto eca = shapes_of(*build("ecaresnet50d"));
  EXPECT_EQ(eca.at("layer1.0.se.conv.weight"), (Shape{1, 1, 5}));  // 256 channels → k = 5
  EXPECT_EQ(eca.at("layer4.0.se.conv.weight"), (Shape{1, 1, 7}));  // 2048 channels → k = 7

  const auto rs = shapes_of(*build("resnetrs50"));
  EXPECT_EQ(rs.at("maxpool.0.weight"), (Shape{64, 64, 3, 3}));
  EXPECT_EQ(rs.at("maxpool.1.running_mean"), (Shape{64}));
  EXPECT_EQ(rs.at("layer1.0.se.fc1.weight"), (Shape{64, 256, 1, 1}));  // rd_ratio 1/4

  const auto senet = shapes_of(*build("senet154", R"({"layers": [1, 1, 1, 1]})"));
  EXPECT_EQ(senet.at("conv1.6.weight"), (Shape{128, 64, 3, 3}));
  EXPECT_EQ(senet.at("layer1.0.conv1.weight"), (Shape{128, 128, 1, 1}));  // width 256 halved by block_reduce_first
  EXPECT_EQ(senet.at("layer2.0.downsample.0.weight"), (Shape{512, 256, 3, 3}));
  EXPECT_EQ(senet.at("layer1.0.downsample.0.weight"), (Shape{256, 128, 1, 1}));  // no stride: kernel stays 1

  const auto gn = shapes_of(*build("resnet50_gn"));
  EXPECT_EQ(gn.at("bn1.weight"), (Shape{64}));
  EXPECT_FALSE(gn.count("bn1.running_mean"));
}

TEST(ResNetKeys, StateDictKeysAreUnique) {
  for (const char* name : {"resnet50d", "seresnext26t_32x4d", "resnetrs50", "resnetblur50d"}) {
    SCOPED_TRACE(name);
    std::set<std::string> seen;
    for (const auto& entry : state_dict(*build(name, R"({"layers": [2, 2, 2, 2]})"))) {
      EXPECT_TRUE(seen.insert(entry.first).second) << entry.first;
    }
  }
}

// ---- features and outputs ------------------------------------------------------------------------------------------

TEST(ResNetFeatures, FeatureInfoIsTimms) {
  const auto check = [](const std::string& name, const std::vector<std::int64_t>& channels) {
    SCOPED_TRACE(name);
    auto net = build(name);
    const auto& info = net->feature_info();
    ASSERT_EQ(info.size(), 5u);
    const std::vector<std::int64_t> reductions = {2, 4, 8, 16, 32};
    const std::vector<std::string> modules = {"act1", "layer1", "layer2", "layer3", "layer4"};
    for (std::size_t i = 0; i < info.size(); ++i) {
      EXPECT_EQ(info[i].num_chs, channels[i]);
      EXPECT_EQ(info[i].reduction, reductions[i]);
      EXPECT_EQ(info[i].module, modules[i]);
    }
    EXPECT_EQ(net->num_features(), channels.back());
  };
  check("resnet18", {64, 64, 128, 256, 512});
  check("resnet50", {64, 256, 512, 1024, 2048});
  check("resnet50d", {64, 256, 512, 1024, 2048});
  check("resnext50_32x4d", {64, 256, 512, 1024, 2048});
}

TEST(ResNetFeatures, ShapesOnASmallInput) {
  torch::NoGradGuard no_grad;
  auto net = build("resnet50");
  net->eval();
  const auto x = torch::randn({1, 3, 64, 64});
  EXPECT_EQ(net->forward(x).sizes(), torch::IntArrayRef({1, 1000}));
  const auto features = net->forward_features(x);
  EXPECT_EQ(features.sizes(), torch::IntArrayRef({1, 2048, 2, 2}));
  EXPECT_EQ(net->forward_head(features, /*pre_logits=*/true).sizes(), torch::IntArrayRef({1, 2048}));
  EXPECT_TRUE(torch::equal(net->forward_head(features), net->forward(x)));

  const auto maps = net->forward_intermediates(x, {0, 1, 2, 3, 4});
  const std::vector<Shape> expected = {{1, 64, 32, 32}, {1, 256, 16, 16}, {1, 512, 8, 8}, {1, 1024, 4, 4},
                                       {1, 2048, 2, 2}};
  ASSERT_EQ(maps.size(), expected.size());
  for (std::size_t i = 0; i < maps.size(); ++i) EXPECT_EQ(maps[i].sizes().vec(), expected[i]);
  EXPECT_TRUE(torch::equal(maps[4], features));

  const auto picked = net->forward_intermediates(x, {-1, 1});  // the order asked for
  ASSERT_EQ(picked.size(), 2u);
  EXPECT_EQ(picked[0].sizes(), torch::IntArrayRef({1, 2048, 2, 2}));
  EXPECT_EQ(picked[1].sizes(), torch::IntArrayRef({1, 256, 16, 16}));
  EXPECT_EQ(net->forward_intermediates(x, {0})[0].sizes(), torch::IntArrayRef({1, 64, 32, 32}));
  EXPECT_EQ(error_text([&] { net->forward_intermediates(x, {5}); }),
            "feature index 5 is out of range: expected -5 to 4 for 5 stages");
}

TEST(ResNetFeatures, OutputStrideDilatesTheLastStages) {
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 3, 64, 64});
  for (const auto& [name, stride] : std::vector<std::pair<std::string, std::int64_t>>{
           {"resnet50", 16}, {"resnet50", 8}, {"resnet50d", 8}, {"resnet18", 16}}) {
    SCOPED_TRACE(name + " output_stride " + std::to_string(stride));
    auto net = build(name, R"({"output_stride": )" + std::to_string(stride) + "}");
    net->eval();
    const auto& info = net->feature_info();
    EXPECT_EQ(info.back().reduction, stride);
    const auto maps = net->forward_intermediates(x, {0, 1, 2, 3, 4});
    for (std::size_t i = 0; i < maps.size(); ++i) {
      EXPECT_EQ(maps[i].size(1), info[i].num_chs);
      EXPECT_EQ(maps[i].size(2), 64 / info[i].reduction);
    }
  }
  // Dilation changes no parameter: the same 320 keys as resnet50.
  EXPECT_EQ(state_dict(*build("resnet50", R"({"output_stride": 8})")).size(), 320u);
}

// ---- heads and pooling ---------------------------------------------------------------------------------------------

TEST(ResNetHead, HeadlessAndResetClassifier) {
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 64, 64});
  auto headless = build("resnet18", R"({"num_classes": 0})");
  headless->eval();
  EXPECT_EQ(headless->num_classes(), 0);
  EXPECT_EQ(headless->forward(x).sizes(), torch::IntArrayRef({2, 512}));
  EXPECT_FALSE(shapes_of(*headless).count("fc.weight"));

  auto net = build("resnet18");
  net->eval();
  net->reset_classifier(0);
  EXPECT_EQ(net->forward(x).sizes(), torch::IntArrayRef({2, 512}));
  net->reset_classifier(5);
  EXPECT_EQ(net->num_classes(), 5);
  EXPECT_EQ(net->forward(x).sizes(), torch::IntArrayRef({2, 5}));
  EXPECT_EQ(shapes_of(*net).at("fc.weight"), (Shape{5, 512}));
  EXPECT_EQ(state_dict(*net).back().first, "fc.bias");
  EXPECT_EQ(error_text([&] { net->reset_classifier(-1); }),
            "resnet18: 'num_classes': expected 0 (no classifier) or more, got -1");
}

TEST(ResNetHead, GlobalPoolVariants) {
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 3, 64, 64});
  for (const char* pool : {"avg", "max", "avgmax"}) {
    auto net = build("resnet18", std::string(R"({"num_classes": 3, "global_pool": ")") + pool + "\"}");
    net->eval();
    EXPECT_EQ(net->forward(x).sizes(), torch::IntArrayRef({1, 3})) << pool;
  }
  // catavgmax: fc sees avg and max concatenated; num_features stays the trunk's width, as in timm.
  auto cat = build("resnet18", R"({"global_pool": "catavgmax"})");
  cat->eval();
  EXPECT_EQ(cat->num_features(), 512);
  EXPECT_EQ(shapes_of(*cat).at("fc.weight"), (Shape{1000, 1024}));
  EXPECT_EQ(cat->forward_head(cat->forward_features(x), true).sizes(), torch::IntArrayRef({1, 1024}));

  // avg pooling is the plain mean; avgmax is the mean of mean and max.
  auto avg = build("resnet18", R"({"num_classes": 0})");
  auto avgmax = build("resnet18", R"({"num_classes": 0, "global_pool": "avgmax"})");
  const auto features = torch::randn({2, 512, 3, 3});
  EXPECT_TRUE(torch::allclose(avg->forward_head(features), features.mean({2, 3})));
  EXPECT_TRUE(torch::allclose(avgmax->forward_head(features),
                              0.5 * (features.mean({2, 3}) + features.amax({2, 3}))));

  // No pooling: headless only, and forward returns the maps.
  auto unpooled = build("resnet18", R"({"num_classes": 0, "global_pool": ""})");
  unpooled->eval();
  EXPECT_EQ(unpooled->forward(x).sizes(), torch::IntArrayRef({1, 512, 2, 2}));
  EXPECT_EQ(error_text([] { build("resnet18", R"({"global_pool": ""})"); }),
            "resnet18: option 'global_pool': expected a pool type (avg, max, avgmax, catavgmax) when "
            "num_classes > 0, got '' (no pooling) with num_classes=1000; set num_classes=0 to get unpooled maps "
            "from forward_head");
}

TEST(ResNetHead, InChansOne) {
  torch::NoGradGuard no_grad;
  auto net = build("resnet18", R"({"in_chans": 1, "num_classes": 4})");
  net->eval();
  EXPECT_EQ(shapes_of(*net).at("conv1.weight"), (Shape{64, 1, 7, 7}));
  EXPECT_EQ(net->forward(torch::randn({2, 1, 64, 64})).sizes(), torch::IntArrayRef({2, 4}));
  EXPECT_EQ(shapes_of(*build("resnet50d", R"({"in_chans": 1})")).at("conv1.0.weight"), (Shape{32, 1, 3, 3}));
}

// ---- initialisation and regularisers -------------------------------------------------------------------------------

TEST(ResNetInit, KaimingFanOutAndZeroInitLast) {
  auto net = build("resnet50");
  auto params = net->named_parameters();
  // kaiming_normal_(fan_out, relu): std = sqrt(2 / (out × k × k)).
  const auto w = params["layer3.0.conv2.weight"];
  EXPECT_NEAR(w.std().item<double>(), std::sqrt(2.0 / (256 * 9)), 0.05 * std::sqrt(2.0 / (256 * 9)));
  EXPECT_TRUE(torch::equal(params["layer1.0.bn3.weight"], torch::zeros({256})));
  EXPECT_TRUE(torch::equal(params["layer1.0.bn1.weight"], torch::ones({64})));
  EXPECT_TRUE(torch::equal(params["bn1.bias"], torch::zeros({64})));

  auto kept = build("resnet18", R"({"zero_init_last": false})");
  EXPECT_TRUE(torch::equal(kept->named_parameters()["layer1.0.bn2.weight"], torch::ones({64})));
  EXPECT_TRUE(torch::equal(build("resnet18")->named_parameters()["layer1.0.bn2.weight"], torch::zeros({64})));
}

TEST(ResNetInit, DropRatesActOnlyInTraining) {
  auto net = build("resnet26d", R"({"drop_rate": 0.3, "drop_path_rate": 0.2, "drop_block_rate": 0.1,
                                   "num_classes": 3})");
  EXPECT_EQ(state_dict(*net).size(), state_dict(*build("resnet26d", R"({"num_classes": 3})")).size());
  const auto x = torch::randn({2, 3, 64, 64});
  net->train();
  EXPECT_EQ(net->forward(x).sizes(), torch::IntArrayRef({2, 3}));
  torch::NoGradGuard no_grad;
  net->eval();
  EXPECT_TRUE(torch::equal(net->forward(x), net->forward(x)));
}

// ---- every registered name -----------------------------------------------------------------------------------------

TEST(ResNetRegistry, EveryNameBuildsAndRuns) {
  // Each variant's stem, block, attention, anti-aliasing and norm, at depth 1 and half width so the sweep stays fast.
  torch::NoGradGuard no_grad;
  const auto names = plugin_registry().backbones().list("*");
  ASSERT_EQ(names.size(), kResNetVariants.size());
  const auto x = torch::randn({1, 3, 64, 64});
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    auto net = build(name, R"({"layers": [1, 1, 1, 1], "channels": [32, 64, 128, 256], "num_classes": 7})");
    net->eval();
    EXPECT_EQ(net->forward(x).sizes(), torch::IntArrayRef({1, 7}));
    const auto maps = net->forward_intermediates(x, {0, 1, 2, 3, 4});
    const auto& info = net->feature_info();
    for (std::size_t i = 0; i < maps.size(); ++i) {
      EXPECT_EQ(maps[i].size(1), info[i].num_chs);
      EXPECT_EQ(maps[i].size(2), 64 / info[i].reduction);
    }
  }
}

TEST(ResNetRegistry, VariantArgumentsMatchTimm) {
  auto find = [](std::string_view name) {
    for (const auto& v : kResNetVariants) {
      if (v.name == name) return v;
    }
    ADD_FAILURE() << "no variant " << name;
    return ResNetVariant{};
  };
  const auto senet = options_of(find("senet154"));
  EXPECT_EQ(senet.layers, (std::vector<std::int64_t>{3, 8, 36, 3}));
  EXPECT_EQ(senet.cardinality, 64);
  EXPECT_EQ(senet.stem_type, StemType::deep);
  EXPECT_EQ(senet.stem_width, 64);
  EXPECT_EQ(senet.down_kernel_size, 3);
  EXPECT_EQ(senet.block_reduce_first, 2);
  EXPECT_EQ(senet.attn_layer, AttnType::se);
  const auto rs = options_of(find("resnetrs270"));
  EXPECT_EQ(rs.layers, (std::vector<std::int64_t>{4, 29, 53, 4}));
  EXPECT_TRUE(rs.replace_stem_pool);
  EXPECT_DOUBLE_EQ(rs.attn_rd_ratio, 0.25);
  EXPECT_EQ(options_of(find("wide_resnet101_2")).base_width, 128);
  EXPECT_EQ(options_of(find("resnetaa50")).aa_layer, layers::AntiAliasType::avgpool);
  EXPECT_EQ(options_of(find("resnetblur50")).aa_layer, layers::AntiAliasType::blurpool);
}

TEST(ResNetRegistry, PretrainedTagsAndDefaults) {
  const auto& backbones = plugin_registry().backbones();
  const auto tags = [&](const std::string& arch) {
    std::vector<std::string> out;
    for (const auto& cfg : backbones.get(arch).pretrained) out.push_back(cfg.tag);
    return out;
  };
  const auto cfg_of = [&](const std::string& arch, const std::string& tag) {
    for (const auto& cfg : backbones.get(arch).pretrained) {
      if (cfg.tag == tag) return cfg;
    }
    ADD_FAILURE() << "no tag " << arch << "." << tag;
    return PretrainedCfg{.tag = ""};
  };

  EXPECT_EQ(tags("resnet18").front(), "a1_in1k");
  EXPECT_EQ(tags("resnet50").front(), "a1_in1k");
  EXPECT_EQ(tags("resnet101").front(), "a1h_in1k");
  EXPECT_EQ(tags("resnext50_32x4d").front(), "a1h_in1k");
  EXPECT_EQ(tags("resnext101_32x4d").front(), "fb_ssl_yfcc100m_ft_in1k");  // timm skips the untrained entry
  EXPECT_EQ(tags("seresnextaa101d_32x8d").front(), "sw_in12k_ft_in1k_288");
  EXPECT_EQ(tags("resnet50").size(), 18u);
  EXPECT_TRUE(backbones.get("seresnet18").pretrained.empty());

  const auto a1 = cfg_of("resnet50", "a1_in1k");
  EXPECT_EQ(a1.hf_hub_id, "timm/resnet50.a1_in1k");
  EXPECT_EQ(a1.architecture, "resnet50");
  EXPECT_EQ(a1.interpolation, "bicubic");
  EXPECT_DOUBLE_EQ(a1.crop_pct, 0.95);
  EXPECT_EQ(a1.test_input_size, (std::array<std::int64_t, 3>{3, 288, 288}));
  EXPECT_EQ(a1.test_crop_pct, 1.0);
  EXPECT_EQ(a1.first_conv, "conv1");
  EXPECT_EQ(a1.classifier, "fc");
  EXPECT_EQ(a1.license, "apache-2.0");
  EXPECT_EQ(a1.num_classes, 1000);

  const auto a1h = cfg_of("resnet50", "a1h_in1k");
  EXPECT_EQ(a1h.input_size, (std::array<std::int64_t, 3>{3, 176, 176}));
  EXPECT_DOUBLE_EQ(a1h.crop_pct, 0.9);
  EXPECT_EQ(a1h.test_input_size, (std::array<std::int64_t, 3>{3, 224, 224}));

  for (const char* arch : {"resnet18", "resnet34", "resnet50"}) {
    const auto tv = cfg_of(arch, "tv_in1k");
    EXPECT_EQ(tv.interpolation, "bilinear") << arch;
    EXPECT_DOUBLE_EQ(tv.crop_pct, 0.875) << arch;
    EXPECT_FALSE(tv.test_input_size.has_value()) << arch;
    EXPECT_EQ(tv.license, "bsd-3-clause") << arch;
    EXPECT_EQ(cfg_of(arch, "a1_in1k").hf_hub_id, std::string("timm/") + arch + ".a1_in1k");
  }
  EXPECT_EQ(cfg_of("resnet50", "fb_ssl_yfcc100m_ft_in1k").license, "cc-by-nc-4.0");
  EXPECT_EQ(cfg_of("resnext50_32x4d", "fb_swsl_ig1b_ft_in1k").hf_hub_id,
            "timm/resnext50_32x4d.fb_swsl_ig1b_ft_in1k");
  EXPECT_EQ(cfg_of("resnet50d", "ra4_e3600_r224_in1k").mean, (std::array<double, 3>{0.5, 0.5, 0.5}));
  EXPECT_EQ(cfg_of("resnet50d", "ra2_in1k").first_conv, "conv1.0");
  EXPECT_EQ(cfg_of("resnetaa50d", "sw_in12k").num_classes, 11821);

  // The model reports its default tag's cfg, or timm's untrained cfg for an architecture without weights.
  EXPECT_EQ(build("resnet50")->pretrained_cfg().tag, "a1_in1k");
  EXPECT_EQ(build("resnet50")->pretrained_cfg().hf_hub_id, "timm/resnet50.a1_in1k");
  const auto untrained = build("seresnet18")->pretrained_cfg();
  EXPECT_EQ(untrained.tag, "");
  EXPECT_EQ(untrained.hf_hub_id, "");
  EXPECT_EQ(untrained.architecture, "seresnet18");
  EXPECT_EQ(untrained.interpolation, "bicubic");
  EXPECT_EQ(untrained.first_conv, "conv1");
  EXPECT_EQ(build("resnet50t", R"({"layers": [1, 1, 1, 1]})")->pretrained_cfg().first_conv, "conv1.0");

  // Every variant has its own cfg, and the first conv it names exists.
  for (const auto& variant : kResNetVariants) {
    const auto cfg = resnet_default_cfg(variant.name);
    EXPECT_EQ(cfg.architecture, variant.name);
    EXPECT_EQ(cfg.first_conv, variant.stem_type == StemType::single ? "conv1" : "conv1.0") << variant.name;
  }
}

TEST(ResNetRegistry, DeprecatedNamesPointAtRegisteredTags) {
  const auto& backbones = plugin_registry().backbones();
  for (const auto& deprecated : kResNetDeprecatedNames) {
    SCOPED_TRACE(std::string(deprecated.name));
    const std::string replacement(deprecated.replacement);
    const auto dot = replacement.find('.');
    const auto* entry = backbones.find(replacement.substr(0, dot));
    ASSERT_NE(entry, nullptr);
    if (dot == std::string::npos) continue;
    const std::string tag = replacement.substr(dot + 1);
    EXPECT_TRUE(std::any_of(entry->pretrained.begin(), entry->pretrained.end(),
                            [&](const PretrainedCfg& cfg) { return cfg.tag == tag; }));
    EXPECT_FALSE(backbones.contains(deprecated.name));
    ASSERT_TRUE(plugin_registry().backbone_aliases().contains(deprecated.name));
    EXPECT_EQ(plugin_registry().backbone_aliases().get(deprecated.name).target, replacement);
  }
  // Through the front door a deprecated name builds its replacement, with that tag's preprocessing.
  auto net = create_backbone("tv_resnet34", {.num_classes = 0}, &plugin_registry());
  EXPECT_EQ(net->pretrained_cfg().architecture, "resnet34");
  EXPECT_EQ(net->pretrained_cfg().tag, "tv_in1k");
}

// ---- the shared layers ResNet relies on ---------------------------------------------------------------------------

TEST(ResNetLayers, ChannelArithmeticAsTimm) {
  EXPECT_EQ(layers::make_divisible(256 / 16.0, 8, std::nullopt, 0.0), 16);   // SE on 256 channels
  EXPECT_EQ(layers::make_divisible(64 / 16.0, 8, std::nullopt, 0.0), 8);     // at least the divisor
  EXPECT_EQ(layers::make_divisible(2048 * 0.25, 8, std::nullopt, 0.0), 512);  // ResNet-RS
  EXPECT_EQ(layers::make_divisible(30.0), 32);
  EXPECT_EQ(layers::make_divisible(11.0), 16);  // 8 would lose more than 10%
  EXPECT_EQ(layers::get_padding(3, 2), 1);
  EXPECT_EQ(layers::get_padding(3, 1, 2), 2);
  EXPECT_EQ(layers::get_same_padding(5, 2, 1), 1);
  for (const auto& [channels, kernel] : std::vector<std::pair<std::int64_t, std::int64_t>>{
           {64, 3}, {256, 5}, {512, 5}, {1024, 5}, {2048, 7}}) {
    EXPECT_EQ(layers::eca_kernel_size({.channels = channels}), kernel) << channels;
  }
}

TEST(ResNetLayers, BlurPoolAvgPoolSameAndDropPath) {
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 2, 6, 6});
  layers::BlurPool2d blur(layers::BlurPool2dOptions{.channels = 2});
  const auto taps = torch::tensor({1.0f, 2.0f, 1.0f}) / 4;
  const auto kernel = (taps.unsqueeze(1) * taps.unsqueeze(0)).expand({2, 1, 3, 3});
  namespace F = torch::nn::functional;
  const auto padded = F::pad(x, F::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReflect));
  const auto expected = F::conv2d(padded, kernel, F::Conv2dFuncOptions().stride(2).groups(2));
  EXPECT_TRUE(torch::allclose(blur(x), expected));
  EXPECT_TRUE(blur->named_buffers().is_empty());  // timm's filter is not part of the state dict

  // SAME padding adds a zero row and column at the end, and those zeros count in the average (as in timm).
  layers::AvgPool2dSame same(layers::AvgPool2dSameOptions{.kernel_size = 2, .stride = 1, .ceil_mode = true,
                                                           .count_include_pad = false});
  const auto ones = torch::ones({1, 1, 3, 3});
  const auto pooled = same(ones);
  EXPECT_EQ(pooled.sizes(), torch::IntArrayRef({1, 1, 3, 3}));
  EXPECT_FLOAT_EQ(pooled[0][0][0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(pooled[0][0][2][2].item<float>(), 0.25f);

  layers::DropPath drop(layers::DropPathOptions{.drop_prob = 0.5});
  const auto samples = torch::ones({1000, 4});
  drop->eval();
  EXPECT_TRUE(drop(samples).is_same(samples));
  drop->train();
  const auto dropped = drop(samples);
  const auto per_sample = dropped.select(1, 0);
  EXPECT_TRUE(torch::all((per_sample == 0) | (per_sample == 2)).item<bool>());  // whole samples, scaled by 1/keep
  EXPECT_TRUE(torch::equal(dropped.select(1, 0), dropped.select(1, 3)));
  EXPECT_NEAR(per_sample.mean().item<double>(), 1.0, 0.15);
}

// ---- options and messages ------------------------------------------------------------------------------------------

TEST(ResNetOptions, UserArgumentsOverrideTheVariant) {
  auto net = build("resnet18", R"({"layers": [1, 1, 1, 1], "block": "bottleneck", "stem_type": "deep",
                                  "stem_width": 16, "avg_down": true, "block_args": {"attn_layer": "se"}})");
  const auto shapes = shapes_of(*net);
  EXPECT_EQ(shapes.at("conv1.0.weight"), (Shape{16, 3, 3, 3}));
  EXPECT_EQ(shapes.at("layer1.0.conv3.weight"), (Shape{256, 64, 1, 1}));
  EXPECT_EQ(shapes.at("layer2.0.downsample.1.weight"), (Shape{512, 256, 1, 1}));
  EXPECT_TRUE(shapes.count("layer1.0.se.fc1.weight"));
  // attn_layer null inside block_args removes the variant's attention, as in timm.
  const auto plain = shapes_of(*build("seresnet18", R"({"block_args": {"attn_layer": null}})"));
  EXPECT_FALSE(plain.count("layer1.0.se.fc1.weight"));
  // A null top-level keyword is dropped, as create_model drops None: the variant's value stays.
  EXPECT_EQ(shapes_of(*build("resnet50d", R"({"stem_type": null})")).at("conv1.0.weight"), (Shape{32, 3, 3, 3}));
}

TEST(ResNetOptions, MessagesNameTheField) {
  EXPECT_EQ(error_text([] { build("resnet50", R"({"layers": [3, 4, 6]})"); }),
            "resnet50: option 'layers': expected 4 block counts of at least 1, got [3, 4, 6]");
  EXPECT_EQ(error_text([] { build("resnet50", R"({"output_stride": 12})"); }),
            "resnet50: option 'output_stride': expected 8, 16 or 32, got 12");
  EXPECT_EQ(error_text([] { build("resnet50", R"({"drop_path_rate": 1.5})"); }),
            "resnet50: option 'drop_path_rate': expected a probability in [0, 1), got 1.5");
  EXPECT_EQ(error_text([] { build("resnet18", R"({"cardinality": 32})"); }),
            "resnet18: option 'cardinality': expected 1 with base_width 64 for block 'basic', got cardinality 32, "
            "base_width 64; use block 'bottleneck' for ResNeXt-style widths");
  EXPECT_EQ(error_text([] { build("resnet50", R"({"stem_type": "deeep"})"); }),
            "option 'stem_type' in model_args of resnet50: expected a stem type ('', 'deep', 'deep_tiered'), "
            "got 'deeep'");
  EXPECT_EQ(error_text([] { build("resnet50", R"({"block_args": {"attn_layer": "cbam"}})"); }),
            "option 'block_args.attn_layer' in model_args of resnet50: expected an attention layer ('', 'se', "
            "'eca'), got 'cbam'");
  EXPECT_EQ(error_text([] { build("resnet50", R"({"global_pool": "mean"})"); }),
            "option 'global_pool' in model_args of resnet50: expected a pool type ('avg', 'max', 'avgmax', "
            "'catavgmax', or '' for no pooling), got 'mean'; did you mean 'max'?");
  EXPECT_EQ(error_text([] { build("resnet50", R"({"norm_layer": "layernorm"})"); }),
            "option 'norm_layer' in model_args of resnet50: expected a norm layer ('batchnorm', 'batchnorm2d', "
            "'groupnorm'), got 'layernorm'");
  EXPECT_EQ(error_text([] {
              build("resnet50", R"({"stem_width": 24, "stem_type": "deep", "norm_layer": "groupnorm"})");
            }),
            "resnet50 conv1.1: norm_layer 'groupnorm' uses 32 groups, which must divide the channels; got 24 "
            "channels; use norm_layer 'batchnorm' or widths that are multiples of 32");
  // Wrong types come from the Config getters; unknown keys from expect_all_used, with a suggestion.
  EXPECT_EQ(error_text([] { build("resnet50", R"({"cardinality": "many"})"); }),
            "option 'cardinality' in model_args of resnet50: expected integer, got string \"many\"");
  EXPECT_EQ(error_text([] { build("resnet50", R"({"layer": [2, 2, 2, 2]})"); }).rfind(
                "unknown option 'layer' in model_args of resnet50; did you mean 'layers'?", 0),
            0u);
  EXPECT_EQ(error_text([] { build("resnet50", R"({"block_args": {"rd_ratio": 0.25}})"); }).rfind(
                "unknown option 'block_args.rd_ratio' in model_args of resnet50", 0),
            0u);
}

TEST(ResNetOptions, UnknownVariantNamesTheClosest) {
  const auto message = error_text([] { plugin_registry().backbones().get("resnet51"); });
  EXPECT_EQ(message.rfind("unknown backbone 'resnet51'; closest: ", 0), 0u) << message;
  EXPECT_NE(message.find("resnet50"), std::string::npos) << message;
}

}  // namespace
}  // namespace autotimm::resnet
