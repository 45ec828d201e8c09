// SwinTransformerImpl::adapt_state_dict and resize_rel_pos_bias_table: what timm's checkpoint_filter_fn for
// swin_transformer.py does before loading. Buffers older checkpoints saved are dropped (they are recomputed),
// Microsoft's original layout is renamed to timm's, and relative position bias tables made for another window are
// resampled the way timm's resize_rel_pos_bias_table (timm/layers/pos_embed_rel.py) does by default.
#include <torch/torch.h>

#include <cmath>
#include <regex>
#include <vector>

#include "autotimm/error.hpp"
#include "swin_transformer.hpp"

namespace autotimm::swin {
namespace {

constexpr std::string_view kTableSuffix = ".attn.relative_position_bias_table";

// BEiT's source offsets for one axis: a geometric progression whose ratio q (found by bisection, as timm) makes the
// src / 2 steps reach dst / 2; symmetric around 0. In double, as Python computes them.
std::vector<double> geometric_offsets(std::int64_t src, std::int64_t dst) {
  const std::int64_t steps = src / 2, reach = dst / 2;
  const auto progression = [steps](double q) { return (1.0 - std::pow(q, static_cast<double>(steps))) / (1.0 - q); };
  double left = 1.01, right = 1.5, q = 0.0;
  while (right - left > 1e-6) {
    q = (left + right) / 2.0;
    if (progression(q) > static_cast<double>(reach)) {
      right = q;
    } else {
      left = q;
    }
  }
  std::vector<double> distances;
  double current = 1.0;
  for (std::int64_t i = 0; i < steps; ++i) {
    distances.push_back(current);
    current += std::pow(q, static_cast<double>(i + 1));
  }
  std::vector<double> offsets;
  for (auto it = distances.rbegin(); it != distances.rend(); ++it) offsets.push_back(-*it);
  offsets.push_back(0.0);
  offsets.insert(offsets.end(), distances.begin(), distances.end());
  return offsets;
}

struct AxisWeights {
  torch::Tensor left, right;            // int64 indices into the source points
  torch::Tensor dist_left, dist_right;  // float32 distances (clamped at 0; both 1 where the point is hit exactly)
};

// timm's RegularGridInterpolator along one axis, for target coordinates `x` and sorted source `points`.
AxisWeights axis_weights(const torch::Tensor& points, const torch::Tensor& x) {
  const std::int64_t last = points.size(0) - 1;
  auto right = torch::bucketize(x, points).clamp_max(last);
  auto left = (right - 1).clamp(0, last);
  auto dist_left = (x - points.index_select(0, left.flatten()).view_as(x)).clamp_min(0.0);
  auto dist_right = (points.index_select(0, right.flatten()).view_as(x) - x).clamp_min(0.0);
  const auto both_zero = (dist_left == 0) & (dist_right == 0);
  dist_left = dist_left.masked_fill(both_zero, 1.0);
  dist_right = dist_right.masked_fill(both_zero, 1.0);
  return {left, right, dist_left, dist_right};
}

}  // namespace

torch::Tensor resize_rel_pos_bias_table(const torch::Tensor& table, Size2 new_window) {
  if (table.dim() != 2) {
    throw ConfigError("resize_rel_pos_bias_table: expected a [positions, heads] table, got sizes " +
                      c10::str(table.sizes()));
  }
  const std::int64_t positions = table.size(0), heads = table.size(1);
  const auto src = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(positions))));
  if (src * src != positions || src % 2 == 0) {
    throw ConfigError("resize_rel_pos_bias_table: expected a table of (2·window − 1)² positions (a square window), "
                      "got " + std::to_string(positions) + " positions");
  }
  const Size2 dst = {2 * new_window[0] - 1, 2 * new_window[1] - 1};
  if (src == dst[0] && src == dst[1]) return table;

  const auto as_tensor = [](const std::vector<double>& values) {
    return torch::tensor(values, torch::kFloat64).to(torch::kFloat32);
  };
  const auto y_points = as_tensor(geometric_offsets(src, dst[0]));
  const auto x_points = as_tensor(geometric_offsets(src, dst[1]));
  // The target's integer offsets, −⌊d/2⌋ … ⌊d/2⌋, on an (ndgrid) mesh.
  const auto ty = static_cast<double>(dst[0] / 2), tx = static_cast<double>(dst[1] / 2);
  const auto dy = torch::arange(-ty, ty + 0.1, 1.0, torch::kFloat32);
  const auto dx = torch::arange(-tx, tx + 0.1, 1.0, torch::kFloat32);
  const auto grid_y = dy.view({-1, 1}).expand({dy.size(0), dx.size(0)}).contiguous();
  const auto grid_x = dx.view({1, -1}).expand({dy.size(0), dx.size(0)}).contiguous();
  const auto wy = axis_weights(y_points, grid_y);
  const auto wx = axis_weights(x_points, grid_x);

  // Every head at once: values [src, src, heads], gathered at the four neighbours of each target point, weighted by
  // the opposite distances in timm's order ((0, 0), (0, 1), (1, 0), (1, 1)), over the product of the spans.
  const auto values = table.to(torch::kFloat32).view({src, src, heads});
  const auto at = [&](const torch::Tensor& rows, const torch::Tensor& cols) {
    return values.index({rows, cols});  // [dh, dw, heads]
  };
  const auto w = [](const torch::Tensor& a, const torch::Tensor& b) { return (a * b).unsqueeze(-1); };
  const auto numerator = at(wy.left, wx.left) * w(wy.dist_right, wx.dist_right) +
                         at(wy.left, wx.right) * w(wy.dist_right, wx.dist_left) +
                         at(wy.right, wx.left) * w(wy.dist_left, wx.dist_right) +
                         at(wy.right, wx.right) * w(wy.dist_left, wx.dist_left);
  const auto denominator = ((wy.dist_left + wy.dist_right) * (wx.dist_left + wx.dist_right)).unsqueeze(-1);
  return (numerator / denominator).reshape({dst[0] * dst[1], heads}).contiguous();
}

std::vector<std::string> SwinTransformerImpl::adapt_state_dict(std::map<std::string, torch::Tensor>& tensors,
                                                               const std::string& source) const {
  std::vector<std::string> adapted;

  // Microsoft's original layout puts PatchMerging at the end of a stage and the classifier at `head`: recognised by a
  // downsample in stage 0 (timm's layout never has one) or a bare `head.weight`.
  bool original_layout = tensors.count("head.weight") > 0;
  for (const auto& [key, _] : tensors) original_layout = original_layout || key.starts_with("layers.0.downsample.");
  std::map<std::string, torch::Tensor> renamed;
  static const std::regex kDownsample(R"(^layers\.(\d+)\.downsample\.)");
  for (auto& [key, tensor] : tensors) {
    // Buffers timm no longer saves: recomputed from the options.
    if (key.find("relative_position_index") != std::string::npos || key.find("attn_mask") != std::string::npos) {
      adapted.push_back(key);
      continue;
    }
    std::string name = key;
    if (original_layout) {
      std::smatch match;
      if (std::regex_search(name, match, kDownsample)) {
        name = "layers." + std::to_string(std::stoll(match[1].str()) + 1) + ".downsample." + match.suffix().str();
      } else if (name.starts_with("head.")) {
        name = "head.fc." + name.substr(5);
      }
      if (name != key) adapted.push_back(name);
    }
    renamed[name] = tensor;
  }
  tensors = std::move(renamed);

  // Bias tables made for another window: layers.<i>.blocks.<j>.attn.relative_position_bias_table.
  static const std::regex kTable(R"(^layers\.(\d+)\.blocks\.(\d+)\.attn\.relative_position_bias_table$)");
  for (auto& [key, tensor] : tensors) {
    std::smatch match;
    if (!std::regex_match(key, match, kTable)) continue;
    const auto stage = std::stoull(match[1].str()), block = std::stoull(match[2].str());
    if (stage >= stages_.size() || block >= stages_[stage]->blocks.size()) continue;  // the loader reports it
    const auto& attn = stages_[stage]->blocks[block]->attn;
    const auto& expected = attn->relative_position_bias_table;
    if (tensor.sizes() == expected.sizes()) continue;
    const Size2 window = attn->options().window;
    if (tensor.dim() != 2 || tensor.size(1) != expected.size(1)) {
      throw FormatError("cannot load weights from " + source + ": '" + key + "' has shape " +
                        c10::str(tensor.sizes()) + ", the model expects " + c10::str(expected.sizes()) +
                        " (window " + std::to_string(window[0]) + "x" + std::to_string(window[1]) + ", " +
                        std::to_string(expected.size(1)) + " heads); only the window can be resampled, the head " +
                        "count must match: are these weights for another Swin variant?");
    }
    try {
      tensor = resize_rel_pos_bias_table(tensor, window);
    } catch (const ConfigError& e) {
      throw FormatError("cannot load weights from " + source + ": '" + key + "' has shape " +
                        c10::str(tensor.sizes()) + ", which is not the table of a square window to resample to " +
                        std::to_string(window[0]) + "x" + std::to_string(window[1]) + " (" + e.what() + ")");
    }
    adapted.push_back(key);
  }
  return adapted;
}

}  // namespace autotimm::swin
