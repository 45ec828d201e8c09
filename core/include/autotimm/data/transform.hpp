#pragma once
// Transforms: small named objects that change a decoded sample, composable from a config.
//
//   auto augment = autotimm::make_transforms(boost::json::parse(R"([
//       {"name": "random_resized_crop", "size": 224, "scale": [0.08, 1.0]},
//       {"name": "horizontal_flip", "p": 0.5},
//       {"name": "color_jitter", "brightness": 0.4, "contrast": 0.4, "saturation": 0.4}])").as_array());
//   autotimm::SampleRng rng(seed, epoch, index);
//   augment->apply(sample, rng);
//
// Geometry follows torchvision and timm exactly (sizes, rounding, antialiased resampling as PIL does it); the
// presets reproduce timm's transforms for a backbone's pretrained_cfg. Normalization is not a transform: the loader
// converts, normalizes and collates in one pass into the batch tensor.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "autotimm/config.hpp"
#include "autotimm/data/image.hpp"
#include "autotimm/data/random.hpp"
#include "autotimm/data/sample_objects.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

struct PretrainedCfg;

/// What a transform changes. Dense tasks add their targets here — boxes, a label map — and every geometric transform
/// moves them with the image (map_targets below) or refuses a sample that has any.
struct Sample {
  Image image = {};
  std::vector<SampleObject> objects = {};  ///< boxes of a detection sample, in `image`'s pixels
  Image mask = {};                         ///< one channel of class indices (segmentation), pixel-aligned with `image`
  std::uint8_t mask_fill = 255;            ///< the mask's value where padding adds pixels (the ignore index)
  AxisMap geometry = {};                   ///< original image → `image`
  int original_width = 0;                  ///< the decoded image's size, before any transform
  int original_height = 0;

  /// Whether a transform that cannot move targets must refuse this sample.
  bool has_targets() const noexcept { return !objects.empty() || !mask.empty(); }
};

/// Resampling filters, as PIL names them (timm's `interpolation`).
enum class Interpolation { nearest, bilinear, bicubic, box, hamming, lanczos };
/// "bicubic" → Interpolation::bicubic; ConfigError listing the valid names otherwise.
AUTOTIMM_API Interpolation interpolation_from_name(std::string_view name);
AUTOTIMM_API std::string_view to_string(Interpolation interpolation);

/// The first step of a transform that begins by resizing one region of the image (random_resized_crop, resize,
/// resize_center_crop, center_crop): enough for a loader to decode only that region, and at a reduced scale when
/// the resize still downscales from there (decode_and_apply in decode.hpp).
struct ResizePlan {
  PixelRect roi = {};     ///< the region resized; the filter reads nothing outside it
  int width = 0;          ///< the size the region is resized to
  int height = 0;
  PixelRect window = {};  ///< the part of that resize that is kept (a center crop after it), in output pixels
  Interpolation interpolation = Interpolation::bilinear;
};

/// Moves `sample`'s targets by x' = sx · x + tx, y' = sy · y + ty (and records it in sample.geometry) onto an image
/// of width × height: boxes are clipped to it and dropped when left with a side under `min_size` pixels (or empty,
/// for 0); the mask is resampled to it by nearest neighbour (pixel centres mapped back, never interpolated), with
/// mask_fill where nothing maps. A custom geometric transform calls it, or one of the two below, after changing the
/// pixels.
AUTOTIMM_API void map_targets(Sample& sample, double sx, double tx, double sy, double ty, int width, int height,
                              double min_size);
/// The same for a plan applied to a source_width × source_height image: its region resized to width × height, then
/// its window kept. Objects cut by a crop must keep a side of at least one pixel.
AUTOTIMM_API void map_targets(Sample& sample, const ResizePlan& plan, int source_width, int source_height);
/// A left-right mirror of an image `width` pixels wide.
AUTOTIMM_API void mirror_targets(Sample& sample, int width);

class AUTOTIMM_API Transform {
 public:
  virtual ~Transform();
  /// The registered name ("resize", "color_jitter", ...).
  virtual std::string_view name() const = 0;
  /// Changes `sample`; all randomness comes from `rng`. Must be safe to call from several threads at once.
  virtual void apply(Sample& sample, SampleRng& rng) const = 0;
  /// Its options, as a config would spell them (for logs and hparams).
  virtual boost::json::object describe() const;

  /// When this transform begins by resizing one region of the image: that step's plan for an image of
  /// `width` × `height`, drawing from `rng` exactly what `apply` draws for it. The caller then resizes the region
  /// itself (from a partial decode) and calls finish_after_resize, which must give what `apply` gives.
  /// nullopt, with nothing drawn: the transform needs the whole image (the default).
  virtual std::optional<ResizePlan> plan_resize(int width, int height, SampleRng& rng) const {
    (void)width, (void)height, (void)rng;
    return std::nullopt;
  }
  /// The rest of `apply` after the planned resize; `sample` holds the plan's window.
  virtual void finish_after_resize(Sample& sample, SampleRng& rng) const { (void)sample, (void)rng; }
};

using TransformPtr = std::shared_ptr<const Transform>;

/// Applies transforms in order.
class AUTOTIMM_API Compose final : public Transform {
 public:
  explicit Compose(std::vector<TransformPtr> transforms);
  std::string_view name() const override { return "compose"; }
  void apply(Sample& sample, SampleRng& rng) const override;
  boost::json::object describe() const override;
  const std::vector<TransformPtr>& transforms() const noexcept { return transforms_; }
  /// The first transform's plan: a pipeline that starts with a crop or resize decodes only what it reads.
  std::optional<ResizePlan> plan_resize(int width, int height, SampleRng& rng) const override {
    if (transforms_.empty()) return std::nullopt;
    return transforms_.front()->plan_resize(width, height, rng);
  }
  void finish_after_resize(Sample& sample, SampleRng& rng) const override {
    transforms_.front()->finish_after_resize(sample, rng);
    for (std::size_t i = 1; i < transforms_.size(); ++i) transforms_[i]->apply(sample, rng);
  }

 private:
  std::vector<TransformPtr> transforms_;
};

/// Builds one transform from `{"name": ..., options...}`. ConfigError names an unknown transform (with the closest
/// names) or an unknown option.
AUTOTIMM_API TransformPtr make_transform(const Config& spec);
/// A Compose from a JSON array of such objects; `source` names it in messages.
AUTOTIMM_API TransformPtr make_transforms(const boost::json::array& specs, const std::string& source = "<transforms>");

using TransformFactory = std::function<TransformPtr(const Config& options)>;
/// Adds a transform name (an application's own augmentation). Throws ConfigError when the name is taken.
AUTOTIMM_API void register_transform(const std::string& name, TransformFactory factory, const std::string& description);
/// Every registered transform name with its description, sorted.
AUTOTIMM_API std::vector<std::pair<std::string, std::string>> list_transforms();

/// The input pipeline a backbone expects: timm's resolved data config.
struct AUTOTIMM_API DataConfig {
  std::array<std::int64_t, 3> input_size = {3, 224, 224};
  Interpolation interpolation = Interpolation::bicubic;
  std::array<double, 3> mean = {0.485, 0.456, 0.406};
  std::array<double, 3> std = {0.229, 0.224, 0.225};
  double crop_pct = 0.875;
  std::string crop_mode = "center";  ///< center, squash, border; letterbox (detection: whole image, padded)

  /// From a backbone's pretrained_cfg (test sizes are for evaluation at another resolution and are not used).
  static DataConfig from(const PretrainedCfg& cfg);
};

/// timm's eval transform: resize to floor(size / crop_pct) (the shorter side for "center"; both sides for
/// "squash"), then a center crop to size ("border" crops a border of (1 - crop_pct) first).
AUTOTIMM_API TransformPtr eval_transform(const DataConfig& config);

/// The train transform of a preset:
///   default        random_resized_crop (scale 0.08–1, ratio 3/4–4/3), horizontal flip, color jitter 0.4
///   randaugment    random_resized_crop, horizontal flip, RandAugment (2 ops, magnitude 9)
///   trivialaugment random_resized_crop, horizontal flip, TrivialAugmentWide
///   light          random_resized_crop (scale 0.5–1), horizontal flip
///   none           the eval transform
/// ConfigError with the valid names for anything else.
AUTOTIMM_API TransformPtr train_transform(std::string_view preset, const DataConfig& config);
AUTOTIMM_API std::vector<std::string> train_presets();

/// Detection's train transforms for `config` (crop_mode "letterbox"; its input_size and interpolation):
///   default  letterbox, horizontal flip, color jitter 0.2
///   strong   random_resized_crop (scale 0.3–1, ratio 1/2–2, boxes cut to the crop), horizontal flip, color jitter 0.4
///   none     the eval transform (letterbox)
AUTOTIMM_API TransformPtr detection_train_transform(std::string_view preset, const DataConfig& config);
AUTOTIMM_API std::vector<std::string> detection_train_presets();

/// Semantic segmentation's train transforms for `config` (crop_mode "letterbox"):
///   default  random_resize (shorter side to the size × 0.5–2), random_crop of the size (padding: mean colour,
///            ignored labels), horizontal flip, color jitter 0.2
///   light    letterbox, horizontal flip
///   none     the eval transform (letterbox)
AUTOTIMM_API TransformPtr segmentation_train_transform(std::string_view preset, const DataConfig& config);
AUTOTIMM_API std::vector<std::string> segmentation_train_presets();

}  // namespace autotimm
