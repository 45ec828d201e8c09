#pragma once
// Every model name this plugin builds, as timm's entry functions in efficientnet.py and mobilenetv3.py: which
// generator (timm's _gen_* function, i.e. the block strings and head), its channel and depth multipliers, and the
// TensorFlow-port settings. variants.cpp turns an entry into EfficientNetOptions the way the generator does.
#include <array>
#include <string_view>

#include "autotimm/registry.hpp"
#include "efficientnet.hpp"

namespace autotimm::efficientnet {

/// timm's generator functions (the arch_def and the head each implies).
enum class Generator {
  efficientnet,         ///< _gen_efficientnet: B0–B8, L2
  efficientnet_edge,    ///< _gen_efficientnet_edge: EfficientNet-EdgeTPU S/M/L (edge residual stages)
  efficientnet_lite,    ///< _gen_efficientnet_lite: no SE, ReLU6, fixed stem and head
  efficientnetv2_base,  ///< _gen_efficientnetv2_base: V2 B0–B3
  efficientnetv2_s,     ///< _gen_efficientnetv2_s (rw: the first "rw" layout)
  efficientnetv2_m,
  efficientnetv2_l,
  efficientnetv2_xl,
  mixnet_s,
  mixnet_m,       ///< also L, XL, XXL through the multipliers
  mobilenetv2,    ///< _gen_mobilenet_v2
  mobilenetv3,    ///< _gen_mobilenet_v3: small / large, "minimal" without SE and hard-swish (from the name, as timm)
  mobilenetv3_rw  ///< _gen_mobilenet_v3_rw: timm's own MobileNet-V3 layout
};

struct EfficientNetVariant {
  std::string_view name;
  Generator generator;
  double channel_multiplier = 1.0;
  double depth_multiplier = 1.0;
  std::array<double, 7> stage_depth_multipliers = {};  ///< non-zero: one per stage instead of depth_multiplier
  bool tf = false;               ///< a TensorFlow port: BatchNorm eps 1e-3 and "same" padding
  bool fix_stem_head = false;    ///< mobilenetv2_110d/120d: stem, head and first/last stages unscaled
  bool rw = false;               ///< efficientnetv2_s's first (rw) layout
  std::string_view description = {};
};

/// The variant's options, built as its timm generator builds them (the defaults a user's model_args merge over).
EfficientNetOptions options_of(const EfficientNetVariant& variant);

/// The table, in timm's registration order.
const std::vector<EfficientNetVariant>& efficientnet_variants();

/// options_of the variant called `name`; ConfigError with the closest names otherwise.
EfficientNetOptions efficientnet_variant_options(std::string_view name);

/// Registers every variant with its pretrained tags (plugin.cpp; the plugin's register_fn).
void register_efficientnet(Registrar& registrar);

}  // namespace autotimm::efficientnet
