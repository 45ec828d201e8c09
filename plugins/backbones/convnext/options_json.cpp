// timm's ConvNeXt keywords (a config.json's model_args plus create_model's num_classes, in_chans, global_pool,
// drop_*) → ConvNeXtOptions. Unknown keys are left for the caller's Config::expect_all_used(); wrong types come from
// the Config getters; unknown choices are reported here, with the valid ones.
#include <array>
#include <utility>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/names.hpp"
#include "convnext.hpp"

namespace autotimm::convnext {
namespace {

constexpr std::array<std::pair<std::string_view, StemType>, 4> kStems = {{
    {"patch", StemType::patch},
    {"overlap", StemType::overlap},
    {"overlap_tiered", StemType::overlap_tiered},
    {"overlap_act", StemType::overlap_act},
}};

// timm's _NORM_MAP names. The RMS and "simple" norms are timm choices this plugin does not build yet.
constexpr std::array<std::string_view, 2> kLayerNormNames = {"layernorm", "layernorm2d"};
constexpr std::array<std::string_view, 4> kUnbuiltNorms = {"rmsnorm", "rmsnorm2d", "simplenorm", "simplenorm2d"};

NormLayer parse_norm(std::string_view value, const std::string& where) {
  for (const auto name : kLayerNormNames) {
    if (name == value) return NormLayer::layernorm;
  }
  for (const auto name : kUnbuiltNorms) {
    if (name == value) {
      throw ConfigError(where + ": norm layer '" + std::string(value) +
                        "' is a timm choice this ConvNeXt plugin does not build yet; use 'layernorm'");
    }
  }
  throw ConfigError(where + ": expected a norm layer ('layernorm', 'layernorm2d'), got '" + std::string(value) + "'");
}


}  // namespace

ConvNeXtOptions convnext_options_from(const Config& model_args, ConvNeXtOptions defaults) {
  ConvNeXtOptions options = std::move(defaults);
  const Config& args = model_args;

  read_arg(args, "in_chans", options.in_chans);
  read_arg(args, "num_classes", options.num_classes);
  if (auto pool = args.get_optional<std::string>("global_pool")) {
    options.global_pool = layers::parse_pool_type(*pool, args.where("global_pool"));
  }
  read_arg(args, "output_stride", options.output_stride);
  read_arg(args, "depths", options.depths);
  read_arg(args, "dims", options.dims);
  // timm takes one kernel size for every stage or a list of four.
  if (args.contains("kernel_sizes") && args.json().at("kernel_sizes").is_number()) {
    options.kernel_sizes = {args.require<std::int64_t>("kernel_sizes")};
  } else {
    read_arg(args, "kernel_sizes", options.kernel_sizes);
  }
  // create_model drops None keywords, so a null keeps the variant's value here too (V2 variants keep no layer scale).
  read_arg(args, "ls_init_value", options.ls_init_value);
  if (auto stem = args.get_optional<std::string>("stem_type")) {
    options.stem_type = parse_choice(kStems, *stem, args.where("stem_type"), "a stem type");
  }
  read_arg(args, "patch_size", options.patch_size);
  read_arg(args, "head_init_scale", options.head_init_scale);
  read_arg(args, "head_norm_first", options.head_norm_first);
  read_arg(args, "head_hidden_size", options.head_hidden_size);
  read_arg(args, "conv_mlp", options.conv_mlp);
  read_arg(args, "conv_bias", options.conv_bias);
  read_arg(args, "use_grn", options.use_grn);
  if (auto act = args.get_optional<std::string>("act_layer")) {
    options.act_layer = layers::parse_activation(*act, args.where("act_layer"));
  }
  if (auto norm = args.get_optional<std::string>("norm_layer")) {
    options.norm_layer = parse_norm(*norm, args.where("norm_layer"));
  }
  read_arg(args, "norm_eps", options.norm_eps);
  read_arg(args, "drop_rate", options.drop_rate);
  read_arg(args, "drop_path_rate", options.drop_path_rate);
  return options;
}

}  // namespace autotimm::convnext
