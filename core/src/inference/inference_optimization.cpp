#include "autotimm/inference/inference_optimization.hpp"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "autotimm/backbone.hpp"
#include "autotimm/error.hpp"
#include "autotimm/layers/batch_norm.hpp"
#include "autotimm/tasks/image_classifier.hpp"
#include "autotimm/tasks/object_detector.hpp"
#include "autotimm/tasks/semantic_segmentor.hpp"

namespace autotimm {
namespace {

using torch::autograd::Node;

/// A module's parameter table: a bias-free Conv2d registers "bias" as an undefined tensor, and folding gives it a
/// real one under the same name (torch::nn::Module has no public way to replace a parameter).
struct ParameterTable : torch::nn::Module {
  static torch::OrderedDict<std::string, at::Tensor>& of(torch::nn::Module& module) {
    return module.*(&ParameterTable::parameters_);
  }
};

std::function<std::vector<at::Tensor>(const at::Tensor&)> own_forward(torch::nn::Module& model) {
  if (auto* classifier = dynamic_cast<ImageClassifier*>(&model)) {
    return [classifier](const at::Tensor& x) { return std::vector<at::Tensor>{classifier->forward(x)}; };
  }
  if (auto* detector = dynamic_cast<ObjectDetector*>(&model)) {
    return [detector](const at::Tensor& x) { return detector->forward(x); };
  }
  if (auto* segmentor = dynamic_cast<SemanticSegmentor*>(&model)) {
    return [segmentor](const at::Tensor& x) { return std::vector<at::Tensor>{segmentor->forward(x)}; };
  }
  if (auto* backbone = dynamic_cast<Backbone*>(&model)) {
    return [backbone](const at::Tensor& x) { return std::vector<at::Tensor>{backbone->forward(x)}; };
  }
  throw ConfigError("fold_batch_norm: '" + model.name() +
                    "' is not an ImageClassifier, ObjectDetector, SemanticSegmentor or Backbone; give "
                    "BatchNormFoldOptions::forward, a function that runs it on images");
}

/// Every autograd node reachable from `outputs`, with the number of edges (and outputs) that lead to it: a node
/// counted more than once has its result used by more than one operation.
std::unordered_map<const Node*, std::int64_t> consumers_of(const std::vector<at::Tensor>& outputs) {
  std::unordered_map<const Node*, std::int64_t> uses;
  std::vector<Node*> pending;
  auto visit = [&](Node* node) {
    if (node == nullptr) return;
    if (uses[node]++ == 0) pending.push_back(node);
  };
  for (const auto& output : outputs) visit(output.grad_fn().get());
  while (!pending.empty()) {
    Node* node = pending.back();
    pending.pop_back();
    for (const auto& edge : node->next_edges()) visit(edge.function.get());
  }
  return uses;
}

/// What folding changed in one convolution, to undo it.
struct FoldedConv {
  torch::nn::Conv2dImpl* conv = nullptr;
  layers::BatchNorm2dImpl* norm = nullptr;
  at::Tensor original_weight = {};
  at::Tensor original_bias = {};  ///< undefined: the convolution had none
};

FoldedConv fold_into(torch::nn::Conv2dImpl& conv, layers::BatchNorm2dImpl& norm) {
  torch::NoGradGuard no_grad;
  FoldedConv undo{.conv = &conv,
                  .norm = &norm,
                  .original_weight = conv.weight.detach().clone(),
                  .original_bias = conv.bias.defined() ? conv.bias.detach().clone() : at::Tensor()};
  // In float64, then back: the folded weights are rounded once.
  const auto var = norm.running_var.to(torch::kFloat64), mean = norm.running_mean.to(torch::kFloat64);
  auto scale = torch::rsqrt(var + norm.options.eps);
  if (norm.weight.defined()) scale = scale * norm.weight.to(torch::kFloat64);
  auto shift = -mean * scale;
  if (norm.bias.defined()) shift = shift + norm.bias.to(torch::kFloat64);
  const auto weight = conv.weight.to(torch::kFloat64) * scale.view({-1, 1, 1, 1});
  conv.weight.copy_(weight.to(conv.weight.scalar_type()));
  if (conv.bias.defined()) {
    conv.bias.copy_((conv.bias.to(torch::kFloat64) * scale + shift).to(conv.bias.scalar_type()));
  } else {
    auto bias = shift.to(conv.weight.options()).contiguous();
    bias.set_requires_grad(conv.weight.requires_grad());
    ParameterTable::of(conv)["bias"] = bias;
    conv.bias = bias;
  }
  norm.folded = true;
  return undo;
}

void unfold(FoldedConv& folded) {
  torch::NoGradGuard no_grad;
  folded.conv->weight.copy_(folded.original_weight);
  if (folded.original_bias.defined()) {
    folded.conv->bias.copy_(folded.original_bias);
  } else {
    ParameterTable::of(*folded.conv)["bias"] = at::Tensor();
    folded.conv->bias = at::Tensor();
  }
  folded.norm->folded = false;
}

double max_abs_difference(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b, double& scale) {
  double difference = 0.0;
  scale = 1.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a[i].defined() || !a[i].is_floating_point()) continue;
    const auto x = a[i].to(torch::kFloat64), y = b[i].to(torch::kFloat64);
    difference = std::max(difference, (x - y).abs().max().item<double>());
    scale = std::max(scale, x.abs().max().item<double>());
  }
  return difference;
}

}  // namespace

BatchNormFoldReport fold_batch_norm(torch::nn::Module& model, const BatchNormFoldOptions& options) {
  const auto modules = model.named_modules(std::string(), /*include_self=*/false);
  if (model.is_training() ||
      std::any_of(modules.begin(), modules.end(), [](const auto& item) { return item.value()->is_training(); })) {
    throw ConfigError("fold_batch_norm: '" + model.name() +
                      "' is in training mode; folding uses the running statistics of eval mode: call eval() first");
  }
  if (options.probe_shape.size() != 4 ||
      std::any_of(options.probe_shape.begin(), options.probe_shape.end(), [](std::int64_t n) { return n < 1; })) {
    throw ConfigError("fold_batch_norm: 'probe_shape': expected [N, C, H, W] of positive sizes");
  }
  BatchNormFoldReport report;
  std::unordered_map<layers::BatchNorm2dImpl*, std::string> norm_names;
  std::unordered_map<torch::nn::Conv2dImpl*, std::string> conv_names;
  for (const auto& item : modules) {
    if (auto* norm = dynamic_cast<layers::BatchNorm2dImpl*>(item.value().get())) norm_names[norm] = item.key();
    if (auto* conv = dynamic_cast<torch::nn::Conv2dImpl*>(item.value().get())) conv_names[conv] = item.key();
  }
  report.batch_norms = static_cast<std::int64_t>(norm_names.size());
  if (norm_names.empty()) return report;
  const auto forward = options.forward ? options.forward : own_forward(model);

  // The probe: one forward with autograd on every parameter, recording each BatchNorm's input.
  const auto first = model.parameters();
  const auto tensor_options = first.empty() ? torch::TensorOptions() : torch::TensorOptions()
                                                                            .dtype(first.front().scalar_type())
                                                                            .device(first.front().device());
  at::Tensor probe;
  std::vector<std::pair<at::Tensor, bool>> requires_grad;
  for (auto& parameter : model.parameters()) {
    requires_grad.emplace_back(parameter, parameter.requires_grad());
    parameter.set_requires_grad(true);
  }
  std::vector<at::Tensor> reference;
  std::vector<std::pair<torch::nn::Conv2dImpl*, layers::BatchNorm2dImpl*>> pairs;
  std::unordered_set<const layers::BatchNorm2dImpl*> seen;
  try {
    c10::InferenceMode autograd_allowed(false);  // also when the caller runs in InferenceMode
    torch::AutoGradMode autograd(true);
    // Made here, outside any InferenceMode: the convolutions save it for backward.
    auto generator = at::make_generator<at::CPUGeneratorImpl>(20240611);
    probe = torch::randn(options.probe_shape, generator, torch::kFloat32).to(tensor_options);
    layers::BatchNormInputCapture capture;
    reference = forward(probe);
    const auto uses = consumers_of(reference);
    // Each convolution weight's accumulator node → its module; a weight two modules share is ambiguous.
    std::unordered_map<const Node*, torch::nn::Conv2dImpl*> conv_of_weight;
    for (const auto& [conv, name] : conv_names) {
      if (const auto accumulator = torch::autograd::impl::try_get_grad_accumulator(conv->weight)) {
        auto [it, inserted] = conv_of_weight.emplace(accumulator.get(), conv);
        if (!inserted) it->second = nullptr;
      }
    }
    // How many convolution nodes each module's weight went into (a module called twice cannot take one fold).
    std::unordered_map<const torch::nn::Conv2dImpl*, std::int64_t> conv_calls;
    auto conv_of_node = [&](const Node* node) -> torch::nn::Conv2dImpl* {
      if (node == nullptr || node->name().find("Convolution") == std::string::npos) return nullptr;
      const auto& edges = node->next_edges();
      if (edges.size() < 2) return nullptr;
      const auto it = conv_of_weight.find(edges[1].function.get());
      return it == conv_of_weight.end() ? nullptr : it->second;
    };
    for (const auto& [node, count] : uses) {
      if (auto* conv = conv_of_node(node)) ++conv_calls[conv];
    }
    std::unordered_map<const layers::BatchNorm2dImpl*, std::int64_t> norm_calls;
    for (const auto& call : capture.calls()) ++norm_calls[call.module];
    for (const auto& call : capture.calls()) {
      auto* norm = call.module;
      if (!seen.insert(norm).second) continue;
      const auto name = norm_names.count(norm) ? norm_names[norm] : std::string("?");
      auto keep = [&](const std::string& why) { report.kept.push_back(name + ": " + why); };
      if (norm->folded) {
        keep("already folded");
        continue;
      }
      if (!norm->options.track_running_stats) {
        keep("no running statistics (it normalises with each batch's)");
        continue;
      }
      if (norm_calls[norm] != 1) {
        keep("called " + std::to_string(norm_calls[norm]) + " times in one forward");
        continue;
      }
      const auto node = call.input.grad_fn();
      auto* conv = conv_of_node(node.get());
      if (conv == nullptr) {
        keep("its input is not a Conv2d's output (" + (node ? node->name() : std::string("no autograd node")) + ")");
        continue;
      }
      if (conv_calls[conv] != 1) {
        keep("its Conv2d '" + conv_names[conv] + "' runs " + std::to_string(conv_calls[conv]) + " times");
        continue;
      }
      const auto found = uses.find(node.get());
      if (found == uses.end() || found->second != 1) {
        keep("the output of its Conv2d '" + conv_names[conv] + "' is used elsewhere too");
        continue;
      }
      if (conv->options.out_channels() != norm->options.num_features) {
        keep("its Conv2d '" + conv_names[conv] + "' has another channel count");
        continue;
      }
      pairs.emplace_back(conv, norm);
    }
    for (auto& output : reference) output = output.detach();
  } catch (...) {
    for (auto& [parameter, flag] : requires_grad) parameter.set_requires_grad(flag);
    throw;
  }
  for (auto& [parameter, flag] : requires_grad) parameter.set_requires_grad(flag);
  for (const auto& [norm, name] : norm_names) {
    if (!seen.count(norm)) report.kept.push_back(name + ": not run by the forward");
  }

  std::vector<FoldedConv> folded;
  for (const auto& [conv, norm] : pairs) folded.push_back(fold_into(*conv, *norm));
  report.folded = static_cast<std::int64_t>(folded.size());
  if (folded.empty()) return report;

  std::vector<at::Tensor> outputs;
  {
    torch::NoGradGuard no_grad;
    outputs = forward(probe);
  }
  double scale = 1.0;
  report.max_difference = max_abs_difference(reference, outputs, scale);
  if (!(report.max_difference <= options.tolerance * scale)) {
    for (auto& one : folded) unfold(one);
    std::ostringstream message;
    message << "fold_batch_norm: '" << model.name() << "': the folded model's outputs differ from the unfolded ones by "
            << report.max_difference << " (allowed " << options.tolerance * scale
            << "); nothing was folded. Run the model unfolded";
    throw ConfigError(message.str());
  }
  spdlog::debug("fold_batch_norm: folded {} of {} BatchNorm2d layers into their convolutions (max difference {:.3g})",
                report.folded, report.batch_norms, report.max_difference);
  return report;
}

std::int64_t to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  std::int64_t converted = 0;
  auto convert = [&](at::Tensor& tensor) {
    if (!tensor.defined() || tensor.dim() != 4) return;
    if (!tensor.is_contiguous(at::MemoryFormat::ChannelsLast)) {
      tensor.set_data(tensor.contiguous(at::MemoryFormat::ChannelsLast));
    }
    ++converted;
  };
  for (auto& parameter : module.parameters()) convert(parameter);
  for (auto& buffer : module.buffers()) convert(buffer);
  return converted;
}

}  // namespace autotimm
