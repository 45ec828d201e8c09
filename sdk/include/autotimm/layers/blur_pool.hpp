#pragma once
// Anti-aliased downsampling, as timm's blur_pool.py: BlurPool2d (a fixed binomial blur, then subsampling) and
// create_aa, which picks the anti-aliasing layer a block puts after a stride-1 conv.
//
//   autotimm::layers::BlurPool2d blur({.channels = 64});                  // [N, 64, H, W] → [N, 64, H/2, W/2]
//   auto aa = autotimm::layers::create_aa(autotimm::layers::AntiAliasType::avgpool, 64, 2);
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/pimpl.h>

#include "autotimm/export.hpp"

namespace autotimm::layers {

/// timm's aa_layer choices: none, nn.AvgPool2d ("avgpool"), BlurPool2d ("blurpool", reflect padding) and BlurPool2d
/// with zero padding ("blurpc").
enum class AntiAliasType { none, avgpool, blurpool, blurpc };

/// "", "avgpool", "blurpool", "blurpc".
AUTOTIMM_API std::string_view anti_alias_name(AntiAliasType type) noexcept;

/// The type called `name`: "avg"/"avgpool", "blur"/"blurpool", "blurpc" or "" (none), case and '_'/'-' ignored as in
/// timm. ConfigError otherwise, naming `context` and listing the valid names.
AUTOTIMM_API AntiAliasType parse_anti_alias(std::string_view name, std::string_view context);

struct BlurPool2dOptions {
  std::optional<std::int64_t> channels = {};  ///< fixed channel count; unset: taken from each input
  std::int64_t filt_size = 3;                 ///< binomial filter taps (> 1)
  std::int64_t stride = 2;
  bool reflect_padding = true;  ///< reflect (timm's default) or zero ("blurpc") padding
};

/// The blur filter is recomputed from the options, never stored: timm registers it as a non-persistent buffer, so it
/// is not part of the state dict.
class AUTOTIMM_API BlurPool2dImpl : public torch::nn::Module {
 public:
  explicit BlurPool2dImpl(BlurPool2dOptions options = {});
  ~BlurPool2dImpl() override;

  at::Tensor forward(const at::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  BlurPool2dOptions options;

 private:
  at::Tensor filter_;  // [1, 1, k, k] float32 on the CPU; converted to each input's dtype and device
};
TORCH_MODULE(BlurPool2d);

/// timm's create_aa: the anti-aliasing module for `channels` at `stride`. AntiAliasType::none gives nn::Identity;
/// avgpool gives AvgPool2d(kernel = stride); the blur types give BlurPool2d.
AUTOTIMM_API torch::nn::AnyModule create_aa(AntiAliasType type, std::int64_t channels, std::int64_t stride = 2);

}  // namespace autotimm::layers
