// timm's RegNet keywords (a config.json's model_args plus create_model's num_classes, in_chans, global_pool, drop_*,
// and the RegNetCfg fields timm overlays with `replace(cfg, **kwargs)`) → RegNetOptions. Unknown keys are left for
// the caller's Config::expect_all_used(); wrong types come from the Config getters; unknown choices are reported
// here, with the valid ones.
#include <array>
#include <utility>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "regnet.hpp"

namespace autotimm::regnet {
namespace {

// timm's downsample values: 'conv1x1', 'avg', and '' (timm also takes None, which create_model drops as a keyword).
constexpr std::array<std::pair<std::string_view, Downsample>, 3> kDownsamples = {{
    {"conv1x1", Downsample::conv1x1},
    {"avg", Downsample::avg},
    {"", Downsample::none},
}};

// The norm_layer names timm's get_norm_act_layer maps to the layers built here.
constexpr std::array<std::pair<std::string_view, NormLayer>, 3> kNorms = {{
    {"batchnorm", NormLayer::batchnorm},
    {"batchnorm2d", NormLayer::batchnorm},
    {"groupnorm", NormLayer::groupnorm},
}};

}  // namespace

RegNetOptions regnet_options_from(const Config& model_args, RegNetOptions defaults) {
  RegNetOptions options = std::move(defaults);
  const Config& args = model_args;

  // RegNetCfg.
  read_arg(args, "depth", options.depth);
  read_arg(args, "w0", options.w0);
  read_arg(args, "wa", options.wa);
  read_arg(args, "wm", options.wm);
  read_arg(args, "group_size", options.group_size);
  read_arg(args, "bottle_ratio", options.bottle_ratio);
  read_arg(args, "se_ratio", options.se_ratio);
  read_arg(args, "group_min_ratio", options.group_min_ratio);
  read_arg(args, "stem_width", options.stem_width);
  if (auto downsample = args.get_optional<std::string>("downsample")) {
    options.downsample = parse_choice(kDownsamples, *downsample, args.where("downsample"), "a downsample type");
  }
  read_arg(args, "linear_out", options.linear_out);
  read_arg(args, "preact", options.preact);
  read_arg(args, "num_features", options.num_features);
  if (auto act = args.get_optional<std::string>("act_layer")) {
    options.act_layer = layers::parse_activation(*act, args.where("act_layer"));
  }
  if (auto norm = args.get_optional<std::string>("norm_layer")) {
    options.norm_layer = parse_choice(kNorms, *norm, args.where("norm_layer"), "a norm layer");
    // A plain name means timm's default layout for it (32 groups), not the variant's bound group size.
    options.norm_group_size.reset();
  }
  // RegNet's constructor.
  read_arg(args, "in_chans", options.in_chans);
  read_arg(args, "num_classes", options.num_classes);
  read_arg(args, "output_stride", options.output_stride);
  if (auto pool = args.get_optional<std::string>("global_pool")) {
    options.global_pool = layers::parse_pool_type(*pool, args.where("global_pool"));
  }
  read_arg(args, "drop_rate", options.drop_rate);
  read_arg(args, "drop_path_rate", options.drop_path_rate);
  read_arg(args, "zero_init_last", options.zero_init_last);
  return options;
}

}  // namespace autotimm::regnet
