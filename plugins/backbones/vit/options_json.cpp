// timm's VisionTransformer keywords (a config.json's model_args plus create_model's num_classes, in_chans,
// global_pool, drop_*) → VisionTransformerOptions. A null value keeps the variant's, as create_model drops None.
// Unknown keys are left for the caller's Config::expect_all_used();
// wrong types come from the Config getters; values this plugin cannot honour are reported here, with what it can do.
#include <array>
#include <string>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "vision_transformer.hpp"

namespace autotimm::vit {
namespace {

// timm takes an int or an (H, W) pair.
void read_size(const Config& config, std::string_view key, std::array<std::int64_t, 2>& field) {
  if (!config.contains(key) || config.json().at(key).is_null()) return;
  const auto& value = config.json().at(key);
  if (value.is_array()) {
    const auto sizes = config.get<std::vector<std::int64_t>>(key, {});
    if (sizes.size() != 2) {
      throw ConfigError(config.where(key) + ": expected an integer or [height, width], got " +
                        std::to_string(sizes.size()) + " values");
    }
    field = {sizes[0], sizes[1]};
  } else {
    const auto side = config.get<std::int64_t>(key, field[0]);
    field = {side, side};
  }
}

}  // namespace

VisionTransformerOptions vit_options_from(const Config& model_args, VisionTransformerOptions defaults) {
  VisionTransformerOptions options = std::move(defaults);
  const Config& args = model_args;

  read_size(args, "img_size", options.img_size);
  if (args.contains("patch_size") && args.json().at("patch_size").is_array()) {
    const auto sizes = args.get<std::vector<std::int64_t>>("patch_size", {});
    if (sizes.size() != 2 || sizes[0] != sizes[1]) {
      throw ConfigError(args.where("patch_size") + ": expected an integer (square patches), got a list; " +
                        "non-square patches are not supported by this ViT plugin");
    }
    options.patch_size = sizes[0];
  } else {
    read_arg(args, "patch_size", options.patch_size);
  }
  read_arg(args, "in_chans", options.in_chans);
  read_arg(args, "num_classes", options.num_classes);
  if (auto pool = args.get_optional<std::string>("global_pool")) {
    options.global_pool = parse_global_pool(*pool, args.where("global_pool"));
  }
  read_arg(args, "embed_dim", options.embed_dim);
  read_arg(args, "depth", options.depth);
  read_arg(args, "num_heads", options.num_heads);
  read_arg(args, "mlp_ratio", options.mlp_ratio);
  read_arg(args, "qkv_bias", options.qkv_bias);
  read_arg(args, "qk_norm", options.qk_norm);
  read_arg(args, "proj_bias", options.proj_bias);
  if (auto init = args.get_optional<double>("init_values")) options.init_values = *init;
  read_arg(args, "class_token", options.class_token);
  if (auto pos = args.get_optional<std::string>("pos_embed")) {
    if (*pos == "learn") {
      options.pos_embed = true;
    } else if (pos->empty() || *pos == "none") {
      options.pos_embed = false;
    } else {
      throw ConfigError(args.where("pos_embed") + ": expected 'learn', 'none' or '', got '" + *pos + "'");
    }
  }
  read_arg(args, "no_embed_class", options.no_embed_class);
  read_arg(args, "reg_tokens", options.reg_tokens);
  read_arg(args, "pre_norm", options.pre_norm);
  read_arg(args, "final_norm", options.final_norm);
  if (auto fc_norm = args.get_optional<bool>("fc_norm")) options.fc_norm = *fc_norm;
  read_arg(args, "pool_include_prefix", options.pool_include_prefix);
  read_arg(args, "dynamic_img_size", options.dynamic_img_size);
  read_arg(args, "dynamic_img_pad", options.dynamic_img_pad);
  read_arg(args, "drop_rate", options.drop_rate);
  read_arg(args, "pos_drop_rate", options.pos_drop_rate);
  read_arg(args, "proj_drop_rate", options.proj_drop_rate);
  read_arg(args, "attn_drop_rate", options.attn_drop_rate);
  read_arg(args, "drop_path_rate", options.drop_path_rate);
  read_arg(args, "fix_init", options.fix_init);
  if (auto act = args.get_optional<std::string>("act_layer")) {
    options.act_layer = layers::parse_activation(*act, args.where("act_layer"));
  }

  // timm keywords accepted only at the value this plugin implements.
  if (const double rate = args.get<double>("patch_drop_rate", 0.0); rate != 0.0) {
    throw ConfigError(args.where("patch_drop_rate") + ": PatchDropout is not supported by this ViT plugin; " +
                      "expected 0, got " + std::to_string(rate));
  }
  if (const auto init = args.get<std::string>("weight_init", ""); !init.empty() && init != "skip" && init != "reset") {
    throw ConfigError(args.where("weight_init") + ": expected '' (timm's default initialisation), got '" + init +
                      "'; the jax and moco schemes are not implemented (they only matter when training from "
                      "scratch)");
  }
  if (auto norm = args.get_optional<std::string>("norm_layer")) {
    if (*norm != "layernorm") {
      throw ConfigError(args.where("norm_layer") + ": expected 'layernorm' (eps 1e-6), got '" + *norm +
                        "'; other norms are not supported by this ViT plugin");
    }
  }
  return options;
}

}  // namespace autotimm::vit
