#pragma once
// Image → patch tokens, as timm's layers/patch_embed.py PatchEmbed: a conv with kernel = stride = patch size
// (`proj.weight`, `proj.bias` under the owner's name), then flattened to tokens.
//
//   autotimm::layers::PatchEmbed embed(autotimm::layers::PatchEmbedOptions{.patch_size = 16, .embed_dim = 384});
//   torch::Tensor tokens = embed(images);       // [N, 3, 224, 224] → [N, 196, 384]
//   embed->grid_size();                         // {14, 14}
#include <array>
#include <cstdint>
#include <optional>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "autotimm/export.hpp"

namespace autotimm::layers {

struct PatchEmbedOptions {
  std::optional<std::array<std::int64_t, 2>> img_size = std::array<std::int64_t, 2>{224, 224};  ///< (H, W); unset: any
  std::int64_t patch_size = 16;
  std::int64_t in_chans = 3;
  std::int64_t embed_dim = 768;
  bool bias = true;
  bool strict_img_size = true;   ///< inputs must be exactly img_size (else: any multiple of the patch size)
  bool dynamic_img_pad = false;  ///< pad right/bottom up to a multiple of the patch size instead of refusing
  bool output_nhwc = false;      ///< [N, H', W', C] instead of flattened [N, H'·W', C] (timm's output_fmt='NHWC')
};

class AUTOTIMM_API PatchEmbedImpl : public torch::nn::Module {
 public:
  /// ConfigError when a size is not positive or img_size is not a multiple of the patch size.
  explicit PatchEmbedImpl(PatchEmbedOptions options);
  ~PatchEmbedImpl() override;

  /// ConfigError naming the expected and actual sizes when the input does not fit (see the options).
  at::Tensor forward(const at::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  /// img_size / patch_size, the token grid of a nominal input; {0, 0} without img_size.
  std::array<std::int64_t, 2> grid_size() const noexcept;
  std::int64_t num_patches() const noexcept { return grid_size()[0] * grid_size()[1]; }
  /// The token grid an (height, width) input produces (rounded up with dynamic_img_pad).
  std::array<std::int64_t, 2> dynamic_feat_size(std::int64_t height, std::int64_t width) const noexcept;

  PatchEmbedOptions options;
  torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

}  // namespace autotimm::layers
