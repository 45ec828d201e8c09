#pragma once
// What the interpretation tests share: images of one bright square on a dark noisy background, its colour the class
// (blue, green, red), and a tiny resnet10t classifier trained on them once per test binary (~10 s on two cores).
// Where the square lies is known, so an explanation can be checked to point at it.
#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "autotimm/data/decode.hpp"
#include "autotimm/data/image.hpp"
#include "autotimm/data/image_data_module.hpp"
#include "autotimm/data/random.hpp"
#include "autotimm/tasks/image_classifier.hpp"
#include "autotimm/trainer/auto_trainer.hpp"
#include "support/temp_dir.hpp"

namespace autotimm::testing {

inline constexpr int kSquareImageSize = 64;
inline constexpr int kSquareSide = 16;

inline const std::vector<std::string>& square_classes() {
  static const std::vector<std::string> names = {"blue", "green", "red"};
  return names;
}

/// One square image: class `index`'s colour (blue, green, red → channel 2, 1, 0) at x0, y0 on dark noise.
inline Image square_image(std::size_t index, int x0, int y0, SampleRng& rng, int width = kSquareImageSize,
                          int height = kSquareImageSize) {
  Image image(width, height, 3);
  const int channel = 2 - static_cast<int>(index);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const bool inside = x >= x0 && x < x0 + kSquareSide && y >= y0 && y < y0 + kSquareSide;
      for (int c = 0; c < 3; ++c) {
        const double base = inside ? (c == channel ? 220.0 : 40.0) : 30.0;
        image.at(x, y, c) = static_cast<std::uint8_t>(base + rng.uniform(-25.0, 25.0));
      }
    }
  }
  return image;
}

/// A square image as the model's input [1, 3, H, W]: pixels / 255 normalised by ImageNet's mean and std (the
/// data config the tiny model trains with keeps the pixels where they are).
inline torch::Tensor square_input(const Image& image) {
  auto pixels = torch::from_blob(const_cast<std::uint8_t*>(image.pixels.data()), {image.height, image.width, 3},
                                 torch::kUInt8)
                    .permute({2, 0, 1})
                    .to(torch::kFloat32)
                    .div(255.0);
  const auto mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({3, 1, 1});
  const auto std = torch::tensor({0.229f, 0.224f, 0.225f}).view({3, 1, 1});
  return ((pixels - mean) / std).unsqueeze(0);
}

/// Where the square of a generated image lies: x0, y0 drawn so it stays clear of the borders.
struct SquareSample {
  std::size_t label = 0;
  int x0 = 0;
  int y0 = 0;
  Image image = {};
  std::array<double, 4> box() const {
    return {static_cast<double>(x0), static_cast<double>(y0), static_cast<double>(x0 + kSquareSide),
            static_cast<double>(y0 + kSquareSide)};
  }
};

inline SquareSample random_square(std::size_t label, SampleRng& rng) {
  SquareSample sample;
  sample.label = label;
  sample.x0 = static_cast<int>(rng.uniform(4.0, kSquareImageSize - kSquareSide - 4.0));
  sample.y0 = static_cast<int>(rng.uniform(4.0, kSquareImageSize - kSquareSide - 4.0));
  sample.image = square_image(label, sample.x0, sample.y0, rng);
  return sample;
}

/// Trains `options` on the square images under `data_dir` (ImageFolder train/val) for `epochs`; the best checkpoint.
inline std::filesystem::path train_on_squares(const std::filesystem::path& data_dir, const std::filesystem::path& runs,
                                              ImageClassifierOptions options, std::int64_t epochs) {
  // Resize to 64 and crop 64: the pixels stay where they are, so boxes in the files are boxes in the input.
  const DataConfig config{.input_size = {3, kSquareImageSize, kSquareImageSize},
                          .interpolation = Interpolation::bilinear,
                          .crop_pct = 1.0};
  ImageDataModule data(ImageDataOptions{.data_dir = data_dir,
                                        .data_config = config,
                                        .train_transforms = "none",
                                        .batch_size = 15,
                                        .num_workers = 1,
                                        .seed = 5});
  ImageClassifier model(std::move(options));
  AutoTrainer trainer(AutoTrainerOptions{.max_epochs = epochs,
                                         .default_root_dir = runs,
                                         .enable_progress_bar = false,
                                         .enable_model_summary = false});
  trainer.fit(model, data);
  return trainer.best_model_path();
}

/// The resnet10t classifier (narrow: 16 … 96 channels) trained once on 3 × 30 square images (val 3 × 6) for 10
/// epochs, and its best checkpoint.
struct TrainedSquares {
  TempDir dir;
  std::filesystem::path checkpoint;
  std::shared_ptr<ImageClassifier> model;

  TrainedSquares() {
    SampleRng rng(11);
    const std::pair<const char*, int> splits[] = {{"train", 30}, {"val", 6}};
    for (const auto& [split, count] : splits) {
      for (std::size_t k = 0; k < square_classes().size(); ++k) {
        const auto folder = dir.path() / "data" / split / square_classes()[k];
        std::filesystem::create_directories(folder);
        for (int i = 0; i < count; ++i) {
          write_image(folder / (std::to_string(i) + ".png"), random_square(k, rng).image);
        }
      }
    }
    checkpoint = train_on_squares(
        dir.path() / "data", dir.path() / "runs",
        ImageClassifierOptions{.backbone = "resnet10t",
                               .lr = 3e-3,
                               .pretrained = false,
                               .backbone_args = {{"channels", boost::json::array{16, 32, 64, 96}}, {"stem_width", 8}}},
        10);
    model = ImageClassifier::load_from_checkpoint(checkpoint);
    model->eval();
  }
};

inline TrainedSquares& trained_squares() {
  static TrainedSquares run;
  return run;
}

/// A two-block ViT (patch 16, width 48) trained briefly on the same images: its checkpoint, for the ViT paths
/// (tokens as GradCAM's layer, Attention Rollout) of `autotimm explain`.
inline const std::filesystem::path& trained_square_vit() {
  static const std::filesystem::path checkpoint = train_on_squares(
      trained_squares().dir.path() / "data", trained_squares().dir.path() / "vit_runs",
      ImageClassifierOptions{.backbone = "vit_tiny_patch16_224",
                             .lr = 1e-3,
                             .pretrained = false,
                             .backbone_args = {{"img_size", kSquareImageSize}, {"depth", 2}, {"embed_dim", 48},
                                               {"num_heads", 3}}},
      2);
  return checkpoint;
}

}  // namespace autotimm::testing
