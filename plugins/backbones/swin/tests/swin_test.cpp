// The Swin family against timm's numbers: parameter and state-dict key counts, key names, order and shapes (no
// relative_position_index / attn_mask keys), windows and shifts per stage, NHWC features and NCHW intermediates, heads,
// input sizes, initialisation, checkpoint adaptation (buffers dropped, Microsoft's layout renamed, bias tables
// resampled to another window), options and their messages, and the registry entries with their pretrained tags.
#include <gtest/gtest.h>
#include <torch/torch.h>

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

namespace autotimm::swin {
namespace {

using autotimm::testing::error_text;
using autotimm::testing::Shape;
using autotimm::testing::shapes_of;
using autotimm::testing::parameter_count;

// A narrow, shallow Swin-T layout at 64 × 64: maps 16, 8, 4, 2; windows 7, 7, 4, 2 (the last two clipped).
constexpr const char* kSmall64 =
    R"({"img_size": 64, "embed_dim": 16, "depths": [2, 2, 2, 2], "num_heads": [1, 2, 2, 4], "num_classes": 5})";

Registry& plugin_registry() { return testing::registry_of(autotimm_plugin_descriptor()); }

std::shared_ptr<Backbone> build(const std::string& name, const std::string& model_args = "{}") {
  return testing::build_backbone(plugin_registry(), name, model_args);
}

SwinTransformerImpl& swin(const std::shared_ptr<Backbone>& net) {
  auto* model = dynamic_cast<SwinTransformerImpl*>(net.get());
  EXPECT_NE(model, nullptr);
  return *model;
}

std::map<std::string, torch::Tensor> tensors_of(const torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& [key, tensor] : state_dict(module)) tensors[key] = tensor.detach().clone();
  return tensors;
}

// ---- counts against timm ------------------------------------------------------------------------------------------

using Expected = testing::TimmCounts;  // timm's parameters (1000 classes) and state-dict keys

// timm's Swin-T: 173 keys, 28,288,354 parameters (timm-architectures.md §6.3). The others follow from the same layer
// shapes (per block: 2 LayerNorms, (2W−1)² × heads table, qkv, proj, MLP; PatchMerging per later stage) and round to
// timm's published sizes: S 49.6 M, B 87.8 M, L 196.5 M, B-384 87.9 M, L-384 196.7 M, S3-T 28.3 M, S3-S 49.7 M,
// S3-B 71.1 M.
TEST(SwinCounts, TinyMatchesTimm) {
  auto tiny = build("swin_tiny_patch4_window7_224");
  EXPECT_EQ(parameter_count(*tiny), 28'288'354);
  EXPECT_EQ(state_dict(*tiny).size(), 173u);
  auto s3 = build("swin_s3_tiny_224");  // a 27 × 27 offset table in stage 2 (window 14)
  EXPECT_EQ(parameter_count(*s3), 28'328'674);
  EXPECT_EQ(state_dict(*s3).size(), 173u);
  // At 64 px the last two stages' windows clip to their maps (4 and 2): smaller tables, as timm builds them.
  EXPECT_EQ(parameter_count(*build("swin_tiny_patch4_window7_224", R"({"img_size": 64})")), 28'272'034);
  // 21841 classes (the in22k tags): only the head changes, by 20841 × (768 + 1).
  const std::string shallow = R"({"depths": [1, 1, 1, 1], "num_classes": )";
  EXPECT_EQ(parameter_count(*build("swin_tiny_patch4_window7_224", shallow + "21841}")) -
                parameter_count(*build("swin_tiny_patch4_window7_224", shallow + "1000}")),
            20'841 * 769);
}

// The other sizes, up to 197 million parameters: on demand only
// (--gtest_also_run_disabled_tests --gtest_filter='*AtFullSize*').
TEST(SwinCounts, DISABLED_OtherModelsAtFullSize) {
  constexpr Expected kLarge[] = {
      {"swin_small_patch4_window7_224", 49'606'258, 329},   {"swin_base_patch4_window7_224", 87'768'224, 329},
      {"swin_large_patch4_window7_224", 196'532'476, 329},  {"swin_base_patch4_window12_384", 87'903'584, 329},
      {"swin_large_patch4_window12_384", 196'735'516, 329}, {"swin_s3_small_224", 49'737'298, 329},
      {"swin_s3_base_224", 71'125'762, 485},
  };
  testing::expect_timm_counts(plugin_registry(), kLarge);
}

// ---- key names, order and shapes ----------------------------------------------------------------------------------

TEST(SwinKeys, TinyLayoutIsTimms) {
  auto net = build("swin_tiny_patch4_window7_224");
  const auto entries = state_dict(*net);
  const std::vector<std::string> first = {
      "patch_embed.proj.weight",
      "patch_embed.proj.bias",
      "patch_embed.norm.weight",
      "patch_embed.norm.bias",
      "layers.0.blocks.0.norm1.weight",
      "layers.0.blocks.0.norm1.bias",
      "layers.0.blocks.0.attn.relative_position_bias_table",  // the attention's own parameter precedes qkv
      "layers.0.blocks.0.attn.qkv.weight",
      "layers.0.blocks.0.attn.qkv.bias",
      "layers.0.blocks.0.attn.proj.weight",
      "layers.0.blocks.0.attn.proj.bias",
      "layers.0.blocks.0.norm2.weight",
      "layers.0.blocks.0.norm2.bias",
      "layers.0.blocks.0.mlp.fc1.weight",
      "layers.0.blocks.0.mlp.fc1.bias",
      "layers.0.blocks.0.mlp.fc2.weight",
      "layers.0.blocks.0.mlp.fc2.bias",
      "layers.0.blocks.1.norm1.weight"};
  for (std::size_t i = 0; i < first.size(); ++i) EXPECT_EQ(entries[i].first, first[i]);
  const auto down = std::find_if(entries.begin(), entries.end(),
                                 [](const auto& e) { return e.first == "layers.1.downsample.norm.weight"; });
  ASSERT_NE(down, entries.end());
  EXPECT_EQ(std::prev(down)->first, "layers.0.blocks.1.mlp.fc2.bias");  // PatchMerging begins stage 1
  EXPECT_EQ(std::next(down, 2)->first, "layers.1.downsample.reduction.weight");
  EXPECT_EQ(std::next(down, 3)->first, "layers.1.blocks.0.norm1.weight");
  const std::vector<std::string> last = {"norm.weight", "norm.bias", "head.fc.weight", "head.fc.bias"};
  for (std::size_t i = 0; i < last.size(); ++i) EXPECT_EQ(entries[entries.size() - last.size() + i].first, last[i]);

  const auto shapes = shapes_of(*net);
  EXPECT_EQ(shapes.at("patch_embed.proj.weight"), (Shape{96, 3, 4, 4}));
  EXPECT_EQ(shapes.at("patch_embed.norm.weight"), (Shape{96}));
  EXPECT_EQ(shapes.at("layers.0.blocks.0.attn.relative_position_bias_table"), (Shape{169, 3}));
  EXPECT_EQ(shapes.at("layers.0.blocks.0.attn.qkv.weight"), (Shape{288, 96}));
  EXPECT_EQ(shapes.at("layers.0.blocks.0.attn.qkv.bias"), (Shape{288}));
  EXPECT_EQ(shapes.at("layers.0.blocks.0.attn.proj.weight"), (Shape{96, 96}));
  EXPECT_EQ(shapes.at("layers.0.blocks.0.mlp.fc1.weight"), (Shape{384, 96}));
  EXPECT_EQ(shapes.at("layers.0.blocks.0.mlp.fc2.weight"), (Shape{96, 384}));
  EXPECT_EQ(shapes.at("layers.1.downsample.norm.weight"), (Shape{384}));
  EXPECT_EQ(shapes.at("layers.1.downsample.reduction.weight"), (Shape{192, 384}));
  EXPECT_FALSE(shapes.count("layers.1.downsample.reduction.bias"));
  EXPECT_EQ(shapes.at("layers.1.blocks.0.attn.relative_position_bias_table"), (Shape{169, 6}));
  EXPECT_EQ(shapes.at("layers.2.blocks.5.attn.relative_position_bias_table"), (Shape{169, 12}));
  EXPECT_EQ(shapes.at("layers.3.downsample.reduction.weight"), (Shape{768, 1536}));
  EXPECT_EQ(shapes.at("layers.3.blocks.1.attn.relative_position_bias_table"), (Shape{169, 24}));
  EXPECT_EQ(shapes.at("norm.weight"), (Shape{768}));
  EXPECT_EQ(shapes.at("head.fc.weight"), (Shape{1000, 768}));
  EXPECT_FALSE(shapes.count("layers.0.downsample.norm.weight"));  // stage 0 starts at the patch embedding

  // timm's non-persistent buffers are not in the state dict, nor registered at all.
  for (const auto& [key, _] : entries) {
    EXPECT_EQ(key.find("relative_position_index"), std::string::npos) << key;
    EXPECT_EQ(key.find("attn_mask"), std::string::npos) << key;
  }
  EXPECT_TRUE(net->named_buffers().is_empty());
  std::set<std::string> unique;
  for (const auto& [key, _] : entries) EXPECT_TRUE(unique.insert(key).second) << key;

  const auto w12 = shapes_of(*build("swin_base_patch4_window12_384", R"({"depths": [1, 1, 1, 1]})"));
  EXPECT_EQ(w12.at("layers.0.blocks.0.attn.relative_position_bias_table"), (Shape{529, 4}));
  EXPECT_EQ(w12.at("layers.3.blocks.0.attn.relative_position_bias_table"), (Shape{529, 32}));
  const auto s3 = shapes_of(*build("swin_s3_small_224", R"({"depths": [1, 1, 1, 1]})"));
  EXPECT_EQ(s3.at("layers.0.blocks.0.attn.relative_position_bias_table"), (Shape{729, 3}));   // window 14
  EXPECT_EQ(s3.at("layers.3.blocks.0.attn.relative_position_bias_table"), (Shape{169, 24}));  // window 7
}

// ---- windows, features and heads ----------------------------------------------------------------------------------

TEST(SwinFeatures, WindowsAndShiftsPerStage) {
  auto net = build("swin_tiny_patch4_window7_224", R"({"embed_dim": 16, "num_heads": [1, 1, 2, 2]})");
  const std::vector<Size2> windows = {{7, 7}, {7, 7}, {7, 7}, {7, 7}};
  const std::vector<Size2> shifts = {{3, 3}, {3, 3}, {3, 3}, {0, 0}};  // stage 3 is 7 × 7: one window, no shift
  for (std::size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    const auto& blocks = swin(net).stages()[i]->blocks;
    EXPECT_EQ(blocks[0]->window_size(), windows[i]);
    EXPECT_EQ(blocks[0]->shift_size(), (Size2{0, 0}));  // even blocks never shift
    EXPECT_EQ(blocks[1]->shift_size(), shifts[i]);
    EXPECT_EQ(blocks[1]->attn_mask().defined(), shifts[i][0] != 0);
  }
  EXPECT_EQ(swin(net).stages()[0]->blocks[1]->attn_mask().sizes(), torch::IntArrayRef({64, 49, 49}));

  auto small = build("swin_tiny_patch4_window7_224", kSmall64);  // maps 16, 8, 4, 2
  const std::vector<Size2> small_windows = {{7, 7}, {7, 7}, {4, 4}, {2, 2}};
  const std::vector<Size2> small_shifts = {{3, 3}, {3, 3}, {0, 0}, {0, 0}};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(swin(small).stages()[i]->blocks[1]->window_size(), small_windows[i]);
    EXPECT_EQ(swin(small).stages()[i]->blocks[1]->shift_size(), small_shifts[i]);
  }
  // 16 × 16 padded to 21 × 21: nine windows.
  EXPECT_EQ(swin(small).stages()[0]->blocks[1]->attn_mask().size(0), 9);
  // always_partition keeps the full window and shift on small maps (they are padded up to it).
  auto always = build("swin_tiny_patch4_window7_224",
                      R"({"img_size": 64, "embed_dim": 16, "depths": [2, 2, 2, 2], "num_heads": [1, 2, 2, 4],
                          "window_size": 4, "always_partition": true})");
  EXPECT_EQ(swin(always).stages()[3]->blocks[1]->window_size(), (Size2{4, 4}));
  EXPECT_EQ(swin(always).stages()[3]->blocks[1]->shift_size(), (Size2{2, 2}));
  always->eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(always->forward(torch::randn({1, 3, 64, 64})).sizes(), torch::IntArrayRef({1, 1000}));
}

TEST(SwinFeatures, FeaturesAreNhwcIntermediatesNchw) {
  auto net = build("swin_tiny_patch4_window7_224", kSmall64);
  const std::vector<FeatureInfo> expected = {
      {16, 4, "layers.0"}, {32, 8, "layers.1"}, {64, 16, "layers.2"}, {128, 32, "layers.3"}};
  ASSERT_EQ(net->feature_info().size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(net->feature_info()[i].num_chs, expected[i].num_chs);
    EXPECT_EQ(net->feature_info()[i].reduction, expected[i].reduction);
    EXPECT_EQ(net->feature_info()[i].module, expected[i].module);
  }
  EXPECT_EQ(net->num_features(), 128);
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 64, 64});
  const auto features = net->forward_features(x);
  EXPECT_EQ(features.sizes(), torch::IntArrayRef({2, 2, 2, 128}));  // NHWC, as timm
  const auto maps = net->forward_intermediates(x, {-1, 0, 2});
  ASSERT_EQ(maps.size(), 3u);
  EXPECT_EQ(maps[0].sizes(), torch::IntArrayRef({2, 128, 2, 2}));
  EXPECT_EQ(maps[1].sizes(), torch::IntArrayRef({2, 16, 16, 16}));
  EXPECT_EQ(maps[2].sizes(), torch::IntArrayRef({2, 64, 4, 4}));
  // The last map is the features before the final norm, permuted.
  const auto norm = std::dynamic_pointer_cast<torch::nn::LayerNormImpl>(net->named_children()["norm"]);
  ASSERT_NE(norm, nullptr);
  EXPECT_TRUE(torch::allclose(norm->forward(maps[0].permute({0, 2, 3, 1})), features, 1e-5, 1e-5));
  // The head averages over H and W.
  const auto pre = net->forward_head(features, /*pre_logits=*/true);
  EXPECT_TRUE(torch::allclose(pre, features.mean({1, 2}), 1e-6, 1e-6));
  EXPECT_EQ(net->forward(x).sizes(), torch::IntArrayRef({2, 5}));
}

TEST(SwinHeads, ResetAndNoPool) {
  auto net = build("swin_tiny_patch4_window7_224", kSmall64);
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 64, 64});
  const auto pre = net->forward_head(net->forward_features(x), true);
  net->reset_classifier(0);
  EXPECT_TRUE(torch::allclose(net->forward(x), pre));
  net->reset_classifier(3);
  EXPECT_EQ(net->forward(x).sizes(), torch::IntArrayRef({2, 3}));
  EXPECT_EQ(shapes_of(*net).at("head.fc.weight"), (Shape{3, 128}));

  // global_pool '': the head passes the NHWC features through (num_classes must be 0, as timm's pool-less head).
  auto maps = build("swin_tiny_patch4_window7_224",
                    R"({"img_size": 64, "embed_dim": 16, "depths": [2, 2, 2, 2], "num_heads": [1, 2, 2, 4],
                        "global_pool": "", "num_classes": 0})");
  maps->eval();
  EXPECT_EQ(maps->forward(x).sizes(), torch::IntArrayRef({2, 2, 2, 128}));
  EXPECT_EQ(error_text([&] { maps->reset_classifier(4); }),
            "swin_tiny_patch4_window7_224: reset_classifier: a classifier needs global_pool 'avg', this model has '' "
            "(got 4 classes); build it with global_pool 'avg'");
}

TEST(SwinInputs, StrictAndDynamicImageSizes) {
  auto strict = build("swin_tiny_patch4_window7_224", kSmall64);
  strict->eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(error_text([&] { strict->forward(torch::randn({1, 3, 96, 64})); }),
            "swin_tiny_patch4_window7_224: input size 96x64 does not match img_size 64x64; resize the input, build "
            "the model with img_size 96x64, or set strict_img_size=false (any multiple of patch_size 4; windows stay "
            "those of img_size)");
  EXPECT_EQ(error_text([&] { strict->forward(torch::randn({1, 1, 64, 64})); }),
            "swin_tiny_patch4_window7_224: expected an [N, 3, H, W] image batch, got sizes [1, 1, 64, 64]");

  // strict_img_size false: any multiple of the patch size; windows are img_size's, masks follow the input.
  auto dynamic = build("swin_tiny_patch4_window7_224",
                       R"({"img_size": 64, "embed_dim": 16, "depths": [2, 2, 2, 2], "num_heads": [1, 2, 2, 4],
                           "strict_img_size": false, "num_classes": 5})");
  dynamic->eval();
  for (const auto& [h, w] : std::vector<std::pair<int, int>>{{96, 64}, {36, 100}, {64, 64}}) {
    SCOPED_TRACE(std::to_string(h) + "x" + std::to_string(w));
    const auto x = torch::randn({1, 3, h, w});
    EXPECT_EQ(dynamic->forward_features(x).sizes(),
              torch::IntArrayRef({1, (((h / 4 + 1) / 2 + 1) / 2 + 1) / 2, (((w / 4 + 1) / 2 + 1) / 2 + 1) / 2, 128}));
  }
  // At img_size it computes what the strict model computes.
  for (auto& item : dynamic->named_parameters()) item.value().copy_(strict->named_parameters()[item.key()]);
  const auto x = torch::randn({2, 3, 64, 64});
  EXPECT_TRUE(torch::allclose(dynamic->forward(x), strict->forward(x), 1e-5, 1e-5));
  EXPECT_EQ(error_text([&] { dynamic->forward(torch::randn({1, 3, 66, 64})); }),
            "swin_tiny_patch4_window7_224: input size 66x64 is not a multiple of patch_size 4; resize or pad the "
            "input");
}

// ---- initialisation and training ------------------------------------------------------------------------------------

TEST(SwinInit, TimmInitialisation) {
  auto net = build("swin_tiny_patch4_window7_224", R"({"depths": [1, 1, 1, 2]})");
  auto params = net->named_parameters();
  const auto fc1 = params["layers.2.blocks.0.mlp.fc1.weight"];
  EXPECT_NEAR(fc1.std().item<double>(), 0.02, 0.002);
  EXPECT_TRUE(torch::all(params["layers.2.blocks.0.mlp.fc1.bias"] == 0).item<bool>());
  EXPECT_TRUE(torch::all(params["layers.2.blocks.0.attn.qkv.bias"] == 0).item<bool>());
  EXPECT_NEAR(params["layers.1.downsample.reduction.weight"].std().item<double>(), 0.02, 0.002);
  EXPECT_NEAR(params["head.fc.weight"].std().item<double>(), 0.02, 0.002);
  const auto table = params["layers.3.blocks.1.attn.relative_position_bias_table"];  // 169 × 24
  EXPECT_NEAR(table.std().item<double>(), 0.02, 0.003);
  EXPECT_GT(table.abs().max().item<double>(), 0.0);
  // The patch conv keeps PyTorch's default (uniform within 1/sqrt(fan_in) = 1/sqrt(48)); LayerNorms start at 1, 0.
  const auto proj = params["patch_embed.proj.weight"];
  EXPECT_LE(proj.abs().max().item<double>(), 1.0 / std::sqrt(48.0) + 1e-6);
  EXPECT_GT(proj.std().item<double>(), 0.05);
  EXPECT_TRUE(torch::all(params["layers.0.blocks.0.norm1.weight"] == 1).item<bool>());
  EXPECT_TRUE(torch::all(params["norm.bias"] == 0).item<bool>());
}

TEST(SwinTraining, DropPathOnlyInTrainModeAndGradientsReachTheTables) {
  // timm's default drop_path_rate is 0.1.
  auto net = build("swin_tiny_patch4_window7_224", kSmall64);
  const auto x = torch::randn({4, 3, 64, 64});
  {
    torch::NoGradGuard no_grad;
    net->eval();
    EXPECT_TRUE(torch::equal(net->forward(x), net->forward(x)));
    net->train();
    torch::manual_seed(1);
    const auto first = net->forward(x);
    torch::manual_seed(2);
    EXPECT_FALSE(torch::allclose(first, net->forward(x)));
  }
  auto plain = build("swin_tiny_patch4_window7_224",
                     R"({"img_size": 64, "embed_dim": 16, "depths": [2, 2, 2, 2], "num_heads": [1, 2, 2, 4],
                         "drop_path_rate": 0.0})");
  plain->train();
  plain->forward(x).sum().backward();
  const auto grad = plain->named_parameters()["layers.0.blocks.1.attn.relative_position_bias_table"].grad();
  ASSERT_TRUE(grad.defined());
  EXPECT_GT(grad.abs().sum().item<double>(), 0.0);
}

// ---- checkpoints ---------------------------------------------------------------------------------------------------

TEST(SwinCheckpoints, OldBuffersAreDroppedAndMicrosoftLayoutIsRenamed) {
  torch::manual_seed(7);
  auto source = build("swin_tiny_patch4_window7_224", kSmall64);
  source->eval();
  auto tensors = tensors_of(*source);
  // What older timm and Microsoft's checkpoints carry besides the parameters.
  tensors["layers.0.blocks.0.attn.relative_position_index"] = relative_position_index({7, 7});
  tensors["layers.0.blocks.1.attn_mask"] = torch::zeros({9, 49, 49});
  auto target = build("swin_tiny_patch4_window7_224", kSmall64);
  auto report = load_state_dict(*target, tensors, {.source = "old.pth"});
  EXPECT_EQ(report.adapted, (std::vector<std::string>{"layers.0.blocks.0.attn.relative_position_index",
                                                      "layers.0.blocks.1.attn_mask"}));
  target->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 3, 64, 64});
  const auto expected = source->forward(x);
  EXPECT_TRUE(torch::allclose(target->forward(x), expected));

  // Microsoft's layout: PatchMerging at the end of stages 0–2, the classifier at `head`.
  std::map<std::string, torch::Tensor> original;
  for (const auto& [key, tensor] : tensors_of(*source)) {
    std::string name = key;
    for (int stage = 1; stage < 4; ++stage) {
      const std::string prefix = "layers." + std::to_string(stage) + ".downsample.";
      if (name.starts_with(prefix)) {
        name = "layers." + std::to_string(stage - 1) + ".downsample." + name.substr(prefix.size());
      }
    }
    if (name.starts_with("head.fc.")) name = "head." + name.substr(8);
    original[name] = tensor;
  }
  original["layers.1.blocks.1.attn.relative_position_index"] = relative_position_index({7, 7});
  auto renamed = build("swin_tiny_patch4_window7_224", kSmall64);
  report = load_state_dict(*renamed, original, {.source = "swin_tiny_patch4_window7_224.pth"});
  EXPECT_EQ(report.adapted.size(), 3u * 3u + 2u + 1u);  // 3 × (norm.weight, norm.bias, reduction), head, index
  EXPECT_TRUE(std::find(report.adapted.begin(), report.adapted.end(), "layers.3.downsample.reduction.weight") !=
              report.adapted.end());
  renamed->eval();
  EXPECT_TRUE(torch::allclose(renamed->forward(x), expected));
}

TEST(SwinCheckpoints, Window7TablesLoadIntoAWindow12Model) {
  // Narrow Swin-B layouts: the window-7 224 model's tables (13 × 13 offsets) are resampled to the window-12 384
  // model's (23 × 23).
  const std::string narrow = R"({"embed_dim": 16, "depths": [2, 2, 2, 2], "num_heads": [1, 2, 4, 8]})";
  auto w7 = build("swin_base_patch4_window7_224", narrow);
  auto w12 = build("swin_base_patch4_window12_384", narrow);
  auto tensors = tensors_of(*w7);
  const auto original = tensors.at("layers.2.blocks.1.attn.relative_position_bias_table");
  const auto report = load_state_dict(*w12, tensors, {.source = "w7.safetensors"});
  EXPECT_EQ(report.adapted.size(), 8u);  // one table per block
  const auto loaded = w12->named_parameters()["layers.2.blocks.1.attn.relative_position_bias_table"];
  EXPECT_EQ(loaded.sizes(), torch::IntArrayRef({529, 4}));
  EXPECT_TRUE(torch::allclose(loaded, resize_rel_pos_bias_table(original, {12, 12})));
  EXPECT_TRUE(torch::equal(loaded[264], original[84]));  // offset (0, 0)
  // Everything else is copied as it is.
  EXPECT_TRUE(torch::equal(w12->named_parameters()["layers.2.blocks.1.attn.qkv.weight"],
                           tensors.at("layers.2.blocks.1.attn.qkv.weight")));

  // The same window: the tables are not touched, nothing is reported.
  auto again = build("swin_base_patch4_window7_224", narrow);
  EXPECT_TRUE(load_state_dict(*again, tensors_of(*w7), {.source = "w7.safetensors"}).adapted.empty());

  // Tables that cannot be resampled.
  auto broken = tensors_of(*w7);
  broken["layers.0.blocks.0.attn.relative_position_bias_table"] = torch::zeros({170, 1});
  EXPECT_EQ(error_text([&] { load_state_dict(*w12, broken, {.source = "broken.safetensors"}); }),
            "cannot load weights from broken.safetensors: 'layers.0.blocks.0.attn.relative_position_bias_table' has "
            "shape [170, 1], which is not the table of a square window to resample to 12x12 "
            "(resize_rel_pos_bias_table: expected a table of (2·window − 1)² positions (a square window), got 170 "
            "positions)");
  broken["layers.0.blocks.0.attn.relative_position_bias_table"] = torch::zeros({169, 3});
  EXPECT_EQ(error_text([&] { load_state_dict(*w12, broken, {.source = "broken.safetensors"}); }),
            "cannot load weights from broken.safetensors: 'layers.0.blocks.0.attn.relative_position_bias_table' has "
            "shape [169, 3], the model expects [529, 1] (window 12x12, 1 heads); only the window can be resampled, "
            "the head count must match: are these weights for another Swin variant?");
}

// ---- options and messages -----------------------------------------------------------------------------------------

TEST(SwinOptions, UserArgumentsOverrideTheVariant) {
  auto net = build("swin_tiny_patch4_window7_224",
                   R"({"img_size": [64, 96], "patch_size": 2, "in_chans": 1, "embed_dim": 8, "depths": [1, 1, 2],
                       "num_heads": [1, 2, 2], "window_size": [4, 6], "mlp_ratio": [2, 3, 4], "qkv_bias": false,
                       "head_dim": 4, "num_classes": 6})");
  const auto shapes = shapes_of(*net);
  EXPECT_EQ(shapes.at("patch_embed.proj.weight"), (Shape{8, 1, 2, 2}));
  EXPECT_EQ(shapes.at("layers.0.blocks.0.attn.relative_position_bias_table"), (Shape{7 * 11, 1}));
  EXPECT_EQ(shapes.at("layers.0.blocks.0.attn.qkv.weight"), (Shape{12, 8}));  // head_dim 4 × 1 head × 3
  EXPECT_FALSE(shapes.count("layers.0.blocks.0.attn.qkv.bias"));
  EXPECT_EQ(shapes.at("layers.0.blocks.0.attn.proj.weight"), (Shape{8, 4}));
  EXPECT_EQ(shapes.at("layers.1.blocks.0.mlp.fc1.weight"), (Shape{48, 16}));  // mlp_ratio 3 in stage 1
  EXPECT_EQ(shapes.at("head.fc.weight"), (Shape{6, 32}));
  EXPECT_EQ(net->feature_info().back().reduction, 8);
  net->eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(net->forward(torch::randn({1, 1, 64, 96})).sizes(), torch::IntArrayRef({1, 6}));
  // A null keeps the variant's value, as create_model drops None.
  EXPECT_EQ(swin(build("swin_s3_tiny_224", R"({"window_size": null, "depths": [1, 1, 1, 1]})")).stage_windows()[2],
            (Size2{14, 14}));
}

TEST(SwinOptions, MessagesNameTheField) {
  const std::string name = "swin_tiny_patch4_window7_224";
  EXPECT_EQ(error_text([&] { build(name, R"({"depths": [2, 2, 6]})"); }),
            "swin_tiny_patch4_window7_224: option 'num_heads': expected 3 head counts of at least 1 (one per stage in "
            "depths), got [3, 6, 12, 24]");
  EXPECT_EQ(error_text([&] { build(name, R"({"depths": [2, 0, 6, 2]})"); }),
            "swin_tiny_patch4_window7_224: option 'depths': expected one block count of at least 1 per stage, got "
            "[2, 0, 6, 2]");
  EXPECT_EQ(error_text([&] { build(name, R"({"window_size": [7, 7, 7]})"); }),
            "swin_tiny_patch4_window7_224: option 'window_size': expected one size, [height, width], or 4 sizes (one "
            "per stage), got [7, 7, 7]");
  EXPECT_EQ(error_text([&] { build(name, R"({"img_size": 230})"); }),
            "swin_tiny_patch4_window7_224: option 'img_size': expected positive multiples of patch_size 4, got "
            "230x230");
  EXPECT_EQ(error_text([&] { build(name, R"({"embed_dim": 2, "num_heads": [3, 6, 12, 24]})"); }),
            "swin_tiny_patch4_window7_224: option 'num_heads': expected at most the stage's width (2) heads in stage "
            "0, got [3, 6, 12, 24]; widen embed_dim, use fewer heads, or set head_dim");
  EXPECT_EQ(error_text([&] { build(name, R"({"global_pool": "max"})"); }),
            "swin_tiny_patch4_window7_224: option 'global_pool': expected 'avg' or '' (timm's Swin allows no other), "
            "got 'max'");
  EXPECT_EQ(error_text([&] { build(name, R"({"global_pool": ""})"); }),
            "swin_tiny_patch4_window7_224: option 'global_pool': expected 'avg' when num_classes > 0, got '' with "
            "num_classes=1000; set num_classes=0 to get the unpooled NHWC features from forward_head");
  EXPECT_EQ(error_text([&] { build(name, R"({"drop_path_rate": 1.5})"); }),
            "swin_tiny_patch4_window7_224: option 'drop_path_rate': expected a probability in [0, 1), got 1.5");
  EXPECT_EQ(error_text([&] { build(name, R"({"mlp_ratio": [4, 4]})"); }),
            "swin_tiny_patch4_window7_224: option 'mlp_ratio': expected one ratio, or 4 (one per stage), got [4, 4]");
  EXPECT_EQ(error_text([&] { build(name, R"({"dynamic_img_size": true})"); }),
            "option 'dynamic_img_size' in model_args of swin_tiny_patch4_window7_224: timm's Swin has no "
            "dynamic_img_size; set strict_img_size=false to accept any input whose sides are multiples of patch_size "
            "(windows stay those computed for img_size, shift masks follow each input)");
  EXPECT_EQ(error_text([&] { build(name, R"({"weight_init": "jax"})"); }),
            "option 'weight_init' in model_args of swin_tiny_patch4_window7_224: expected '' (timm's default "
            "initialisation), got 'jax'; the jax and moco schemes are not implemented (they only matter when "
            "training from scratch)");
  EXPECT_EQ(error_text([&] { build(name, R"({"embed_dim": [96, 192, 384, 768]})"); }),
            "option 'embed_dim' in model_args of swin_tiny_patch4_window7_224: expected an integer (stage i is "
            "embed_dim · 2^i wide), got a list; timm's SwinTransformer takes one width too");
  EXPECT_EQ(error_text([&] { build(name, R"({"qkv_bias": "yes"})"); }),
            "option 'qkv_bias' in model_args of swin_tiny_patch4_window7_224: expected boolean, got string \"yes\"");
  EXPECT_EQ(error_text([&] { build(name, R"({"window": 12})"); })
                .rfind("unknown option 'window' in model_args of swin_tiny_patch4_window7_224; did you mean", 0),
            0u);
  EXPECT_NO_THROW(build(name, R"({"dynamic_img_size": false, "weight_init": "", "norm_layer": "layernorm",
                                  "depths": [1, 1, 1, 1]})"));
}

// ---- registry and pretrained tags ---------------------------------------------------------------------------------

TEST(SwinRegistry, TagsFollowTimmsDefaultCfgs) {
  auto& backbones = plugin_registry().backbones();
  const std::map<std::string, std::string> default_tags = {
      {"swin_tiny_patch4_window7_224", "ms_in1k"},
      {"swin_small_patch4_window7_224", "ms_in22k_ft_in1k"},
      {"swin_base_patch4_window7_224", "ms_in22k_ft_in1k"},
      {"swin_base_patch4_window12_384", "ms_in22k_ft_in1k"},
      {"swin_large_patch4_window7_224", "ms_in22k_ft_in1k"},
      {"swin_large_patch4_window12_384", "ms_in22k_ft_in1k"},
      {"swin_s3_tiny_224", "ms_in1k"},
      {"swin_s3_small_224", "ms_in1k"},
      {"swin_s3_base_224", "ms_in1k"},
  };
  ASSERT_EQ(kSwinVariants.size(), default_tags.size());
  for (const auto& [arch, tag] : default_tags) {
    SCOPED_TRACE(arch);
    const auto& tags = backbones.get(arch).pretrained;
    ASSERT_FALSE(tags.empty());
    EXPECT_EQ(tags.front().tag, tag);
  }
  std::set<std::string> tiny_tags;
  for (const auto& cfg : backbones.get("swin_tiny_patch4_window7_224").pretrained) tiny_tags.insert(cfg.tag);
  EXPECT_EQ(tiny_tags, (std::set<std::string>{"ms_in1k", "ms_in22k_ft_in1k", "ms_in22k"}));
  EXPECT_EQ(backbones.get("swin_large_patch4_window7_224").pretrained.size(), 2u);  // no in1k-only weights

  const auto tiny = resolve_pretrained_cfg("swin_tiny_patch4_window7_224", &plugin_registry());
  EXPECT_EQ(tiny.tag, "ms_in1k");
  EXPECT_EQ(tiny.hf_hub_id, "timm/swin_tiny_patch4_window7_224.ms_in1k");
  EXPECT_EQ(tiny.input_size, (std::array<std::int64_t, 3>{3, 224, 224}));
  EXPECT_TRUE(tiny.fixed_input_size);
  EXPECT_EQ(tiny.interpolation, "bicubic");
  EXPECT_DOUBLE_EQ(tiny.crop_pct, 0.9);
  EXPECT_DOUBLE_EQ(tiny.mean[0], 0.485);
  EXPECT_DOUBLE_EQ(tiny.std[2], 0.225);
  EXPECT_EQ(tiny.num_classes, 1000);
  EXPECT_EQ(tiny.first_conv, "patch_embed.proj");
  EXPECT_EQ(tiny.classifier, "head.fc");
  EXPECT_EQ(tiny.license, "mit");

  const auto b384 = resolve_pretrained_cfg("swin_base_patch4_window12_384.ms_in22k", &plugin_registry());
  EXPECT_EQ(b384.input_size, (std::array<std::int64_t, 3>{3, 384, 384}));
  EXPECT_DOUBLE_EQ(b384.crop_pct, 1.0);
  EXPECT_EQ(b384.num_classes, 21841);
  EXPECT_EQ(b384.hf_hub_id, "timm/swin_base_patch4_window12_384.ms_in22k");
  EXPECT_EQ(resolve_pretrained_cfg("swin_small_patch4_window7_224.ms_in22k", &plugin_registry()).num_classes, 21841);

  // Each name is built at its default tag's input size (timm's fixed_input_size → img_size).
  for (const auto& variant : kSwinVariants) {
    SCOPED_TRACE(std::string(variant.name));
    const auto cfg = swin_default_cfg(variant.name);
    EXPECT_EQ(variant.img_size, cfg.input_size[1]);
    EXPECT_EQ(options_of(variant).img_size, (Size2{cfg.input_size[1], cfg.input_size[2]}));
  }
  // Every deprecated name resolves to a registered arch.tag.
  for (const auto& deprecated : kSwinDeprecatedNames) {
    SCOPED_TRACE(deprecated.name);
    EXPECT_NO_THROW(resolve_pretrained_cfg(deprecated.replacement, &plugin_registry()));
  }
  const auto message = error_text([] { plugin_registry().backbones().get("swin_tiny_patch4_window7"); });
  EXPECT_NE(message.find("swin_tiny_patch4_window7_224"), std::string::npos) << message;
}

TEST(SwinRegistry, EveryVariantBuildsNarrow) {
  for (const auto& variant : kSwinVariants) {
    SCOPED_TRACE(std::string(variant.name));
    auto net = build(std::string(variant.name),
                     R"({"embed_dim": 8, "depths": [2, 1, 1, 1], "num_heads": [1, 1, 2, 2], "num_classes": 3})");
    EXPECT_EQ(net->pretrained_cfg().architecture, variant.name);
    EXPECT_EQ(swin(net).options().img_size, (Size2{variant.img_size, variant.img_size}));
    net->eval();
    torch::NoGradGuard no_grad;
    EXPECT_EQ(net->forward(torch::randn({1, 3, variant.img_size, variant.img_size})).sizes(),
              torch::IntArrayRef({1, 3}));
  }
}

}  // namespace
}  // namespace autotimm::swin
