#include "autotimm/layers/patch_embed.hpp"

#include <torch/torch.h>

#include "autotimm/error.hpp"

namespace autotimm::layers {
namespace {

std::string size_text(std::int64_t height, std::int64_t width) {
  return std::to_string(height) + "x" + std::to_string(width);
}

}  // namespace

PatchEmbedImpl::PatchEmbedImpl(PatchEmbedOptions options_) : options(options_) {
  const auto& o = options;
  if (o.patch_size <= 0 || o.in_chans <= 0 || o.embed_dim <= 0) {
    throw ConfigError("PatchEmbed: expected positive patch_size, in_chans and embed_dim, got " +
                      std::to_string(o.patch_size) + ", " + std::to_string(o.in_chans) + ", " +
                      std::to_string(o.embed_dim));
  }
  if (o.img_size) {
    const auto [height, width] = *o.img_size;
    if (height <= 0 || width <= 0) throw ConfigError("PatchEmbed: 'img_size': expected positive sizes, got " +
                                                     size_text(height, width));
    if (!o.dynamic_img_pad && (height % o.patch_size != 0 || width % o.patch_size != 0)) {
      throw ConfigError("PatchEmbed: 'img_size': expected a multiple of the patch size " +
                        std::to_string(o.patch_size) + ", got " + size_text(height, width) +
                        "; choose another img_size or set dynamic_img_pad");
    }
  }
  proj = register_module("proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(o.in_chans, o.embed_dim, o.patch_size)
                                                       .stride(o.patch_size)
                                                       .bias(o.bias)));
}

PatchEmbedImpl::~PatchEmbedImpl() = default;

std::array<std::int64_t, 2> PatchEmbedImpl::grid_size() const noexcept {
  if (!options.img_size) return {0, 0};
  return dynamic_feat_size((*options.img_size)[0], (*options.img_size)[1]);
}

std::array<std::int64_t, 2> PatchEmbedImpl::dynamic_feat_size(std::int64_t height, std::int64_t width) const noexcept {
  const std::int64_t p = options.patch_size;
  if (options.dynamic_img_pad) return {(height + p - 1) / p, (width + p - 1) / p};
  return {height / p, width / p};
}

at::Tensor PatchEmbedImpl::forward(const at::Tensor& x) {
  if (x.dim() != 4 || x.size(1) != options.in_chans) {
    throw ConfigError("PatchEmbed: expected an [N, " + std::to_string(options.in_chans) + ", H, W] image batch, got " +
                      std::to_string(x.dim()) + "-d input with sizes " + c10::str(x.sizes()));
  }
  const std::int64_t height = x.size(2), width = x.size(3), p = options.patch_size;
  if (options.img_size && options.strict_img_size) {
    const auto [want_h, want_w] = *options.img_size;
    if (height != want_h || width != want_w) {
      throw ConfigError("PatchEmbed: input size " + size_text(height, width) + " does not match the model's img_size " +
                        size_text(want_h, want_w) + "; resize the input, build the model with that img_size, or " +
                        "set dynamic_img_size");
    }
  } else if (!options.dynamic_img_pad && (height % p != 0 || width % p != 0)) {
    throw ConfigError("PatchEmbed: input size " + size_text(height, width) + " is not a multiple of the patch size " +
                      std::to_string(p) + "; resize or pad the input, or set dynamic_img_pad");
  }
  at::Tensor y = x;
  if (options.dynamic_img_pad) {
    const std::int64_t pad_h = (p - height % p) % p, pad_w = (p - width % p) % p;
    if (pad_h || pad_w) y = torch::constant_pad_nd(y, {0, pad_w, 0, pad_h});
  }
  y = proj->forward(y);                                     // [N, C, H', W']
  if (options.output_nhwc) return y.permute({0, 2, 3, 1});  // [N, H', W', C]
  return y.flatten(2).transpose(1, 2);                      // [N, H'·W', C]
}

void PatchEmbedImpl::pretty_print(std::ostream& stream) const {
  stream << "autotimm::layers::PatchEmbed(patch_size=" << options.patch_size << ", in_chans=" << options.in_chans
         << ", embed_dim=" << options.embed_dim << ")";
}

}  // namespace autotimm::layers
