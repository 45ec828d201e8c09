#include "autotimm/state_dict.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "autotimm/state_dict_adapter.hpp"

namespace autotimm {
namespace {

std::string shape_text(at::IntArrayRef shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// `prefixes` is one module name or several separated by commas (timm's tuple, e.g. DeiT's "head,head_dist").
bool under(const std::string& key, const std::string& prefixes) {
  std::size_t begin = 0;
  while (begin < prefixes.size()) {
    const std::size_t end = std::min(prefixes.find(',', begin), prefixes.size());
    const std::string prefix = prefixes.substr(begin, end - begin);
    if (!prefix.empty() && (key == prefix || key.starts_with(prefix + "."))) return true;
    begin = end + 1;
  }
  return false;
}

// "a, b, c and 12 more"
std::string first_ten(const std::vector<std::string>& keys) {
  std::vector<std::string> shown(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(10, keys.size())));
  std::string text = join_names(shown);
  if (keys.size() > 10) text += " and " + std::to_string(keys.size() - 10) + " more";
  return text;
}

}  // namespace

// The adapter's key function: its vtable and typeinfo live here, once, so plugins can cross-cast to it.
StateDictAdapter::~StateDictAdapter() = default;

std::vector<std::pair<std::string, torch::Tensor>> state_dict(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  // Per module, its own parameters then its own buffers: the order of PyTorch's state_dict(). The root is read
  // directly rather than through named_modules(include_self), which needs it held by a shared_ptr.
  const auto add = [&](const torch::nn::Module& m, const std::string& prefix) {
    for (const auto& p : m.named_parameters(/*recurse=*/false)) out.emplace_back(prefix + p.key(), p.value());
    for (const auto& b : m.named_buffers(/*recurse=*/false)) out.emplace_back(prefix + b.key(), b.value());
  };
  add(module, "");
  for (const auto& item : module.named_modules("", /*include_self=*/false)) add(*item.value(), item.key() + ".");
  return out;
}

torch::Tensor adapt_input_conv(const torch::Tensor& weight, std::int64_t in_chans) {
  if (weight.dim() != 4) {
    throw ConfigError("adapt_input_conv: expected a 4-d conv weight, got shape " + shape_text(weight.sizes()));
  }
  if (in_chans <= 0) throw ConfigError("adapt_input_conv: expected in_chans > 0, got " + std::to_string(in_chans));
  const auto original_dtype = weight.scalar_type();
  torch::Tensor w = weight.to(torch::kFloat32);
  const std::int64_t out_chans = w.size(0), have = w.size(1);
  if (in_chans == have) return weight;
  if (in_chans == 1) {
    if (have > 3) {
      // Space-to-depth stems interleave RGB groups: sum within each group of three.
      if (have % 3 != 0) {
        throw ConfigError("adapt_input_conv: cannot reduce " + std::to_string(have) +
                          " input channels to 1: expected a multiple of 3");
      }
      w = w.reshape({out_chans, have / 3, 3, w.size(2), w.size(3)}).sum(2);
    } else {
      w = w.sum(1, /*keepdim=*/true);
    }
  } else {
    if (have != 3) {
      throw ConfigError("adapt_input_conv: cannot adapt a weight made for " + std::to_string(have) +
                        " input channels to " + std::to_string(in_chans) + ": only 3-channel weights can be repeated");
    }
    const auto repeat = static_cast<std::int64_t>(std::ceil(static_cast<double>(in_chans) / 3.0));
    w = w.repeat({1, repeat, 1, 1}).slice(1, 0, in_chans) * (3.0 / static_cast<double>(in_chans));
  }
  return w.to(original_dtype).contiguous();
}

StateDictLoadReport load_state_dict(torch::nn::Module& module, std::map<std::string, torch::Tensor> tensors,
                                    const StateDictLoadOptions& options) {
  StateDictLoadReport report;
  // The model's own adaptations first (a ViT resampling its position embedding), so strict checks see their result.
  if (const auto* adapter = dynamic_cast<const StateDictAdapter*>(&module)) {
    report.adapted = adapter->adapt_state_dict(tensors, options.source);
  }
  std::vector<std::string> mismatches;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // (target, source), applied only if all is well
  std::set<std::string> consumed;

  for (auto& [key, target] : state_dict(module)) {
    auto found = tensors.find(key);
    if (found == tensors.end()) {
      if (under(key, options.classifier)) {
        report.dropped.push_back(key);  // a classifier the file does not have: keep the fresh one
      } else {
        report.missing.push_back(key);
      }
      continue;
    }
    consumed.insert(key);
    torch::Tensor source = found->second;
    if (source.sizes() != target.sizes()) {
      if (under(key, options.classifier)) {
        report.dropped.push_back(key);
        continue;
      }
      const bool is_first_conv = !options.first_conv.empty() && key == options.first_conv + ".weight";
      if (is_first_conv && source.dim() == 4 && target.dim() == 4 && source.size(0) == target.size(0) &&
          source.size(2) == target.size(2) && source.size(3) == target.size(3)) {
        source = adapt_input_conv(source, target.size(1));
        report.adapted.push_back(key);
      } else {
        mismatches.push_back("'" + key + "' has shape " + shape_text(source.sizes()) + ", the model expects " +
                             shape_text(target.sizes()));
        continue;
      }
    }
    copies.emplace_back(target, source);
  }
  for (const auto& [key, _] : tensors) {
    if (consumed.count(key)) continue;
    if (under(key, options.classifier)) {
      report.dropped.push_back(key);  // the model is headless or its classifier is elsewhere
    } else {
      report.unexpected.push_back(key);
    }
  }

  std::vector<std::string> problems = mismatches;
  if (options.strict && !report.missing.empty()) {
    problems.push_back("missing keys (" + std::to_string(report.missing.size()) + "): " + first_ten(report.missing));
  }
  if (options.strict && !report.unexpected.empty()) {
    problems.push_back("unexpected keys (" + std::to_string(report.unexpected.size()) + "): " +
                       first_ten(report.unexpected));
  }
  if (!problems.empty()) {
    std::string message = "cannot load weights from " + options.source + ": " + problems.front();
    for (std::size_t i = 1; i < problems.size(); ++i) message += "; " + problems[i];
    message += mismatches.empty() ? "; load non-strictly to keep the model's own values for those keys"
                                  : "; are these weights for another architecture or configuration?";
    throw FormatError(message);
  }

  torch::NoGradGuard no_grad;
  for (auto& [target, source] : copies) target.copy_(source.to(target.scalar_type()));
  return report;
}

}  // namespace autotimm
