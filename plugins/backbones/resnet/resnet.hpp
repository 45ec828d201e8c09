#pragma once
// ResNet / ResNeXt / SE-ResNet / ECA-ResNet / SENet / ResNet-RS, as timm's ResNet class (timm/models/resnet.py):
// same submodule names in the same order, so a timm state dict loads as it is, and the same numerics.
//
//   auto net = std::make_shared<autotimm::resnet::ResNetImpl>(autotimm::resnet::ResNetOptions{
//       .block = autotimm::resnet::BlockType::bottleneck, .layers = {3, 4, 6, 3}, .num_classes = 10});
//   torch::Tensor logits = net->forward(torch::randn({2, 3, 224, 224}));        // [2, 10]
//   auto maps = net->forward_intermediates(images, {1, 2, 3, 4});               // strides 4, 8, 16, 32
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/linear.h>

#include "autotimm/backbone.hpp"
#include "autotimm/config.hpp"
#include "autotimm/layers/activations.hpp"
#include "autotimm/layers/adaptive_avgmax_pool.hpp"
#include "autotimm/layers/blur_pool.hpp"
#include "blocks.hpp"

namespace autotimm::resnet {

/// timm's ResNet constructor arguments. Field names are timm's keywords (block_args.attn_layer is `attn_layer`);
/// `attn_rd_ratio` is the SE reduction ratio timm's ResNet-RS entry points bind into their attn_layer.
struct ResNetOptions {
  BlockType block = BlockType::bottleneck;
  std::vector<std::int64_t> layers = {3, 4, 6, 3};  ///< blocks per stage; exactly four stages
  std::int64_t num_classes = 1000;                  ///< 0 = headless: forward returns pooled features
  std::int64_t in_chans = 3;
  std::int64_t output_stride = 32;  ///< 32, 16 or 8: later stages dilate instead of striding
  autotimm::layers::PoolType global_pool = autotimm::layers::PoolType::avg;
  std::int64_t cardinality = 1;  ///< groups of the bottleneck 3×3 conv
  std::int64_t base_width = 64;  ///< bottleneck width = floor(planes × base_width / 64) × cardinality
  std::int64_t stem_width = 64;
  StemType stem_type = StemType::single;
  bool replace_stem_pool = false;  ///< a 3×3 stride-2 conv + norm + act instead of the stem max pool (ResNet-RS)
  std::int64_t block_reduce_first = 1;  ///< first conv of each block is narrower by this factor (2 for SENet-154)
  std::int64_t down_kernel_size = 1;    ///< kernel of the strided shortcut conv (3 for SENet-154)
  bool avg_down = false;  ///< shortcut = 2×2 average pool + 1×1 conv ("D" variants) instead of a strided conv
  std::vector<std::int64_t> channels = {64, 128, 256, 512};  ///< planes per stage (before the block expansion)
  autotimm::layers::Activation act_layer = autotimm::layers::Activation::relu;
  NormType norm_layer = NormType::batchnorm;
  autotimm::layers::AntiAliasType aa_layer = autotimm::layers::AntiAliasType::none;
  double drop_rate = 0.0;        ///< dropout on the pooled features, before fc
  double drop_path_rate = 0.0;   ///< stochastic depth, rising linearly to this rate over the blocks
  double drop_block_rate = 0.0;  ///< DropBlock in stages 3 and 4
  bool zero_init_last = true;    ///< zero the last norm's weight of every block at init
  AttnType attn_layer = AttnType::none;
  double attn_rd_ratio = 1.0 / 16.0;
};

/// Reads timm's ResNet keywords from `model_args` over `defaults` (the variant's), so the user's keys win. Every key
/// is read through the Config, so the caller's expect_all_used() names unknown ones; a wrong type or an unknown
/// choice is a ConfigError naming the key. `block_args` accepts `attn_layer` ("se", "eca" or "").
ResNetOptions resnet_options_from(const Config& model_args, ResNetOptions defaults);

class ResNetImpl : public Backbone {
 public:
  /// Validates `options` (a ConfigError names the field) and builds the network with timm's initialisation.
  /// `pretrained_cfg` becomes pretrained_cfg(); its `architecture` names the model in messages.
  explicit ResNetImpl(ResNetOptions options, PretrainedCfg pretrained_cfg = {});

  torch::Tensor forward_features(const torch::Tensor& x) override;
  torch::Tensor forward_head(const torch::Tensor& features, bool pre_logits = false) override;
  /// The maps after act1 (stride 2), layer1 (4), layer2 (8), layer3 (16), layer4 (32) named by `indices` (negative
  /// values count from the end), one per index in the order given; stages after the last one asked for are skipped.
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& x,
                                                   const std::vector<std::int64_t>& indices) override;

  const std::vector<FeatureInfo>& feature_info() const override { return feature_info_; }
  /// Channels of forward_features' output (timm's num_features); catavgmax pooling feeds fc twice as many.
  std::int64_t num_features() const override { return num_features_; }
  std::int64_t num_classes() const override { return options_.num_classes; }
  /// A fresh fc for `num_classes` (0: none), on the device and dtype of the model; the pool type is kept.
  void reset_classifier(std::int64_t num_classes) override;

  const ResNetOptions& options() const noexcept { return options_; }

 private:
  torch::Tensor forward_stem(const torch::Tensor& x);  // conv1 → bn1 → act1
  void validate() const;
  void init_weights();

  ResNetOptions options_;
  std::string name_;  // the architecture, for messages
  std::int64_t num_features_ = 0;
  torch::nn::AnyModule conv1_;
  torch::nn::AnyModule bn1_;
  torch::nn::AnyModule maxpool_;
  std::vector<Chain> stages_;  // layer1 … layer4
  layers::SelectAdaptivePool2d global_pool_{nullptr};
  torch::nn::Linear fc_{nullptr};
  std::vector<FeatureInfo> feature_info_;
};
TORCH_MODULE(ResNet);

}  // namespace autotimm::resnet
