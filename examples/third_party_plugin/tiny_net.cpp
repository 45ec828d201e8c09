#include "tiny_net.hpp"

#include <torch/torch.h>

#include "autotimm/error.hpp"

namespace tinynet {

TinyNetOptions options_from(const autotimm::Config& model_args, TinyNetOptions defaults) {
  TinyNetOptions options = defaults;
  options.widths = model_args.get("widths", options.widths);
  options.in_chans = model_args.get("in_chans", options.in_chans);
  options.num_classes = model_args.get("num_classes", options.num_classes);
  return options;
}

TinyNetImpl::TinyNetImpl(TinyNetOptions options) : options_(std::move(options)) {
  if (options_.widths.empty()) throw autotimm::ConfigError("tinynet: 'widths' must list at least one stage");
  if (options_.in_chans <= 0) {
    throw autotimm::ConfigError("tinynet: expected in_chans > 0, got " + std::to_string(options_.in_chans));
  }
  std::int64_t channels = options_.in_chans, reduction = 1;
  for (std::size_t i = 0; i < options_.widths.size(); ++i) {
    const std::int64_t width = options_.widths[i];
    if (width <= 0) throw autotimm::ConfigError("tinynet: widths[" + std::to_string(i) + "] must be > 0");
    reduction *= 2;
    torch::nn::Sequential stage(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, width, 3).stride(2).padding(1).bias(false)),
        torch::nn::BatchNorm2d(width), torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
    const std::string name = "stages." + std::to_string(i);
    stages_.push_back(register_module("stage" + std::to_string(i), stage));
    feature_info_.push_back({width, reduction, name});
    channels = width;
  }
  reset_classifier(options_.num_classes);
  autotimm::validate_feature_info(feature_info_, "tinynet");
  set_pretrained_cfg({.tag = "",
                      .input_size = {options_.in_chans, 64, 64},
                      .num_classes = options_.num_classes,
                      .first_conv = "stage0.0",
                      .classifier = "fc"});
}

void TinyNetImpl::reset_classifier(std::int64_t num_classes) {
  if (num_classes < 0) throw autotimm::ConfigError("tinynet: num_classes must be >= 0");
  options_.num_classes = num_classes;
  if (fc_) unregister_module("fc");
  fc_ = nullptr;
  if (num_classes > 0) fc_ = register_module("fc", torch::nn::Linear(options_.widths.back(), num_classes));
}

torch::Tensor TinyNetImpl::forward_features(const torch::Tensor& x) {
  // Each stage's output goes through stage_output, so GradCAM (autotimm explain) can take it as its target layer.
  torch::Tensor y = x;
  std::int64_t index = 0;
  for (auto& stage : stages_) y = stage_output(index++, stage->forward(y));
  return y;
}

torch::Tensor TinyNetImpl::forward_head(const torch::Tensor& features, bool pre_logits) {
  torch::Tensor pooled = features.mean({2, 3});
  if (pre_logits || !fc_) return pooled;
  return fc_->forward(pooled);
}

std::vector<torch::Tensor> TinyNetImpl::forward_intermediates(const torch::Tensor& x,
                                                              const std::vector<std::int64_t>& indices) {
  const auto wanted = autotimm::resolve_feature_indices(indices, static_cast<std::int64_t>(stages_.size()));
  std::vector<torch::Tensor> all;
  torch::Tensor y = x;
  for (auto& stage : stages_) {
    y = stage_output(static_cast<std::int64_t>(all.size()), stage->forward(y));
    all.push_back(y);
  }
  std::vector<torch::Tensor> out;
  for (auto index : wanted) out.push_back(all[static_cast<std::size_t>(index)]);
  return out;
}

}  // namespace tinynet
