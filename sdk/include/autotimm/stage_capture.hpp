#pragma once
// StageCapture: records the output of one stage of a backbone's forward_features (or forward_intermediates, which
// dense tasks run) on this thread, so a caller can take
// gradients with respect to it (GradCAM's target layer) without forward hooks, which the C++ frontend lacks. Families
// report their stages through Backbone::stage_output.
//
//   autotimm::StageCapture capture(*backbone, -1);        // the last feature_info stage
//   auto logits = backbone->forward(images);
//   auto grads = torch::autograd::grad({logits.select(1, c).sum()}, {capture.output()});
#include <cstdint>

#include <ATen/core/Tensor.h>

#include "autotimm/backbone.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

class AUTOTIMM_API StageCapture {
 public:
  /// Starts recording stage `index` of `backbone` (a feature_info index; negative counts from the end). ConfigError
  /// when the index is out of range. Captures nest: several may be alive on a thread at once.
  StageCapture(const Backbone& backbone, std::int64_t index);
  ~StageCapture();
  StageCapture(const StageCapture&) = delete;
  StageCapture& operator=(const StageCapture&) = delete;

  /// The stage's output from the latest forward_features or forward_intermediates on this thread, in the family's layout (NCHW for CNNs, [N, L,
  /// D] tokens with the prefix tokens first for ViTs, NHWC for Swin); undefined until a forward passed the stage.
  const at::Tensor& output() const noexcept { return output_; }
  /// The layout the family reported the output in.
  StageLayout layout() const noexcept { return layout_; }
  /// True once a forward passed the stage: false after a forward means the family does not report its stages.
  bool reached() const noexcept { return output_.defined(); }
  /// The feature_info index, made non-negative.
  std::int64_t index() const noexcept { return index_; }

 private:
  friend class Backbone;
  const Backbone* backbone_;
  std::int64_t index_;
  at::Tensor output_;
  StageLayout layout_ = StageLayout::nchw;
  StageCapture* outer_;  ///< the capture that was innermost before this one
};

/// A stage output reported in `layout` as a map [N, C, h, w]: NCHW as it is, NHWC permuted (a view), tokens without
/// their prefix tokens (the first L - h·w) reshaped to the `token_grid_height` × `token_grid_width` patch grid.
/// ConfigError when the tensor does not have the layout's rank or the tokens do not cover the grid.
AUTOTIMM_API at::Tensor stage_output_as_nchw(const at::Tensor& output, StageLayout layout,
                                             std::int64_t token_grid_height = 0, std::int64_t token_grid_width = 0);

}  // namespace autotimm
