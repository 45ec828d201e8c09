// torchvision's automatic augmentation on PIL images: randaugment (RandAugment), trivialaugment
// (TrivialAugmentWide) and autoaugment (AutoAugment, ImageNet / CIFAR10 / SVHN policies). Same op spaces in the
// same order, magnitude tables with torch's float32 values, random signs, and the same sequence of draws, each
// from the sample's SampleRng. Geometric ops resample with nearest, as torchvision's default.
#include <array>
#include <cmath>
#include <span>
#include <string>

#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "builtin.hpp"
#include "color_ops.hpp"

namespace autotimm::transforms {

namespace {

enum class AugmentOp {
  identity,
  shear_x,
  shear_y,
  translate_x,
  translate_y,
  rotate,
  brightness,
  color,
  contrast,
  sharpness,
  posterize,
  solarize,
  autocontrast,
  equalize,
  invert,
};

/// RandAugment's and TrivialAugmentWide's op space, in the order of torchvision's dict: a drawn index picks it.
constexpr std::array<AugmentOp, 14> kRandomOps = {
    AugmentOp::identity,  AugmentOp::shear_x,    AugmentOp::shear_y,  AugmentOp::translate_x, AugmentOp::translate_y,
    AugmentOp::rotate,    AugmentOp::brightness, AugmentOp::color,    AugmentOp::contrast,    AugmentOp::sharpness,
    AugmentOp::posterize, AugmentOp::solarize,   AugmentOp::autocontrast, AugmentOp::equalize,
};

/// The upper ends of an _augmentation_space's linspace tables (all start at 0, solarize runs 255 → 0).
struct MagnitudeSpace {
  float shear;
  float translate_x;
  float translate_y;
  float rotate;
  float enhance;  ///< brightness, color, contrast, sharpness: factors 1 ± magnitude
  double posterize_steps;  ///< posterize keeps 8 - round(bin / ((bins - 1) / steps)) bits
};

/// RandAugment and AutoAugment: translations up to 150/331 of the image side.
MagnitudeSpace standard_space(const Image& image) {
  return {0.3f, static_cast<float>(150.0 / 331.0 * image.width), static_cast<float>(150.0 / 331.0 * image.height),
          30.0f, 0.9f, 4.0};
}

/// TrivialAugmentWide's wider ranges.
constexpr MagnitudeSpace kWideSpace = {0.99f, 32.0f, 32.0f, 135.0f, 0.99f, 6.0};

bool has_magnitude(AugmentOp op) {
  switch (op) {
    case AugmentOp::identity:
    case AugmentOp::autocontrast:
    case AugmentOp::equalize:
    case AugmentOp::invert: return false;
    default: return true;
  }
}

bool is_signed(AugmentOp op) {
  return has_magnitude(op) && op != AugmentOp::posterize && op != AugmentOp::solarize;
}

/// magnitudes[bin] of torchvision's table for `op` (float32, as the tensors hold it).
double magnitude_of(AugmentOp op, const MagnitudeSpace& space, int bin, int bins) {
  switch (op) {
    case AugmentOp::shear_x:
    case AugmentOp::shear_y: return torch_linspace(0.0f, space.shear, bins, bin);
    case AugmentOp::translate_x: return torch_linspace(0.0f, space.translate_x, bins, bin);
    case AugmentOp::translate_y: return torch_linspace(0.0f, space.translate_y, bins, bin);
    case AugmentOp::rotate: return torch_linspace(0.0f, space.rotate, bins, bin);
    case AugmentOp::brightness:
    case AugmentOp::color:
    case AugmentOp::contrast:
    case AugmentOp::sharpness: return torch_linspace(0.0f, space.enhance, bins, bin);
    case AugmentOp::posterize: {
      // 8 - (arange(bins) / ((bins - 1) / steps)).round().int(): float32 division, round half to even.
      const float divisor = static_cast<float>((bins - 1) / space.posterize_steps);
      return 8 - static_cast<int>(std::nearbyint(static_cast<float>(bin) / divisor));
    }
    case AugmentOp::solarize: return torch_linspace(255.0f, 0.0f, bins, bin);
    default: return 0.0;
  }
}

/// The policies shear, translate and rotate pixels but cannot move boxes or label maps: a detection or
/// segmentation sample is refused, not silently mislabelled.
void refuse_targets(const Sample& sample, std::string_view transform) {
  if (!sample.has_targets()) return;
  throw ConfigError(std::string(transform) +
                    " moves pixels (shear, translate, rotate) without moving boxes or masks; for detection and "
                    "segmentation use the geometric transforms (letterbox, resize, random_resized_crop, "
                    "random_crop, horizontal_flip) and the colour ones");
}

/// torchvision's _apply_op.
void apply_op(Image& image, AugmentOp op, double magnitude, std::uint8_t fill) {
  switch (op) {
    case AugmentOp::identity: break;
    case AugmentOp::shear_x: shear_x(image, magnitude, fill); break;
    case AugmentOp::shear_y: shear_y(image, magnitude, fill); break;
    case AugmentOp::translate_x: translate_x(image, static_cast<int>(magnitude), fill); break;
    case AugmentOp::translate_y: translate_y(image, static_cast<int>(magnitude), fill); break;
    case AugmentOp::rotate: rotate(image, magnitude, fill); break;
    case AugmentOp::brightness: adjust_brightness(image, 1.0 + magnitude); break;
    case AugmentOp::color: adjust_saturation(image, 1.0 + magnitude); break;
    case AugmentOp::contrast: adjust_contrast(image, 1.0 + magnitude); break;
    case AugmentOp::sharpness: adjust_sharpness(image, 1.0 + magnitude); break;
    case AugmentOp::posterize: posterize(image, static_cast<int>(magnitude)); break;
    case AugmentOp::solarize: solarize(image, magnitude); break;
    case AugmentOp::autocontrast: autocontrast(image); break;
    case AugmentOp::equalize: equalize(image); break;
    case AugmentOp::invert: invert(image); break;
  }
}

class RandAugment final : public Transform {
 public:
  RandAugment(int num_ops, int magnitude, int num_magnitude_bins, std::uint8_t fill)
      : num_ops_(num_ops), magnitude_(magnitude), num_magnitude_bins_(num_magnitude_bins), fill_(fill) {}
  std::string_view name() const override { return "randaugment"; }
  void apply(Sample& sample, SampleRng& rng) const override {
    refuse_targets(sample, name());
    for (int i = 0; i < num_ops_; ++i) {
      const AugmentOp op = kRandomOps[static_cast<std::size_t>(rng.integer(0, kRandomOps.size() - 1))];
      double magnitude =
          has_magnitude(op) ? magnitude_of(op, standard_space(sample.image), magnitude_, num_magnitude_bins_) : 0.0;
      if (is_signed(op) && rng.integer(0, 1) == 1) magnitude = -magnitude;
      apply_op(sample.image, op, magnitude, fill_);
    }
  }
  boost::json::object describe() const override {
    return {{"name", "randaugment"}, {"num_ops", num_ops_}, {"magnitude", magnitude_},
            {"num_magnitude_bins", num_magnitude_bins_}, {"fill", fill_}};
  }

 private:
  int num_ops_, magnitude_, num_magnitude_bins_;
  std::uint8_t fill_;
};

class TrivialAugmentWide final : public Transform {
 public:
  TrivialAugmentWide(int num_magnitude_bins, std::uint8_t fill) : num_magnitude_bins_(num_magnitude_bins), fill_(fill) {}
  std::string_view name() const override { return "trivialaugment"; }
  void apply(Sample& sample, SampleRng& rng) const override {
    refuse_targets(sample, name());
    const AugmentOp op = kRandomOps[static_cast<std::size_t>(rng.integer(0, kRandomOps.size() - 1))];
    double magnitude = 0.0;
    if (has_magnitude(op)) {
      const int bin = static_cast<int>(rng.integer(0, num_magnitude_bins_ - 1));
      magnitude = magnitude_of(op, kWideSpace, bin, num_magnitude_bins_);
    }
    if (is_signed(op) && rng.integer(0, 1) == 1) magnitude = -magnitude;
    apply_op(sample.image, op, magnitude, fill_);
  }
  boost::json::object describe() const override {
    return {{"name", "trivialaugment"}, {"num_magnitude_bins", num_magnitude_bins_}, {"fill", fill_}};
  }

 private:
  int num_magnitude_bins_;
  std::uint8_t fill_;
};

/// One step of an AutoAugment sub-policy: the op, its probability and its magnitude bin (-1: none) of 10.
struct PolicyStep {
  AugmentOp op;
  double p;
  int magnitude_bin;
};
using SubPolicy = std::array<PolicyStep, 2>;

using enum AugmentOp;
constexpr int kNone = -1;

constexpr std::array<SubPolicy, 25> kImageNetPolicy = {{
    {{{posterize, 0.4, 8}, {rotate, 0.6, 9}}},       {{{solarize, 0.6, 5}, {autocontrast, 0.6, kNone}}},
    {{{equalize, 0.8, kNone}, {equalize, 0.6, kNone}}}, {{{posterize, 0.6, 7}, {posterize, 0.6, 6}}},
    {{{equalize, 0.4, kNone}, {solarize, 0.2, 4}}},  {{{equalize, 0.4, kNone}, {rotate, 0.8, 8}}},
    {{{solarize, 0.6, 3}, {equalize, 0.6, kNone}}},  {{{posterize, 0.8, 5}, {equalize, 1.0, kNone}}},
    {{{rotate, 0.2, 3}, {solarize, 0.6, 8}}},        {{{equalize, 0.6, kNone}, {posterize, 0.4, 6}}},
    {{{rotate, 0.8, 8}, {color, 0.4, 0}}},           {{{rotate, 0.4, 9}, {equalize, 0.6, kNone}}},
    {{{equalize, 0.0, kNone}, {equalize, 0.8, kNone}}}, {{{invert, 0.6, kNone}, {equalize, 1.0, kNone}}},
    {{{color, 0.6, 4}, {contrast, 1.0, 8}}},         {{{rotate, 0.8, 8}, {color, 1.0, 2}}},
    {{{color, 0.8, 8}, {solarize, 0.8, 7}}},         {{{sharpness, 0.4, 7}, {invert, 0.6, kNone}}},
    {{{shear_x, 0.6, 5}, {equalize, 1.0, kNone}}},   {{{color, 0.4, 0}, {equalize, 0.6, kNone}}},
    {{{equalize, 0.4, kNone}, {solarize, 0.2, 4}}},  {{{solarize, 0.6, 5}, {autocontrast, 0.6, kNone}}},
    {{{invert, 0.6, kNone}, {equalize, 1.0, kNone}}}, {{{color, 0.6, 4}, {contrast, 1.0, 8}}},
    {{{equalize, 0.8, kNone}, {equalize, 0.6, kNone}}},
}};

constexpr std::array<SubPolicy, 25> kCifar10Policy = {{
    {{{invert, 0.1, kNone}, {contrast, 0.2, 6}}},     {{{rotate, 0.7, 2}, {translate_x, 0.3, 9}}},
    {{{sharpness, 0.8, 1}, {sharpness, 0.9, 3}}},     {{{shear_y, 0.5, 8}, {translate_y, 0.7, 9}}},
    {{{autocontrast, 0.5, kNone}, {equalize, 0.9, kNone}}}, {{{shear_y, 0.2, 7}, {posterize, 0.3, 7}}},
    {{{color, 0.4, 3}, {brightness, 0.6, 7}}},        {{{sharpness, 0.3, 9}, {brightness, 0.7, 9}}},
    {{{equalize, 0.6, kNone}, {equalize, 0.5, kNone}}}, {{{contrast, 0.6, 7}, {sharpness, 0.6, 5}}},
    {{{color, 0.7, 7}, {translate_x, 0.5, 8}}},       {{{equalize, 0.3, kNone}, {autocontrast, 0.4, kNone}}},
    {{{translate_y, 0.4, 3}, {sharpness, 0.2, 6}}},   {{{brightness, 0.9, 6}, {color, 0.2, 8}}},
    {{{solarize, 0.5, 2}, {invert, 0.0, kNone}}},     {{{equalize, 0.2, kNone}, {autocontrast, 0.6, kNone}}},
    {{{equalize, 0.2, kNone}, {equalize, 0.6, kNone}}}, {{{color, 0.9, 9}, {equalize, 0.6, kNone}}},
    {{{autocontrast, 0.8, kNone}, {solarize, 0.2, 8}}}, {{{brightness, 0.1, 3}, {color, 0.7, 0}}},
    {{{solarize, 0.4, 5}, {autocontrast, 0.9, kNone}}}, {{{translate_y, 0.9, 9}, {translate_y, 0.7, 9}}},
    {{{autocontrast, 0.9, kNone}, {solarize, 0.8, 3}}}, {{{equalize, 0.8, kNone}, {invert, 0.1, kNone}}},
    {{{translate_y, 0.7, 9}, {autocontrast, 0.9, kNone}}},
}};

constexpr std::array<SubPolicy, 25> kSvhnPolicy = {{
    {{{shear_x, 0.9, 4}, {invert, 0.2, kNone}}},      {{{shear_y, 0.9, 8}, {invert, 0.7, kNone}}},
    {{{equalize, 0.6, kNone}, {solarize, 0.6, 6}}},   {{{invert, 0.9, kNone}, {equalize, 0.6, kNone}}},
    {{{equalize, 0.6, kNone}, {rotate, 0.9, 3}}},     {{{shear_x, 0.9, 4}, {autocontrast, 0.8, kNone}}},
    {{{shear_y, 0.9, 8}, {invert, 0.4, kNone}}},      {{{shear_y, 0.9, 5}, {solarize, 0.2, 6}}},
    {{{invert, 0.9, kNone}, {autocontrast, 0.8, kNone}}}, {{{equalize, 0.6, kNone}, {rotate, 0.9, 3}}},
    {{{shear_x, 0.9, 4}, {solarize, 0.3, 3}}},        {{{shear_y, 0.8, 8}, {invert, 0.7, kNone}}},
    {{{equalize, 0.9, kNone}, {translate_y, 0.6, 6}}}, {{{invert, 0.9, kNone}, {equalize, 0.6, kNone}}},
    {{{contrast, 0.3, 3}, {rotate, 0.8, 4}}},         {{{invert, 0.8, kNone}, {translate_y, 0.0, 2}}},
    {{{shear_y, 0.7, 6}, {solarize, 0.4, 8}}},        {{{invert, 0.6, kNone}, {rotate, 0.8, 4}}},
    {{{shear_y, 0.3, 7}, {translate_x, 0.9, 3}}},     {{{shear_x, 0.1, 6}, {invert, 0.6, kNone}}},
    {{{solarize, 0.7, 2}, {translate_y, 0.6, 7}}},    {{{shear_y, 0.8, 4}, {invert, 0.8, kNone}}},
    {{{shear_x, 0.7, 9}, {translate_y, 0.8, 3}}},     {{{shear_y, 0.8, 5}, {autocontrast, 0.7, kNone}}},
    {{{shear_x, 0.7, 2}, {invert, 0.1, kNone}}},
}};

constexpr int kAutoAugmentBins = 10;

class AutoAugment final : public Transform {
 public:
  AutoAugment(std::string policy_name, std::span<const SubPolicy> policy, std::uint8_t fill)
      : policy_name_(std::move(policy_name)), policy_(policy), fill_(fill) {}
  std::string_view name() const override { return "autoaugment"; }
  void apply(Sample& sample, SampleRng& rng) const override {
    refuse_targets(sample, name());
    // get_params: the sub-policy, then two probabilities, then two signs.
    const auto& sub_policy = policy_[static_cast<std::size_t>(rng.integer(0, policy_.size() - 1))];
    const std::array<double, 2> probabilities = {rng.uniform(), rng.uniform()};
    const std::array<std::int64_t, 2> signs = {rng.integer(0, 1), rng.integer(0, 1)};
    for (std::size_t i = 0; i < 2; ++i) {
      const PolicyStep& step = sub_policy[i];
      if (!(probabilities[i] <= step.p)) continue;
      double magnitude = step.magnitude_bin >= 0
                             ? magnitude_of(step.op, standard_space(sample.image), step.magnitude_bin, kAutoAugmentBins)
                             : 0.0;
      if (is_signed(step.op) && signs[i] == 0) magnitude = -magnitude;
      apply_op(sample.image, step.op, magnitude, fill_);
    }
  }
  boost::json::object describe() const override {
    return {{"name", "autoaugment"}, {"policy", policy_name_}, {"fill", fill_}};
  }

 private:
  std::string policy_name_;
  std::span<const SubPolicy> policy_;
  std::uint8_t fill_;
};

/// An integer option within [low, high]; `hint` says what the value means.
int int_option(const Config& options, std::string_view key, std::int64_t fallback, std::int64_t low,
               std::int64_t high, const std::string& hint) {
  const auto value = options.get<std::int64_t>(key, fallback);
  if (value < low || value > high) {
    throw ConfigError(options.where(key) + ": expected " + std::to_string(low) + ".." + std::to_string(high) +
                      ", got " + std::to_string(value) + "; " + hint);
  }
  return static_cast<int>(value);
}

/// One gray level for every channel: the affine ops fill uncovered pixels with it.
std::uint8_t gray_fill_option(const Config& options) {
  return static_cast<std::uint8_t>(
      int_option(options, "fill", 0, 0, 255, "the gray level written where a shear, shift or rotation leaves no pixel"));
}

}  // namespace

std::vector<Builtin> auto_augment_transforms() {
  return {
      {"randaugment",
       [](const Config& o) -> TransformPtr {
         const int num_ops = int_option(o, "num_ops", 2, 0, 64, "the number of ops applied in a row (timm uses 2)");
         const int bins = int_option(o, "num_magnitude_bins", 31, 2, 1000, "the number of magnitude levels");
         const int magnitude =
             int_option(o, "magnitude", 9, 0, bins - 1, "a bin index below num_magnitude_bins (" +
                                                            std::to_string(bins) + "); torchvision's default is 9");
         return std::make_shared<RandAugment>(num_ops, magnitude, bins, gray_fill_option(o));
       },
       "num_ops (2), magnitude (9) of num_magnitude_bins (31), fill (0): torchvision's RandAugment"},
      {"trivialaugment",
       [](const Config& o) -> TransformPtr {
         const int bins = int_option(o, "num_magnitude_bins", 31, 2, 1000, "the number of magnitude levels");
         return std::make_shared<TrivialAugmentWide>(bins, gray_fill_option(o));
       },
       "num_magnitude_bins (31), fill (0): torchvision's TrivialAugmentWide, one op at a random magnitude"},
      {"autoaugment",
       [](const Config& o) -> TransformPtr {
         const auto policy = o.get<std::string>("policy", "imagenet");
         std::span<const SubPolicy> table;
         if (policy == "imagenet") {
           table = kImageNetPolicy;
         } else if (policy == "cifar10") {
           table = kCifar10Policy;
         } else if (policy == "svhn") {
           table = kSvhnPolicy;
         } else {
           throw ConfigError(o.where("policy") + ": unknown AutoAugment policy '" + policy +
                             "'; expected one of imagenet, cifar10, svhn");
         }
         return std::make_shared<AutoAugment>(policy, table, gray_fill_option(o));
       },
       "policy (imagenet, cifar10, svhn), fill (0): torchvision's AutoAugment"},
  };
}

}  // namespace autotimm::transforms
