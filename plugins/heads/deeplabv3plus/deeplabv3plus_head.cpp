#include "deeplabv3plus_head.hpp"

#include <torch/torch.h>

#include "autotimm/distributed/sync_batch_norm.hpp"
#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"

namespace autotimm::deeplabv3plus {
namespace {

namespace F = torch::nn::functional;

// Kaiming normal over fan_out for the ReLU that follows, zero bias: the usual initialisation of DeepLab heads.
torch::nn::Conv2d make_conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t dilation, bool bias) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(in, out, kernel)
                             .padding(dilation * (kernel / 2))  // keeps the map's size for any dilation
                             .dilation(dilation)
                             .bias(bias));
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
  if (bias) conv->bias.zero_();
  return conv;
}

// BatchNorm starts at weight 1, bias 0 (the layer's own default).
layers::BatchNorm2d make_bn(std::int64_t channels) {
  return layers::BatchNorm2d(layers::BatchNorm2dOptions{.num_features = channels});
}

// Children 0 (conv, no bias), 1 (BN), 2 (ReLU), as torchvision's Sequentials number them.
torch::nn::Sequential conv_bn_relu(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t dilation) {
  return torch::nn::Sequential(make_conv(in, out, kernel, dilation, /*bias=*/false), make_bn(out), torch::nn::ReLU());
}

torch::Tensor resize_bilinear(const torch::Tensor& x, std::int64_t height, std::int64_t width) {
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<std::int64_t>{height, width})
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

// Whether a training BatchNorm sees the batch of every rank (a SyncBatchNormScope over several ranks): then one
// sample per rank still gives several values per channel, and every rank must run the layer's collective.
bool statistics_span_ranks() {
  const Collective* ranks = SyncBatchNormScope::current();
  return ranks != nullptr && ranks->world_size() > 1;
}

std::string describe(const torch::Tensor& x) { return x.defined() ? c10::str(x.sizes()) : "an undefined tensor"; }

void require_positive(std::int64_t value, const char* name) {
  if (value < 1) {
    throw ConfigError(std::string("deeplabv3plus head: '") + name + "' must be >= 1, got " + std::to_string(value));
  }
}

}  // namespace

DeepLabV3PlusHeadOptions DeepLabV3PlusHeadOptions::from(const Config& config) {
  DeepLabV3PlusHeadOptions options;
  options.in_channels = config.require<std::vector<std::int64_t>>("in_channels");
  options.num_classes = config.require<std::int64_t>("num_classes");
  read_arg(config, "aspp_channels", options.aspp_channels);
  read_arg(config, "aspp_rates", options.aspp_rates);
  read_arg(config, "low_level_channels", options.low_level_channels);
  read_arg(config, "decoder_channels", options.decoder_channels);
  read_arg(config, "dropout", options.dropout);
  return options;
}

ASPPPoolingImpl::ASPPPoolingImpl(std::int64_t in_channels, std::int64_t out_channels) {
  pool = register_module("0", torch::nn::AdaptiveAvgPool2d(torch::nn::AdaptiveAvgPool2dOptions(1)));
  conv = register_module("1", make_conv(in_channels, out_channels, 1, 1, /*bias=*/false));
  bn = register_module("2", make_bn(out_channels));
  register_module("3", torch::nn::ReLU());
}

torch::Tensor ASPPPoolingImpl::forward(const torch::Tensor& x) {
  torch::Tensor pooled = conv->forward(pool->forward(x));
  torch::Tensor normalised;
  if (is_training() && pooled.size(0) == 1 && !statistics_span_ranks()) {
    // One value per channel has no batch statistics: normalise as in eval, leaving the running statistics alone.
    normalised = torch::batch_norm(pooled, bn->weight, bn->bias, bn->running_mean, bn->running_var,
                                   /*training=*/false, /*momentum=*/0.0, bn->options.eps,
                                   at::globalContext().userEnabledCuDNN());
  } else {
    normalised = bn->forward(pooled);
  }
  return resize_bilinear(torch::relu(normalised), x.size(2), x.size(3));
}

ASPPImpl::ASPPImpl(std::int64_t in_channels, std::int64_t out_channels, const std::vector<std::int64_t>& rates,
                   double dropout) {
  convs = register_module("convs", torch::nn::ModuleList());
  branches_.push_back(conv_bn_relu(in_channels, out_channels, 1, 1));
  for (std::int64_t rate : rates) branches_.push_back(conv_bn_relu(in_channels, out_channels, 3, rate));
  for (const auto& branch : branches_) convs->push_back(branch);
  pooling = ASPPPooling(in_channels, out_channels);
  convs->push_back(pooling);
  const auto concatenated = static_cast<std::int64_t>(branches_.size() + 1) * out_channels;
  project = register_module("project", torch::nn::Sequential(make_conv(concatenated, out_channels, 1, 1, false),
                                                             make_bn(out_channels), torch::nn::ReLU(),
                                                             torch::nn::Dropout(dropout)));
}

torch::Tensor ASPPImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> outputs;
  outputs.reserve(branches_.size() + 1);
  for (auto& branch : branches_) outputs.push_back(branch->forward(x));
  outputs.push_back(pooling->forward(x));
  return project->forward(torch::cat(outputs, 1));
}

DeepLabV3PlusHeadImpl::DeepLabV3PlusHeadImpl(DeepLabV3PlusHeadOptions options) : options_(std::move(options)) {
  if (options_.in_channels.size() != 2) {
    throw ConfigError("deeplabv3plus head: 'in_channels' must list 2 channel counts [low, high] (the stride-4 map and "
                      "the deepest map), got " + shown(options_.in_channels) +
                      "; e.g. [256, 2048] for a resnet50's layer1 and layer4");
  }
  for (std::size_t i = 0; i < options_.in_channels.size(); ++i) {
    if (options_.in_channels[i] < 1) {
      throw ConfigError("deeplabv3plus head: 'in_channels' must all be >= 1, got " + shown(options_.in_channels) +
                        " (entry " + std::to_string(i) + ")");
    }
  }
  if (options_.num_classes < 1) {
    throw ConfigError("deeplabv3plus head: 'num_classes' must be >= 1, got " + std::to_string(options_.num_classes) +
                      "; set the number of classes the labels index (background included)");
  }
  require_positive(options_.aspp_channels, "aspp_channels");
  for (std::size_t i = 0; i < options_.aspp_rates.size(); ++i) {
    if (options_.aspp_rates[i] < 1) {
      throw ConfigError("deeplabv3plus head: 'aspp_rates' must all be >= 1, got " + shown(options_.aspp_rates) +
                        " (entry " + std::to_string(i) + "); 1 is an undilated 3x3 conv");
    }
  }
  require_positive(options_.low_level_channels, "low_level_channels");
  require_positive(options_.decoder_channels, "decoder_channels");
  if (!(options_.dropout >= 0.0 && options_.dropout < 1.0)) {
    throw ConfigError("deeplabv3plus head: 'dropout' must be in [0, 1), got " + shown(options_.dropout) +
                      "; 0 disables it");
  }

  const std::int64_t low = options_.in_channels[0], high = options_.in_channels[1];
  aspp = register_module("aspp", ASPP(high, options_.aspp_channels, options_.aspp_rates, options_.dropout));
  low_level_project = register_module("low_level_project", conv_bn_relu(low, options_.low_level_channels, 1, 1));
  const std::int64_t decoder_in = options_.aspp_channels + options_.low_level_channels;
  decoder = register_module("decoder", torch::nn::Sequential(
                                           make_conv(decoder_in, options_.decoder_channels, 3, 1, false),
                                           make_bn(options_.decoder_channels), torch::nn::ReLU(),
                                           make_conv(options_.decoder_channels, options_.decoder_channels, 3, 1, false),
                                           make_bn(options_.decoder_channels), torch::nn::ReLU()));
  classifier = register_module("classifier", make_conv(options_.decoder_channels, options_.num_classes, 1, 1, true));
}

std::vector<torch::Tensor> DeepLabV3PlusHeadImpl::forward(const std::vector<torch::Tensor>& features) {
  if (features.size() != 2) {
    throw ConfigError("deeplabv3plus head: expected 2 feature maps [low (stride 4), high (the deepest)], got " +
                      std::to_string(features.size()) + "; select the backbone's stride-4 level and its last level");
  }
  const char* roles[] = {"low", "high"};
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& x = features[i];
    if (!x.defined() || x.dim() != 4 || x.size(1) != options_.in_channels[i]) {
      throw ConfigError("deeplabv3plus head: feature map " + std::to_string(i) + " (" + roles[i] + "): expected [N, " +
                        std::to_string(options_.in_channels[i]) + ", H, W], got " + describe(x) +
                        "; 'in_channels' must list the channels of the selected backbone levels, [low, high]");
    }
  }
  const auto& low = features[0];
  const auto& high = features[1];
  if (low.size(0) != high.size(0)) {
    throw ConfigError("deeplabv3plus head: the feature maps hold different batch sizes: low " + describe(low) +
                      ", high " + describe(high) + "; give both levels of the same images");
  }
  torch::Tensor context = resize_bilinear(aspp->forward(high), low.size(2), low.size(3));
  torch::Tensor detail = low_level_project->forward(low);
  return {classifier->forward(decoder->forward(torch::cat({context, detail}, 1)))};
}

}  // namespace autotimm::deeplabv3plus
