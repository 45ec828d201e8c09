// timm's ResNet keywords (a config.json's model_args plus create_model's num_classes, in_chans, global_pool, drop_*)
// → ResNetOptions. Unknown keys are left for the caller's Config::expect_all_used(); wrong types come from the
// Config getters; unknown choices are reported here, with the valid ones.
#include "resnet.hpp"

#include <array>
#include <utility>

#include "autotimm/error.hpp"
#include "autotimm/names.hpp"

namespace autotimm::resnet {
namespace {

std::string context(const Config& config, std::string_view key) {
  const std::string dotted = config.path().empty() ? std::string(key) : config.path() + "." + std::string(key);
  return "option '" + dotted + "' in " + config.source();
}

template <class Enum, std::size_t N>
Enum parse_choice(const std::array<std::pair<std::string_view, Enum>, N>& table, std::string_view value,
                  const std::string& where, std::string_view what) {
  std::vector<std::string> valid;
  for (const auto& [name, choice] : table) {
    if (name == value) return choice;
    valid.push_back("'" + std::string(name) + "'");
  }
  throw ConfigError(where + ": expected " + std::string(what) + " (" + join_names(valid) + "), got '" +
                    std::string(value) + "'");
}

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

template <class T>
void read(const Config& config, std::string_view key, T& field) {
  field = config.get<T>(key, field);
}

}  // namespace

ResNetOptions resnet_options_from(const Config& model_args, ResNetOptions defaults) {
  ResNetOptions options = std::move(defaults);
  const Config& args = model_args;

  if (auto block = args.get_optional<std::string>("block")) {
    options.block = parse_choice(kBlocks, *block, context(args, "block"), "a block type");
  }
  read(args, "layers", options.layers);
  read(args, "num_classes", options.num_classes);
  read(args, "in_chans", options.in_chans);
  read(args, "output_stride", options.output_stride);
  if (auto pool = args.get_optional<std::string>("global_pool")) {
    options.global_pool = layers::parse_pool_type(*pool, context(args, "global_pool"));
  }
  read(args, "cardinality", options.cardinality);
  read(args, "base_width", options.base_width);
  read(args, "stem_width", options.stem_width);
  if (auto stem = args.get_optional<std::string>("stem_type")) {
    options.stem_type = parse_choice(kStems, *stem, context(args, "stem_type"), "a stem type");
  }
  read(args, "replace_stem_pool", options.replace_stem_pool);
  read(args, "block_reduce_first", options.block_reduce_first);
  read(args, "down_kernel_size", options.down_kernel_size);
  read(args, "avg_down", options.avg_down);
  read(args, "channels", options.channels);
  if (auto act = args.get_optional<std::string>("act_layer")) {
    options.act_layer = layers::parse_activation(*act, context(args, "act_layer"));
  }
  if (auto norm = args.get_optional<std::string>("norm_layer")) {
    options.norm_layer = parse_choice(kNorms, *norm, context(args, "norm_layer"), "a norm layer");
  }
  if (auto aa = args.get_optional<std::string>("aa_layer")) {
    options.aa_layer = layers::parse_anti_alias(*aa, context(args, "aa_layer"));
  }
  read(args, "drop_rate", options.drop_rate);
  read(args, "drop_path_rate", options.drop_path_rate);
  read(args, "drop_block_rate", options.drop_block_rate);
  read(args, "zero_init_last", options.zero_init_last);

  // create_model drops top-level None keywords (the variant's value stays), but a None inside block_args reaches
  // the block: attn_layer null means no attention.
  const Config block_args = args.section("block_args");
  if (block_args.contains("attn_layer") && block_args.json().at("attn_layer").is_null()) {
    options.attn_layer = AttnType::none;
  } else if (auto attn = block_args.get_optional<std::string>("attn_layer")) {
    options.attn_layer = parse_choice(kAttentions, *attn, context(block_args, "attn_layer"), "an attention layer");
  }
  return options;
}

}  // namespace autotimm::resnet
