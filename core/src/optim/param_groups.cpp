// timm's param_groups_weight_decay: which parameters get no weight decay.
#include "autotimm/names.hpp"
#include "autotimm/optim/optimizers.hpp"

namespace autotimm {
namespace {

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

WeightDecayGroups split_weight_decay(const torch::OrderedDict<std::string, torch::Tensor>& named_parameters,
                                     const std::vector<std::string>& no_weight_decay) {
  WeightDecayGroups groups;
  for (const auto& item : named_parameters) {
    const auto& name = item.key();
    const auto& param = item.value();
    if (!param.requires_grad()) continue;
    bool excluded = param.dim() <= 1 || ends_with(name, ".bias") || name == "bias";
    for (const auto& pattern : no_weight_decay) {
      if (excluded) break;
      excluded = pattern == name || wildcard_match(pattern, name);
    }
    if (excluded) {
      groups.no_decay_names.push_back(name);
      groups.no_decay.push_back(param);
    } else {
      groups.decay_names.push_back(name);
      groups.decay.push_back(param);
    }
  }
  return groups;
}

}  // namespace autotimm
