// Color transforms with torchvision's semantics on PIL images: color_jitter (ColorJitter), grayscale,
// random_grayscale, gaussian_blur, and the single ops applied with probability p: solarize, posterize, equalize,
// autocontrast, invert, sharpness (RandomSolarize, RandomPosterize, RandomEqualize, RandomAutocontrast,
// RandomInvert, RandomAdjustSharpness). The pixel arithmetic lives in color_ops.cpp.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>

#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "builtin.hpp"
#include "color_ops.hpp"

namespace autotimm::transforms {

namespace {

using Range = std::pair<double, double>;

boost::json::array range_json(Range range) { return boost::json::array{range.first, range.second}; }

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

/// torchvision's ColorJitter._check_input: a number v means [center - v, center + v] (the low end clipped at 0
/// for brightness, contrast and saturation), or an explicit [low, high]; both within `bound`. A range that is
/// exactly {center, center} disables the adjustment, as torchvision's None does.
std::optional<Range> jitter_range(const Config& options, std::string_view key, double center, Range bound,
                                  bool clip_first_on_zero, const char* example) {
  if (!options.contains(key)) return std::nullopt;
  Range range;
  if (options.raw(key).is_array()) {
    range = range_option(options, key, {center, center});
  } else {
    const double value = options.require<double>(key);
    if (!(value >= 0.0)) {
      throw ConfigError(options.where(key) + ": a single number must be non-negative, got " +
                        number_text(value) + "; " + example);
    }
    range = {center - value, center + value};
    if (clip_first_on_zero) range.first = std::max(range.first, 0.0);
  }
  if (!(range.first >= bound.first && range.second <= bound.second)) {
    const std::string upper = std::isinf(bound.second) ? std::string("inf") : number_text(bound.second);
    throw ConfigError(options.where(key) + ": expected a range within [" + number_text(bound.first) + ", " +
                      upper + "], got [" + number_text(range.first) + ", " + number_text(range.second) + "]; " +
                      example);
  }
  if (range.first == center && range.second == center) return std::nullopt;
  return range;
}

/// torchvision's ColorJitter: the four adjustments in a random order, each with a factor drawn uniformly from
/// its range (the order first, then the factors, as get_params draws them).
class ColorJitter final : public Transform {
 public:
  ColorJitter(std::optional<Range> brightness, std::optional<Range> contrast, std::optional<Range> saturation,
              std::optional<Range> hue)
      : ranges_{brightness, contrast, saturation, hue} {}
  std::string_view name() const override { return "color_jitter"; }

  void apply(Sample& sample, SampleRng& rng) const override {
    std::array<int, 4> order = {0, 1, 2, 3};
    for (int i = 3; i > 0; --i) std::swap(order[i], order[static_cast<std::size_t>(rng.integer(0, i))]);
    std::array<double, 4> factors{};
    for (std::size_t k = 0; k < 4; ++k) {
      if (ranges_[k]) factors[k] = rng.uniform(ranges_[k]->first, ranges_[k]->second);
    }
    Image& image = sample.image;
    for (const int k : order) {
      if (!ranges_[k]) continue;
      switch (k) {
        case 0: adjust_brightness(image, factors[k]); break;
        case 1: adjust_contrast(image, factors[k]); break;
        case 2: adjust_saturation(image, factors[k]); break;
        default: adjust_hue(image, factors[k]); break;
      }
    }
  }

  boost::json::object describe() const override {
    boost::json::object out{{"name", "color_jitter"}};
    constexpr std::array<const char*, 4> kKeys = {"brightness", "contrast", "saturation", "hue"};
    for (std::size_t k = 0; k < 4; ++k) {
      if (ranges_[k]) out[kKeys[k]] = range_json(*ranges_[k]);
    }
    return out;
  }

 private:
  std::array<std::optional<Range>, 4> ranges_;  // brightness, contrast, saturation, hue
};

class Grayscale final : public Transform {
 public:
  explicit Grayscale(int num_output_channels) : num_output_channels_(num_output_channels) {}
  std::string_view name() const override { return "grayscale"; }
  void apply(Sample& sample, SampleRng&) const override {
    sample.image = to_grayscale(sample.image, num_output_channels_);
  }
  boost::json::object describe() const override {
    return {{"name", "grayscale"}, {"num_output_channels", num_output_channels_}};
  }

 private:
  int num_output_channels_;
};

/// torchvision's RandomGrayscale: gray with probability p, keeping the channel count (RGB stays 3 channels).
class RandomGrayscale final : public Transform {
 public:
  explicit RandomGrayscale(double p) : p_(p) {}
  std::string_view name() const override { return "random_grayscale"; }
  void apply(Sample& sample, SampleRng& rng) const override {
    if (rng.bernoulli(p_)) sample.image = to_grayscale(sample.image, sample.image.channels == 1 ? 1 : 3);
  }
  boost::json::object describe() const override { return {{"name", "random_grayscale"}, {"p", p_}}; }

 private:
  double p_;
};

/// torchvision's GaussianBlur: sigma drawn uniformly from its range per sample.
class GaussianBlur final : public Transform {
 public:
  GaussianBlur(int kernel_width, int kernel_height, Range sigma)
      : kernel_width_(kernel_width), kernel_height_(kernel_height), sigma_(sigma) {}
  std::string_view name() const override { return "gaussian_blur"; }
  void apply(Sample& sample, SampleRng& rng) const override {
    const double sigma = rng.uniform(sigma_.first, sigma_.second);
    gaussian_blur(sample.image, kernel_width_, kernel_height_, sigma, sigma);
  }
  boost::json::object describe() const override {
    return {{"name", "gaussian_blur"},
            {"kernel_size", boost::json::array{kernel_width_, kernel_height_}},
            {"sigma", range_json(sigma_)}};
  }

 private:
  int kernel_width_, kernel_height_;
  Range sigma_;
};

/// One deterministic color op applied with probability p (torchvision's RandomSolarize, RandomEqualize, ...).
class RandomColorOp final : public Transform {
 public:
  RandomColorOp(std::string name, double p, std::function<void(Image&)> op, boost::json::object options)
      : name_(std::move(name)), p_(p), op_(std::move(op)), options_(std::move(options)) {}
  std::string_view name() const override { return name_; }
  void apply(Sample& sample, SampleRng& rng) const override {
    if (rng.bernoulli(p_)) op_(sample.image);
  }
  boost::json::object describe() const override {
    boost::json::object out{{"name", name_}};
    for (const auto& [key, value] : options_) out[key] = value;
    out["p"] = p_;
    return out;
  }

 private:
  std::string name_;
  double p_;
  std::function<void(Image&)> op_;
  boost::json::object options_;
};

/// `kernel_size`: one odd positive integer, or [width, height] (torchvision's (kx, ky) order).
std::pair<int, int> kernel_size_option(const Config& options) {
  const auto& raw = options.raw("kernel_size");
  std::vector<std::int64_t> values;
  if (raw.is_array()) {
    values = options.require<std::vector<std::int64_t>>("kernel_size");
  } else {
    values = {options.require<std::int64_t>("kernel_size")};
  }
  if (values.empty() || values.size() > 2 ||
      std::any_of(values.begin(), values.end(), [](std::int64_t v) { return v <= 0 || v % 2 == 0 || v > 1023; })) {
    throw ConfigError(options.where("kernel_size") +
                      ": expected one odd positive integer or [width, height] of odd positive integers (at most "
                      "1023); e.g. 23 for a 224-pixel image, as SimCLR uses");
  }
  return {static_cast<int>(values[0]), static_cast<int>(values.size() == 2 ? values[1] : values[0])};
}

Range sigma_option(const Config& options) {
  Range sigma{0.1, 2.0};
  if (options.contains("sigma")) {
    if (options.raw("sigma").is_array()) {
      sigma = range_option(options, "sigma", sigma);
    } else {
      const double value = options.require<double>("sigma");
      sigma = {value, value};
    }
  }
  if (!(sigma.first > 0.0) || !std::isfinite(sigma.second)) {
    throw ConfigError(options.where("sigma") + ": expected a positive number or [min, max] with 0 < min <= "
                      "max, got [" + number_text(sigma.first) + ", " + number_text(sigma.second) + "]");
  }
  return sigma;
}

}  // namespace

std::vector<Builtin> color_transforms() {
  return {
      {"color_jitter",
       [](const Config& o) -> TransformPtr {
         constexpr double kInf = std::numeric_limits<double>::infinity();
         const char* factor_example = "e.g. 0.4 for factors in [0.6, 1.4], or [0.6, 1.4]";
         auto brightness = jitter_range(o, "brightness", 1.0, {0.0, kInf}, true, factor_example);
         auto contrast = jitter_range(o, "contrast", 1.0, {0.0, kInf}, true, factor_example);
         auto saturation = jitter_range(o, "saturation", 1.0, {0.0, kInf}, true, factor_example);
         auto hue = jitter_range(o, "hue", 0.0, {-0.5, 0.5}, false,
                                 "hue is a number in [0, 0.5] (shifts in [-v, v]) or [low, high] within [-0.5, 0.5]");
         return std::make_shared<ColorJitter>(brightness, contrast, saturation, hue);
       },
       "brightness, contrast, saturation (v: factors in [max(0, 1-v), 1+v], or [low, high]); hue (v <= 0.5: "
       "[-v, v]); applied in random order"},
      {"grayscale",
       [](const Config& o) -> TransformPtr {
         const auto channels = o.get<std::int64_t>("num_output_channels", 1);
         if (channels != 1 && channels != 3) {
           throw ConfigError(o.where("num_output_channels") + ": expected 1 or 3, got " +
                             std::to_string(channels) + "; 3 keeps an RGB layout for RGB models");
         }
         return std::make_shared<Grayscale>(static_cast<int>(channels));
       },
       "num_output_channels: 1 or 3 (the gray value replicated)"},
      {"random_grayscale",
       [](const Config& o) -> TransformPtr {
         return std::make_shared<RandomGrayscale>(probability_option(o, "p", 0.1));
       },
       "p: probability of turning the image gray (RGB stays 3 channels)"},
      {"gaussian_blur",
       [](const Config& o) -> TransformPtr {
         const auto [kernel_width, kernel_height] = kernel_size_option(o);
         return std::make_shared<GaussianBlur>(kernel_width, kernel_height, sigma_option(o));
       },
       "kernel_size: odd integer or [width, height]; sigma: number or [min, max] drawn per sample (default "
       "[0.1, 2.0])"},
      {"solarize",
       [](const Config& o) -> TransformPtr {
         const double threshold = o.require<double>("threshold");
         if (!(threshold >= 0.0 && threshold <= 255.0)) {
           throw ConfigError(o.where("threshold") + ": expected a value within [0, 255], got " +
                             number_text(threshold) + "; values at or above it are inverted");
         }
         return std::make_shared<RandomColorOp>(
             "solarize", probability_option(o, "p", 0.5), [threshold](Image& image) { solarize(image, threshold); },
             boost::json::object{{"threshold", threshold}});
       },
       "threshold: values at or above it are inverted; p (default 0.5)"},
      {"posterize",
       [](const Config& o) -> TransformPtr {
         const auto bits = o.require<std::int64_t>("bits");
         if (bits < 0 || bits > 8) {
           throw ConfigError(o.where("bits") + ": expected 0..8 bits to keep per channel, got " +
                             std::to_string(bits));
         }
         return std::make_shared<RandomColorOp>(
             "posterize", probability_option(o, "p", 0.5),
             [bits = static_cast<int>(bits)](Image& image) { posterize(image, bits); },
             boost::json::object{{"bits", bits}});
       },
       "bits: 0..8 high bits kept per channel; p (default 0.5)"},
      {"equalize",
       [](const Config& o) -> TransformPtr {
         return std::make_shared<RandomColorOp>("equalize", probability_option(o, "p", 0.5),
                                                [](Image& image) { equalize(image); }, boost::json::object{});
       },
       "p: probability of equalizing each channel's histogram (default 0.5)"},
      {"autocontrast",
       [](const Config& o) -> TransformPtr {
         return std::make_shared<RandomColorOp>("autocontrast", probability_option(o, "p", 0.5),
                                                [](Image& image) { autocontrast(image); }, boost::json::object{});
       },
       "p: probability of stretching each channel to [0, 255] (default 0.5)"},
      {"invert",
       [](const Config& o) -> TransformPtr {
         return std::make_shared<RandomColorOp>("invert", probability_option(o, "p", 0.5),
                                                [](Image& image) { invert(image); }, boost::json::object{});
       },
       "p: probability of inverting the colors (default 0.5)"},
      {"sharpness",
       [](const Config& o) -> TransformPtr {
         const double factor = o.require<double>("sharpness_factor");
         if (!(factor >= 0.0) || !std::isfinite(factor)) {
           throw ConfigError(o.where("sharpness_factor") + ": expected a non-negative number, got " +
                             number_text(factor) + "; 0 blurs, 1 keeps, 2 sharpens");
         }
         return std::make_shared<RandomColorOp>(
             "sharpness", probability_option(o, "p", 0.5), [factor](Image& image) { adjust_sharpness(image, factor); },
             boost::json::object{{"sharpness_factor", factor}});
       },
       "sharpness_factor: 0 blurs, 1 keeps, 2 sharpens; p (default 0.5)"},
  };
}

}  // namespace autotimm::transforms
