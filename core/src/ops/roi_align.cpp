// RoIAlign. The CPU kernel follows torchvision's arithmetic step by step (same order of float operations, same clamps);
// the sample taps of a roi are computed once per axis and shared by its channels.
// The ATen path samples with grid_sample on clamped coordinates (which is exactly torchvision's clamp rule), so any
// device and autograd work without a hand-written backward.
#include "autotimm/ops/roi_align.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "autotimm/error.hpp"

namespace autotimm::ops {
namespace {

// Adaptive sampling takes at most this many samples per bin side: bins over 1024 feature pixels wide only come from
// garbage boxes (1e9 px), which would otherwise take hours; real ones stay exact.
constexpr double kMaxSamplesPerSide = 1024;

std::string shape_of(const at::Tensor& t) {
  if (!t.defined()) return "an undefined tensor";
  std::string text = "[";
  for (std::int64_t i = 0; i < t.dim(); ++i) text += (i ? ", " : "") + std::to_string(t.size(i));
  return text + "]";
}

// A number as a person writes it: 2, 0.5, nan.
std::string number(double value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

void check_input(const at::Tensor& input, const char* what) {
  if (!input.defined() || input.dim() != 4) {
    throw ConfigError(std::string(what) + ": 'input': expected a feature map [N, C, H, W], got " + shape_of(input) +
                      "; add the batch dimension with unsqueeze(0) for a single image");
  }
  if (!input.is_floating_point()) {
    throw ConfigError(std::string(what) + ": 'input': expected a floating-point feature map, got " +
                      std::string(c10::toString(input.scalar_type())) + "; convert it with .to(torch::kFloat)");
  }
}

// Shape, device and batch indices of `rois`; the indices are read on the host (a [K] copy) so that a bad index is an
// error here rather than an out-of-bounds read in a kernel.
void check_rois(const at::Tensor& rois, const at::Tensor& input, const char* what) {
  if (!rois.defined() || rois.dim() != 2 || rois.size(1) != 5) {
    throw ConfigError(std::string(what) + ": 'rois': expected [K, 5] rows (batch index, x1, y1, x2, y2), got " +
                      shape_of(rois) + "; prepend each box's image index as column 0");
  }
  if (rois.device() != input.device()) {
    throw ConfigError(std::string(what) + ": 'rois' are on " + rois.device().str() + " but the features are on " +
                      input.device().str() + "; move them to the same device");
  }
  if (rois.size(0) == 0) return;
  const auto index = rois.detach().select(1, 0).to(torch::kCPU, torch::kDouble).contiguous();
  const double* p = index.data_ptr<double>();
  const auto batch = input.size(0);
  for (std::int64_t k = 0; k < index.numel(); ++k) {
    if (!(p[k] >= 0 && p[k] < static_cast<double>(batch)) || p[k] != std::floor(p[k])) {
      throw ConfigError(std::string(what) + ": 'rois' row " + std::to_string(k) + ": batch index " + number(p[k]) +
                        " is not a whole number in [0, " + std::to_string(batch) +
                        "); column 0 must name the image (0 .. N − 1) the box belongs to");
    }
  }
}

void check_arguments(std::int64_t output_height, std::int64_t output_width, double spatial_scale, const char* what) {
  if (output_height <= 0 || output_width <= 0) {
    throw ConfigError(std::string(what) + ": expected a positive output size, got " + std::to_string(output_height) +
                      " × " + std::to_string(output_width) + "; pass the pooled height and width (e.g. 14 × 14)");
  }
  if (!(spatial_scale > 0) || !std::isfinite(spatial_scale)) {
    throw ConfigError(std::string(what) + ": 'spatial_scale': expected a positive finite number, got " +
                      number(spatial_scale) + "; pass 1 / stride of the feature map (e.g. 0.125 for stride 8)");
  }
}

// Samples per bin side for sampling_ratio <= 0: ceil(extent / bins), 0 for an empty, NaN or infinite roi.
template <typename T>
std::int64_t adaptive_grid(T extent_per_bin) {
  if (!(extent_per_bin > 0) || !std::isfinite(extent_per_bin)) return 0;
  return static_cast<std::int64_t>(std::min(static_cast<double>(std::ceil(extent_per_bin)), kMaxSamplesPerSide));
}

// Where a roi lies on the feature map and how its bins are sampled.
template <typename T>
struct RoiGeometry {
  std::int64_t batch = 0;
  T start_h = 0, start_w = 0, bin_h = 0, bin_w = 0;
  std::int64_t grid_h = 0, grid_w = 0;
  T count = 1;  // samples averaged per bin (at least 1, so an empty grid gives 0, not NaN)
};

template <typename T>
RoiGeometry<T> roi_geometry(const T* roi, T scale, std::int64_t pooled_h, std::int64_t pooled_w,
                            std::int64_t sampling_ratio, bool aligned) {
  RoiGeometry<T> g;
  g.batch = static_cast<std::int64_t>(roi[0]);
  const T offset = aligned ? T(0.5) : T(0);
  g.start_w = roi[1] * scale - offset;
  g.start_h = roi[2] * scale - offset;
  T roi_w = (roi[3] * scale - offset) - g.start_w;
  T roi_h = (roi[4] * scale - offset) - g.start_h;
  if (!aligned) {  // the legacy rule: malformed rois become at least 1 × 1
    roi_w = std::max(roi_w, T(1));
    roi_h = std::max(roi_h, T(1));
  }
  g.bin_h = roi_h / static_cast<T>(pooled_h);
  g.bin_w = roi_w / static_cast<T>(pooled_w);
  g.grid_h = sampling_ratio > 0 ? sampling_ratio : adaptive_grid(roi_h / static_cast<T>(pooled_h));
  g.grid_w = sampling_ratio > 0 ? sampling_ratio : adaptive_grid(roi_w / static_cast<T>(pooled_w));
  g.count = static_cast<T>(std::max<std::int64_t>(g.grid_h * g.grid_w, 1));
  return g;
}

// Where one sample coordinate falls along one axis: the two neighbouring cells and the fraction towards the higher
// one. Bilinear weights are products of one row tap and one column tap, so a roi keeps (bins × samples) taps per axis
// instead of one record per sample point: memory stays small even for adaptive grids on large rois.
template <typename T>
struct Tap {
  std::int64_t low = 0, high = 0;
  T frac = 0;          // l in torchvision's names; 1 − l is the low cell's weight
  bool inside = false;  // within [−1, extent]; a sample point counts only when both of its taps are inside
};

// torchvision's bilinear_interpolate along one axis: outside [−1, extent] the sample is dropped; otherwise the
// coordinate is clamped into [0, extent − 1].
template <typename T>
Tap<T> axis_tap(T v, std::int64_t extent) {
  Tap<T> t;
  // Written as "not inside" so that a NaN coordinate is dropped too.
  if (!(v >= T(-1) && v <= static_cast<T>(extent))) return t;
  t.inside = true;
  if (v <= 0) v = 0;
  t.low = static_cast<std::int64_t>(v);
  t.high = t.low + 1;
  if (t.low >= extent - 1) {
    t.high = t.low = extent - 1;
    v = static_cast<T>(t.low);
  }
  t.frac = v - static_cast<T>(t.low);
  return t;
}

// The taps of every bin's samples along one axis, bin by bin: taps[bin * grid + i].
template <typename T>
void axis_taps(T start, T bin, std::int64_t bins, std::int64_t grid, std::int64_t extent, std::vector<Tap<T>>& taps) {
  taps.clear();
  for (std::int64_t b = 0; b < bins; ++b) {
    for (std::int64_t i = 0; i < grid; ++i) {
      // The same operations in the same order as torchvision, so float results agree bit for bit.
      taps.push_back(axis_tap(start + static_cast<T>(b) * bin + (static_cast<T>(i) + T(0.5)) * bin / static_cast<T>(grid),
                              extent));
    }
  }
}

// A roi's sample taps on both axes.
template <typename T>
struct RoiTaps {
  std::vector<Tap<T>> rows, cols;

  void compute(const RoiGeometry<T>& g, std::int64_t height, std::int64_t width, std::int64_t pooled_h,
               std::int64_t pooled_w) {
    axis_taps(g.start_h, g.bin_h, pooled_h, g.grid_h, height, rows);
    axis_taps(g.start_w, g.bin_w, pooled_w, g.grid_w, width, cols);
  }
};

struct Pooling {
  std::int64_t pooled_h, pooled_w, sampling_ratio;
  double spatial_scale;
  bool aligned;
};

// Roughly how many (roi, channel) items make a task worth a thread.
std::int64_t grain_for(std::int64_t work_per_item) {
  return std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(1, work_per_item));
}

template <typename T>
void forward_kernel(const at::Tensor& input, const at::Tensor& rois, const Pooling& p, at::Tensor& output) {
  const auto channels = input.size(1), height = input.size(2), width = input.size(3);
  const auto plane = height * width;
  const T* in = input.data_ptr<T>();
  const T* roi = rois.data_ptr<T>();
  T* out = output.data_ptr<T>();
  const T scale = static_cast<T>(p.spatial_scale);
  const auto items = rois.size(0) * channels;
  const auto work = p.pooled_h * p.pooled_w * (p.sampling_ratio > 0 ? p.sampling_ratio * p.sampling_ratio : 4);
  // Items are (roi, channel) pairs, so few large rois and many small ones both spread over the threads; a task
  // recomputes a roi's taps only when it reaches a new roi.
  at::parallel_for(0, items, grain_for(work), [&](std::int64_t begin, std::int64_t end) {
    RoiTaps<T> taps;
    std::int64_t current = -1;
    RoiGeometry<T> g;
    for (std::int64_t item = begin; item < end; ++item) {
      const auto k = item / channels, c = item % channels;
      if (k != current) {
        g = roi_geometry(roi + 5 * k, scale, p.pooled_h, p.pooled_w, p.sampling_ratio, p.aligned);
        taps.compute(g, height, width, p.pooled_h, p.pooled_w);
        current = k;
      }
      const T* v = in + (g.batch * channels + c) * plane;
      T* o = out + item * p.pooled_h * p.pooled_w;
      for (std::int64_t ph = 0; ph < p.pooled_h; ++ph) {
        for (std::int64_t pw = 0; pw < p.pooled_w; ++pw) {
          T sum = 0;
          for (std::int64_t iy = 0; iy < g.grid_h; ++iy) {
            const Tap<T>& ty = taps.rows[static_cast<std::size_t>(ph * g.grid_h + iy)];
            if (!ty.inside) continue;
            const T ly = ty.frac, hy = T(1) - ly;
            const T* row_low = v + ty.low * width;
            const T* row_high = v + ty.high * width;
            for (std::int64_t ix = 0; ix < g.grid_w; ++ix) {
              const Tap<T>& tx = taps.cols[static_cast<std::size_t>(pw * g.grid_w + ix)];
              if (!tx.inside) continue;
              const T lx = tx.frac, hx = T(1) - lx;
              sum += hy * hx * row_low[tx.low] + hy * lx * row_low[tx.high] + ly * hx * row_high[tx.low] +
                     ly * lx * row_high[tx.high];
            }
          }
          o[ph * p.pooled_w + pw] = sum / g.count;
        }
      }
    }
  });
}

template <typename T>
void backward_kernel(const at::Tensor& grad_output, const at::Tensor& rois, const Pooling& p, at::Tensor& grad_input) {
  const auto channels = grad_input.size(1), height = grad_input.size(2), width = grad_input.size(3);
  const auto plane = height * width, bins = p.pooled_h * p.pooled_w;
  const T* go = grad_output.data_ptr<T>();
  const T* roi = rois.data_ptr<T>();
  T* gi = grad_input.data_ptr<T>();
  const T scale = static_cast<T>(p.spatial_scale);
  const auto num_rois = rois.size(0);
  // Rois of one image overlap, so tasks split the channels: every write of a task stays in its own channels.
  const auto work = num_rois * bins * 4;
  at::parallel_for(0, channels, grain_for(work), [&](std::int64_t c_begin, std::int64_t c_end) {
    RoiTaps<T> taps;
    for (std::int64_t k = 0; k < num_rois; ++k) {
      const auto g = roi_geometry(roi + 5 * k, scale, p.pooled_h, p.pooled_w, p.sampling_ratio, p.aligned);
      if (g.grid_h <= 0 || g.grid_w <= 0) continue;
      taps.compute(g, height, width, p.pooled_h, p.pooled_w);
      for (std::int64_t c = c_begin; c < c_end; ++c) {
        T* v = gi + (g.batch * channels + c) * plane;
        const T* grad = go + (k * channels + c) * bins;
        for (std::int64_t ph = 0; ph < p.pooled_h; ++ph) {
          for (std::int64_t pw = 0; pw < p.pooled_w; ++pw) {
            const T share = grad[ph * p.pooled_w + pw] / g.count;
            for (std::int64_t iy = 0; iy < g.grid_h; ++iy) {
              const Tap<T>& ty = taps.rows[static_cast<std::size_t>(ph * g.grid_h + iy)];
              if (!ty.inside) continue;
              const T ly = ty.frac, hy = T(1) - ly;
              T* row_low = v + ty.low * width;
              T* row_high = v + ty.high * width;
              for (std::int64_t ix = 0; ix < g.grid_w; ++ix) {
                const Tap<T>& tx = taps.cols[static_cast<std::size_t>(pw * g.grid_w + ix)];
                if (!tx.inside) continue;
                const T lx = tx.frac, hx = T(1) - lx;
                row_low[tx.low] += share * (hy * hx);
                row_low[tx.high] += share * (hy * lx);
                row_high[tx.low] += share * (ly * hx);
                row_high[tx.high] += share * (ly * lx);
              }
            }
          }
        }
      }
    }
  });
}

at::Tensor forward_cpu(const at::Tensor& input, const at::Tensor& rois, const Pooling& p) {
  const auto in = input.contiguous();
  auto output = torch::empty({rois.size(0), input.size(1), p.pooled_h, p.pooled_w}, input.options());
  if (output.numel() == 0) return output;
  if (input.scalar_type() == torch::kDouble) {
    forward_kernel<double>(in, rois, p, output);
  } else {
    forward_kernel<float>(in, rois, p, output);
  }
  return output;
}

at::Tensor backward_cpu(const at::Tensor& grad_output, const at::Tensor& rois, at::IntArrayRef input_sizes,
                        const Pooling& p) {
  auto grad_input = torch::zeros(input_sizes, grad_output.options());
  if (grad_output.numel() == 0) return grad_input;
  const auto go = grad_output.contiguous();
  if (go.scalar_type() == torch::kDouble) {
    backward_kernel<double>(go, rois, p, grad_input);
  } else {
    backward_kernel<float>(go, rois, p, grad_input);
  }
  return grad_input;
}

// The CPU kernel as an autograd node: the gradient reaches `input`; rois are constants.
class RoiAlignFunction : public torch::autograd::Function<RoiAlignFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input, const at::Tensor& rois,
                            std::int64_t pooled_h, std::int64_t pooled_w, double spatial_scale,
                            std::int64_t sampling_ratio, bool aligned) {
    ctx->save_for_backward({rois});
    ctx->saved_data["pooled_h"] = pooled_h;
    ctx->saved_data["pooled_w"] = pooled_w;
    ctx->saved_data["spatial_scale"] = spatial_scale;
    ctx->saved_data["sampling_ratio"] = sampling_ratio;
    ctx->saved_data["aligned"] = aligned;
    ctx->saved_data["input_sizes"] = input.sizes().vec();
    return forward_cpu(input, rois, {pooled_h, pooled_w, sampling_ratio, spatial_scale, aligned});
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto rois = ctx->get_saved_variables()[0];
    const Pooling p{ctx->saved_data["pooled_h"].toInt(), ctx->saved_data["pooled_w"].toInt(),
                    ctx->saved_data["sampling_ratio"].toInt(), ctx->saved_data["spatial_scale"].toDouble(),
                    ctx->saved_data["aligned"].toBool()};
    const auto sizes = ctx->saved_data["input_sizes"].toIntVector();
    auto grad_input = backward_cpu(grads[0], rois, sizes, p);
    return {grad_input, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

void check_all(const at::Tensor& input, const at::Tensor& rois, std::int64_t output_height,
               std::int64_t output_width, double spatial_scale, const char* what) {
  check_input(input, what);
  check_arguments(output_height, output_width, spatial_scale, what);
  check_rois(rois, input, what);
}

}  // namespace

at::Tensor roi_align(const at::Tensor& input, const at::Tensor& rois, std::int64_t output_height,
                     std::int64_t output_width, double spatial_scale, std::int64_t sampling_ratio, bool aligned) {
  check_all(input, rois, output_height, output_width, spatial_scale, "roi_align");
  if (!input.is_cpu()) {
    return roi_align_reference(input, rois, output_height, output_width, spatial_scale, sampling_ratio, aligned);
  }
  if (input.scalar_type() != torch::kFloat && input.scalar_type() != torch::kDouble) {
    throw ConfigError("roi_align: 'input': the CPU kernel takes float or double features, got " +
                      std::string(c10::toString(input.scalar_type())) + "; convert them with .to(torch::kFloat)");
  }
  const auto r = rois.detach().to(input.scalar_type()).contiguous();
  return RoiAlignFunction::apply(input, r, output_height, output_width, spatial_scale, sampling_ratio, aligned);
}

at::Tensor roi_align_reference(const at::Tensor& input, const at::Tensor& rois, std::int64_t output_height,
                               std::int64_t output_width, double spatial_scale, std::int64_t sampling_ratio,
                               bool aligned) {
  check_all(input, rois, output_height, output_width, spatial_scale, "roi_align_reference");
  const auto num_rois = rois.size(0), channels = input.size(1);
  const auto height = input.size(2), width = input.size(3);
  const auto opts = input.options();
  if (num_rois == 0) return torch::zeros({0, channels, output_height, output_width}, opts);

  // Geometry in the input's dtype, operation for operation as in the CPU kernel.
  const auto r = rois.detach().to(input.scalar_type());
  const auto batch = r.select(1, 0).to(torch::kLong);
  const double offset = aligned ? 0.5 : 0.0;
  const auto scale = torch::scalar_tensor(spatial_scale, opts);  // rounded to the dtype, as the kernel's T(scale)
  const auto start_w = r.select(1, 1) * scale - offset;
  const auto start_h = r.select(1, 2) * scale - offset;
  auto roi_w = (r.select(1, 3) * scale - offset) - start_w;
  auto roi_h = (r.select(1, 4) * scale - offset) - start_h;
  if (!aligned) {
    roi_w = roi_w.clamp_min(1);
    roi_h = roi_h.clamp_min(1);
  }
  const auto bin_h = roi_h / static_cast<double>(output_height);
  const auto bin_w = roi_w / static_cast<double>(output_width);
  auto grid_of = [&](const at::Tensor& per_bin) {
    if (sampling_ratio > 0) {
      return torch::full({num_rois}, sampling_ratio, torch::TensorOptions(torch::kLong).device(input.device()));
    }
    // As adaptive_grid: empty, NaN and infinite extents sample nothing.
    return torch::nan_to_num(per_bin.ceil(), 0.0, 0.0, 0.0).clamp(0, kMaxSamplesPerSide).to(torch::kLong);
  };
  const auto grid_h = grid_of(roi_h / static_cast<double>(output_height));
  const auto grid_w = grid_of(roi_w / static_cast<double>(output_width));
  // Every roi gets the largest grid; the samples a roi does not use are masked out.
  const auto side_h = std::max<std::int64_t>(1, sampling_ratio > 0 ? sampling_ratio : grid_h.max().item<std::int64_t>());
  const auto side_w = std::max<std::int64_t>(1, sampling_ratio > 0 ? sampling_ratio : grid_w.max().item<std::int64_t>());

  // Sample coordinates [K, bins, samples] along one axis, which samples count, and the grid_sample coordinate.
  auto axis = [&](const at::Tensor& start, const at::Tensor& bin, const at::Tensor& grid, std::int64_t bins,
                  std::int64_t side, std::int64_t extent) {
    const auto b = torch::arange(bins, opts).view({1, bins, 1});
    const auto i = torch::arange(side, opts).view({1, 1, side});
    const auto grid_t = grid.to(input.scalar_type()).clamp_min(1).view({-1, 1, 1});
    const auto pos = (start.view({-1, 1, 1}) + b * bin.view({-1, 1, 1})) + (i + 0.5) * bin.view({-1, 1, 1}) / grid_t;
    const auto used = (torch::arange(side, torch::TensorOptions(torch::kLong).device(input.device())).view({1, 1, side}) <
                       grid.view({-1, 1, 1})) &
                      (pos >= -1) & (pos <= static_cast<double>(extent));
    // torchvision clamps into [0, extent − 1] before interpolating; grid_sample (align_corners) then interpolates
    // exactly there. Unused samples get coordinate 0 so no NaN or far value reaches grid_sample.
    const auto clamped = torch::where(used, pos, torch::zeros_like(pos)).clamp(0, static_cast<double>(extent - 1));
    const auto normalised = extent > 1 ? clamped * (2.0 / static_cast<double>(extent - 1)) - 1.0 : clamped * 0.0;
    return std::make_pair(normalised.reshape({num_rois, bins * side}), used);
  };
  const auto [gy, used_y] = axis(start_h, bin_h, grid_h, output_height, side_h, height);
  const auto [gx, used_x] = axis(start_w, bin_w, grid_w, output_width, side_w, width);
  const auto rows = output_height * side_h, cols = output_width * side_w;
  const auto grid = torch::stack({gx.view({num_rois, 1, cols}).expand({num_rois, rows, cols}),
                                  gy.view({num_rois, rows, 1}).expand({num_rois, rows, cols})},
                                 3);  // [K, rows, cols, (x, y)]

  // grid_sample pairs grid n with image n: sample each image's rois together, then restore the rois' order.
  const auto order = std::get<1>(batch.sort(/*stable=*/true, 0, false));
  const auto counts = torch::bincount(batch, {}, input.size(0)).cpu();
  const auto sorted_grid = grid.index_select(0, order);
  std::vector<at::Tensor> parts;
  std::int64_t first = 0;
  for (std::int64_t n = 0; n < input.size(0); ++n) {
    const auto count = counts[n].item<std::int64_t>();
    if (count == 0) continue;
    const auto g = sorted_grid.slice(0, first, first + count).reshape({1, count * rows, cols, 2});
    const auto sampled = torch::grid_sampler(input.slice(0, n, n + 1), g, /*bilinear*/ 0, /*border*/ 1,
                                             /*align_corners=*/true);  // [1, C, count · rows, cols]
    parts.push_back(sampled.view({channels, count, rows, cols}).transpose(0, 1));
    first += count;
  }
  const auto inverse = torch::empty_like(order).index_copy_(0, order, torch::arange(num_rois, order.options()));
  const auto samples = torch::cat(parts, 0).index_select(0, inverse);  // [K, C, rows, cols] in the rois' order

  // Average of the used samples of each bin.
  const auto count = (grid_h * grid_w).clamp_min(1).to(input.scalar_type()).view({num_rois, 1, 1, 1, 1, 1});
  const auto weight = (used_y.view({num_rois, 1, output_height, side_h, 1, 1}) &
                       used_x.view({num_rois, 1, 1, 1, output_width, side_w}))
                          .to(input.scalar_type()) /
                      count;
  return (samples.view({num_rois, channels, output_height, side_h, output_width, side_w}) * weight).sum({3, 5});
}

at::Tensor roi_levels(const at::Tensor& boxes, std::int64_t min_level, std::int64_t max_level, double canonical_size,
                      std::int64_t canonical_level) {
  if (!boxes.defined() || boxes.dim() != 2 || boxes.size(1) != 4) {
    throw ConfigError("roi_levels: 'boxes': expected [K, 4] (x1, y1, x2, y2) in image pixels, got " + shape_of(boxes) +
                      "; drop the batch-index column of rois with rois.slice(1, 1)");
  }
  if (min_level > max_level) {
    throw ConfigError("roi_levels: expected min_level <= max_level, got " + std::to_string(min_level) + " > " +
                      std::to_string(max_level) + "; pass the finest and the coarsest FPN level, in that order");
  }
  if (!(canonical_size > 0) || !std::isfinite(canonical_size)) {
    throw ConfigError("roi_levels: 'canonical_size': expected a positive number of pixels, got " +
                      number(canonical_size) + "; FPN uses 224 (the ImageNet crop)");
  }
  // In double so that boxes of exactly 2^k · canonical_size land on level canonical_level + k whatever their dtype.
  const auto b = boxes.detach().to(torch::kDouble);
  const auto area = ((b.select(1, 2) - b.select(1, 0)) * (b.select(1, 3) - b.select(1, 1))).clamp_min(0);
  const auto level = torch::floor(static_cast<double>(canonical_level) + torch::log2(area.sqrt() / canonical_size + 1e-6));
  return torch::nan_to_num(level, static_cast<double>(min_level))
             .clamp(static_cast<double>(min_level), static_cast<double>(max_level))
             .to(torch::kLong) -
         min_level;
}

at::Tensor multi_scale_roi_align(const std::vector<at::Tensor>& features, const std::vector<double>& strides,
                                 const at::Tensor& rois, std::int64_t output_size, std::int64_t sampling_ratio,
                                 bool aligned, double canonical_size, std::int64_t canonical_level) {
  const char* what = "multi_scale_roi_align";
  if (features.empty() || features.size() != strides.size()) {
    throw ConfigError(std::string(what) + ": expected one stride per feature map, got " +
                      std::to_string(features.size()) + " feature maps and " + std::to_string(strides.size()) +
                      " strides; pass the FPN levels with their strides, e.g. {p3, p4, p5} and {8, 16, 32}");
  }
  // Level of each feature map, from its stride.
  std::map<std::int64_t, std::size_t> by_level;
  for (std::size_t i = 0; i < features.size(); ++i) {
    check_input(features[i], what);
    const double level = std::log2(strides[i]);
    if (!(strides[i] >= 1) || !std::isfinite(strides[i]) || level != std::round(level)) {
      throw ConfigError(std::string(what) + ": 'strides[" + std::to_string(i) + "]': expected a power of two (1, 2, 4, "
                        "8, …), got " + number(strides[i]) + "; pass the feature map's downsampling factor");
    }
    const auto& f = features[i];
    const auto& f0 = features[0];
    if (f.size(0) != f0.size(0) || f.size(1) != f0.size(1) || f.scalar_type() != f0.scalar_type() ||
        f.device() != f0.device()) {
      throw ConfigError(std::string(what) + ": 'features[" + std::to_string(i) + "]' is " + shape_of(f) + " " +
                        std::string(c10::toString(f.scalar_type())) + " on " + f.device().str() +
                        ", features[0] is " + shape_of(f0) + " " + std::string(c10::toString(f0.scalar_type())) +
                        " on " + f0.device().str() +
                        "; every level must share batch size, channels, dtype and device");
    }
    if (!by_level.emplace(static_cast<std::int64_t>(std::llround(level)), i).second) {
      throw ConfigError(std::string(what) + ": stride " + number(strides[i]) +
                        " is given twice; pass each FPN level once");
    }
  }
  const auto min_level = by_level.begin()->first, max_level = by_level.rbegin()->first;
  if (max_level - min_level + 1 != static_cast<std::int64_t>(by_level.size())) {
    throw ConfigError(std::string(what) + ": the strides skip a level (levels " + std::to_string(min_level) + " to " +
                      std::to_string(max_level) + " but only " + std::to_string(by_level.size()) +
                      " feature maps); pass consecutive FPN levels, e.g. strides {8, 16, 32}");
  }
  check_arguments(output_size, output_size, 1.0, what);
  check_rois(rois, features[0], what);

  const auto& f0 = features[0];
  auto result = torch::zeros({rois.size(0), f0.size(1), output_size, output_size}, f0.options());
  if (rois.size(0) == 0) return result;
  const auto levels = roi_levels(rois.detach().slice(1, 1, 5), min_level, max_level, canonical_size, canonical_level);
  for (const auto& [level, i] : by_level) {
    const auto index = torch::nonzero(levels == level - min_level).view(-1);
    if (index.numel() == 0) continue;
    const auto pooled = roi_align(features[i], rois.index_select(0, index), output_size, output_size,
                                  1.0 / strides[i], sampling_ratio, aligned);
    result.index_copy_(0, index, pooled);
  }
  return result;
}

}  // namespace autotimm::ops
