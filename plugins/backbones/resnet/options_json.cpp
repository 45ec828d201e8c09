// timm's ResNet keywords (a config.json's model_args plus create_model's num_classes, in_chans, global_pool, drop_*)
// → ResNetOptions. Unknown keys are left for the caller's Config::expect_all_used(); wrong types come from the
// Config getters; unknown choices are reported here, with the valid ones.
#include "resnet.hpp"

#include <array>
#include <utility>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/names.hpp"

namespace autotimm::resnet {
namespace {

// Accepted spellings: ours plus timm's class and layer names.
constexpr std::array<std::pair<std::string_view, BlockType>, 4> kBlocks = {{
    {"basic", BlockType::basic},
    {"bottleneck", BlockType::bottleneck},
    {"BasicBlock", BlockType::basic},
    {"Bottleneck", BlockType::bottleneck},
}};
constexpr std::array<std::pair<std::string_view, StemType>, 3> kStems = {{
    {"", StemType::single},
    {"deep", StemType::deep},
    {"deep_tiered", StemType::deep_tiered},
}};
constexpr std::array<std::pair<std::string_view, NormType>, 3> kNorms = {{
    {"batchnorm", NormType::batchnorm},
    {"batchnorm2d", NormType::batchnorm},
    {"groupnorm", NormType::groupnorm},
}};
constexpr std::array<std::pair<std::string_view, AttnType>, 3> kAttentions = {{
    {"", AttnType::none},
    {"se", AttnType::se},
    {"eca", AttnType::eca},
}};

}  // namespace

ResNetOptions resnet_options_from(const Config& model_args, ResNetOptions defaults) {
  ResNetOptions options = std::move(defaults);
  const Config& args = model_args;

  if (auto block = args.get_optional<std::string>("block")) {
    options.block = parse_choice(kBlocks, *block, args.where("block"), "a block type");
  }
  read_arg(args, "layers", options.layers);
  read_arg(args, "num_classes", options.num_classes);
  read_arg(args, "in_chans", options.in_chans);
  read_arg(args, "output_stride", options.output_stride);
  if (auto pool = args.get_optional<std::string>("global_pool")) {
    options.global_pool = layers::parse_pool_type(*pool, args.where("global_pool"));
  }
  read_arg(args, "cardinality", options.cardinality);
  read_arg(args, "base_width", options.base_width);
  read_arg(args, "stem_width", options.stem_width);
  if (auto stem = args.get_optional<std::string>("stem_type")) {
    options.stem_type = parse_choice(kStems, *stem, args.where("stem_type"), "a stem type");
  }
  read_arg(args, "replace_stem_pool", options.replace_stem_pool);
  read_arg(args, "block_reduce_first", options.block_reduce_first);
  read_arg(args, "down_kernel_size", options.down_kernel_size);
  read_arg(args, "avg_down", options.avg_down);
  read_arg(args, "channels", options.channels);
  if (auto act = args.get_optional<std::string>("act_layer")) {
    options.act_layer = layers::parse_activation(*act, args.where("act_layer"));
  }
  if (auto norm = args.get_optional<std::string>("norm_layer")) {
    options.norm_layer = parse_choice(kNorms, *norm, args.where("norm_layer"), "a norm layer");
  }
  if (auto aa = args.get_optional<std::string>("aa_layer")) {
    options.aa_layer = layers::parse_anti_alias(*aa, args.where("aa_layer"));
  }
  read_arg(args, "drop_rate", options.drop_rate);
  read_arg(args, "drop_path_rate", options.drop_path_rate);
  read_arg(args, "drop_block_rate", options.drop_block_rate);
  read_arg(args, "zero_init_last", options.zero_init_last);

  // create_model drops top-level None keywords (the variant's value stays), but a None inside block_args reaches
  // the block: attn_layer null means no attention.
  const Config block_args = args.section("block_args");
  if (block_args.contains("attn_layer") && block_args.json().at("attn_layer").is_null()) {
    options.attn_layer = AttnType::none;
  } else if (auto attn = block_args.get_optional<std::string>("attn_layer")) {
    options.attn_layer = parse_choice(kAttentions, *attn, block_args.where("attn_layer"), "an attention layer");
  }
  return options;
}

}  // namespace autotimm::resnet
