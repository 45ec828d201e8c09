#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <iomanip>
#include <sstream>

#include "autotimm/trainer/callbacks.hpp"

namespace autotimm {

namespace {

/// "autotimm::resnet::ResNetImpl" → "ResNet".
std::string type_name(const torch::nn::Module& module) {
  std::string name = module.name();
  if (const auto colon = name.rfind("::"); colon != std::string::npos) name = name.substr(colon + 2);
  if (name.size() > 4 && name.ends_with("Impl")) name.resize(name.size() - 4);
  return name;
}

std::int64_t count(const torch::nn::Module& module) {
  std::int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

/// 11.2 M, 3.4 K, 120.
std::string human(std::int64_t n) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1);
  if (n >= 1'000'000) {
    out << static_cast<double>(n) / 1e6 << " M";
  } else if (n >= 1'000) {
    out << static_cast<double>(n) / 1e3 << " K";
  } else {
    out << n;
  }
  return out.str();
}

struct Row {
  std::string name, type, params;
};

void collect(const torch::nn::Module& module, const std::string& prefix, int depth, int max_depth,
             std::vector<Row>& rows) {
  for (const auto& child : module.named_children()) {
    const std::string name = prefix.empty() ? child.key() : prefix + "." + child.key();
    rows.push_back({name, type_name(*child.value()), human(count(*child.value()))});
    if (depth < max_depth) collect(*child.value(), name, depth + 1, max_depth, rows);
  }
}

}  // namespace

std::string model_summary(const torch::nn::Module& module, int max_depth) {
  std::vector<Row> rows;
  if (max_depth > 0) collect(module, "", 1, max_depth, rows);
  std::size_t name_width = 4, type_width = 4, param_width = 6;
  for (const auto& row : rows) {
    name_width = std::max(name_width, row.name.size());
    type_width = std::max(type_width, row.type.size());
    param_width = std::max(param_width, row.params.size());
  }
  std::ostringstream out;
  const auto line = [&](const std::string& index, const std::string& name, const std::string& type,
                        const std::string& params) {
    out << std::left << std::setw(4) << index << "| " << std::setw(static_cast<int>(name_width)) << name << " | "
        << std::setw(static_cast<int>(type_width)) << type << " | " << std::right
        << std::setw(static_cast<int>(param_width)) << params << "\n";
  };
  line("", "Name", "Type", "Params");
  out << std::string(4 + 2 + name_width + 3 + type_width + 3 + param_width, '-') << "\n";
  for (std::size_t i = 0; i < rows.size(); ++i) line(std::to_string(i), rows[i].name, rows[i].type, rows[i].params);
  std::int64_t trainable = 0, frozen = 0, bytes = 0;
  for (const auto& p : module.parameters()) {
    (p.requires_grad() ? trainable : frozen) += p.numel();
    bytes += p.numel() * static_cast<std::int64_t>(p.element_size());
  }
  out << std::string(4 + 2 + name_width + 3 + type_width + 3 + param_width, '-') << "\n";
  out << human(trainable) << " trainable params\n"
      << human(frozen) << " non-trainable params\n"
      << human(trainable + frozen) << " total params\n"
      << std::fixed << std::setprecision(3) << static_cast<double>(bytes) / 1e6 << " total estimated model params size (MB)";
  return out.str();
}

void ModelSummary::on_fit_start(TrainingState& state) {
  if (!state.is_global_zero) return;
  spdlog::info("model summary\n{}", model_summary(state.trainer->model(), max_depth_));
}

}  // namespace autotimm
