// ViT / DeiT unit tests: parameter counts and key names against timm, position-embedding resampling against an
// independent bicubic computation, dynamic image size, register tokens, distillation heads, pretrained tags and the
// options' error messages. Models are tiny (or built once at full size where the count is the point).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "autotimm/backbones.hpp"
#include "autotimm/error.hpp"
#include "autotimm/io/safetensors_torch.hpp"
#include "autotimm/layers/attention.hpp"
#include "autotimm/layers/pos_embed.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/testing/module_inspection.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "autotimm/pretrained_cfg_json.hpp"
#include "autotimm/stage_capture.hpp"
#include "autotimm/state_dict.hpp"
#include "variants.hpp"
#include "vision_transformer.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace {

using autotimm::testing::parameter_count;

autotimm::Registry& vit_registry() { return autotimm::testing::registry_of(autotimm_plugin_descriptor()); }

using autotimm::vit::GlobalPool;
using autotimm::vit::VisionTransformerImpl;
using autotimm::vit::VisionTransformerOptions;

std::shared_ptr<autotimm::Backbone> create(const std::string& name, boost::json::object model_args = {},
                                           std::optional<std::int64_t> num_classes = std::nullopt) {
  return autotimm::create_backbone(name, {.num_classes = num_classes, .model_args = std::move(model_args)},
                                   &vit_registry());
}

// A tiny model: width 32, one or two blocks.
std::shared_ptr<VisionTransformerImpl> tiny(VisionTransformerOptions options) {
  options.embed_dim = options.embed_dim == 768 ? 32 : options.embed_dim;
  options.depth = options.depth == 12 ? 1 : options.depth;
  options.num_heads = options.num_heads == 12 ? 2 : options.num_heads;
  if (options.num_classes == 1000) options.num_classes = 5;
  return std::make_shared<VisionTransformerImpl>(options);
}

std::vector<std::string> keys_of(const torch::nn::Module& module) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : autotimm::state_dict(module)) keys.push_back(key);
  return keys;
}

std::map<std::string, torch::Tensor> tensors_of(const torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& [key, value] : autotimm::state_dict(module)) tensors[key] = value.detach().clone();
  return tensors;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const autotimm::Error& e) {
    return e.what();
  }
  return "<no error>";
}

// ---- An independent bicubic resize, in double precision -------------------------------------------------------------

// One output sample: the input indices it reads and their weights.
using Taps = std::vector<std::pair<std::int64_t, double>>;

double cubic(double x, double a) {
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// Antialiased (PIL's "separable convolution") bicubic, a = -0.5: the kernel widens by the scale when shrinking, taps
// outside the image are dropped and the rest renormalised. align_corners=false.
std::vector<Taps> antialiased_taps(std::int64_t in, std::int64_t out) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double support = 2.0 * std::max(scale, 1.0);
  const double inv = scale >= 1.0 ? 1.0 / scale : 1.0;
  std::vector<Taps> taps(static_cast<std::size_t>(out));
  for (std::int64_t i = 0; i < out; ++i) {
    const double center = scale * (static_cast<double>(i) + 0.5);
    const auto lo = std::max<std::int64_t>(static_cast<std::int64_t>(center - support + 0.5), 0);
    const auto hi = std::min<std::int64_t>(static_cast<std::int64_t>(center + support + 0.5), in);
    double total = 0.0;
    for (std::int64_t j = lo; j < hi; ++j) {
      const double w = cubic((static_cast<double>(j) - center + 0.5) * inv, -0.5);
      taps[static_cast<std::size_t>(i)].emplace_back(j, w);
      total += w;
    }
    for (auto& tap : taps[static_cast<std::size_t>(i)]) tap.second /= total;
  }
  return taps;
}

// Plain bicubic (Keys, a = -0.75): four taps around the source position, indices clamped at the border.
std::vector<Taps> plain_taps(std::int64_t in, std::int64_t out) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  std::vector<Taps> taps(static_cast<std::size_t>(out));
  for (std::int64_t i = 0; i < out; ++i) {
    const double source = (static_cast<double>(i) + 0.5) * scale - 0.5;
    const auto floor = static_cast<std::int64_t>(std::floor(source));
    const double t = source - static_cast<double>(floor);
    for (std::int64_t k = -1; k <= 2; ++k) {
      const std::int64_t index = std::clamp<std::int64_t>(floor + k, 0, in - 1);
      taps[static_cast<std::size_t>(i)].emplace_back(index, cubic(static_cast<double>(k) - t, -0.75));
    }
  }
  return taps;
}

// [1, prefix + h·w, C] → [1, prefix + H·W, C] through separable taps, prefix copied.
torch::Tensor reference_resample(const torch::Tensor& posemb, std::int64_t prefix, std::int64_t h, std::int64_t w,
                                 std::int64_t new_h, std::int64_t new_w, bool antialias) {
  const auto rows = antialias ? antialiased_taps(h, new_h) : plain_taps(h, new_h);
  const auto cols = antialias ? antialiased_taps(w, new_w) : plain_taps(w, new_w);
  const auto grid = posemb[0].narrow(0, prefix, h * w).to(torch::kFloat64).reshape({h, w, -1});
  auto out = torch::zeros({new_h, new_w, grid.size(2)}, torch::kFloat64);
  for (std::int64_t y = 0; y < new_h; ++y) {
    for (std::int64_t x = 0; x < new_w; ++x) {
      for (const auto& [iy, wy] : rows[static_cast<std::size_t>(y)]) {
        for (const auto& [ix, wx] : cols[static_cast<std::size_t>(x)]) out[y][x] += wy * wx * grid[iy][ix];
      }
    }
  }
  return torch::cat({posemb[0].narrow(0, 0, prefix).to(torch::kFloat64), out.reshape({new_h * new_w, -1})}, 0)
      .unsqueeze(0);
}

// ---- Sizes and names ------------------------------------------------------------------------------------------------

TEST(VitModels, ParameterCountsMatchTimm) {
  // timm's published counts (num_classes from each name's default tag).
  EXPECT_EQ(parameter_count(*create("vit_tiny_patch16_224")), 5'717'416);
  EXPECT_EQ(parameter_count(*create("deit_tiny_distilled_patch16_224")), 5'910'800);
  // Initialising 10⁸ weights costs seconds per model, and a model's blocks are identical, so the larger ones are
  // counted from depths 1 and 2: count(depth) = count(1) + (depth - 1) · (count(2) - count(1)).
  const std::pair<const char*, std::int64_t> expected[] = {
      {"vit_small_patch16_224", 22'050'664},           {"vit_base_patch16_224", 86'567'656},
      {"vit_base_patch32_224", 88'224'232},            {"vit_base_patch16_384", 86'859'496},
      {"vit_large_patch16_224", 304'326'632},          {"deit_small_distilled_patch16_224", 22'436'432},
      {"deit3_small_patch16_224", 22'059'496},         {"vit_small_patch14_reg4_dinov2", 22'057'344},
      {"vit_medium_patch16_gap_256", 38'861'288},
  };
  for (const auto& [name, count] : expected) {
    SCOPED_TRACE(name);
    const auto one = parameter_count(*create(name, {{"depth", 1}}));
    const auto two = parameter_count(*create(name, {{"depth", 2}}));
    const auto* variant = std::find_if(autotimm::vit::kVitVariants.begin(), autotimm::vit::kVitVariants.end(),
                                       [&](const auto& v) { return v.name == name; });
    ASSERT_NE(variant, autotimm::vit::kVitVariants.end());
    EXPECT_EQ(one + (variant->depth - 1) * (two - one), count);
  }
}

TEST(VitModels, FixtureConfigurationHasTimmsKeysInTimmsOrder) {
  const auto net = create("vit_tiny_patch16_224", {{"depth", 2}}, 10);
  EXPECT_EQ(parameter_count(*net), 1'077'706);
  const std::vector<std::string> block = {"norm1.weight",    "norm1.bias",      "attn.qkv.weight", "attn.qkv.bias",
                                          "attn.proj.weight", "attn.proj.bias", "norm2.weight",    "norm2.bias",
                                          "mlp.fc1.weight",  "mlp.fc1.bias",    "mlp.fc2.weight",  "mlp.fc2.bias"};
  std::vector<std::string> expected = {"cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias"};
  for (int i = 0; i < 2; ++i) {
    for (const auto& key : block) expected.push_back("blocks." + std::to_string(i) + "." + key);
  }
  for (const char* key : {"norm.weight", "norm.bias", "head.weight", "head.bias"}) expected.emplace_back(key);
  EXPECT_EQ(keys_of(*net), expected);

  // The fixture timm saved holds exactly these keys.
  const auto fixture = std::filesystem::path(AUTOTIMM_SHARED_DIR) / "fixtures" / "timm" /
                       "vit_tiny_patch16_224.fixture-depth2" / "model.safetensors";
  if (std::filesystem::exists(fixture)) {
    std::vector<std::string> saved;
    for (const auto& [key, value] : autotimm::load_safetensors(fixture, torch::kFloat32)) saved.push_back(key);
    auto sorted = expected;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(saved, sorted);
  }
}

TEST(VitModels, DistilledRegisterAndLayerScaleKeysFollowTimm) {
  const auto deit = create("deit_tiny_distilled_patch16_224", {{"depth", 1}});
  const auto keys = keys_of(*deit);
  EXPECT_EQ(std::vector<std::string>(keys.begin(), keys.begin() + 3),
            (std::vector<std::string>{"cls_token", "pos_embed", "dist_token"}));
  EXPECT_EQ(std::vector<std::string>(keys.end() - 4, keys.end()),
            (std::vector<std::string>{"head.weight", "head.bias", "head_dist.weight", "head_dist.bias"}));
  EXPECT_EQ(autotimm::state_dict(*deit)[1].second.sizes(), torch::IntArrayRef({1, 198, 192}));

  const auto dino = create("vit_small_patch14_reg4_dinov2", {{"depth", 1}});
  const auto dino_keys = keys_of(*dino);
  EXPECT_EQ(std::vector<std::string>(dino_keys.begin(), dino_keys.begin() + 3),
            (std::vector<std::string>{"cls_token", "reg_token", "pos_embed"}));
  const auto state = autotimm::state_dict(*dino);
  EXPECT_EQ(state[1].second.sizes(), torch::IntArrayRef({1, 4, 384}));
  EXPECT_EQ(state[2].second.sizes(), torch::IntArrayRef({1, 37 * 37, 384}));  // no_embed_class: patches only
  const auto proj_bias = std::find(dino_keys.begin(), dino_keys.end(), "blocks.0.attn.proj.bias");
  ASSERT_NE(proj_bias, dino_keys.end());
  EXPECT_EQ(*(proj_bias + 1), "blocks.0.ls1.gamma");
  EXPECT_EQ(*(proj_bias + 4), "blocks.0.mlp.fc1.weight");
  EXPECT_NE(std::find(dino_keys.begin(), dino_keys.end(), "blocks.0.ls2.gamma"), dino_keys.end());
  EXPECT_TRUE(torch::allclose(state[std::distance(dino_keys.begin(), proj_bias) + 1].second,
                              torch::full({384}, 1e-5)));
  EXPECT_EQ(dino->num_classes(), 0);  // the DINOv2 tag is headless, so the name's default is too
}

TEST(VitModels, EveryVariantsImageSizeIsItsDefaultTagsInputSize) {
  for (const auto& variant : autotimm::vit::kVitVariants) {
    SCOPED_TRACE(std::string(variant.name));
    const auto cfg = autotimm::vit::vit_default_cfg(variant.name);
    EXPECT_EQ(cfg.input_size[1], variant.img_size);
    EXPECT_EQ(cfg.input_size[2], variant.img_size);
    EXPECT_EQ(variant.img_size % variant.patch_size, 0);
  }
}

TEST(VitModels, FeatureInfoHasOneEntryPerBlockAtThePatchStride) {
  const auto net = create("vit_small_patch32_224", {{"depth", 3}});
  const auto& info = net->feature_info();
  ASSERT_EQ(info.size(), 3u);
  for (std::size_t i = 0; i < info.size(); ++i) {
    EXPECT_EQ(info[i].module, "blocks." + std::to_string(i));
    EXPECT_EQ(info[i].num_chs, 384);
    EXPECT_EQ(info[i].reduction, 32);
  }
  EXPECT_EQ(net->pretrained_cfg().first_conv, "patch_embed.proj");
  EXPECT_EQ(net->pretrained_cfg().classifier, "head");
}

// ---- Forward paths --------------------------------------------------------------------------------------------------

TEST(VitForward, IntermediatesAreTheBlocksPatchTokensAsNchw) {
  torch::manual_seed(0);
  const auto net = tiny({.img_size = {32, 48}, .depth = 3, .reg_tokens = 2});
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 32, 48});
  const auto maps = net->forward_intermediates(x, {0, -1});
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[0].sizes(), torch::IntArrayRef({2, 32, 2, 3}));
  // The last block's map, flattened back to tokens and put through the final norm, is forward_features without the
  // 1 + 2 prefix tokens.
  const auto tokens = net->forward_features(x);
  const auto& ln = *net->named_modules()["norm"]->as<torch::nn::LayerNormImpl>();
  const auto flat = maps[1].flatten(2).transpose(1, 2);
  const auto normed = torch::layer_norm(flat, {32}, ln.weight, ln.bias, 1e-6);
  EXPECT_TRUE(torch::allclose(normed, tokens.narrow(1, 3, 6), 1e-5, 1e-5));
}

TEST(VitForward, RegisterTokensWithoutClassTokenPoolOnlyThePatches) {
  torch::manual_seed(0);
  const auto net = tiny({.img_size = {64, 64}, .global_pool = GlobalPool::avg, .class_token = false,
                         .no_embed_class = true, .reg_tokens = 4, .fc_norm = false});
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 64, 64});
  const auto features = net->forward_features(x);
  EXPECT_EQ(features.sizes(), torch::IntArrayRef({2, 4 + 16, 32}));
  EXPECT_EQ(net->num_prefix_tokens(), 4);
  EXPECT_TRUE(torch::allclose(net->forward_head(features, true), features.narrow(1, 4, 16).mean(1)));
  const auto keys = keys_of(*net);
  EXPECT_EQ(keys.front(), "reg_token");
  EXPECT_EQ(std::count(keys.begin(), keys.end(), "cls_token"), 0);
  EXPECT_EQ(net->forward_intermediates(x, {-1})[0].sizes(), torch::IntArrayRef({2, 32, 4, 4}));
}

TEST(VitForward, DynamicImageSizeResamplesThePositionEmbeddingToANonSquareInput) {
  torch::manual_seed(0);
  const auto dynamic = tiny({.img_size = {32, 32}, .dynamic_img_size = true});
  dynamic->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 3, 48, 80});
  const auto features = dynamic->forward_features(x);
  EXPECT_EQ(features.sizes(), torch::IntArrayRef({1, 1 + 3 * 5, 32}));
  EXPECT_EQ(dynamic->forward_intermediates(x, {0})[0].sizes(), torch::IntArrayRef({1, 32, 3, 5}));

  // The same weights in a fixed 48 × 80 model whose embedding is the resampled one give the same tokens.
  const auto fixed = tiny({.img_size = {48, 80}});
  fixed->eval();
  auto weights = tensors_of(*dynamic);
  weights["pos_embed"] = autotimm::layers::resample_abs_pos_embed(weights["pos_embed"], {3, 5}, std::nullopt, 1);
  autotimm::load_state_dict(*fixed, weights);
  EXPECT_TRUE(torch::allclose(fixed->forward_features(x), features, 1e-6, 1e-6));

  // Without dynamic_img_size the input must have the model's size.
  EXPECT_NE(error_of([&] { fixed->forward(torch::randn({1, 3, 48, 64})); }).find("does not match the model's img_size"),
            std::string::npos);
}

TEST(VitForward, DistilledModelAveragesItsTwoHeadsInEvalAndTrain) {
  torch::manual_seed(0);
  const auto net = tiny({.img_size = {32, 32}, .distilled = true});
  const auto x = torch::randn({2, 3, 32, 32});
  for (const bool training : {false, true}) {
    SCOPED_TRACE(training ? "train" : "eval");
    net->train(training);
    torch::NoGradGuard no_grad;
    const auto features = net->forward_features(x);
    EXPECT_EQ(features.size(1), 2 + 4);
    const auto [head, head_dist] = net->forward_distillation_heads(features);
    const auto modules = net->named_modules();
    const auto& h = *modules["head"]->as<torch::nn::LinearImpl>();
    const auto& hd = *modules["head_dist"]->as<torch::nn::LinearImpl>();
    EXPECT_TRUE(torch::allclose(head, torch::linear(features.select(1, 0), h.weight, h.bias)));
    EXPECT_TRUE(torch::allclose(head_dist, torch::linear(features.select(1, 1), hd.weight, hd.bias)));
    EXPECT_TRUE(torch::allclose(net->forward(x), (head + head_dist) / 2, 1e-6, 1e-6));
    EXPECT_TRUE(torch::allclose(net->forward_head(features, true),
                                (features.select(1, 0) + features.select(1, 1)) / 2));
  }
  const auto plain = tiny({.img_size = {32, 32}});
  EXPECT_NE(error_of([&] { plain->forward_distillation_heads(plain->forward_features(x)); })
                .find("no distillation token"),
            std::string::npos);
}

TEST(VitForward, PlainAttentionMatchesLibTorchsPrivateFusedAttention) {
  // The path we use (timm's unfused order) against at::_scaled_dot_product_attention, which scales q and k by
  // d^-1/4 each: equal to float rounding, which is why the plain path, bit-exact with timm on 1.13, is kept.
  torch::manual_seed(0);
  const auto q = torch::randn({2, 3, 50, 64}), k = torch::randn({2, 3, 50, 64}), v = torch::randn({2, 3, 50, 64});
  const auto ours = autotimm::layers::scaled_dot_product_attention(q, k, v);
  const auto fused = std::get<0>(at::_scaled_dot_product_attention(q, k, v));
  EXPECT_LT((ours - fused).abs().max().item<double>(), 1e-5);
  const auto manual = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) / 8.0, -1).matmul(v);
  EXPECT_LT((ours - manual).abs().max().item<double>(), 1e-5);
}

TEST(VitForward, AttentionCaptureRecordsEachBlocksAttentionWeightsInDepthOrder) {
  torch::manual_seed(0);
  const auto net = tiny({.img_size = {32, 32}, .depth = 3, .reg_tokens = 1});
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 32, 32});
  autotimm::StageCapture block0(*net, 0);
  autotimm::layers::AttentionCapture capture;
  const auto features = net->forward_features(x);
  const auto& weights = capture.weights();
  ASSERT_EQ(weights.size(), 3u);
  for (const auto& w : weights) {
    EXPECT_EQ(w.sizes(), torch::IntArrayRef({2, 2, 6, 6}));  // 2 heads; 1 class + 1 register + 4 patch tokens
    EXPECT_TRUE(torch::allclose(w.sum(-1), torch::ones({2, 2, 6}), 1e-5, 1e-5));
  }
  // Block 1's weights recomputed by hand from its input (block 0's output, from the stage tap): norm1, qkv, then
  // softmax(q kᵀ / √d) per head.
  ASSERT_TRUE(block0.reached());
  auto modules = net->named_modules();
  const auto& norm1 = *modules["blocks.1.norm1"]->as<torch::nn::LayerNormImpl>();
  const auto& attn = *modules["blocks.1.attn"]->as<autotimm::layers::AttentionImpl>();
  const auto normed = torch::layer_norm(block0.output(), {32}, norm1.weight, norm1.bias, 1e-6);
  const auto qkv = torch::linear(normed, attn.qkv->weight, attn.qkv->bias).reshape({2, 6, 3, 2, 16});
  const auto q = qkv.select(2, 0).transpose(1, 2), k = qkv.select(2, 1).transpose(1, 2);
  const auto expected = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) / 4.0, -1);
  EXPECT_TRUE(torch::allclose(weights[1], expected, 1e-5, 1e-5));
  // Recording changes nothing in the output, and nothing is recorded once the capture is gone.
  EXPECT_TRUE(torch::equal(features, net->forward_features(x)));
  EXPECT_EQ(weights.size(), 6u);
}

TEST(VitForward, NoAttentionIsRecordedOutsideACapture) {
  torch::manual_seed(0);
  const auto net = tiny({.img_size = {32, 32}, .depth = 2});
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 3, 32, 32});
  std::size_t recorded = 0;
  {
    autotimm::layers::AttentionCapture capture;
    net->forward_features(x);
    recorded = capture.weights().size();
  }
  autotimm::layers::AttentionCapture later;  // a new capture starts empty and sees only what runs after it
  EXPECT_EQ(recorded, 2u);
  EXPECT_TRUE(later.weights().empty());
  net->forward_features(x);
  EXPECT_EQ(later.weights().size(), 2u);
}

// ---- Position-embedding resampling ----------------------------------------------------------------------------------

TEST(VitPosEmbed, ResamplingMatchesAnIndependentBicubicWithAndWithoutAntialiasing) {
  torch::manual_seed(0);
  const auto posemb = torch::randn({1, 1 + 5 * 7, 6});
  for (const bool antialias : {true, false}) {
    for (const auto& [h, w] : {std::pair<std::int64_t, std::int64_t>{9, 4}, {3, 3}, {5, 7}}) {
      SCOPED_TRACE(std::string(antialias ? "antialias " : "plain ") + std::to_string(h) + "x" + std::to_string(w));
      const auto ours =
          autotimm::layers::resample_abs_pos_embed(posemb, {h, w}, std::array<std::int64_t, 2>{5, 7}, 1, antialias);
      const auto expected = reference_resample(posemb, 1, 5, 7, h, w, antialias);
      ASSERT_EQ(ours.sizes(), expected.sizes());
      EXPECT_LT((ours.to(torch::kFloat64) - expected).abs().max().item<double>(), 1e-5);
    }
  }
  // The antialiased kernel differs from the plain one even when enlarging: timm's choice matters.
  const auto aa = autotimm::layers::resample_abs_pos_embed(posemb, {9, 9}, std::array<std::int64_t, 2>{5, 7}, 1, true);
  const auto plain =
      autotimm::layers::resample_abs_pos_embed(posemb, {9, 9}, std::array<std::int64_t, 2>{5, 7}, 1, false);
  EXPECT_GT((aa - plain).abs().max().item<double>(), 1e-3);
}

TEST(VitPosEmbed, A224CheckpointLoadsIntoA384ModelWithItsEmbeddingResampled) {
  torch::manual_seed(0);
  const auto small = create("vit_tiny_patch16_224", {{"depth", 1}});
  const auto file = std::filesystem::temp_directory_path() / "autotimm_vit_224_checkpoint.safetensors";
  autotimm::save_safetensors(file, tensors_of(*small));
  const auto large = autotimm::create_backbone(
      "vit_tiny_patch16_384", {.model_args = {{"depth", 1}}, .pretrained_file = file}, &vit_registry());
  std::filesystem::remove(file);

  const auto source = tensors_of(*small).at("pos_embed");  // [1, 1 + 14·14, 192]
  const auto loaded = tensors_of(*large).at("pos_embed");  // [1, 1 + 24·24, 192]
  ASSERT_EQ(loaded.sizes(), torch::IntArrayRef({1, 1 + 24 * 24, 192}));
  const auto expected = reference_resample(source, 1, 14, 14, 24, 24, /*antialias=*/true);
  EXPECT_LT((loaded.to(torch::kFloat64) - expected).abs().max().item<double>(), 1e-5);
  EXPECT_TRUE(torch::equal(loaded.select(1, 0), source.select(1, 0)));  // the class token's entry is kept
  EXPECT_TRUE(torch::equal(tensors_of(*large).at("blocks.0.attn.qkv.weight"),
                           tensors_of(*small).at("blocks.0.attn.qkv.weight")));
}

TEST(VitPosEmbed, ShrinkingKeepsRegisterFreeGridsAndReportsTheAdaptedKey) {
  torch::manual_seed(0);
  // no_embed_class: the embedding has no prefix entries, the whole table is the grid.
  const auto source = tiny({.img_size = {80, 80}, .no_embed_class = true, .reg_tokens = 2});
  const auto target = tiny({.img_size = {48, 48}, .no_embed_class = true, .reg_tokens = 2});
  const auto weights = tensors_of(*source);
  const auto report = autotimm::load_state_dict(*target, weights);
  EXPECT_EQ(report.adapted, std::vector<std::string>{"pos_embed"});
  const auto expected = reference_resample(weights.at("pos_embed"), 0, 5, 5, 3, 3, true);
  EXPECT_LT((tensors_of(*target).at("pos_embed").to(torch::kFloat64) - expected).abs().max().item<double>(), 1e-5);
}

TEST(VitPosEmbed, AnEmbeddingThatIsNoGridIsRefusedWithAReason) {
  const auto target = tiny({.img_size = {32, 32}});
  auto weights = tensors_of(*target);
  weights["pos_embed"] = torch::zeros({1, 1 + 7, 32});
  const auto message = error_of([&] { autotimm::load_state_dict(*target, weights, {.source = "odd.safetensors"}); });
  EXPECT_NE(message.find("odd.safetensors"), std::string::npos) << message;
  EXPECT_NE(message.find("not a square grid"), std::string::npos) << message;
}

// ---- Heads and classifier dropping ----------------------------------------------------------------------------------

TEST(VitHeads, DistilledCheckpointWithOtherClassesDropsBothHeads) {
  torch::manual_seed(0);
  const auto source = tiny({.img_size = {32, 32}, .num_classes = 999, .distilled = true});
  const auto target = tiny({.img_size = {32, 32}, .num_classes = 10, .distilled = true});
  const auto report = autotimm::load_state_dict(*target, tensors_of(*source), {.classifier = "head,head_dist"});
  std::vector<std::string> dropped = report.dropped;
  std::sort(dropped.begin(), dropped.end());
  EXPECT_EQ(dropped,
            (std::vector<std::string>{"head.bias", "head.weight", "head_dist.bias", "head_dist.weight"}));
  EXPECT_EQ(target->forward(torch::randn({1, 3, 32, 32})).sizes(), torch::IntArrayRef({1, 10}));
}

TEST(VitHeads, ResetClassifierReplacesBothHeadsOnTheModelsDtype) {
  const auto net = tiny({.img_size = {32, 32}, .distilled = true});
  net->to(torch::kFloat64);
  net->reset_classifier(3);
  EXPECT_EQ(net->num_classes(), 3);
  EXPECT_EQ(net->forward(torch::randn({1, 3, 32, 32}, torch::kFloat64)).sizes(), torch::IntArrayRef({1, 3}));
  net->reset_classifier(0);
  const auto keys = keys_of(*net);
  EXPECT_EQ(std::count_if(keys.begin(), keys.end(), [](const auto& k) { return k.starts_with("head"); }), 0);
}

// ---- Pretrained tags ------------------------------------------------------------------------------------------------

TEST(VitPretrained, TagsFollowTimmsDefaultCfgs) {
  const auto& base = vit_registry().backbones().get("vit_base_patch16_224");
  ASSERT_FALSE(base.pretrained.empty());
  EXPECT_EQ(base.pretrained.front().tag, "augreg2_in21k_ft_in1k");
  EXPECT_EQ(base.pretrained.front().hf_hub_id, "timm/vit_base_patch16_224.augreg2_in21k_ft_in1k");
  EXPECT_EQ(base.pretrained.front().mean, (std::array<double, 3>{0.5, 0.5, 0.5}));
  EXPECT_DOUBLE_EQ(base.pretrained.front().crop_pct, 0.9);

  const auto dino = autotimm::resolve_pretrained_cfg("vit_small_patch16_224.dino", &vit_registry());
  EXPECT_EQ(dino.num_classes, 0);
  EXPECT_EQ(dino.mean, (std::array<double, 3>{0.485, 0.456, 0.406}));
  const auto in21k = autotimm::resolve_pretrained_cfg("vit_tiny_patch16_224.augreg_in21k", &vit_registry());
  EXPECT_EQ(in21k.num_classes, 21843);
  const auto mae = autotimm::resolve_pretrained_cfg("vit_base_patch16_224.mae", &vit_registry());
  EXPECT_EQ(mae.license, "cc-by-nc-4.0");

  const auto deit = autotimm::resolve_pretrained_cfg("deit_base_distilled_patch16_384", &vit_registry());
  EXPECT_EQ(deit.tag, "fb_in1k");
  EXPECT_EQ(deit.input_size, (std::array<std::int64_t, 3>{3, 384, 384}));
  EXPECT_DOUBLE_EQ(deit.crop_pct, 1.0);
  EXPECT_EQ(deit.classifier, "head,head_dist");
  EXPECT_EQ(deit.mean, (std::array<double, 3>{0.485, 0.456, 0.406}));

  // timm writes the two-head classifier as a list; it reads back as the same names.
  const auto json = autotimm::pretrained_cfg_to_json(deit);
  ASSERT_TRUE(json.at("classifier").is_array());
  EXPECT_EQ(json.at("classifier").as_array().size(), 2u);
  EXPECT_EQ(autotimm::pretrained_cfg_from_json(json, "test").classifier, "head,head_dist");

  EXPECT_TRUE(vit_registry().backbones().get("vit_base_patch16_gap_224").pretrained.empty());
  EXPECT_EQ(vit_registry().backbone_aliases().find("vit_base_patch16_224_in21k")->target,
            "vit_base_patch16_224.augreg_in21k");
}

// ---- Options --------------------------------------------------------------------------------------------------------

TEST(VitOptions, ModelArgsReachTheModel) {
  const auto net = create("vit_tiny_patch16_224",
                          {{"depth", 1}, {"img_size", boost::json::array{32, 64}}, {"global_pool", "avg"},
                           {"class_token", false}, {"reg_tokens", 2}, {"init_values", 0.5}, {"qkv_bias", false}},
                          4);
  auto* vit = dynamic_cast<VisionTransformerImpl*>(net.get());
  ASSERT_NE(vit, nullptr);
  EXPECT_EQ(vit->grid_size(), (std::array<std::int64_t, 2>{2, 4}));
  EXPECT_EQ(vit->num_prefix_tokens(), 2);
  const auto keys = keys_of(*net);
  EXPECT_EQ(std::count(keys.begin(), keys.end(), "blocks.0.attn.qkv.bias"), 0);
  EXPECT_EQ(std::count(keys.begin(), keys.end(), "fc_norm.weight"), 1);  // avg pool: the norm moves after pooling
  EXPECT_EQ(std::count(keys.begin(), keys.end(), "norm.weight"), 0);
  EXPECT_EQ(net->forward(torch::randn({1, 3, 32, 64})).sizes(), torch::IntArrayRef({1, 4}));
}

TEST(VitOptions, BadModelArgsAreRefusedWithTheKeyAndTheFix) {
  const auto expect_error = [](boost::json::object args, const std::string& needle) {
    const auto message = error_of([&] { create("vit_tiny_patch16_224", std::move(args)); });
    EXPECT_NE(message.find(needle), std::string::npos) << "expected '" << needle << "' in: " << message;
  };
  expect_error({{"depht", 2}}, "depth");
  expect_error({{"global_pool", "map"}}, "attention pooling");
  expect_error({{"global_pool", "mean"}}, "'token'");
  expect_error({{"class_token", false}}, "global_pool");
  expect_error({{"num_heads", 5}}, "num_heads");
  expect_error({{"img_size", 100}}, "img_size");
  expect_error({{"patch_drop_rate", 0.1}}, "PatchDropout");
  expect_error({{"weight_init", "jax"}}, "weight_init");
  expect_error({{"norm_layer", "rmsnorm"}}, "norm_layer");
  expect_error({{"depth", "two"}}, "depth");
  expect_error({{"drop_path_rate", 1.5}}, "drop_path_rate");
  const auto deit_error = error_of([] { create("deit_tiny_distilled_patch16_224", {{"global_pool", "avg"}}); });
  EXPECT_NE(deit_error.find("distilled"), std::string::npos) << deit_error;
}

// The full-size sweep (every name, 3 × 10⁹ parameters together) runs on demand:
//   vit_backbone_test --gtest_also_run_disabled_tests --gtest_filter='*EveryVariantAtFullSize*'
TEST(VitModels, DISABLED_EveryVariantAtFullSize) {
  for (const auto& variant : autotimm::vit::kVitVariants) {
    SCOPED_TRACE(std::string(variant.name));
    const auto net = create(std::string(variant.name), {}, 7);
    net->eval();
    torch::NoGradGuard no_grad;
    const auto x = torch::randn({1, 3, variant.img_size, variant.img_size});
    EXPECT_EQ(net->forward(x).sizes(), torch::IntArrayRef({1, 7}));
  }
}

TEST(VitModels, EveryVariantBuildsAndRunsWhenNarrowed) {
  // Each name's own flags (class token, registers, pools, layer scale, distillation) at depth 1, 8 channels per head
  // and two patches a side, so the sweep stays fast.
  for (const auto& variant : autotimm::vit::kVitVariants) {
    SCOPED_TRACE(std::string(variant.name));
    const auto side = variant.patch_size * 2;
    const auto net = create(std::string(variant.name),
                            {{"depth", 1}, {"embed_dim", 8 * variant.num_heads}, {"img_size", side}}, 3);
    net->eval();
    torch::NoGradGuard no_grad;
    const auto x = torch::randn({1, 3, side, side});
    EXPECT_EQ(net->forward(x).sizes(), torch::IntArrayRef({1, 3}));
    EXPECT_EQ(net->forward_intermediates(x, {0})[0].sizes(), torch::IntArrayRef({1, 8 * variant.num_heads, 2, 2}));
  }
}

}  // namespace
