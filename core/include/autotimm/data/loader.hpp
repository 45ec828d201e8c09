#pragma once
// The loader: worker threads decode and augment ahead of the training step and collate each batch into one
// contiguous, normalized float tensor.
//
//   autotimm::DataLoader loader(dataset, autotimm::train_transform("default", config),
//                               {.batch_size = 32, .shuffle = true, .num_workers = 4, .seed = 42});
//   for (auto epoch = loader.epoch(0); auto batch = epoch.next();) {
//     model->forward(batch->images);  // [B, 3, H, W] float32, normalized
//   }
//
// Every sample's randomness comes from SampleRng(seed, epoch, position in the epoch), and batches are returned in
// order, so the batches are identical for any number of workers. Files that cannot be decoded are skipped and
// reported (path and reason) in the epoch's stats, unless strict_data makes the first one fail the epoch.
#include <torch/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "autotimm/data/dataset.hpp"
#include "autotimm/data/transform.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

/// What the loader collates. Classification fills `targets`; detection fills the per-image objects, segmentation the
/// label maps (`targets`); both dense tasks get the geometry that takes predictions back to the original images.
struct Batch {
  torch::Tensor images;                      ///< [B, 3, H, W] float32, normalized
  torch::Tensor targets;                     ///< [B] int64 class indices, [B, C] float32 for multi-label, or
                                             ///< [B, H, W] int64 label maps for segmentation (ignore index kept)
  std::vector<std::size_t> indices = {};     ///< dataset indices of the rows
  std::vector<torch::Tensor> boxes = {};     ///< detection, per image: [N_i, 4] float32 x1, y1, x2, y2 input pixels
  std::vector<torch::Tensor> labels = {};    ///< detection, per image: [N_i] int64 class indices
  std::vector<torch::Tensor> iscrowd = {};   ///< detection, per image: [N_i] bool, crowd regions (evaluation only)
  std::vector<torch::Tensor> areas = {};     ///< detection, per image: [N_i] float64 annotation areas, original image
  std::vector<torch::Tensor> masks = {};     ///< instance segmentation, per image: [N_i, H, W] uint8 0 / 1, input pixels
  torch::Tensor image_ids = {};              ///< dense tasks: [B] int64 image ids (detection: the annotation file's)
  torch::Tensor orig_sizes = {};             ///< dense tasks: [B, 2] int64 original (height, width)
  torch::Tensor input_maps = {};             ///< dense tasks: [B, 4] float64 (sx, tx, sy, ty): input = s · original + t
  std::int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

struct LoaderOptions {
  std::int64_t batch_size = 32;
  bool shuffle = false;
  bool drop_last = false;
  int num_workers = 2;             ///< 0: prepare batches in the calling thread
  int prefetch_batches = 2;        ///< per worker: how far the workers may run ahead of the consumer
  std::uint64_t seed = 0;
  bool strict_data = false;        ///< an undecodable file fails the epoch instead of being skipped
  std::array<double, 3> mean = {0.485, 0.456, 0.406};
  std::array<double, 3> std = {0.229, 0.224, 0.225};
  /// Sample with replacement, each class equally likely (single-label); num_samples per epoch (0: dataset size).
  bool balanced = false;
  std::int64_t num_samples = 0;
  /// Shard of a distributed run: this process sees every num_shards-th sample from shard_index, the epoch padded so
  /// all shards get the same count.
  int shard_index = 0;
  int num_shards = 1;
};

/// What one epoch skipped.
struct SkippedFile {
  std::string what;    ///< the path (or in-memory item)
  std::string reason;  ///< the decoder's message
};

class AUTOTIMM_API DataLoader {
 public:
  DataLoader(std::shared_ptr<const ImageDataset> dataset, TransformPtr transform, LoaderOptions options);

  /// One pass over the data; destroying it stops its workers.
  class AUTOTIMM_API Epoch {
   public:
    ~Epoch();
    Epoch(const Epoch&) = delete;
    Epoch& operator=(const Epoch&) = delete;
    Epoch(Epoch&&) noexcept;
    /// The next batch in order; nullopt at the end. Rethrows a worker's error (strict_data, a transform error).
    std::optional<Batch> next();
    /// Files skipped so far in this epoch.
    std::vector<SkippedFile> skipped() const;

   private:
    friend class DataLoader;
    struct State;
    explicit Epoch(std::shared_ptr<State> state);
    std::shared_ptr<State> state_;
  };

  Epoch epoch(std::uint64_t epoch_index) const;
  /// Batches per epoch (for schedulers and progress).
  std::int64_t num_batches() const;
  /// Samples per epoch on this shard.
  std::int64_t num_samples() const;
  /// Dataset indices of epoch `epoch_index`, in order (this shard's, padded).
  std::vector<std::size_t> epoch_order(std::uint64_t epoch_index) const;

  const ImageDataset& dataset() const noexcept { return *dataset_; }
  const LoaderOptions& options() const noexcept { return options_; }

 private:
  std::shared_ptr<const ImageDataset> dataset_;
  TransformPtr transform_;
  LoaderOptions options_;
};

}  // namespace autotimm
