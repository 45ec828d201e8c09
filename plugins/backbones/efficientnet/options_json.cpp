// timm's EfficientNet / MobileNetV3 keywords (a config.json's model_args plus create_model's num_classes, in_chans,
// global_pool, drop_*) → EfficientNetOptions. The architecture itself (block strings, multipliers) comes from the
// variant, as in timm, whose entry functions fix it. Unknown keys are left for the caller's Config::expect_all_used().
#include <array>
#include <utility>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "efficientnet.hpp"

namespace autotimm::efficientnet {
namespace {

constexpr std::array<std::pair<std::string_view, PadType>, 3> kPadTypes = {{
    {"", PadType::symmetric},
    {"same", PadType::same},
    {"valid", PadType::valid},
}};

}  // namespace

EfficientNetOptions efficientnet_options_from(const Config& model_args, EfficientNetOptions defaults) {
  EfficientNetOptions options = std::move(defaults);
  const Config& args = model_args;

  read_arg(args, "in_chans", options.in_chans);
  read_arg(args, "num_classes", options.num_classes);
  if (auto pool = args.get_optional<std::string>("global_pool")) {
    options.global_pool = layers::parse_pool_type(*pool, args.where("global_pool"));
  }
  read_arg(args, "num_features", options.num_features);
  read_arg(args, "stem_size", options.stem_size);
  read_arg(args, "fix_stem", options.fix_stem);
  read_arg(args, "output_stride", options.output_stride);
  if (auto pad = args.get_optional<std::string>("pad_type")) {
    options.pad_type = parse_choice(kPadTypes, *pad, args.where("pad_type"), "a padding type");
  }
  if (auto act = args.get_optional<std::string>("act_layer")) {
    options.act_layer = layers::parse_activation(*act, args.where("act_layer"));
  }
  read_arg(args, "bn_eps", options.bn_eps);
  read_arg(args, "bn_momentum", options.bn_momentum);
  if (args.contains("head_bias")) {
    if (options.head_type != HeadType::mobilenetv3) {
      throw ConfigError(args.where("head_bias") +
                        ": only MobileNet-V3 models have a biased conv_head; EfficientNet's conv_head never has one");
    }
    read_arg(args, "head_bias", options.head_bias);
  }
  read_arg(args, "drop_rate", options.drop_rate);
  read_arg(args, "drop_path_rate", options.drop_path_rate);
  return options;
}

}  // namespace autotimm::efficientnet
