#include "autotimm/tasks/fcos.hpp"

#include <torch/torch.h>

#include <limits>

#include "autotimm/error.hpp"
#include "autotimm/ops/boxes.hpp"

namespace autotimm::fcos {

std::vector<Level> make_levels(const std::vector<std::pair<std::int64_t, std::int64_t>>& sizes,
                               const std::vector<double>& strides,
                               std::vector<std::pair<double, double>> regress_ranges) {
  if (sizes.size() != strides.size()) {
    throw ConfigError("FCOS: " + std::to_string(sizes.size()) + " feature maps for " + std::to_string(strides.size()) +
                      " strides; the pyramid and the strides must have one level each");
  }
  if (regress_ranges.empty()) {
    // FCOS's ranges: each level takes objects about 8x its stride, the last everything larger.
    constexpr double kInf = std::numeric_limits<double>::infinity();
    const std::vector<std::pair<double, double>> defaults = {{-1, 64}, {64, 128}, {128, 256}, {256, 512}, {512, kInf}};
    if (strides.size() > defaults.size()) {
      throw ConfigError("FCOS: " + std::to_string(strides.size()) +
                        " levels have no default regress ranges; set regress_ranges, one [low, high] per level");
    }
    regress_ranges.assign(defaults.begin(), defaults.begin() + static_cast<std::ptrdiff_t>(strides.size()));
    regress_ranges.back().second = kInf;
  }
  if (regress_ranges.size() != strides.size()) {
    throw ConfigError("FCOS: " + std::to_string(regress_ranges.size()) + " regress ranges for " +
                      std::to_string(strides.size()) + " levels; give one [low, high] per stride");
  }
  std::vector<Level> levels;
  for (std::size_t l = 0; l < sizes.size(); ++l) {
    if (!(strides[l] > 0)) throw ConfigError("FCOS: strides must be positive");
    if (!(regress_ranges[l].first < regress_ranges[l].second)) {
      throw ConfigError("FCOS: regress range " + std::to_string(l) + " is empty: low must be below high");
    }
    levels.push_back({sizes[l].first, sizes[l].second, strides[l], regress_ranges[l]});
  }
  return levels;
}

at::Tensor locations(const std::vector<Level>& levels) {
  std::vector<torch::Tensor> parts;
  for (const Level& level : levels) {
    const auto s = static_cast<float>(level.stride);
    const auto xs = torch::arange(level.width, torch::kFloat32) * s + s / 2;
    const auto ys = torch::arange(level.height, torch::kFloat32) * s + s / 2;
    const auto grid = torch::meshgrid({ys, xs}, "ij");
    parts.push_back(torch::stack({grid[1].reshape(-1), grid[0].reshape(-1)}, 1));
  }
  return torch::cat(parts);
}

namespace {

/// Per location: its level's stride and regress range, [N] each.
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> per_location(const std::vector<Level>& levels) {
  std::vector<torch::Tensor> strides, lows, highs;
  for (const Level& level : levels) {
    const auto n = level.height * level.width;
    strides.push_back(torch::full({n}, level.stride, torch::kFloat32));
    lows.push_back(torch::full({n}, level.regress_range.first, torch::kFloat32));
    highs.push_back(torch::full({n}, level.regress_range.second, torch::kFloat32));
  }
  return {torch::cat(strides), torch::cat(lows), torch::cat(highs)};
}

}  // namespace

Targets assign(const std::vector<Level>& levels, const at::Tensor& points, const at::Tensor& boxes,
               const at::Tensor& labels, const at::Tensor& iscrowd, const AssignOptions& options) {
  const auto n = points.size(0);
  if (boxes.dim() != 2 || boxes.size(1) != 4 || labels.dim() != 1 || labels.size(0) != boxes.size(0)) {
    throw ConfigError("FCOS assign: expected boxes [M, 4] and labels [M], got " + c10::str(boxes.sizes()) + " and " +
                      c10::str(labels.sizes()));
  }
  Targets out{torch::full({n}, -1, torch::kInt64), torch::zeros({n, 4}), torch::zeros({n})};
  if (boxes.size(0) == 0) return out;
  const auto gt = boxes.to(torch::kFloat32);
  const auto crowd = iscrowd.defined() ? iscrowd.to(torch::kBool) : torch::zeros({gt.size(0)}, torch::kBool);
  const auto xs = points.select(1, 0).unsqueeze(1), ys = points.select(1, 1).unsqueeze(1);  // [N, 1]
  const auto x1 = gt.select(1, 0).unsqueeze(0), y1 = gt.select(1, 1).unsqueeze(0);          // [1, M]
  const auto x2 = gt.select(1, 2).unsqueeze(0), y2 = gt.select(1, 3).unsqueeze(0);
  const auto ltrb = torch::stack({xs - x1, ys - y1, x2 - xs, y2 - ys}, 2);  // [N, M, 4]
  const auto inside_box = std::get<0>(ltrb.min(2)) > 0;
  auto [strides, lows, highs] = per_location(levels);
  torch::Tensor candidate = inside_box;
  if (options.center_sampling_radius > 0) {
    // The centre region: radius strides around the box centre, never outside the box.
    const auto radius = (strides * options.center_sampling_radius).unsqueeze(1);
    const auto cx = (x1 + x2) / 2, cy = (y1 + y2) / 2;
    const auto cx1 = torch::maximum(cx - radius, x1), cy1 = torch::maximum(cy - radius, y1);
    const auto cx2 = torch::minimum(cx + radius, x2), cy2 = torch::minimum(cy + radius, y2);
    candidate = (xs > cx1) & (xs < cx2) & (ys > cy1) & (ys < cy2);
  }
  const auto max_distance = std::get<0>(ltrb.max(2));
  candidate = candidate & (max_distance >= lows.unsqueeze(1)) & (max_distance <= highs.unsqueeze(1)) &
              crowd.logical_not().unsqueeze(0);
  // The smallest candidate box wins a location (the first of equal areas).
  const auto areas = ((x2 - x1) * (y2 - y1)).expand({n, gt.size(0)});
  const auto masked = torch::where(candidate, areas, torch::full_like(areas, std::numeric_limits<float>::infinity()));
  const auto [best_area, best] = masked.min(1);
  const auto positive = best_area.isfinite();
  const auto chosen = ltrb.gather(1, best.view({n, 1, 1}).expand({n, 1, 4})).squeeze(1);
  out.labels = torch::where(positive, labels.to(torch::kInt64).index_select(0, best), out.labels);
  if (crowd.any().item<bool>()) {
    const auto in_crowd = (inside_box & crowd.unsqueeze(0)).any(1);
    out.labels = torch::where(positive.logical_not() & in_crowd, torch::full_like(out.labels, -2), out.labels);
  }
  out.box_ltrb = chosen * positive.unsqueeze(1);
  const auto l = chosen.select(1, 0), t = chosen.select(1, 1), r = chosen.select(1, 2), b = chosen.select(1, 3);
  const auto ratio = (torch::minimum(l, r) / torch::maximum(l, r).clamp_min(1e-12)) *
                     (torch::minimum(t, b) / torch::maximum(t, b).clamp_min(1e-12));
  out.centerness = torch::where(positive, ratio.clamp_min(0).sqrt(), torch::zeros_like(ratio));
  return out;
}

std::vector<Detections> decode(const std::vector<at::Tensor>& head_outputs, const std::vector<Level>& levels,
                               std::int64_t image_height, std::int64_t image_width, const DecodeOptions& options) {
  if (head_outputs.size() != 3 * levels.size()) {
    throw ConfigError("FCOS decode: " + std::to_string(head_outputs.size()) + " head outputs for " +
                      std::to_string(levels.size()) + " levels; expected [cls, box, centerness] per level");
  }
  const auto batch = head_outputs.front().size(0);
  std::vector<Detections> out;
  for (std::int64_t image = 0; image < batch; ++image) {
    std::vector<torch::Tensor> all_boxes, all_scores, all_labels;
    for (std::size_t l = 0; l < levels.size(); ++l) {
      const auto num_classes = head_outputs[3 * l].size(1);
      const auto probs = head_outputs[3 * l][image].flatten(1).t().sigmoid();         // [HW, C]
      const auto ltrb = head_outputs[3 * l + 1][image].flatten(1).t().to(torch::kFloat32);  // [HW, 4]
      const auto ctr = head_outputs[3 * l + 2][image].flatten().sigmoid();             // [HW]
      // The score of a (location, class): the geometric mean of class probability and centerness.
      const auto flat = (probs.to(torch::kFloat32) * ctr.to(torch::kFloat32).unsqueeze(1)).sqrt().flatten();
      auto candidates = (flat > options.score_thresh).nonzero().squeeze(1);
      if (candidates.numel() == 0) continue;
      auto candidate_scores = flat.index_select(0, candidates);
      if (candidates.numel() > options.pre_nms_top_k) {
        const auto top = candidate_scores.topk(options.pre_nms_top_k);
        candidate_scores = std::get<0>(top);
        candidates = candidates.index_select(0, std::get<1>(top));
      }
      const auto where = torch::div(candidates, num_classes, "floor");
      const auto classes = candidates.remainder(num_classes);
      const Level& level = levels[l];
      const auto s = static_cast<float>(level.stride);
      const auto xs = where.remainder(level.width).to(torch::kFloat32) * s + s / 2;
      const auto ys = torch::div(where, level.width, "floor").to(torch::kFloat32) * s + s / 2;
      const auto d = ltrb.index_select(0, where);
      all_boxes.push_back(torch::stack({xs - d.select(1, 0), ys - d.select(1, 1), xs + d.select(1, 2),
                                        ys + d.select(1, 3)}, 1));
      all_scores.push_back(candidate_scores);
      all_labels.push_back(classes);
    }
    Detections detections{torch::zeros({0, 4}), torch::zeros({0}), torch::zeros({0}, torch::kInt64)};
    if (!all_boxes.empty()) {
      const auto boxes = ops::clip_boxes(torch::cat(all_boxes), static_cast<double>(image_height),
                                         static_cast<double>(image_width));
      const auto scores = torch::cat(all_scores), labels = torch::cat(all_labels);
      auto keep = ops::batched_nms(boxes, scores, labels, options.nms_thresh);
      if (keep.numel() > options.max_detections) keep = keep.slice(0, 0, options.max_detections);
      detections = {boxes.index_select(0, keep), scores.index_select(0, keep), labels.index_select(0, keep)};
    }
    out.push_back(std::move(detections));
  }
  return out;
}

}  // namespace autotimm::fcos
