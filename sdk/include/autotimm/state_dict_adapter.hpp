#pragma once
// StateDictAdapter: a model's say over a checkpoint before strict loading, the counterpart of timm's per-family
// checkpoint_filter_fn for what depends on the model's configuration rather than on the file's origin. A ViT built
// for 384 × 384 resamples a 224 checkpoint's position embedding to its own grid; a model whose weights need no
// adapting does not implement it.
//
//   class VisionTransformerImpl : public autotimm::Backbone, public autotimm::StateDictAdapter { ... };
//
// autotimm::load_state_dict calls adapt_state_dict on any module that implements it, before it checks keys and shapes,
// so the strict checks see the adapted tensors.
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "autotimm/export.hpp"

namespace autotimm {

class AUTOTIMM_API StateDictAdapter {
 public:
  virtual ~StateDictAdapter();

  /// Rewrites `tensors` (file keys → tensors, float32 as loaded) in place to fit this model and returns the keys it
  /// changed (the load report lists them as adapted). Leaves alone what it does not understand: the loader's checks
  /// report it. `source` names the file in messages; throw FormatError for a tensor that cannot be adapted.
  virtual std::vector<std::string> adapt_state_dict(std::map<std::string, at::Tensor>& tensors,
                                                    const std::string& source) const = 0;

 protected:
  StateDictAdapter() = default;
  StateDictAdapter(const StateDictAdapter&) = default;
  StateDictAdapter& operator=(const StateDictAdapter&) = default;
};

}  // namespace autotimm
