// VisionTransformerImpl::adapt_state_dict: what timm's checkpoint_filter_fn does for weights already in timm's layout,
// where the model's configuration differs from the checkpoint's: a position embedding made for another grid is
// resampled to this model's (bicubic, antialiased, prefix tokens kept), so a 224 checkpoint loads into a 384 model.
#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/layers/pos_embed.hpp"
#include "vision_transformer.hpp"

namespace autotimm::vit {

std::vector<std::string> VisionTransformerImpl::adapt_state_dict(std::map<std::string, torch::Tensor>& tensors,
                                                                 const std::string& source) const {
  std::vector<std::string> adapted;
  auto found = tensors.find("pos_embed");
  if (!pos_embed_.defined() || found == tensors.end()) return adapted;
  const torch::Tensor& file = found->second;
  // Another width or layout is not a grid difference: leave it to the loader's shape report.
  if (file.dim() != 3 || file.size(0) != 1 || file.size(2) != pos_embed_.size(2)) return adapted;
  if (file.size(1) == pos_embed_.size(1)) return adapted;

  const std::int64_t prefix = options_.no_embed_class ? 0 : num_prefix_tokens_;
  const std::int64_t grid_tokens = file.size(1) - prefix;
  const std::int64_t side = grid_tokens > 0 ? std::llround(std::sqrt(static_cast<double>(grid_tokens))) : 0;
  if (grid_tokens <= 0 || side * side != grid_tokens) {
    throw FormatError("cannot load weights from " + source + ": 'pos_embed' has " + std::to_string(file.size(1)) +
                      " tokens, which after this model's " + std::to_string(prefix) +
                      " prefix tokens is not a square grid to resample to " + std::to_string(grid_size()[0]) + "x" +
                      std::to_string(grid_size()[1]) + "; are these weights for a model with other prefix tokens " +
                      "(class_token, reg_tokens, no_embed_class)?");
  }
  found->second = layers::resample_abs_pos_embed(file, grid_size(), std::array<std::int64_t, 2>{side, side}, prefix,
                                                 /*antialias=*/true);
  adapted.push_back("pos_embed");
  return adapted;
}

}  // namespace autotimm::vit
