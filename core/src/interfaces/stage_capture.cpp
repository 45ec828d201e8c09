// Stage taps: Backbone::stage_output hands each stage's output to the StageCaptures alive on this thread.
#include "autotimm/stage_capture.hpp"

#include <torch/torch.h>

#include <string>

#include "autotimm/error.hpp"

namespace autotimm {
namespace {

thread_local StageCapture* t_innermost = nullptr;

}  // namespace

StageCapture::StageCapture(const Backbone& backbone, std::int64_t index) : backbone_(&backbone), outer_(t_innermost) {
  const auto stages = static_cast<std::int64_t>(backbone.feature_info().size());
  index_ = index < 0 ? index + stages : index;
  if (index_ < 0 || index_ >= stages) {
    throw ConfigError("StageCapture: stage " + std::to_string(index) + " is out of range: the backbone has " +
                      std::to_string(stages) + " stages (0 to " + std::to_string(stages - 1) +
                      ", or -1 for the last)");
  }
  t_innermost = this;
}

StageCapture::~StageCapture() {
  // Captures are scoped, so the innermost is normally this one; unlink it wherever it sits in any case.
  StageCapture** link = &t_innermost;
  while (*link != nullptr && *link != this) link = &(*link)->outer_;
  if (*link == this) *link = outer_;
}

torch::Tensor Backbone::stage_output(std::int64_t index, const torch::Tensor& output, StageLayout layout) const {
  for (StageCapture* capture = t_innermost; capture != nullptr; capture = capture->outer_) {
    if (capture->backbone_ == this && capture->index_ == index) {
      capture->output_ = output;
      capture->layout_ = layout;
    }
  }
  return output;
}

at::Tensor stage_output_as_nchw(const at::Tensor& output, StageLayout layout, std::int64_t token_grid_height,
                                std::int64_t token_grid_width) {
  const auto shape = [&] { return "[" + c10::str(output.sizes()) + "]"; };
  switch (layout) {
    case StageLayout::nchw:
    case StageLayout::nhwc:
      if (output.dim() != 4) {
        throw ConfigError("stage output " + shape() + ": a feature map must have 4 dimensions (N, C, H, W or N, H, "
                          "W, C)");
      }
      return layout == StageLayout::nchw ? output : output.permute({0, 3, 1, 2});
    case StageLayout::tokens: {
      const std::int64_t cells = token_grid_height * token_grid_width;
      if (output.dim() != 3 || token_grid_height <= 0 || token_grid_width <= 0 || output.size(1) < cells) {
        throw ConfigError("stage output " + shape() + ": tokens [N, L, C] must cover the " +
                          std::to_string(token_grid_height) + " x " + std::to_string(token_grid_width) +
                          " patch grid after their prefix tokens");
      }
      return output.narrow(1, output.size(1) - cells, cells)
          .transpose(1, 2)
          .reshape({output.size(0), output.size(2), token_grid_height, token_grid_width});
    }
  }
  throw ConfigError("stage output: unknown layout");
}

}  // namespace autotimm
