// timm's SwinTransformer keywords (a config.json's model_args plus create_model's num_classes, in_chans, global_pool,
// drop_*) → SwinTransformerOptions. A null value keeps the variant's, as create_model drops None. Unknown keys are
// left for the caller's Config::expect_all_used(); wrong types come from the Config getters; values this plugin
// cannot honour are reported here, with what it can do.
#include <string>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "swin_transformer.hpp"

namespace autotimm::swin {
namespace {

bool present(const Config& config, std::string_view key) {
  return config.contains(key) && !config.json().at(key).is_null();
}

bool is_list(const Config& config, std::string_view key) {
  return present(config, key) && config.json().at(key).is_array();
}

// timm takes an int or an (H, W) pair.
void read_size(const Config& config, std::string_view key, Size2& field) {
  if (!present(config, key)) return;
  if (is_list(config, key)) {
    const auto sizes = config.get<std::vector<std::int64_t>>(key, {});
    if (sizes.size() != 2) {
      throw ConfigError(config.where(key) + ": expected an integer or [height, width], got " +
                        std::to_string(sizes.size()) + " values");
    }
    field = {sizes[0], sizes[1]};
  } else {
    const auto side = config.require<std::int64_t>(key);
    field = {side, side};
  }
}

// An integer, or a list of them (window_size).
void read_int_or_list(const Config& config, std::string_view key, std::vector<std::int64_t>& field) {
  if (!present(config, key)) return;
  if (is_list(config, key)) {
    field = config.get<std::vector<std::int64_t>>(key, field);
  } else {
    field = {config.require<std::int64_t>(key)};
  }
}

void read_number_or_list(const Config& config, std::string_view key, std::vector<double>& field) {
  if (!present(config, key)) return;
  if (is_list(config, key)) {
    field = config.get<std::vector<double>>(key, field);
  } else {
    field = {config.require<double>(key)};
  }
}

}  // namespace

SwinTransformerOptions swin_options_from(const Config& model_args, SwinTransformerOptions defaults) {
  SwinTransformerOptions options = std::move(defaults);
  const Config& args = model_args;

  read_size(args, "img_size", options.img_size);
  if (is_list(args, "patch_size")) {
    const auto sizes = args.get<std::vector<std::int64_t>>("patch_size", {});
    if (sizes.size() != 2 || sizes[0] != sizes[1]) {
      throw ConfigError(args.where("patch_size") + ": expected an integer (square patches), got a list; " +
                        "non-square patches are not supported by this Swin plugin");
    }
    options.patch_size = sizes[0];
  } else {
    read_arg(args, "patch_size", options.patch_size);
  }
  read_arg(args, "in_chans", options.in_chans);
  read_arg(args, "num_classes", options.num_classes);
  if (auto pool = args.get_optional<std::string>("global_pool")) {
    options.global_pool = layers::parse_pool_type(*pool, args.where("global_pool"));
  }
  if (is_list(args, "embed_dim")) {
    throw ConfigError(args.where("embed_dim") + ": expected an integer (stage i is embed_dim · 2^i wide), got a " +
                      "list; timm's SwinTransformer takes one width too");
  }
  read_arg(args, "embed_dim", options.embed_dim);
  read_arg(args, "depths", options.depths);
  read_arg(args, "num_heads", options.num_heads);
  read_arg(args, "head_dim", options.head_dim);
  read_int_or_list(args, "window_size", options.window_size);
  read_arg(args, "always_partition", options.always_partition);
  read_arg(args, "strict_img_size", options.strict_img_size);
  read_number_or_list(args, "mlp_ratio", options.mlp_ratio);
  read_arg(args, "qkv_bias", options.qkv_bias);
  read_arg(args, "drop_rate", options.drop_rate);
  read_arg(args, "proj_drop_rate", options.proj_drop_rate);
  read_arg(args, "attn_drop_rate", options.attn_drop_rate);
  read_arg(args, "drop_path_rate", options.drop_path_rate);

  // timm keywords accepted only at the value implemented.
  if (const auto init = args.get<std::string>("weight_init", ""); !init.empty() && init != "skip") {
    throw ConfigError(args.where("weight_init") + ": expected '' (timm's default initialisation), got '" + init +
                      "'; the jax and moco schemes are not implemented (they only matter when training from "
                      "scratch)");
  }
  if (auto norm = args.get_optional<std::string>("norm_layer")) {
    if (*norm != "layernorm") {
      throw ConfigError(args.where("norm_layer") + ": expected 'layernorm' (eps 1e-5), got '" + *norm +
                        "'; other norms are not supported by this Swin plugin");
    }
  }
  // ViT's dynamic-size keywords are not SwinTransformer arguments (timm ignores them there): say what Swin offers.
  for (const char* key : {"dynamic_img_size", "dynamic_img_pad"}) {
    if (args.get<bool>(key, false)) {
      throw ConfigError(args.where(key) + ": timm's Swin has no " + std::string(key) +
                        "; set strict_img_size=false to accept any input whose sides are multiples of patch_size " +
                        "(windows stay those computed for img_size, shift masks follow each input)");
    }
  }
  return options;
}

}  // namespace autotimm::swin
