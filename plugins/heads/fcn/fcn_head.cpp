#include "fcn_head.hpp"

#include <torch/torch.h>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"

namespace autotimm::fcn {
namespace {

// Kaiming normal over fan_out for the ReLU that follows, zero bias: the same initialisation as the deeplabv3plus head
// (torchvision's FCNHead keeps PyTorch's default, which a checkpoint overwrites anyway).
torch::nn::Conv2d make_conv(std::int64_t in, std::int64_t out, std::int64_t kernel, bool bias) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(in, out, kernel).padding(kernel / 2).bias(bias));
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
  if (bias) conv->bias.zero_();
  return conv;
}

std::string describe(const torch::Tensor& x) { return x.defined() ? c10::str(x.sizes()) : "an undefined tensor"; }

}  // namespace

FCNHeadOptions FCNHeadOptions::from(const Config& config) {
  FCNHeadOptions options;
  options.in_channels = config.require<std::int64_t>("in_channels");
  options.num_classes = config.require<std::int64_t>("num_classes");
  read_arg(config, "channels", options.channels);
  read_arg(config, "dropout", options.dropout);
  return options;
}

FCNHeadImpl::FCNHeadImpl(FCNHeadOptions options) : options_(std::move(options)) {
  if (options_.in_channels < 1) {
    throw ConfigError("fcn head: 'in_channels' must be >= 1, got " + std::to_string(options_.in_channels) +
                      "; set the channels of the last feature map");
  }
  if (options_.num_classes < 1) {
    throw ConfigError("fcn head: 'num_classes' must be >= 1, got " + std::to_string(options_.num_classes) +
                      "; set the number of classes the labels index (background included)");
  }
  if (options_.channels && *options_.channels < 1) {
    throw ConfigError("fcn head: 'channels' must be >= 1, got " + std::to_string(*options_.channels));
  }
  if (!options_.channels && options_.in_channels < 4) {
    throw ConfigError("fcn head: 'channels' defaults to in_channels / 4, which is 0 for in_channels " +
                      std::to_string(options_.in_channels) + "; set 'channels' explicitly");
  }
  if (!(options_.dropout >= 0.0 && options_.dropout < 1.0)) {
    throw ConfigError("fcn head: 'dropout' must be in [0, 1), got " + shown(options_.dropout) + "; 0 disables it");
  }

  const std::int64_t channels = options_.resolved_channels();
  conv = register_module("0", make_conv(options_.in_channels, channels, 3, /*bias=*/false));
  // BatchNorm starts at weight 1, bias 0 (the layer's own default).
  bn = register_module("1", layers::BatchNorm2d(layers::BatchNorm2dOptions{.num_features = channels}));
  register_module("2", torch::nn::ReLU());
  dropout = register_module("3", torch::nn::Dropout(options_.dropout));
  classifier = register_module("4", make_conv(channels, options_.num_classes, 1, /*bias=*/true));
}

std::vector<torch::Tensor> FCNHeadImpl::forward(const std::vector<torch::Tensor>& features) {
  if (features.empty()) {
    throw ConfigError("fcn head: expected at least one feature map, got none; give the head the backbone's last "
                      "level");
  }
  const auto& x = features.back();
  if (!x.defined() || x.dim() != 4 || x.size(1) != options_.in_channels) {
    throw ConfigError("fcn head: feature map " + std::to_string(features.size() - 1) + " (the last): expected [N, " +
                      std::to_string(options_.in_channels) + ", H, W], got " + describe(x) +
                      "; set 'in_channels' to the channels of the last selected backbone level");
  }
  return {classifier->forward(dropout->forward(torch::relu(bn->forward(conv->forward(x)))))};
}

}  // namespace autotimm::fcn
