#include "feature_pyramid_network.hpp"

#include <torch/torch.h>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"

namespace autotimm::fpn {
namespace {

constexpr std::int64_t kMaxExtraLevels = 2;  // LastLevelP6P7 makes P6 and P7; nothing above is defined

// torchvision initialises every FPN conv (laterals, outputs, P6, P7) this way.
torch::nn::Conv2d make_conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(true));
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(conv->weight, /*a=*/1.0);
  conv->bias.zero_();
  return conv;
}

std::string describe(const torch::Tensor& x) { return x.defined() ? c10::str(x.sizes()) : "an undefined tensor"; }

}  // namespace

FeaturePyramidNetworkOptions FeaturePyramidNetworkOptions::from(const Config& config) {
  FeaturePyramidNetworkOptions options;
  options.in_channels = config.require<std::vector<std::int64_t>>("in_channels");
  read_arg(config, "out_channels", options.out_channels);
  read_arg(config, "num_extra_levels", options.num_extra_levels);
  return options;
}

LastLevelP6P7Impl::LastLevelP6P7Impl(std::int64_t channels, std::int64_t num_levels) {
  p6 = register_module("p6", make_conv(channels, channels, 3, 2));
  if (num_levels > 1) p7 = register_module("p7", make_conv(channels, channels, 3, 2));
}

void LastLevelP6P7Impl::extend(std::vector<torch::Tensor>& pyramid) {
  pyramid.push_back(p6->forward(pyramid.back()));
  // ReLU between the two, as FCOS and torchvision do: P7 sees the rectified P6.
  if (p7) pyramid.push_back(p7->forward(torch::relu(pyramid.back())));
}

FeaturePyramidNetworkImpl::FeaturePyramidNetworkImpl(FeaturePyramidNetworkOptions options)
    : options_(std::move(options)) {
  if (options_.in_channels.empty()) {
    throw ConfigError("fpn head: 'in_channels' is empty: expected the channels of each input level, finest first "
                      "(e.g. [512, 1024, 2048] for a resnet50's C3..C5)");
  }
  for (std::size_t i = 0; i < options_.in_channels.size(); ++i) {
    if (options_.in_channels[i] < 1) {
      throw ConfigError("fpn head: 'in_channels' must all be >= 1, got " + shown(options_.in_channels) +
                        " (entry " + std::to_string(i) + ")");
    }
  }
  if (options_.out_channels < 1) {
    throw ConfigError("fpn head: 'out_channels' must be >= 1, got " + std::to_string(options_.out_channels));
  }
  if (options_.num_extra_levels < 0 || options_.num_extra_levels > kMaxExtraLevels) {
    throw ConfigError("fpn head: 'num_extra_levels' must be 0, 1 (P6) or 2 (P6 and P7), got " +
                      std::to_string(options_.num_extra_levels));
  }

  inner_blocks = register_module("inner_blocks", torch::nn::ModuleList());
  layer_blocks = register_module("layer_blocks", torch::nn::ModuleList());
  for (std::int64_t channels : options_.in_channels) {
    inner_convs_.push_back(make_conv(channels, options_.out_channels, 1, 1));
    layer_convs_.push_back(make_conv(options_.out_channels, options_.out_channels, 3, 1));
    // One-conv Sequentials reproduce torchvision's "inner_blocks.{i}.0.weight" keys.
    inner_blocks->push_back(torch::nn::Sequential(inner_convs_.back()));
    layer_blocks->push_back(torch::nn::Sequential(layer_convs_.back()));
  }
  if (options_.num_extra_levels > 0) {
    extra_blocks = register_module("extra_blocks", LastLevelP6P7(options_.out_channels, options_.num_extra_levels));
  }
}

std::vector<torch::Tensor> FeaturePyramidNetworkImpl::forward(const std::vector<torch::Tensor>& features) {
  const std::size_t levels = options_.in_channels.size();
  if (features.size() != levels) {
    throw ConfigError("fpn head: expected " + std::to_string(levels) + " feature maps (one per entry of 'in_channels' " +
                      shown(options_.in_channels) + "), got " + std::to_string(features.size()) +
                      "; select as many backbone levels as 'in_channels' lists");
  }
  for (std::size_t i = 0; i < levels; ++i) {
    const auto& x = features[i];
    if (!x.defined() || x.dim() != 4 || x.size(1) != options_.in_channels[i]) {
      throw ConfigError("fpn head: feature map " + std::to_string(i) + ": expected [N, " +
                        std::to_string(options_.in_channels[i]) + ", H, W], got " + describe(x) +
                        "; 'in_channels' must list the channels of the selected backbone levels, finest first");
    }
  }

  std::vector<torch::Tensor> pyramid(levels);
  torch::Tensor top_down = inner_convs_[levels - 1]->forward(features[levels - 1]);
  pyramid[levels - 1] = layer_convs_[levels - 1]->forward(top_down);
  for (std::size_t i = levels - 1; i-- > 0;) {
    torch::Tensor lateral = inner_convs_[i]->forward(features[i]);
    // Upsample to the lateral's exact size, not by 2: odd input sizes give e.g. 3 -> 5 here.
    namespace F = torch::nn::functional;
    torch::Tensor upsampled = F::interpolate(
        top_down, F::InterpolateFuncOptions()
                      .size(std::vector<std::int64_t>{lateral.size(2), lateral.size(3)})
                      .mode(torch::kNearest));
    top_down = lateral + upsampled;
    pyramid[i] = layer_convs_[i]->forward(top_down);
  }
  if (extra_blocks) extra_blocks->extend(pyramid);
  return pyramid;
}

}  // namespace autotimm::fpn
