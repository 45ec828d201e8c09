// Box operations. The IoU family is written with tensor ops (autograd flows through the matched GIoU used by losses);
// NMS is a loop over raw coordinates: ranked once, each kept box suppresses the later ones of its class it overlaps.
#include "autotimm/ops/boxes.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <unordered_map>
#include <vector>

#include "autotimm/error.hpp"

namespace autotimm::ops {
namespace {

std::string shape_of(const at::Tensor& t) {
  std::string text = "[";
  for (std::int64_t i = 0; i < t.dim(); ++i) text += (i ? ", " : "") + std::to_string(t.size(i));
  return text + "]";
}

void check_boxes(const at::Tensor& boxes, const char* what) {
  if (!boxes.defined() || boxes.dim() != 2 || boxes.size(1) != 4) {
    throw ConfigError(std::string(what) + ": expected boxes of shape [N, 4], got " +
                      (boxes.defined() ? shape_of(boxes) : std::string("an undefined tensor")));
  }
  if (!boxes.is_floating_point()) {
    throw ConfigError(std::string(what) + ": expected floating-point boxes, got " +
                      std::string(c10::toString(boxes.scalar_type())));
  }
}

// Intersection and union areas of every pair, broadcast [N, 1, 4] against [1, M, 4].
std::pair<at::Tensor, at::Tensor> intersection_and_union(const at::Tensor& a, const at::Tensor& b) {
  const auto lt = torch::max(a.unsqueeze(1).slice(2, 0, 2), b.unsqueeze(0).slice(2, 0, 2));
  const auto rb = torch::min(a.unsqueeze(1).slice(2, 2, 4), b.unsqueeze(0).slice(2, 2, 4));
  const auto wh = (rb - lt).clamp_min(0);
  const auto inter = wh.select(2, 0) * wh.select(2, 1);
  const auto uni = box_area(a).unsqueeze(1) + box_area(b).unsqueeze(0) - inter;
  return {inter, uni};
}

// IoU with 0 where the union is empty (two degenerate boxes), so no NaN reaches a loss or a matcher.
at::Tensor safe_ratio(const at::Tensor& numerator, const at::Tensor& denominator) {
  return torch::where(denominator > 0, numerator / denominator.clamp_min(1e-12), torch::zeros_like(numerator));
}

}  // namespace

at::Tensor box_convert(const at::Tensor& boxes, BoxFormat from, BoxFormat to) {
  check_boxes(boxes, "box_convert");
  if (from == to) return boxes;
  const auto c = boxes.unbind(1);
  at::Tensor xyxy;
  switch (from) {
    case BoxFormat::xyxy:
      xyxy = boxes;
      break;
    case BoxFormat::xywh:
      xyxy = torch::stack({c[0], c[1], c[0] + c[2], c[1] + c[3]}, 1);
      break;
    case BoxFormat::cxcywh:
      xyxy = torch::stack({c[0] - c[2] / 2, c[1] - c[3] / 2, c[0] + c[2] / 2, c[1] + c[3] / 2}, 1);
      break;
  }
  const auto e = xyxy.unbind(1);
  switch (to) {
    case BoxFormat::xyxy:
      return xyxy;
    case BoxFormat::xywh:
      return torch::stack({e[0], e[1], e[2] - e[0], e[3] - e[1]}, 1);
    case BoxFormat::cxcywh:
      return torch::stack({(e[0] + e[2]) / 2, (e[1] + e[3]) / 2, e[2] - e[0], e[3] - e[1]}, 1);
  }
  return xyxy;
}

at::Tensor box_area(const at::Tensor& boxes) {
  check_boxes(boxes, "box_area");
  return (boxes.select(1, 2) - boxes.select(1, 0)) * (boxes.select(1, 3) - boxes.select(1, 1));
}

at::Tensor box_iou(const at::Tensor& a, const at::Tensor& b) {
  check_boxes(a, "box_iou");
  check_boxes(b, "box_iou");
  const auto [inter, uni] = intersection_and_union(a, b);
  return safe_ratio(inter, uni);
}

at::Tensor generalized_box_iou(const at::Tensor& a, const at::Tensor& b) {
  check_boxes(a, "generalized_box_iou");
  check_boxes(b, "generalized_box_iou");
  const auto [inter, uni] = intersection_and_union(a, b);
  const auto lt = torch::min(a.unsqueeze(1).slice(2, 0, 2), b.unsqueeze(0).slice(2, 0, 2));
  const auto rb = torch::max(a.unsqueeze(1).slice(2, 2, 4), b.unsqueeze(0).slice(2, 2, 4));
  const auto wh = (rb - lt).clamp_min(0);
  const auto enclosing = wh.select(2, 0) * wh.select(2, 1);
  return safe_ratio(inter, uni) - safe_ratio(enclosing - uni, enclosing);
}

at::Tensor matched_generalized_box_iou(const at::Tensor& a, const at::Tensor& b) {
  check_boxes(a, "matched_generalized_box_iou");
  check_boxes(b, "matched_generalized_box_iou");
  if (a.size(0) != b.size(0)) {
    throw ConfigError("matched_generalized_box_iou: expected as many boxes in both sets, got " +
                      std::to_string(a.size(0)) + " and " + std::to_string(b.size(0)));
  }
  const auto lt = torch::max(a.slice(1, 0, 2), b.slice(1, 0, 2));
  const auto rb = torch::min(a.slice(1, 2, 4), b.slice(1, 2, 4));
  const auto wh = (rb - lt).clamp_min(0);
  const auto inter = wh.select(1, 0) * wh.select(1, 1);
  const auto uni = box_area(a) + box_area(b) - inter;
  const auto outer_wh = (torch::max(a.slice(1, 2, 4), b.slice(1, 2, 4)) - torch::min(a.slice(1, 0, 2), b.slice(1, 0, 2)))
                            .clamp_min(0);
  const auto enclosing = outer_wh.select(1, 0) * outer_wh.select(1, 1);
  return safe_ratio(inter, uni) - safe_ratio(enclosing - uni, enclosing);
}

at::Tensor clip_boxes(const at::Tensor& boxes, double height, double width) {
  check_boxes(boxes, "clip_boxes");
  const auto c = boxes.unbind(1);
  return torch::stack({c[0].clamp(0, width), c[1].clamp(0, height), c[2].clamp(0, width), c[3].clamp(0, height)}, 1);
}

at::Tensor remove_small_boxes(const at::Tensor& boxes, double min_size) {
  check_boxes(boxes, "remove_small_boxes");
  const auto w = boxes.select(1, 2) - boxes.select(1, 0);
  const auto h = boxes.select(1, 3) - boxes.select(1, 1);
  return torch::nonzero((w >= min_size) & (h >= min_size)).view(-1);
}

namespace {

// Boxes as host float64 coordinates, their areas, and every index ranked by score (best first, ties in input order).
struct RankedBoxes {
  at::Tensor coords;  // [N, 4] double, contiguous
  std::vector<double> area;
  std::vector<std::int64_t> ranked;
};

RankedBoxes rank_boxes(const at::Tensor& boxes, const at::Tensor& scores, const char* what) {
  check_boxes(boxes, what);
  if (scores.dim() != 1 || scores.size(0) != boxes.size(0)) {
    throw ConfigError(std::string(what) + ": expected one score per box (" + std::to_string(boxes.size(0)) +
                      "), got scores of " + std::to_string(scores.numel()) + " elements");
  }
  RankedBoxes r;
  r.coords = boxes.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const auto order = std::get<1>(scores.detach().to(torch::kCPU, torch::kDouble).sort(true, 0, true)).contiguous();
  r.ranked.assign(order.data_ptr<std::int64_t>(), order.data_ptr<std::int64_t>() + order.numel());
  const double* c = r.coords.data_ptr<double>();
  r.area.resize(static_cast<std::size_t>(boxes.size(0)));
  for (std::size_t i = 0; i < r.area.size(); ++i) r.area[i] = (c[4 * i + 2] - c[4 * i]) * (c[4 * i + 3] - c[4 * i + 1]);
  return r;
}

// Greedy suppression over `members` (indices in rank order): each box not yet suppressed is kept and suppresses the
// later members it overlaps by more than the threshold, the overlap computed on the fly (no N × N matrix).
void suppress(const RankedBoxes& r, const std::vector<std::int64_t>& members, double threshold,
              std::vector<char>& kept) {
  const double* c = r.coords.data_ptr<double>();
  std::vector<char> suppressed(members.size(), 0);
  for (std::size_t m = 0; m < members.size(); ++m) {
    if (suppressed[m]) continue;
    const std::int64_t i = members[m];
    kept[static_cast<std::size_t>(i)] = 1;
    const double x1 = c[4 * i], y1 = c[4 * i + 1], x2 = c[4 * i + 2], y2 = c[4 * i + 3];
    for (std::size_t o = m + 1; o < members.size(); ++o) {
      if (suppressed[o]) continue;
      const std::int64_t j = members[o];
      const double w = std::min(x2, c[4 * j + 2]) - std::max(x1, c[4 * j]);
      const double h = std::min(y2, c[4 * j + 3]) - std::max(y1, c[4 * j + 1]);
      if (w <= 0 || h <= 0) continue;
      const double inter = w * h;
      const double uni = r.area[static_cast<std::size_t>(i)] + r.area[static_cast<std::size_t>(j)] - inter;
      if (uni > 0 && inter / uni > threshold) suppressed[o] = 1;
    }
  }
}

// The kept indices in rank order, on the boxes' device.
at::Tensor kept_in_rank_order(const RankedBoxes& r, const std::vector<char>& kept, const at::Device& device) {
  std::vector<std::int64_t> out;
  for (const auto i : r.ranked) {
    if (kept[static_cast<std::size_t>(i)]) out.push_back(i);
  }
  return torch::tensor(out, torch::kLong).to(device);
}

}  // namespace

at::Tensor nms(const at::Tensor& boxes, const at::Tensor& scores, double iou_threshold) {
  const auto r = rank_boxes(boxes, scores, "nms");
  if (r.ranked.empty()) return torch::empty({0}, torch::kLong);
  std::vector<char> kept(r.ranked.size(), 0);
  suppress(r, r.ranked, iou_threshold, kept);
  return kept_in_rank_order(r, kept, boxes.device());
}

at::Tensor batched_nms(const at::Tensor& boxes, const at::Tensor& scores, const at::Tensor& classes,
                       double iou_threshold) {
  const auto r = rank_boxes(boxes, scores, "batched_nms");
  if (classes.dim() != 1 || classes.size(0) != boxes.size(0)) {
    throw ConfigError("batched_nms: expected one class per box (" + std::to_string(boxes.size(0)) +
                      "), got classes of " + std::to_string(classes.numel()) + " elements");
  }
  if (r.ranked.empty()) return torch::empty({0}, torch::kLong);
  // One pass splits the ranked boxes by class (rank order kept inside each); suppression then only compares boxes of
  // one class: the work is the sum of the squared class sizes, not the square of all boxes.
  const auto labels = classes.detach().to(torch::kCPU, torch::kLong).contiguous();
  const std::int64_t* label = labels.data_ptr<std::int64_t>();
  std::unordered_map<std::int64_t, std::vector<std::int64_t>> by_class;
  for (const auto i : r.ranked) by_class[label[i]].push_back(i);
  std::vector<char> kept(r.ranked.size(), 0);
  for (const auto& [cls, members] : by_class) suppress(r, members, iou_threshold, kept);
  return kept_in_rank_order(r, kept, boxes.device());
}

}  // namespace autotimm::ops
