#pragma once
// Backbone: a timm-compatible image model. Registered names, parameter names, shapes and numerics equal timm's,
// so a timm state dict loads as it is.
//
//   std::shared_ptr<autotimm::Backbone> net = ...;       // from the registry
//   torch::Tensor logits = net->forward(images);         // [N, num_classes]
//   auto maps = net->forward_intermediates(images, {-3, -2, -1});   // NCHW feature maps
#include <cstdint>
#include <vector>

#include <torch/nn/module.h>

#include "autotimm/export.hpp"
#include "autotimm/feature_info.hpp"
#include "autotimm/pretrained_cfg.hpp"

namespace autotimm {

/// How a family holds a stage's output in its forward (Backbone::stage_output): feature maps NCHW (CNNs) or NHWC
/// (Swin), or tokens [N, L, C] with the prefix tokens (class, registers) before the patch grid's, row by row (ViT).
enum class StageLayout { nchw, nhwc, tokens };

class AUTOTIMM_API Backbone : public torch::nn::Module {
 public:
  ~Backbone() override;

  /// The unpooled output of the last stage, as timm: NCHW for CNNs, tokens for ViTs, NHWC maps for Swin.
  virtual torch::Tensor forward_features(const torch::Tensor& x) = 0;
  /// Pooling, dropout and classifier on forward_features' output; `pre_logits` stops before the classifier.
  virtual torch::Tensor forward_head(const torch::Tensor& features, bool pre_logits = false) = 0;
  /// forward_head(forward_features(x)).
  virtual torch::Tensor forward(const torch::Tensor& x) { return forward_head(forward_features(x)); }
  /// The maps of the stages named by `indices` (timm's rules: negative counts from the end), NCHW.
  virtual std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& x,
                                                           const std::vector<std::int64_t>& indices) = 0;

  /// One entry per stage that forward_intermediates can return.
  virtual const std::vector<FeatureInfo>& feature_info() const = 0;
  /// Channels of forward_features' output (timm's num_features).
  virtual std::int64_t num_features() const = 0;
  /// Width of the pre-logits, forward_head(x, true), with a single pool (twice this with catavgmax): num_features, or
  /// the width of a head layer of the backbone's own before the classifier (MobileNet-V3's conv_head, ConvNeXt's
  /// head_hidden_size). timm's head_hidden_size; a task's head takes this many features.
  virtual std::int64_t head_hidden_size() const { return num_features(); }
  virtual std::int64_t num_classes() const = 0;
  /// Replaces the classifier; 0 makes the model headless (forward returns pooled features).
  virtual void reset_classifier(std::int64_t num_classes) = 0;
  /// Preprocessing and weight metadata. A family sets its default in the constructor; the core replaces it with the
  /// chosen tag's or the checkpoint's cfg.
  virtual const PretrainedCfg& pretrained_cfg() const { return pretrained_cfg_; }
  void set_pretrained_cfg(PretrainedCfg cfg) { pretrained_cfg_ = std::move(cfg); }

 protected:
  Backbone() = default;
  explicit Backbone(const std::string& name) : torch::nn::Module(name) {}

  /// Families pass each feature_info stage's output through this in forward_features and forward_intermediates
  /// (`index`: its feature_info index), in the layout they compute it, which `layout` names. It returns `output`
  /// unchanged and lets a StageCapture on this thread record it (autotimm/stage_capture.hpp: the target layer of
  /// GradCAM); a pointer test when none is active.
  torch::Tensor stage_output(std::int64_t index, const torch::Tensor& output,
                             StageLayout layout = StageLayout::nchw) const;

 private:
  PretrainedCfg pretrained_cfg_;
};

}  // namespace autotimm
