// timm's eval transform and the train presets, built from the registered transforms by name.
#include <algorithm>
#include <cmath>

#include <boost/json.hpp>

#include "autotimm/data/transform.hpp"
#include "autotimm/error.hpp"
#include "autotimm/names.hpp"

namespace autotimm {

namespace {

constexpr std::array<std::string_view, 5> kPresets = {"default", "randaugment", "trivialaugment", "light", "none"};

boost::json::array size_of(const DataConfig& config) {
  return boost::json::array{config.input_size[1], config.input_size[2]};
}

/// timm pads with the mean colour: round(255 · mean) per channel.
boost::json::array fill_of(const std::array<double, 3>& mean) {
  boost::json::array fill;
  for (const double m : mean) fill.push_back(static_cast<std::int64_t>(std::nearbyint(255 * m)));
  return fill;
}

TransformPtr make(boost::json::object spec) { return make_transform(Config(std::move(spec), "a built-in preset")); }

TransformPtr random_resized_crop(const DataConfig& config, double min_scale) {
  return make({{"name", "random_resized_crop"},
               {"size", size_of(config)},
               {"scale", boost::json::array{min_scale, 1.0}},
               {"interpolation", std::string(to_string(config.interpolation))}});
}

}  // namespace

TransformPtr eval_transform(const DataConfig& config) {
  if (!(config.crop_pct > 0.0 && config.crop_pct <= 4.0)) {
    throw ConfigError("crop_pct " + std::to_string(config.crop_pct) + " is outside (0, 4]; timm uses e.g. 0.875");
  }
  const auto height = config.input_size[1], width = config.input_size[2];
  const auto scale_h = static_cast<std::int64_t>(std::floor(height / config.crop_pct));
  const auto scale_w = static_cast<std::int64_t>(std::floor(width / config.crop_pct));
  const std::string interpolation(to_string(config.interpolation));
  if (config.crop_mode == "letterbox") {
    // Detection: the whole image, aspect kept, padded; the boxes' map back to the original is exact.
    return make({{"name", "letterbox"}, {"size", size_of(config)}, {"interpolation", interpolation}});
  }
  if (config.crop_mode == "border") {
    return std::make_shared<Compose>(std::vector<TransformPtr>{
        make({{"name", "resize_keep_ratio"},
              {"size", boost::json::array{scale_h, scale_w}},
              {"longest", 1.0},
              {"interpolation", interpolation}}),
        make({{"name", "center_crop"},
              {"size", size_of(config)},
              {"fill", fill_of(config.mean)}})});
  }
  boost::json::value size;
  if (config.crop_mode == "squash") {
    size = boost::json::array{scale_h, scale_w};
  } else if (config.crop_mode == "center") {
    // A square target resizes the shorter side (aspect kept); otherwise both sides.
    size = scale_h == scale_w ? boost::json::value(scale_h) : boost::json::value(boost::json::array{scale_h, scale_w});
  } else {
    throw ConfigError("unknown crop_mode '" + config.crop_mode + "'; expected center, squash, border or letterbox");
  }
  // Resize then center crop, fused: only the kept pixels are resampled.
  return make({{"name", "resize_center_crop"}, {"size", size}, {"crop_size", size_of(config)},
               {"interpolation", interpolation}});
}

TransformPtr train_transform(std::string_view preset, const DataConfig& config) {
  const auto flip = [] { return make({{"name", "horizontal_flip"}, {"p", 0.5}}); };
  if (preset == "default") {
    return std::make_shared<Compose>(std::vector<TransformPtr>{
        random_resized_crop(config, 0.08), flip(),
        make({{"name", "color_jitter"}, {"brightness", 0.4}, {"contrast", 0.4}, {"saturation", 0.4}})});
  }
  if (preset == "randaugment") {
    return std::make_shared<Compose>(std::vector<TransformPtr>{
        random_resized_crop(config, 0.08), flip(), make({{"name", "randaugment"}, {"num_ops", 2}, {"magnitude", 9}})});
  }
  if (preset == "trivialaugment") {
    return std::make_shared<Compose>(
        std::vector<TransformPtr>{random_resized_crop(config, 0.08), flip(), make({{"name", "trivialaugment"}})});
  }
  if (preset == "light") {
    return std::make_shared<Compose>(std::vector<TransformPtr>{random_resized_crop(config, 0.5), flip()});
  }
  if (preset == "none") return eval_transform(config);
  const auto names = train_presets();
  const auto hint = did_you_mean(preset, names);
  throw ConfigError("unknown train transform preset '" + std::string(preset) + "'" +
                    (hint ? "; did you mean '" + *hint + "'?" : std::string()) + " Presets: " + join_names(names) +
                    "; or give a list of transforms");
}

std::vector<std::string> train_presets() { return {kPresets.begin(), kPresets.end()}; }

TransformPtr detection_train_transform(std::string_view preset, const DataConfig& config) {
  const auto flip = [] { return make({{"name", "horizontal_flip"}, {"p", 0.5}}); };
  const auto jitter = [](double strength) {
    return make({{"name", "color_jitter"}, {"brightness", strength}, {"contrast", strength}, {"saturation", strength}});
  };
  if (preset == "default") {
    return std::make_shared<Compose>(std::vector<TransformPtr>{eval_transform(config), flip(), jitter(0.2)});
  }
  if (preset == "strong") {
    // Crops keep the boxes they cut (at least a pixel of each side), so objects are seen partly and at new scales.
    return std::make_shared<Compose>(std::vector<TransformPtr>{
        make({{"name", "random_resized_crop"},
              {"size", size_of(config)},
              {"scale", boost::json::array{0.3, 1.0}},
              {"ratio", boost::json::array{0.5, 2.0}},
              {"interpolation", std::string(to_string(config.interpolation))}}),
        flip(), jitter(0.4)});
  }
  if (preset == "none") return eval_transform(config);
  const auto names = detection_train_presets();
  const auto hint = did_you_mean(preset, names);
  throw ConfigError("unknown detection train transform preset '" + std::string(preset) + "'" +
                    (hint ? "; did you mean '" + *hint + "'?" : std::string()) + " Presets: " + join_names(names) +
                    "; or give a list of transforms");
}

std::vector<std::string> detection_train_presets() { return {"default", "strong", "none"}; }

TransformPtr segmentation_train_transform(std::string_view preset, const DataConfig& config) {
  const auto flip = [] { return make({{"name", "horizontal_flip"}, {"p", 0.5}}); };
  if (preset == "default") {
    // Scale jitter, then a crop of the training size; pixels the crop adds are padding (ignored in the labels).
    return std::make_shared<Compose>(std::vector<TransformPtr>{
        make({{"name", "random_resize"},
              {"size", std::max(config.input_size[1], config.input_size[2])},
              {"scale", boost::json::array{0.5, 2.0}},
              {"interpolation", std::string(to_string(config.interpolation))}}),
        make({{"name", "random_crop"}, {"size", size_of(config)}, {"pad_if_needed", true}, {"fill", fill_of(config.mean)}}),
        flip(),
        make({{"name", "color_jitter"}, {"brightness", 0.2}, {"contrast", 0.2}, {"saturation", 0.2}})});
  }
  if (preset == "light") return std::make_shared<Compose>(std::vector<TransformPtr>{eval_transform(config), flip()});
  if (preset == "none") return eval_transform(config);
  const auto names = segmentation_train_presets();
  const auto hint = did_you_mean(preset, names);
  throw ConfigError("unknown segmentation train transform preset '" + std::string(preset) + "'" +
                    (hint ? "; did you mean '" + *hint + "'?" : std::string()) + " Presets: " + join_names(names) +
                    "; or give a list of transforms");
}

std::vector<std::string> segmentation_train_presets() { return {"default", "light", "none"}; }

}  // namespace autotimm
