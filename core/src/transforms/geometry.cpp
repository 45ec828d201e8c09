// Geometric transforms with torchvision's sizes and rounding: resize, resize_keep_ratio, center_crop, random_crop,
// random_resized_crop, letterbox, random_resize, horizontal_flip, vertical_flip. Each moves a sample's targets (boxes,
// label maps) with its pixels.
#include <algorithm>
#include <cmath>

#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "builtin.hpp"
#include "resample.hpp"

namespace autotimm::transforms {

namespace {

/// Python's round(): to nearest, ties to even (torchvision's crop offsets use it).
int round_half_even(double value) { return static_cast<int>(std::nearbyint(value)); }

boost::json::array size_json(int height, int width) { return boost::json::array{height, width}; }

/// A fill colour: one value for every channel, or one per channel.
using Fill = std::array<std::uint8_t, 3>;

/// `image` on a width × height canvas of `fill`, its top left corner at (left, top).
Image place_on_canvas(const Image& image, int width, int height, int left, int top, const Fill& fill) {
  Image out(width, height, image.channels);
  for (std::size_t i = 0; i < out.pixels.size(); ++i) out.pixels[i] = fill[i % image.channels % 3];
  for (int y = 0; y < image.height; ++y) {
    std::copy_n(image.row(y), image.row_bytes(), out.row(y + top) + static_cast<std::size_t>(left) * image.channels);
  }
  return out;
}

/// `image` padded to at least height × width with `fill`, centered as torchvision pads before a center crop.
Image pad_to(const Image& image, int height, int width, const Fill& fill) {
  const int new_width = std::max(width, image.width), new_height = std::max(height, image.height);
  return place_on_canvas(image, new_width, new_height, (new_width - image.width) / 2,
                         (new_height - image.height) / 2, fill);
}

boost::json::array fill_json(const Fill& fill) { return boost::json::array{fill[0], fill[1], fill[2]}; }

Image crop_image(const Image& image, PixelRect rect) { return resample(image, rect, rect.width, rect.height, Interpolation::nearest); }

/// The sample padded as pad_to pads its image, objects shifted with it.
void pad_sample(Sample& sample, int height, int width, const Fill& fill) {
  const int old_width = sample.image.width, old_height = sample.image.height;
  sample.image = pad_to(sample.image, height, width, fill);
  map_targets(sample, 1.0, (sample.image.width - old_width) / 2, 1.0, (sample.image.height - old_height) / 2,
              sample.image.width, sample.image.height, 0.0);
}

/// The sample cropped to `rect`; objects the crop cuts keep at least a pixel or go.
void crop_sample(Sample& sample, PixelRect rect) {
  sample.image = crop_image(sample.image, rect);
  map_targets(sample, 1.0, -rect.x, 1.0, -rect.y, rect.width, rect.height, 1.0);
}

/// The plan's resize applied to the sample, objects moved with it.
void apply_plan(Sample& sample, const ResizePlan& plan) {
  const int width = sample.image.width, height = sample.image.height;
  sample.image = resample(sample.image, plan);
  map_targets(sample, plan, width, height);
}

Interpolation interpolation_option(const Config& options, Interpolation fallback) {
  return interpolation_from_name(options.get<std::string>("interpolation", std::string(to_string(fallback))));
}

/// torchvision's Resize output size: [height, width] as given, or (width 0) the shorter side to `height` with the
/// longer side int(height · long / short), both capped by max_size on the longer side.
std::pair<int, int> resized_size(int image_width, int image_height, int height, int width, int max_size) {
  if (width != 0) return {height, width};
  const bool wide = image_width > image_height;
  const int shorter = wide ? image_height : image_width, longer = wide ? image_width : image_height;
  int new_short = height;
  int new_long = static_cast<int>(static_cast<double>(height) * longer / shorter);
  if (max_size > 0 && new_long > max_size) {
    new_short = static_cast<int>(static_cast<double>(max_size) * new_short / new_long);
    new_long = max_size;
  }
  return {std::max(wide ? new_short : new_long, 1), std::max(wide ? new_long : new_short, 1)};
}

class Resize final : public Transform {
 public:
  /// `width` 0: `height` is the shorter side's target and the longer side keeps the aspect ratio.
  Resize(int height, int width, Interpolation interpolation, int max_size)
      : height_(height), width_(width), interpolation_(interpolation), max_size_(max_size) {}
  std::string_view name() const override { return "resize"; }
  std::optional<ResizePlan> plan_resize(int image_width, int image_height, SampleRng&) const override {
    const auto [height, width] = resized_size(image_width, image_height, height_, width_, max_size_);
    return ResizePlan{{0, 0, image_width, image_height}, width, height, {0, 0, width, height}, interpolation_};
  }
  void apply(Sample& sample, SampleRng& rng) const override {
    const ResizePlan plan = *plan_resize(sample.image.width, sample.image.height, rng);
    if (plan.height == sample.image.height && plan.width == sample.image.width) return;
    apply_plan(sample, plan);
  }
  boost::json::object describe() const override {
    boost::json::object out{{"name", "resize"},
                            {"size", width_ == 0 ? boost::json::value(height_) : boost::json::value(size_json(height_, width_))},
                            {"interpolation", std::string(to_string(interpolation_))}};
    if (max_size_ > 0) out["max_size"] = max_size_;
    return out;
  }

 private:
  int height_, width_;
  Interpolation interpolation_;
  int max_size_;
};

/// timm's ResizeKeepRatio: scale so the longest side (longest = 1) or the shortest (longest = 0) meets the target.
class ResizeKeepRatio final : public Transform {
 public:
  ResizeKeepRatio(int height, int width, double longest, Interpolation interpolation)
      : height_(height), width_(width), longest_(longest), interpolation_(interpolation) {}
  std::string_view name() const override { return "resize_keep_ratio"; }
  std::optional<ResizePlan> plan_resize(int image_width, int image_height, SampleRng&) const override {
    const double ratio_h = static_cast<double>(image_height) / height_, ratio_w = static_cast<double>(image_width) / width_;
    const double ratio = std::max(ratio_h, ratio_w) * longest_ + std::min(ratio_h, ratio_w) * (1.0 - longest_);
    const int height = std::max(round_half_even(image_height / ratio), 1);
    const int width = std::max(round_half_even(image_width / ratio), 1);
    return ResizePlan{{0, 0, image_width, image_height}, width, height, {0, 0, width, height}, interpolation_};
  }
  void apply(Sample& sample, SampleRng& rng) const override {
    const ResizePlan plan = *plan_resize(sample.image.width, sample.image.height, rng);
    if (plan.height != sample.image.height || plan.width != sample.image.width) apply_plan(sample, plan);
  }
  boost::json::object describe() const override {
    return {{"name", "resize_keep_ratio"}, {"size", size_json(height_, width_)}, {"longest", longest_},
            {"interpolation", std::string(to_string(interpolation_))}};
  }

 private:
  int height_, width_;
  double longest_;
  Interpolation interpolation_;
};

class CenterCrop final : public Transform {
 public:
  CenterCrop(int height, int width, Fill fill) : height_(height), width_(width), fill_(fill) {}
  std::string_view name() const override { return "center_crop"; }
  /// A crop is a resize to the same size: the loader decodes only the crop. Not when it pads.
  std::optional<ResizePlan> plan_resize(int image_width, int image_height, SampleRng&) const override {
    if (image_height < height_ || image_width < width_) return std::nullopt;
    const int top = round_half_even((image_height - height_) / 2.0);
    const int left = round_half_even((image_width - width_) / 2.0);
    return ResizePlan{{left, top, width_, height_}, width_, height_, {0, 0, width_, height_}, Interpolation::nearest};
  }
  void apply(Sample& sample, SampleRng&) const override {
    if (sample.image.height < height_ || sample.image.width < width_) pad_sample(sample, height_, width_, fill_);
    const Image& image = sample.image;
    const int top = round_half_even((image.height - height_) / 2.0);
    const int left = round_half_even((image.width - width_) / 2.0);
    if (height_ != image.height || width_ != image.width) crop_sample(sample, {left, top, width_, height_});
  }
  boost::json::object describe() const override {
    return {{"name", "center_crop"}, {"size", size_json(height_, width_)}, {"fill", fill_json(fill_)}};
  }

 private:
  int height_, width_;
  Fill fill_;
};

/// resize then center_crop in one step: only the pixels the crop keeps are resampled (a third of the work for timm's
/// eval transform on 4:3 photos), with exactly the values the two steps give.
class ResizeCenterCrop final : public Transform {
 public:
  ResizeCenterCrop(int resize_height, int resize_width, int crop_height, int crop_width, Interpolation interpolation)
      : resize_height_(resize_height), resize_width_(resize_width), crop_height_(crop_height),
        crop_width_(crop_width), interpolation_(interpolation) {}
  std::string_view name() const override { return "resize_center_crop"; }
  /// The resize with the crop as its window; none when the crop pads.
  std::optional<ResizePlan> plan_resize(int image_width, int image_height, SampleRng&) const override {
    const auto [height, width] = resized_size(image_width, image_height, resize_height_, resize_width_, 0);
    if (height < crop_height_ || width < crop_width_) return std::nullopt;
    const PixelRect window{round_half_even((width - crop_width_) / 2.0), round_half_even((height - crop_height_) / 2.0),
                           crop_width_, crop_height_};
    return ResizePlan{{0, 0, image_width, image_height}, width, height, window, interpolation_};
  }
  void apply(Sample& sample, SampleRng& rng) const override {
    const Image& image = sample.image;
    if (const auto plan = plan_resize(image.width, image.height, rng)) {
      apply_plan(sample, *plan);
      return;
    }
    // The crop pads: do the two steps.
    const auto [height, width] = resized_size(image.width, image.height, resize_height_, resize_width_, 0);
    if (height != image.height || width != image.width) {
      apply_plan(sample, {{0, 0, image.width, image.height}, width, height, {0, 0, width, height}, interpolation_});
    }
    CenterCrop(crop_height_, crop_width_, Fill{}).apply(sample, rng);
  }
  boost::json::object describe() const override {
    return {{"name", "resize_center_crop"},
            {"size", resize_width_ == 0 ? boost::json::value(resize_height_)
                                        : boost::json::value(size_json(resize_height_, resize_width_))},
            {"crop_size", size_json(crop_height_, crop_width_)},
            {"interpolation", std::string(to_string(interpolation_))}};
  }

 private:
  int resize_height_, resize_width_, crop_height_, crop_width_;
  Interpolation interpolation_;
};

class RandomCrop final : public Transform {
 public:
  RandomCrop(int height, int width, int padding, bool pad_if_needed, Fill fill)
      : height_(height), width_(width), padding_(padding), pad_if_needed_(pad_if_needed), fill_(fill) {}
  std::string_view name() const override { return "random_crop"; }
  void apply(Sample& sample, SampleRng& rng) const override {
    const Image& image = sample.image;
    if (padding_ > 0) pad_sample(sample, image.height + 2 * padding_, image.width + 2 * padding_, fill_);
    if (pad_if_needed_ && (image.height < height_ || image.width < width_)) pad_sample(sample, height_, width_, fill_);
    if (image.height < height_ || image.width < width_) {
      throw ConfigError("random_crop: the " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                        " image is smaller than the " + std::to_string(width_) + "x" + std::to_string(height_) +
                        " crop; set pad_if_needed or resize first");
    }
    const int top = static_cast<int>(rng.integer(0, image.height - height_));
    const int left = static_cast<int>(rng.integer(0, image.width - width_));
    crop_sample(sample, {left, top, width_, height_});
  }
  boost::json::object describe() const override {
    return {{"name", "random_crop"}, {"size", size_json(height_, width_)}, {"padding", padding_},
            {"pad_if_needed", pad_if_needed_}, {"fill", fill_json(fill_)}};
  }

 private:
  int height_, width_, padding_;
  bool pad_if_needed_;
  Fill fill_;
};

class RandomResizedCrop final : public Transform {
 public:
  RandomResizedCrop(int height, int width, std::pair<double, double> scale, std::pair<double, double> ratio,
                    std::optional<Interpolation> interpolation)
      : height_(height), width_(width), scale_(scale), ratio_(ratio), interpolation_(interpolation) {}
  std::string_view name() const override { return "random_resized_crop"; }

  /// torchvision's RandomResizedCrop.get_params: ten tries at a random area and log-uniform aspect ratio, then
  /// the whole image cropped to the nearest allowed ratio.
  PixelRect region(int image_width, int image_height, SampleRng& rng) const {
    const double area = static_cast<double>(image_width) * image_height;
    const double log_low = std::log(ratio_.first), log_high = std::log(ratio_.second);
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double target_area = area * rng.uniform(scale_.first, scale_.second);
      const double aspect = std::exp(rng.uniform(log_low, log_high));
      const int w = round_half_even(std::sqrt(target_area * aspect));
      const int h = round_half_even(std::sqrt(target_area / aspect));
      if (w > 0 && w <= image_width && h > 0 && h <= image_height) {
        const int top = static_cast<int>(rng.integer(0, image_height - h));
        const int left = static_cast<int>(rng.integer(0, image_width - w));
        return {left, top, w, h};
      }
    }
    const double in_ratio = static_cast<double>(image_width) / image_height;
    int w = image_width, h = image_height;
    if (in_ratio < ratio_.first) {
      h = round_half_even(w / ratio_.first);
    } else if (in_ratio > ratio_.second) {
      w = round_half_even(h * ratio_.second);
    }
    return {(image_width - w) / 2, (image_height - h) / 2, w, h};
  }

  std::optional<ResizePlan> plan_resize(int image_width, int image_height, SampleRng& rng) const override {
    const PixelRect rect = region(image_width, image_height, rng);
    // timm's "random" interpolation: bilinear or bicubic, drawn per sample.
    const Interpolation filter =
        interpolation_ ? *interpolation_ : (rng.bernoulli(0.5) ? Interpolation::bilinear : Interpolation::bicubic);
    return ResizePlan{rect, width_, height_, {0, 0, width_, height_}, filter};
  }
  void apply(Sample& sample, SampleRng& rng) const override {
    apply_plan(sample, *plan_resize(sample.image.width, sample.image.height, rng));
  }
  boost::json::object describe() const override {
    return {{"name", "random_resized_crop"},
            {"size", size_json(height_, width_)},
            {"scale", boost::json::array{scale_.first, scale_.second}},
            {"ratio", boost::json::array{ratio_.first, ratio_.second}},
            {"interpolation", interpolation_ ? std::string(to_string(*interpolation_)) : std::string("random")}};
  }

 private:
  int height_, width_;
  std::pair<double, double> scale_, ratio_;
  std::optional<Interpolation> interpolation_;
};

class Flip final : public Transform {
 public:
  Flip(bool horizontal, double p) : horizontal_(horizontal), p_(p) {}
  std::string_view name() const override { return horizontal_ ? "horizontal_flip" : "vertical_flip"; }
  void apply(Sample& sample, SampleRng& rng) const override {
    if (!rng.bernoulli(p_)) return;
    Image& image = sample.image;
    if (horizontal_) {
      mirror_targets(sample, image.width);
    } else {
      map_targets(sample, 1.0, 0.0, -1.0, image.height, image.width, image.height, 0.0);
    }
    const int c = image.channels;
    if (horizontal_ && c == 3) {
      for (int y = 0; y < image.height; ++y) {
        std::uint8_t* row = image.row(y);
        for (int l = 0, r = image.width - 1; l < r; ++l, --r) {
          std::uint8_t* a = row + 3 * l;
          std::uint8_t* b = row + 3 * r;
          std::swap(a[0], b[0]);
          std::swap(a[1], b[1]);
          std::swap(a[2], b[2]);
        }
      }
    } else if (horizontal_) {
      for (int y = 0; y < image.height; ++y) {
        std::uint8_t* row = image.row(y);
        for (int l = 0, r = image.width - 1; l < r; ++l, --r) {
          std::swap_ranges(row + l * c, row + (l + 1) * c, row + r * c);
        }
      }
    } else {
      for (int t = 0, b = image.height - 1; t < b; ++t, --b) {
        std::swap_ranges(image.row(t), image.row(t) + image.row_bytes(), image.row(b));
      }
    }
  }
  boost::json::object describe() const override { return {{"name", std::string(name())}, {"p", p_}}; }

 private:
  bool horizontal_;
  double p_;
};

/// Detection's resize: the whole image scaled to fit height × width with its aspect ratio kept, then padded with
/// `fill` to exactly that size (centered, or at the top left). Boxes move with it; nothing is cut.
class Letterbox final : public Transform {
 public:
  Letterbox(int height, int width, Fill fill, bool center, Interpolation interpolation)
      : height_(height), width_(width), fill_(fill), center_(center), interpolation_(interpolation) {}
  std::string_view name() const override { return "letterbox"; }
  std::optional<ResizePlan> plan_resize(int image_width, int image_height, SampleRng&) const override {
    const double scale = std::min(static_cast<double>(width_) / image_width, static_cast<double>(height_) / image_height);
    const int width = std::clamp(round_half_even(image_width * scale), 1, width_);
    const int height = std::clamp(round_half_even(image_height * scale), 1, height_);
    return ResizePlan{{0, 0, image_width, image_height}, width, height, {0, 0, width, height}, interpolation_};
  }
  void apply(Sample& sample, SampleRng& rng) const override {
    const ResizePlan plan = *plan_resize(sample.image.width, sample.image.height, rng);
    if (plan.width != sample.image.width || plan.height != sample.image.height) apply_plan(sample, plan);
    finish_after_resize(sample, rng);
  }
  void finish_after_resize(Sample& sample, SampleRng&) const override {
    const int left = center_ ? (width_ - sample.image.width) / 2 : 0;
    const int top = center_ ? (height_ - sample.image.height) / 2 : 0;
    if (sample.image.width == width_ && sample.image.height == height_) return;
    sample.image = place_on_canvas(sample.image, width_, height_, left, top, fill_);
    map_targets(sample, 1.0, left, 1.0, top, width_, height_, 0.0);
  }
  boost::json::object describe() const override {
    return {{"name", "letterbox"}, {"size", size_json(height_, width_)}, {"fill", fill_json(fill_)},
            {"position", center_ ? "center" : "top_left"}, {"interpolation", std::string(to_string(interpolation_))}};
  }

 private:
  int height_, width_;
  Fill fill_;
  bool center_;
  Interpolation interpolation_;
};

/// Segmentation's scale augmentation: the shorter side resized to size · s, s drawn uniformly from `scale` per sample,
/// aspect kept (a random crop of the training size usually follows).
class RandomResize final : public Transform {
 public:
  RandomResize(int size, std::pair<double, double> scale, Interpolation interpolation)
      : size_(size), scale_(scale), interpolation_(interpolation) {}
  std::string_view name() const override { return "random_resize"; }
  std::optional<ResizePlan> plan_resize(int image_width, int image_height, SampleRng& rng) const override {
    const double shorter = std::max(1.0, size_ * rng.uniform(scale_.first, scale_.second));
    const double factor = shorter / std::min(image_width, image_height);
    const int width = std::max(1, round_half_even(image_width * factor));
    const int height = std::max(1, round_half_even(image_height * factor));
    return ResizePlan{{0, 0, image_width, image_height}, width, height, {0, 0, width, height}, interpolation_};
  }
  void apply(Sample& sample, SampleRng& rng) const override {
    const ResizePlan plan = *plan_resize(sample.image.width, sample.image.height, rng);
    if (plan.width != sample.image.width || plan.height != sample.image.height) apply_plan(sample, plan);
  }
  boost::json::object describe() const override {
    return {{"name", "random_resize"}, {"size", size_}, {"scale", boost::json::array{scale_.first, scale_.second}},
            {"interpolation", std::string(to_string(interpolation_))}};
  }

 private:
  int size_;
  std::pair<double, double> scale_;
  Interpolation interpolation_;
};

/// `fill`: one value 0..255 for every channel, or [r, g, b].
Fill fill_option(const Config& options, std::int64_t fallback = 0) {
  std::vector<std::int64_t> values = {fallback};
  if (options.raw("fill").is_array()) {
    values = options.require<std::vector<std::int64_t>>("fill");
  } else if (options.contains("fill")) {
    values = {options.require<std::int64_t>("fill")};
  }
  if ((values.size() != 1 && values.size() != 3) ||
      std::any_of(values.begin(), values.end(), [](std::int64_t v) { return v < 0 || v > 255; })) {
    throw ConfigError(options.where("fill") + " must be one value or [r, g, b], each 0..255");
  }
  const auto channel = [&](std::size_t c) { return static_cast<std::uint8_t>(values[values.size() == 3 ? c : 0]); };
  return Fill{channel(0), channel(1), channel(2)};
}

}  // namespace

std::vector<Builtin> geometry_transforms() {
  return {
      {"resize",
       [](const Config& o) -> TransformPtr {
         const bool shorter_side = o.raw("size").is_number();
         const auto [height, width] = size_option(o, "size");
         const auto max_size = o.get<std::int64_t>("max_size", 0);
         if (max_size < 0 || (max_size > 0 && !shorter_side)) {
           throw ConfigError(o.where("max_size") + " needs a single 'size' and must be positive");
         }
         return std::make_shared<Resize>(height, shorter_side ? 0 : width,
                                         interpolation_option(o, Interpolation::bilinear), static_cast<int>(max_size));
       },
       "size: one integer (the shorter side, aspect kept) or [height, width]; interpolation; max_size"},
      {"resize_center_crop",
       [](const Config& o) -> TransformPtr {
         const bool shorter_side = o.raw("size").is_number();
         const auto [height, width] = size_option(o, "size");
         const auto [crop_height, crop_width] = size_option(o, "crop_size");
         return std::make_shared<ResizeCenterCrop>(height, shorter_side ? 0 : width, crop_height, crop_width,
                                                   interpolation_option(o, Interpolation::bilinear));
       },
       "resize (size: shorter side or [height, width]) then center_crop (crop_size), computing only the crop"},
      {"resize_keep_ratio",
       [](const Config& o) -> TransformPtr {
         const auto [height, width] = size_option(o, "size");
         const double longest = probability_option(o, "longest", 0.0);
         return std::make_shared<ResizeKeepRatio>(height, width, longest,
                                                  interpolation_option(o, Interpolation::bilinear));
       },
       "size [height, width]; longest 0..1 (1: the longer side fits); interpolation"},
      {"center_crop",
       [](const Config& o) -> TransformPtr {
         const auto [height, width] = size_option(o, "size");
         return std::make_shared<CenterCrop>(height, width, fill_option(o));
       },
       "size; fill (for images smaller than the crop)"},
      {"random_crop",
       [](const Config& o) -> TransformPtr {
         const auto [height, width] = size_option(o, "size");
         const auto padding = o.get<std::int64_t>("padding", 0);
         if (padding < 0 || padding > 4096) throw ConfigError(o.where("padding") + " must be 0..4096");
         return std::make_shared<RandomCrop>(height, width, static_cast<int>(padding), o.get("pad_if_needed", false),
                                             fill_option(o));
       },
       "size; padding; pad_if_needed; fill"},
      {"random_resized_crop",
       [](const Config& o) -> TransformPtr {
         const auto [height, width] = size_option(o, "size");
         const auto scale = range_option(o, "scale", {0.08, 1.0});
         const auto ratio = range_option(o, "ratio", {3.0 / 4.0, 4.0 / 3.0});
         if (scale.first <= 0.0 || scale.second > 1.0 || ratio.first <= 0.0) {
           throw ConfigError("random_resized_crop in " + o.source() + ": scale must be within (0, 1], ratio positive");
         }
         const auto name = o.get<std::string>("interpolation", "bilinear");
         std::optional<Interpolation> interpolation;
         if (name != "random") interpolation = interpolation_from_name(name);
         return std::make_shared<RandomResizedCrop>(height, width, scale, ratio, interpolation);
       },
       "size; scale [low, high] of the area; ratio [low, high]; interpolation (or 'random': bilinear/bicubic)"},
      {"letterbox",
       [](const Config& o) -> TransformPtr {
         const auto [height, width] = size_option(o, "size");
         const auto position = o.get<std::string>("position", "center");
         if (position != "center" && position != "top_left") {
           throw ConfigError(o.where("position") + " must be \"center\" or \"top_left\", got \"" + position + "\"");
         }
         return std::make_shared<Letterbox>(height, width, fill_option(o, 114), position == "center",
                                            interpolation_option(o, Interpolation::bilinear));
       },
       "size; fill (default 114); position center|top_left; interpolation: fit the whole image, keep its aspect, pad"},
      {"random_resize",
       [](const Config& o) -> TransformPtr {
         const auto size = o.require<std::int64_t>("size");
         if (size < 1 || size > 65535) throw ConfigError(o.where("size") + " must be 1..65535, got " + std::to_string(size));
         const auto scale = range_option(o, "scale", {0.5, 2.0});
         if (scale.first <= 0.0) throw ConfigError(o.where("scale") + " must be positive");
         return std::make_shared<RandomResize>(static_cast<int>(size), scale,
                                               interpolation_option(o, Interpolation::bilinear));
       },
       "size: the shorter side before scaling; scale [low, high] drawn per sample (default [0.5, 2]); interpolation"},
      {"horizontal_flip",
       [](const Config& o) -> TransformPtr { return std::make_shared<Flip>(true, probability_option(o, "p", 0.5)); },
       "p: probability of mirroring left-right"},
      {"vertical_flip",
       [](const Config& o) -> TransformPtr { return std::make_shared<Flip>(false, probability_option(o, "p", 0.5)); },
       "p: probability of flipping upside down"},
  };
}

}  // namespace autotimm::transforms
