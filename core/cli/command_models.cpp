// autotimm models: list the registered backbones, describe one, and run one on a tensor file.
#include <torch/torch.h>

#include <iostream>

#include <boost/json.hpp>

#include "autotimm/backbones.hpp"
#include "autotimm/error.hpp"
#include "autotimm/io/safetensors_torch.hpp"
#include "autotimm/pretrained_cfg_json.hpp"
#include "autotimm/state_dict.hpp"
#include "command_line.hpp"
#include "commands.hpp"

namespace autotimm::cli {
namespace {

std::int64_t parameter_count(const torch::nn::Module& module) {
  std::int64_t count = 0;
  for (const auto& p : module.parameters()) count += p.numel();
  return count;
}

int run_list(const std::vector<std::string>& args) {
  CommandLine line(args, {"--pretrained", "--json"}, {});
  if (line.positional().size() > 1) throw UsageError("expected at most one PATTERN");
  const std::string pattern = line.positional().empty() ? "*" : line.positional().front();
  const auto names = list_backbones(pattern, line.flag("--pretrained"));
  if (line.flag("--json")) {
    boost::json::array out;
    for (const auto& name : names) out.push_back(boost::json::string(name));
    std::cout << boost::json::serialize(out) << "\n";
  } else {
    for (const auto& name : names) std::cout << name << "\n";
  }
  return kExitOk;
}

int run_info(const std::vector<std::string>& args) {
  CommandLine line(args, {"--json"}, {});
  if (line.positional().size() != 1) throw UsageError("expected one model NAME (arch, arch.tag or a folder)");
  const std::string& name = line.positional().front();
  auto net = create_backbone(name);
  boost::json::array features;
  for (const auto& f : net->feature_info()) {
    features.push_back(boost::json::object{{"num_chs", f.num_chs}, {"reduction", f.reduction}, {"module", f.module}});
  }
  boost::json::object info{{"name", name},
                           {"architecture", net->pretrained_cfg().architecture},
                           {"num_params", parameter_count(*net)},
                           {"num_features", net->num_features()},
                           {"head_hidden_size", net->head_hidden_size()},
                           {"num_classes", net->num_classes()},
                           {"feature_info", std::move(features)},
                           {"pretrained_cfg", pretrained_cfg_to_json(net->pretrained_cfg())}};
  if (line.flag("--json")) {
    std::cout << boost::json::serialize(info) << "\n";
    return kExitOk;
  }
  std::cout << "name          " << name << "\narchitecture  " << net->pretrained_cfg().architecture
            << "\nparameters    " << parameter_count(*net) << "\nnum_features  " << net->num_features()
            << "\nhead_hidden   " << net->head_hidden_size()
            << "\nnum_classes   " << net->num_classes() << "\nfeature_info\n";
  for (const auto& f : net->feature_info()) {
    std::cout << "  " << f.module << ": " << f.num_chs << " channels, reduction " << f.reduction << "\n";
  }
  std::cout << "pretrained_cfg " << boost::json::serialize(info.at("pretrained_cfg")) << "\n";
  return kExitOk;
}

int run_forward(const std::vector<std::string>& args) {
  CommandLine line(args, {"--features"}, {"--model", "--input", "--output", "--num-classes"});
  if (!line.positional().empty()) throw UsageError("unexpected argument '" + line.positional().front() + "'");
  const auto model = line.option("--model"), input = line.option("--input"), output = line.option("--output");
  if (!model || !input || !output) throw UsageError("--model, --input and --output are required");
  BackboneOptions options;
  if (auto classes = line.option("--num-classes")) {
    try {
      options.num_classes = std::stoll(*classes);
    } catch (const std::exception&) {
      throw UsageError("--num-classes expects an integer, got '" + *classes + "'");
    }
  }
  auto net = create_backbone(*model, options);
  net->eval();
  const auto tensors = load_safetensors(*input, torch::kFloat32);
  const auto it = tensors.find("input");
  if (it == tensors.end()) {
    throw FormatError("'" + *input + "' has no tensor named 'input'; write the batch under that name");
  }
  const torch::Tensor& x = it->second;
  if (x.dim() != 4) throw FormatError("'input' in '" + *input + "' must be [N, C, H, W]");

  torch::InferenceMode inference;
  std::map<std::string, torch::Tensor> out;
  out["features"] = net->forward_features(x);
  out["pre_logits"] = net->forward_head(out["features"], /*pre_logits=*/true);
  out["logits"] = net->forward_head(out["features"]);
  if (line.flag("--features")) {
    std::vector<std::int64_t> all;
    for (std::size_t i = 0; i < net->feature_info().size(); ++i) all.push_back(static_cast<std::int64_t>(i));
    const auto maps = net->forward_intermediates(x, all);
    for (std::size_t i = 0; i < maps.size(); ++i) out["feat." + std::to_string(i)] = maps[i];
  }
  save_safetensors(*output, out);
  return kExitOk;
}

}  // namespace

int run_models(const std::vector<std::string>& args) {
  return run_subcommand(args, {{"list", &run_list}, {"info", &run_info}, {"forward", &run_forward}});
}

}  // namespace autotimm::cli
