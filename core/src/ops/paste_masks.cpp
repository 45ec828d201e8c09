// Pasting masks into the image and cropping masks into targets. Both stay proportional to the boxes, not to K × H × W:
// paste_masks touches only each box's pixel range, and mask_targets converts a bounded chunk of masks at a time.
#include "autotimm/ops/paste_masks.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "autotimm/error.hpp"
#include "autotimm/ops/roi_align.hpp"

namespace autotimm::ops {
namespace {

// mask_targets converts at most this many mask pixels to floating point at once (64 MiB of float).
constexpr std::int64_t kTargetChunkPixels = std::int64_t{1} << 24;

// A number as a person writes it: 2, 0.5, nan.
std::string number(double value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

std::string shape_of(const at::Tensor& t) {
  if (!t.defined()) return "an undefined tensor";
  std::string text = "[";
  for (std::int64_t i = 0; i < t.dim(); ++i) text += (i ? ", " : "") + std::to_string(t.size(i));
  return text + "]";
}

void check_boxes(const at::Tensor& boxes, std::int64_t count, const char* what) {
  if (!boxes.defined() || boxes.dim() != 2 || boxes.size(1) != 4) {
    throw ConfigError(std::string(what) + ": 'boxes': expected [K, 4] (x1, y1, x2, y2) in image pixels, got " +
                      shape_of(boxes) + "; pass one box per mask");
  }
  if (boxes.size(0) != count) {
    throw ConfigError(std::string(what) + ": expected one box per mask, got " + std::to_string(count) + " masks and " +
                      std::to_string(boxes.size(0)) + " boxes; pass the boxes the masks belong to, in the same order");
  }
}

// Masks as [K, Mh, Mw], accepting the mask head's [K, 1, Mh, Mw].
at::Tensor check_paste_inputs(const at::Tensor& masks, const at::Tensor& boxes, std::int64_t height,
                              std::int64_t width, double threshold, const char* what) {
  const bool ok = masks.defined() && (masks.dim() == 3 || (masks.dim() == 4 && masks.size(1) == 1));
  if (!ok || masks.size(-1) == 0 || masks.size(-2) == 0) {
    throw ConfigError(std::string(what) + ": 'masks': expected [K, Mh, Mw] or [K, 1, Mh, Mw] with Mh, Mw >= 1, got " +
                      shape_of(masks) + "; select each box's class channel first");
  }
  const auto m = masks.dim() == 4 ? masks.squeeze(1) : masks;
  check_boxes(boxes, m.size(0), what);
  if (height < 0 || width < 0) {
    throw ConfigError(std::string(what) + ": expected a non-negative image size, got " + std::to_string(height) +
                      " × " + std::to_string(width) + "; pass the image's height and width in pixels");
  }
  if (!std::isfinite(threshold)) {
    throw ConfigError(std::string(what) + ": 'threshold': expected a finite number, got " + number(threshold) +
                      "; 0.5 keeps pixels of probability at least one half");
  }
  return m;
}

// The pixels [begin, end) along one axis whose centres lie in [low, high), clipped to [0, extent).
struct PixelRange {
  std::int64_t begin = 0, end = 0;
};

PixelRange pixels_inside(double low, double high, std::int64_t extent) {
  if (!std::isfinite(low) || !std::isfinite(high) || !(high > low)) return {};
  const auto clip = [extent](double v) {
    return static_cast<std::int64_t>(std::clamp(v, 0.0, static_cast<double>(extent)));
  };
  // x + 0.5 >= low  <=>  x >= ceil(low − 0.5);  x + 0.5 < high  <=>  x < ceil(high − 0.5).
  const auto begin = clip(std::ceil(low - 0.5)), end = clip(std::ceil(high - 0.5));
  return {begin, std::max(begin, end)};
}

// For each pixel of a range, the two mask cells its centre falls between and their weights (grid_sample's
// align_corners = false unnormalisation; a cell outside the mask gets weight 0, which is zero padding).
struct Tap {
  std::int64_t low = 0, high = 0;
  double w_low = 0, w_high = 0;
};

void axis_taps(PixelRange range, double box_low, double box_high, std::int64_t cells, std::vector<Tap>& taps) {
  taps.clear();
  const double span = box_high - box_low;
  for (std::int64_t p = range.begin; p < range.end; ++p) {
    // In mask-cell coordinates (cell i covers [i, i + 1), its centre at i + 0.5 is where the value was predicted).
    const double u = (static_cast<double>(p) + 0.5 - box_low) * static_cast<double>(cells) / span - 0.5;
    const double f = std::floor(u);
    Tap t;
    t.low = static_cast<std::int64_t>(f);
    t.high = t.low + 1;
    t.w_high = u - f;
    t.w_low = 1.0 - t.w_high;
    if (t.low < 0 || t.low >= cells) t.w_low = 0, t.low = 0;
    if (t.high < 0 || t.high >= cells) t.w_high = 0, t.high = 0;
    taps.push_back(t);
  }
}

}  // namespace

at::Tensor paste_masks(const at::Tensor& masks, const at::Tensor& boxes, std::int64_t height, std::int64_t width,
                       double threshold) {
  const auto m3 = check_paste_inputs(masks, boxes, height, width, threshold, "paste_masks");
  if (!m3.is_cpu()) return paste_masks_reference(masks, boxes, height, width, threshold);
  const auto count = m3.size(0), mask_h = m3.size(1), mask_w = m3.size(2);
  auto out = torch::zeros({count, height, width}, torch::TensorOptions(torch::kBool));
  if (count == 0 || height == 0 || width == 0) return out;
  const auto m = m3.detach().to(torch::kDouble).contiguous();
  const auto b = boxes.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const double* mp = m.data_ptr<double>();
  const double* bp = b.data_ptr<double>();
  bool* op = out.data_ptr<bool>();
  // Each box writes only its own [height, width] slice, so boxes run in parallel without sharing.
  at::parallel_for(0, count, 1, [&](std::int64_t begin, std::int64_t end) {
    std::vector<Tap> xs, ys;
    for (std::int64_t k = begin; k < end; ++k) {
      const double* box = bp + 4 * k;
      const auto cols = pixels_inside(box[0], box[2], width), rows = pixels_inside(box[1], box[3], height);
      if (cols.begin == cols.end || rows.begin == rows.end) continue;
      axis_taps(cols, box[0], box[2], mask_w, xs);
      axis_taps(rows, box[1], box[3], mask_h, ys);
      const double* mk = mp + k * mask_h * mask_w;
      for (std::size_t r = 0; r < ys.size(); ++r) {
        const Tap& ty = ys[r];
        const double* row_low = mk + ty.low * mask_w;
        const double* row_high = mk + ty.high * mask_w;
        bool* o = op + (k * height + rows.begin + static_cast<std::int64_t>(r)) * width + cols.begin;
        for (std::size_t c = 0; c < xs.size(); ++c) {
          const Tap& tx = xs[c];
          const double value = ty.w_low * (tx.w_low * row_low[tx.low] + tx.w_high * row_low[tx.high]) +
                               ty.w_high * (tx.w_low * row_high[tx.low] + tx.w_high * row_high[tx.high]);
          o[c] = value >= threshold;
        }
      }
    }
  });
  return out;
}

at::Tensor paste_masks_reference(const at::Tensor& masks, const at::Tensor& boxes, std::int64_t height,
                                 std::int64_t width, double threshold) {
  const auto m3 = check_paste_inputs(masks, boxes, height, width, threshold, "paste_masks_reference");
  const auto count = m3.size(0);
  auto out = torch::zeros({count, height, width}, torch::TensorOptions(torch::kBool).device(m3.device()));
  if (count == 0 || height == 0 || width == 0) return out;
  const auto dtype = m3.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  const auto m = m3.detach().to(dtype);
  const auto b = boxes.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const auto coords = torch::TensorOptions(torch::kDouble).device(m3.device());
  for (std::int64_t k = 0; k < count; ++k) {
    const double* box = b.data_ptr<double>() + 4 * k;
    const auto cols = pixels_inside(box[0], box[2], width), rows = pixels_inside(box[1], box[3], height);
    if (cols.begin == cols.end || rows.begin == rows.end) continue;
    // Pixel centres normalised to the box: −1 and 1 are its edges (Detectron2's paste grid).
    const auto gx = (torch::arange(cols.begin, cols.end, coords) + 0.5 - box[0]) / (box[2] - box[0]) * 2 - 1;
    const auto gy = (torch::arange(rows.begin, rows.end, coords) + 0.5 - box[1]) / (box[3] - box[1]) * 2 - 1;
    const auto h = gy.size(0), w = gx.size(0);
    const auto grid = torch::stack({gx.view({1, w}).expand({h, w}), gy.view({h, 1}).expand({h, w})}, 2)
                          .unsqueeze(0)
                          .to(dtype);
    const auto sampled = torch::grid_sampler(m[k].unsqueeze(0).unsqueeze(0), grid, /*bilinear*/ 0, /*zeros*/ 0,
                                             /*align_corners=*/false);  // [1, 1, h, w]
    out[k].slice(0, rows.begin, rows.end).slice(1, cols.begin, cols.end).copy_(sampled[0][0] >= threshold);
  }
  return out;
}

at::Tensor mask_targets(const at::Tensor& masks, const at::Tensor& boxes, std::int64_t size) {
  if (!masks.defined() || masks.dim() != 3) {
    throw ConfigError("mask_targets: 'masks': expected one full-image mask per box, [K, H, W], got " + shape_of(masks) +
                      "; stack the objects' masks along dimension 0");
  }
  check_boxes(boxes, masks.size(0), "mask_targets");
  if (size < 1) {
    throw ConfigError("mask_targets: 'size': expected at least 1, got " + std::to_string(size) +
                      "; pass the mask head's output resolution (e.g. 28)");
  }
  const auto count = masks.size(0), height = masks.size(1), width = masks.size(2);
  const auto dtype = masks.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  auto targets = torch::zeros({count, size, size}, masks.options().dtype(dtype));
  if (count == 0) return targets;
  if (height == 0 || width == 0) {
    throw ConfigError("mask_targets: 'masks' are " + shape_of(masks) + ", an empty image; pass the image-sized masks");
  }
  // Mask i of a chunk is image i of a [chunk, 1, H, W] batch, pooled only by its own box (roi batch index i).
  const auto chunk = std::max<std::int64_t>(1, kTargetChunkPixels / (height * width));
  const auto b = boxes.detach().to(masks.device(), dtype);
  for (std::int64_t first = 0; first < count; first += chunk) {
    const auto n = std::min(chunk, count - first);
    const auto images = masks.slice(0, first, first + n).detach().to(dtype).unsqueeze(1);
    const auto index = torch::arange(n, b.options()).unsqueeze(1);
    const auto rois = torch::cat({index, b.slice(0, first, first + n)}, 1);
    const auto pooled = roi_align(images, rois, size, size, 1.0, /*sampling_ratio=*/0, /*aligned=*/true);
    targets.slice(0, first, first + n).copy_((pooled.squeeze(1) >= 0.5).to(dtype));
  }
  return targets;
}

}  // namespace autotimm::ops
