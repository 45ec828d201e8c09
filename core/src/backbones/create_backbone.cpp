// create_backbone: names → (hub folder | local timm folder | registry arch.tag) → model → weights.
#include "autotimm/backbones.hpp"

#include <torch/torch.h>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "autotimm/config.hpp"
#include "autotimm/error.hpp"
#include "autotimm/hub.hpp"
#include "autotimm/hub_resolver.hpp"
#include "autotimm/io/safetensors_torch.hpp"
#include "autotimm/io/torch_checkpoint.hpp"
#include "autotimm/names.hpp"
#include "autotimm/pretrained_cfg_json.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/runtime.hpp"
#include "autotimm/state_dict.hpp"
#include "timm_folder.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;

// The prefixes timm accepts for Hub ids, used to say which plugin is missing when none is registered.
constexpr std::string_view kKnownHubPrefixes[] = {"hf-hub:", "hf_hub:", "timm/"};

struct ArchAndTag {
  std::string arch;
  std::string tag;
};

ArchAndTag split_tag(std::string_view name) {
  const auto dot = name.find('.');
  if (dot == std::string_view::npos) return {std::string(name), {}};
  return {std::string(name.substr(0, dot)), std::string(name.substr(dot + 1))};
}

// Unset options keep the variant's or checkpoint's values; set ones override, as timm drops None keywords.
boost::json::object merged_model_args(const boost::json::object& base, const BackboneOptions& options) {
  boost::json::object args = base;
  for (const auto& [key, value] : options.model_args) args[key] = value;
  if (options.num_classes) args["num_classes"] = *options.num_classes;
  if (options.in_chans) args["in_chans"] = *options.in_chans;
  if (options.global_pool) args["global_pool"] = *options.global_pool;
  if (options.drop_rate) args["drop_rate"] = *options.drop_rate;
  if (options.drop_path_rate) args["drop_path_rate"] = *options.drop_path_rate;
  return args;
}

const PretrainedCfg* find_tag(const BackboneEntry& entry, std::string_view tag) {
  if (entry.pretrained.empty()) return nullptr;
  if (tag.empty()) return &entry.pretrained.front();  // the default tag comes first
  for (const auto& cfg : entry.pretrained) {
    if (cfg.tag == tag) return &cfg;
  }
  return nullptr;
}

std::string tags_of(const BackboneEntry& entry) {
  std::vector<std::string> tags;
  for (std::size_t i = 0; i < entry.pretrained.size(); ++i) {
    tags.push_back(entry.pretrained[i].tag + (i == 0 ? " (default)" : ""));
  }
  return join_names(tags);
}

std::shared_ptr<Backbone> build(const BackboneEntry& entry, const boost::json::object& args, const std::string& what) {
  Config config(args, "options of " + what);
  auto net = entry.factory(config);
  if (!net) throw PluginError("backbone factory for '" + entry.name + "' (plugin '" + entry.source.plugin + "') returned nothing");
  config.expect_all_used();
  return net;
}

void load_weights(Backbone& net, const fs::path& file, const PretrainedCfg& cfg, bool strict, const std::string& what) {
  // safetensors first; PyTorch zip checkpoints (.bin/.pth/.pt) through the restricted unpickler.
  const auto extension = file.extension().string();
  auto tensors = extension == ".bin" || extension == ".pth" || extension == ".pt"
                     ? load_torch_checkpoint(file, torch::kFloat32)
                     : load_safetensors(file, torch::kFloat32);
  load_state_dict(net, std::move(tensors),
                  {.source = what + " (" + fs::absolute(file).string() + ")",
                   .strict = strict,
                   .classifier = cfg.classifier,
                   .first_conv = cfg.first_conv});
}

const HubResolverEntry* resolver_for(Registry& registry, std::string_view name, std::string* prefix) {
  for (const HubResolverEntry* entry : registry.hub_resolvers().entries()) {
    for (const auto& candidate : entry->prefixes) {
      if (name.starts_with(candidate)) {
        *prefix = candidate;
        return entry;
      }
    }
  }
  return nullptr;
}

[[noreturn]] void no_resolver(std::string_view name, std::string_view prefix) {
  throw NotFoundError("cannot resolve '" + std::string(name) + "': no hub resolver plugin handles '" +
                      std::string(prefix) + "'; install the hf hub plugin or add its folder to AUTOTIMM_PLUGIN_PATH " +
                      "(autotimm plugins lists what is loaded)");
}

std::shared_ptr<Backbone> from_folder(const fs::path& folder, const BackboneOptions& options, Registry& registry,
                                      const std::string& what) {
  const TimmFolder model = read_timm_folder(folder);
  const auto [arch, tag] = split_tag(model.architecture);
  const BackboneEntry& entry = registry.backbones().get(arch);
  boost::json::object base = model.model_args;
  base["num_classes"] = model.num_classes;
  auto net = build(entry, merged_model_args(base, options), what);
  PretrainedCfg cfg = model.pretrained_cfg;
  if (cfg.architecture.empty()) cfg.architecture = arch;
  cfg.num_classes = net->num_classes();
  if (!model.label_names.empty() && net->num_classes() == model.num_classes) cfg.label_names = model.label_names;
  const fs::path weights = options.pretrained_file.empty() ? model.weights : options.pretrained_file;
  load_weights(*net, weights, model.pretrained_cfg, options.strict, what);
  net->set_pretrained_cfg(std::move(cfg));
  return net;
}

fs::path hub_folder(Registry& registry, const std::string& hub_id, const std::string& what) {
  std::string prefix;
  const std::string name = "hf-hub:" + hub_id;
  const HubResolverEntry* entry = resolver_for(registry, name, &prefix);
  if (entry == nullptr) no_resolver(what, "hf-hub:");
  auto resolver = make_hub_resolver(*entry);
  return resolver->resolve(parse_hub_name(name));
}

// A deprecated name (the whole `name`, or its arch part) resolved to its replacement, with a warning.
std::string undeprecated(Registry& registry, std::string_view name) {
  if (registry.backbones().contains(split_tag(name).arch)) return std::string(name);
  const auto* alias = registry.backbone_aliases().find(name);
  if (alias == nullptr) alias = registry.backbone_aliases().find(split_tag(name).arch);
  if (alias == nullptr) return std::string(name);
  spdlog::warn("backbone name '{}' is deprecated; use '{}'", name, alias->target);
  return alias->target;
}

}  // namespace

std::shared_ptr<Backbone> create_backbone(std::string_view name, const BackboneOptions& options, Registry* registry_ptr) {
  configure_runtime();
  Registry& registry = registry_ptr ? *registry_ptr : autotimm::registry();
  const std::string what(name);

  std::string prefix;
  if (const HubResolverEntry* entry = resolver_for(registry, name, &prefix)) {
    auto resolver = make_hub_resolver(*entry);
    const fs::path folder = resolver->resolve(parse_hub_name(name));
    return from_folder(folder, options, registry, what);
  }
  for (auto known : kKnownHubPrefixes) {
    if (name.starts_with(known) && !(known == "timm/" && fs::is_directory(fs::path(what)))) no_resolver(name, known);
  }
  std::error_code ec;
  if (fs::is_directory(fs::path(what), ec)) return from_folder(fs::path(what), options, registry, what);

  const auto [arch, tag] = split_tag(undeprecated(registry, name));
  const BackboneEntry& entry = registry.backbones().get(arch);
  const PretrainedCfg* cfg = find_tag(entry, tag);
  if (!tag.empty() && cfg == nullptr) {
    throw NotFoundError("unknown pretrained tag '" + tag + "' for " + arch + "; available: " +
                        (entry.pretrained.empty() ? std::string("none") : tags_of(entry)));
  }
  auto net = build(entry, merged_model_args({}, options), what);
  PretrainedCfg chosen = cfg ? *cfg : net->pretrained_cfg();
  if (chosen.architecture.empty()) chosen.architecture = arch;
  if (!options.pretrained_file.empty()) {
    load_weights(*net, options.pretrained_file, chosen, options.strict, what);
  } else if (options.pretrained) {
    if (cfg == nullptr || cfg->hf_hub_id.empty()) {
      throw NotFoundError("no pretrained weights for '" + what + "'" +
                          (entry.pretrained.empty() ? std::string(": the architecture has no pretrained tags")
                                                    : "; tags with weights: " + tags_of(entry)) +
                          "; pass pretrained_file, or leave pretrained off for random initialisation");
    }
    const fs::path folder = hub_folder(registry, cfg->hf_hub_id, what);
    const TimmFolder model = read_timm_folder(folder);
    load_weights(*net, model.weights, chosen, options.strict, what);
  }
  chosen.num_classes = net->num_classes();
  net->set_pretrained_cfg(std::move(chosen));
  return net;
}

FeatureBackbone::FeatureBackbone(std::shared_ptr<Backbone> backbone, std::vector<std::int64_t> out_indices)
    : backbone_(std::move(backbone)) {
  const auto& all = backbone_->feature_info();
  const auto count = static_cast<std::int64_t>(all.size());
  if (out_indices.empty()) {
    for (std::int64_t i = 0; i < count; ++i) out_indices.push_back(i);
  }
  out_indices_ = resolve_feature_indices(out_indices, count);
  for (auto index : out_indices_) feature_info_.push_back(all[static_cast<std::size_t>(index)]);
}

std::vector<torch::Tensor> FeatureBackbone::forward(const torch::Tensor& x) {
  return backbone_->forward_intermediates(x, out_indices_);
}

std::shared_ptr<FeatureBackbone> create_feature_backbone(std::string_view name, const BackboneOptions& options,
                                                         std::vector<std::int64_t> out_indices, Registry* registry) {
  BackboneOptions headless = options;
  headless.num_classes = 0;  // timm's features_only models have no classifier
  return std::make_shared<FeatureBackbone>(create_backbone(name, headless, registry), std::move(out_indices));
}

std::vector<std::string> list_backbones(std::string_view pattern, bool pretrained_only, Registry* registry_ptr) {
  Registry& registry = registry_ptr ? *registry_ptr : autotimm::registry();
  if (!pretrained_only) return registry.backbones().list(pattern);
  std::vector<std::string> names;
  for (const BackboneEntry* entry : registry.backbones().entries()) {
    for (const auto& cfg : entry->pretrained) {
      const std::string full = entry->name + "." + cfg.tag;
      // A pattern without a tag matches every tag of the architectures it names, as timm's list_models does.
      if (wildcard_match(pattern, full) || wildcard_match(pattern, entry->name)) names.push_back(full);
    }
  }
  return names;
}

PretrainedCfg resolve_pretrained_cfg(std::string_view name, Registry* registry_ptr) {
  Registry& registry = registry_ptr ? *registry_ptr : autotimm::registry();
  const auto [arch, tag] = split_tag(undeprecated(registry, name));
  const BackboneEntry& entry = registry.backbones().get(arch);
  const PretrainedCfg* cfg = find_tag(entry, tag);
  if (cfg == nullptr && !tag.empty()) {
    throw NotFoundError("unknown pretrained tag '" + tag + "' for " + arch + "; available: " +
                        (entry.pretrained.empty() ? std::string("none") : tags_of(entry)));
  }
  if (cfg == nullptr) {
    PretrainedCfg neutral;
    neutral.architecture = arch;
    return neutral;
  }
  return *cfg;
}

}  // namespace autotimm
