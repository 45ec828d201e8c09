#include "fcos_head.hpp"

#include <cmath>

#include <torch/torch.h>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"

namespace autotimm::fcos {
namespace {

// torchvision's FCOSHead initialises every conv of the towers and predictors as N(0, 0.01) with zero bias.
torch::nn::Conv2d make_conv(std::int64_t in, std::int64_t out) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(in, out, 3).stride(1).padding(1).bias(true));
  torch::NoGradGuard no_grad;
  torch::nn::init::normal_(conv->weight, 0.0, 0.01);
  conv->bias.zero_();
  return conv;
}

// num_convs x (conv3x3, GroupNorm, ReLU): children 0, 1, 2, 3, ... as torchvision's nn.Sequential numbers them.
torch::nn::Sequential make_tower(const FCOSHeadOptions& options) {
  torch::nn::Sequential tower;
  for (std::int64_t i = 0; i < options.num_convs; ++i) {
    tower->push_back(make_conv(options.in_channels, options.in_channels));
    // GroupNorm starts at weight 1, bias 0 (LibTorch's default, as torchvision relies on).
    tower->push_back(torch::nn::GroupNorm(torch::nn::GroupNormOptions(options.num_groups, options.in_channels)));
    tower->push_back(torch::nn::ReLU());
  }
  return tower;
}

torch::Tensor run_tower(torch::nn::Sequential& tower, const torch::Tensor& x) {
  // An empty Sequential refuses forward(); with no tower blocks the predictors read the level directly.
  return tower->is_empty() ? x : tower->forward(x);
}

std::string describe(const torch::Tensor& x) { return x.defined() ? c10::str(x.sizes()) : "an undefined tensor"; }

}  // namespace

FCOSHeadOptions FCOSHeadOptions::from(const Config& config) {
  FCOSHeadOptions options;
  read_arg(config, "in_channels", options.in_channels);
  options.num_classes = config.require<std::int64_t>("num_classes");
  read_arg(config, "num_convs", options.num_convs);
  read_arg(config, "strides", options.strides);
  read_arg(config, "prior_prob", options.prior_prob);
  read_arg(config, "num_groups", options.num_groups);
  read_arg(config, "centerness_on_reg", options.centerness_on_reg);
  return options;
}

FCOSClassificationHeadImpl::FCOSClassificationHeadImpl(const FCOSHeadOptions& options) {
  conv = register_module("conv", make_tower(options));
  cls_logits = register_module("cls_logits", make_conv(options.in_channels, options.num_classes));
  // Every logit starts at the prior: sigmoid(bias) = prior_prob, so the many background locations do not swamp the
  // focal loss in the first iterations (RetinaNet's initialisation, kept by FCOS).
  torch::NoGradGuard no_grad;
  cls_logits->bias.fill_(-std::log((1.0 - options.prior_prob) / options.prior_prob));
}

torch::Tensor FCOSClassificationHeadImpl::tower(const torch::Tensor& x) { return run_tower(conv, x); }

FCOSRegressionHeadImpl::FCOSRegressionHeadImpl(const FCOSHeadOptions& options) {
  conv = register_module("conv", make_tower(options));
  bbox_reg = register_module("bbox_reg", make_conv(options.in_channels, 4));
  bbox_ctrness = register_module("bbox_ctrness", make_conv(options.in_channels, 1));
}

torch::Tensor FCOSRegressionHeadImpl::tower(const torch::Tensor& x) { return run_tower(conv, x); }

FCOSHeadImpl::FCOSHeadImpl(FCOSHeadOptions options) : options_(std::move(options)) {
  if (options_.in_channels < 1) {
    throw ConfigError("fcos head: 'in_channels' must be >= 1, got " + std::to_string(options_.in_channels));
  }
  if (options_.num_classes < 1) {
    throw ConfigError("fcos head: 'num_classes' must be >= 1, got " + std::to_string(options_.num_classes) +
                      "; set the number of object classes of the data (no background class)");
  }
  if (options_.num_convs < 0) {
    throw ConfigError("fcos head: 'num_convs' must be >= 0, got " + std::to_string(options_.num_convs));
  }
  if (options_.strides.empty()) {
    throw ConfigError("fcos head: 'strides' is empty: expected one stride per pyramid level, e.g. [8, 16, 32, 64, 128]");
  }
  for (std::int64_t stride : options_.strides) {
    if (stride < 1) {
      throw ConfigError("fcos head: 'strides' must all be >= 1, got " + shown(options_.strides));
    }
  }
  if (!(options_.prior_prob > 0.0 && options_.prior_prob < 1.0)) {
    throw ConfigError("fcos head: 'prior_prob' must be in (0, 1), got " + shown(options_.prior_prob));
  }
  if (options_.num_groups < 1) {
    throw ConfigError("fcos head: 'num_groups' must be >= 1, got " + std::to_string(options_.num_groups));
  }
  if (options_.in_channels % options_.num_groups != 0) {
    throw ConfigError("fcos head: 'in_channels' " + std::to_string(options_.in_channels) +
                      " is not divisible by 'num_groups' " + std::to_string(options_.num_groups) +
                      "; choose a number of GroupNorm groups that divides the channels");
  }

  classification_head = register_module("classification_head", FCOSClassificationHead(options_));
  regression_head = register_module("regression_head", FCOSRegressionHead(options_));
  scales = register_module("scales", torch::nn::ParameterList());
  // ParameterList::append keeps the tensor's own requires_grad flag, so the scales must ask for gradients here.
  for (std::size_t level = 0; level < options_.strides.size(); ++level) {
    scales->append(torch::ones({1}, torch::requires_grad()));
  }
}

std::vector<torch::Tensor> FCOSHeadImpl::forward(const std::vector<torch::Tensor>& features) {
  const std::size_t levels = options_.strides.size();
  if (features.size() != levels) {
    throw ConfigError("fcos head: expected " + std::to_string(levels) + " feature maps (one per entry of 'strides' " +
                      shown(options_.strides) + "), got " + std::to_string(features.size()) +
                      "; give the head every pyramid level, or list one stride per level");
  }
  std::vector<torch::Tensor> outputs;
  outputs.reserve(3 * levels);
  for (std::size_t level = 0; level < levels; ++level) {
    const auto& x = features[level];
    if (!x.defined() || x.dim() != 4 || x.size(1) != options_.in_channels) {
      throw ConfigError("fcos head: feature map " + std::to_string(level) + ": expected [N, " +
                        std::to_string(options_.in_channels) + ", H, W], got " + describe(x) +
                        "; set 'in_channels' to the neck's out_channels");
    }
    torch::Tensor cls_features = classification_head->tower(x);
    torch::Tensor reg_features = regression_head->tower(x);
    outputs.push_back(classification_head->cls_logits->forward(cls_features));
    // Distances are predicted in units of the level's stride; the scale lets each level tune that range.
    torch::Tensor raw = regression_head->bbox_reg->forward(reg_features);
    outputs.push_back(torch::relu(scales[level] * raw) * static_cast<double>(options_.strides[level]));
    outputs.push_back(regression_head->bbox_ctrness->forward(options_.centerness_on_reg ? reg_features : cls_features));
  }
  return outputs;
}

}  // namespace autotimm::fcos
