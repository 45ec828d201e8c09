#include "autotimm/layers/pos_embed.hpp"

#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"

namespace autotimm::layers {

at::Tensor resample_abs_pos_embed(const at::Tensor& posemb, std::array<std::int64_t, 2> new_size,
                                  std::optional<std::array<std::int64_t, 2>> old_size, std::int64_t num_prefix_tokens,
                                  bool antialias) {
  if (posemb.dim() != 3 || posemb.size(0) != 1) {
    throw ConfigError("resample_abs_pos_embed: expected a [1, tokens, dim] position embedding, got sizes " +
                      c10::str(posemb.sizes()));
  }
  const std::int64_t tokens = posemb.size(1), dim = posemb.size(2);
  const std::int64_t grid_tokens = tokens - num_prefix_tokens;
  if (num_prefix_tokens < 0 || grid_tokens <= 0 || new_size[0] <= 0 || new_size[1] <= 0) {
    throw ConfigError("resample_abs_pos_embed: cannot resample " + std::to_string(tokens) + " tokens with " +
                      std::to_string(num_prefix_tokens) + " prefix tokens to a " + std::to_string(new_size[0]) + "x" +
                      std::to_string(new_size[1]) + " grid");
  }
  // timm's shortcut, kept for identical results: same count and a square target means "already right".
  if (new_size[0] * new_size[1] + num_prefix_tokens == tokens && new_size[0] == new_size[1]) return posemb;

  if (!old_size) {
    const auto side = static_cast<std::int64_t>(std::sqrt(static_cast<double>(grid_tokens)));
    old_size = std::array<std::int64_t, 2>{side, side};
  }
  const auto [old_h, old_w] = *old_size;
  if (old_h * old_w != grid_tokens) {
    throw ConfigError("resample_abs_pos_embed: " + std::to_string(grid_tokens) + " grid tokens (after " +
                      std::to_string(num_prefix_tokens) + " prefix tokens) do not form a " + std::to_string(old_h) +
                      "x" + std::to_string(old_w) + " grid; give the checkpoint's grid size");
  }
  const at::Tensor prefix = posemb.narrow(1, 0, num_prefix_tokens);
  at::Tensor grid = posemb.narrow(1, num_prefix_tokens, grid_tokens).to(torch::kFloat32);
  grid = grid.reshape({1, old_h, old_w, dim}).permute({0, 3, 1, 2});
  // F.interpolate(size=..., mode='bicubic', align_corners=False): no scale factors, so the sizes set the scales.
  const std::vector<std::int64_t> size = {new_size[0], new_size[1]};
  grid = antialias ? at::_upsample_bicubic2d_aa(grid, size, /*align_corners=*/false, c10::nullopt, c10::nullopt)
                   : at::upsample_bicubic2d(grid, size, /*align_corners=*/false, c10::nullopt, c10::nullopt);
  grid = grid.permute({0, 2, 3, 1}).reshape({1, new_size[0] * new_size[1], dim}).to(posemb.scalar_type());
  if (num_prefix_tokens == 0) return grid;
  return torch::cat({prefix, grid}, 1);
}

}  // namespace autotimm::layers
