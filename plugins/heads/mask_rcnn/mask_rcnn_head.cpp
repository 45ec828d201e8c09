#include "mask_rcnn_head.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <utility>

#include "autotimm/error.hpp"
#include "autotimm/layers/batch_norm.hpp"
#include "autotimm/model_args.hpp"

namespace autotimm::mask_rcnn {
namespace {

constexpr std::array<std::pair<std::string_view, MaskHeadNorm>, 3> kNorms = {{
    {"none", MaskHeadNorm::none},
    {"bn", MaskHeadNorm::bn},
    {"gn", MaskHeadNorm::gn},
}};

constexpr std::int64_t kMaxGroups = 32;

// Kaiming normal over fan_out for the ReLU that follows, as torchvision initialises both MaskRCNNHeads and
// MaskRCNNPredictor. For the transposed conv, whose weight is [in, out, 2, 2], torch's fan_out reads dimension 0 as
// "out" all the same; kaiming_normal_ on the tensor reproduces that. Biases start at zero (torchvision zeroes the
// mask_head's; its predictor keeps PyTorch's uniform default, which any checkpoint overwrites).
void init_relu_conv(torch::Tensor& weight, torch::Tensor& bias) {
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_normal_(weight, 0.0, torch::kFanOut, torch::kReLU);
  if (bias.defined()) bias.zero_();
}

std::string describe(const torch::Tensor& x) {
  if (!x.defined()) return "an undefined tensor";
  return std::string(c10::toString(x.scalar_type())) + " " + c10::str(x.sizes());
}

[[noreturn]] void fail_at_least(std::string_view key, std::int64_t minimum, std::int64_t got, std::string_view advice) {
  throw ConfigError("mask_rcnn head: '" + std::string(key) + "' must be >= " + std::to_string(minimum) + ", got " +
                    std::to_string(got) + "; " + std::string(advice));
}

}  // namespace

std::string_view norm_name(MaskHeadNorm norm) {
  for (const auto& [name, choice] : kNorms) {
    if (choice == norm) return name;
  }
  return "?";
}

std::int64_t group_norm_groups(std::int64_t channels) {
  for (std::int64_t groups = std::min(kMaxGroups, channels); groups > 1; --groups) {
    if (channels % groups == 0) return groups;
  }
  return 1;
}

MaskRCNNHeadOptions MaskRCNNHeadOptions::from(const Config& config) {
  MaskRCNNHeadOptions options;
  options.in_channels = config.require<std::int64_t>("in_channels");
  options.num_classes = config.require<std::int64_t>("num_classes");
  read_arg(config, "channels", options.channels);
  read_arg(config, "num_convs", options.num_convs);
  read_arg(config, "dilation", options.dilation);
  if (auto norm = config.get_optional<std::string>("norm")) {
    options.norm = parse_choice(kNorms, *norm, config.where("norm"), "a norm");
  }
  return options;
}

MaskRCNNHeadImpl::MaskRCNNHeadImpl(MaskRCNNHeadOptions options) : options_(std::move(options)) {
  if (options_.in_channels < 1) {
    fail_at_least("in_channels", 1, options_.in_channels, "set the channels of the RoI features (the FPN's channels)");
  }
  if (options_.num_classes < 1) {
    fail_at_least("num_classes", 1, options_.num_classes,
                  "set the number of classes the box labels index (background included)");
  }
  if (options_.channels < 1) {
    fail_at_least("channels", 1, options_.channels, "torchvision uses 256");
  }
  if (options_.num_convs < 0) {
    fail_at_least("num_convs", 0, options_.num_convs, "torchvision uses 4");
  }
  if (options_.dilation < 1) {
    fail_at_least("dilation", 1, options_.dilation, "1 is a plain 3x3 conv");
  }

  const std::int64_t channels = options_.channels;
  const bool has_norm = options_.norm != MaskHeadNorm::none;
  mask_head = register_module("mask_head", torch::nn::ModuleList());
  std::int64_t in = options_.in_channels;
  for (std::int64_t i = 0; i < options_.num_convs; ++i) {
    // Conv2dNormActivation: the conv has a bias only when no norm follows it.
    torch::nn::Conv2d conv(torch::nn::Conv2dOptions(in, channels, 3)
                               .padding(options_.dilation)
                               .dilation(options_.dilation)
                               .bias(!has_norm));
    init_relu_conv(conv->weight, conv->bias);
    torch::nn::Sequential block;
    block->push_back("0", conv);
    if (options_.norm == MaskHeadNorm::bn) {
      block->push_back("1", layers::BatchNorm2d(layers::BatchNorm2dOptions{.num_features = channels}));
    } else if (options_.norm == MaskHeadNorm::gn) {
      block->push_back("1", torch::nn::GroupNorm(torch::nn::GroupNormOptions(group_norm_groups(channels), channels)));
    }
    block->push_back(has_norm ? "2" : "1", torch::nn::ReLU());
    mask_head->push_back(block);
    blocks_.push_back(block);
    in = channels;
  }

  torch::nn::ConvTranspose2d conv5_mask(torch::nn::ConvTranspose2dOptions(in, channels, 2).stride(2));
  init_relu_conv(conv5_mask->weight, conv5_mask->bias);
  torch::nn::Conv2d mask_fcn_logits(torch::nn::Conv2dOptions(channels, options_.num_classes, 1));
  init_relu_conv(mask_fcn_logits->weight, mask_fcn_logits->bias);
  mask_predictor = register_module("mask_predictor", torch::nn::Sequential({{"conv5_mask", conv5_mask},
                                                                           {"relu", torch::nn::ReLU()},
                                                                           {"mask_fcn_logits", mask_fcn_logits}}));
}

std::vector<torch::Tensor> MaskRCNNHeadImpl::forward(const std::vector<torch::Tensor>& features) {
  if (features.size() != 1) {
    throw ConfigError("mask_rcnn head: expected one tensor, the RoI features [K, " +
                      std::to_string(options_.in_channels) + ", S, S], got " + std::to_string(features.size()) +
                      "; pool every box's features into one tensor (multi-level RoIAlign) first");
  }
  auto x = features[0];
  if (!x.defined() || x.dim() != 4 || x.size(1) != options_.in_channels || !x.is_floating_point()) {
    throw ConfigError("mask_rcnn head: RoI features: expected floating [K, " + std::to_string(options_.in_channels) +
                      ", S, S], got " + describe(x) + "; set 'in_channels' to the channels of the pooled level");
  }
  for (auto& block : blocks_) x = block->forward(x);
  return {mask_predictor->forward(x)};
}

}  // namespace autotimm::mask_rcnn
