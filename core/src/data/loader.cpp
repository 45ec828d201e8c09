#include "autotimm/data/loader.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "autotimm/data/decode.hpp"
#include "autotimm/error.hpp"
#include "autotimm/runtime.hpp"

namespace autotimm {

namespace {

// Streams of SampleRng(seed, epoch, stream) that are not sample positions (those count up from 0).
constexpr std::uint64_t kShuffleStream = ~std::uint64_t{0};
constexpr std::uint64_t kBalancedStream = ~std::uint64_t{1};

/// ToTensor then Normalize, as torchvision computes them in float32, for each channel and byte value.
std::vector<float> normalization_table(const LoaderOptions& options) {
  std::vector<float> table(3 * 256);
  for (int c = 0; c < 3; ++c) {
    const auto mean = static_cast<float>(options.mean[c]), stddev = static_cast<float>(options.std[c]);
    for (int v = 0; v < 256; ++v) table[c * 256 + v] = (static_cast<float>(v) / 255.0f - mean) / stddev;
  }
  return table;
}

/// Batch tensors' memory, kept for the next batches. On these machines a fresh 19 MB batch (32 × 3 × 224 × 224
/// floats) costs ~125 ms of page faults to fill and a reused one ~2 ms; glibc does not reuse it reliably, since
/// each worker thread's arena holds only 64 MB and an emptied extra heap goes back to the kernel. A block returns
/// here when the last tensor (or view) using it is gone; at most kMaxFree blocks wait, the rest are freed.
class BatchMemory {
 public:
  static BatchMemory& instance() {
    static auto* memory = new BatchMemory;  // never destroyed: tensors may outlive static destruction
    return *memory;
  }

  torch::Tensor float_tensor(const std::vector<std::int64_t>& sizes) {
    std::size_t count = 1;
    for (const auto size : sizes) count *= static_cast<std::size_t>(size);
    const std::size_t bytes = (count * sizeof(float) + kAlignment - 1) / kAlignment * kAlignment;
    void* block = nullptr;
    {
      const std::lock_guard lock(mutex_);
      const auto found = std::find_if(free_.begin(), free_.end(), [&](const auto& entry) { return entry.first == bytes; });
      if (found != free_.end()) {
        block = found->second;
        free_.erase(found);
      }
    }
    if (!block) block = std::aligned_alloc(kAlignment, bytes);
    if (!block) throw std::bad_alloc();
    return torch::from_blob(block, sizes, [this, bytes](void* data) { give_back(data, bytes); }, torch::kFloat32);
  }

 private:
  static constexpr std::size_t kAlignment = 64;  // as c10's CPU allocator
  static constexpr std::size_t kMaxFree = 8;

  void give_back(void* block, std::size_t bytes) {
    {
      const std::lock_guard lock(mutex_);
      if (free_.size() < kMaxFree) {
        free_.emplace_back(bytes, block);
        return;
      }
    }
    std::free(block);
  }

  std::mutex mutex_;
  std::vector<std::pair<std::size_t, void*>> free_;
};

}  // namespace

DataLoader::DataLoader(std::shared_ptr<const ImageDataset> dataset, TransformPtr transform, LoaderOptions options)
    : dataset_(std::move(dataset)), transform_(std::move(transform)), options_(options) {
  // Threads, and malloc kept from returning memory to the kernel: every image buffer would otherwise be fresh pages.
  configure_runtime();
  if (!dataset_) throw ConfigError("DataLoader: no dataset");
  if (!transform_) throw ConfigError("DataLoader: no transform; use eval_transform(config) for plain resizing");
  if (options_.batch_size <= 0) {
    throw ConfigError("DataLoader: batch_size must be > 0, got " + std::to_string(options_.batch_size));
  }
  if (options_.num_workers < 0 || options_.num_workers > 256) {
    throw ConfigError("DataLoader: num_workers must be within 0..256, got " + std::to_string(options_.num_workers));
  }
  if (options_.prefetch_batches < 1) throw ConfigError("DataLoader: prefetch_batches must be >= 1");
  if (options_.num_shards < 1 || options_.shard_index < 0 || options_.shard_index >= options_.num_shards) {
    throw ConfigError("DataLoader: shard " + std::to_string(options_.shard_index) + " of " +
                      std::to_string(options_.num_shards) + " is not a valid shard");
  }
  for (int c = 0; c < 3; ++c) {
    if (!(options_.std[c] > 0.0)) throw ConfigError("DataLoader: std must be positive in every channel");
  }
  if (dataset_->size() == 0) throw ConfigError("DataLoader: the dataset '" + dataset_->source + "' is empty");
  if (options_.balanced && (dataset_->detection || dataset_->segmentation)) {
    throw ConfigError("DataLoader: balanced sampling needs class labels; '" + dataset_->source + "' is a " +
                      (dataset_->detection ? "detection" : "segmentation") + " dataset");
  }
  if (options_.balanced && dataset_->multi_label) {
    throw ConfigError("DataLoader: balanced sampling needs single-label data; '" + dataset_->source +
                      "' is multi-label");
  }
}

std::vector<std::size_t> DataLoader::epoch_order(std::uint64_t epoch_index) const {
  const std::size_t n = dataset_->size();
  std::vector<std::size_t> order;
  if (options_.balanced) {
    // Each class equally likely, then an item of it: the weights 1 / class count, with replacement.
    std::vector<std::vector<std::size_t>> by_class(static_cast<std::size_t>(dataset_->num_classes()));
    for (std::size_t i = 0; i < n; ++i) {
      const auto label = dataset_->items[i].label;
      if (label >= 0 && label < static_cast<std::int64_t>(by_class.size())) by_class[label].push_back(i);
    }
    std::erase_if(by_class, [](const auto& items) { return items.empty(); });
    SampleRng rng(options_.seed, epoch_index, kBalancedStream);
    const std::size_t count = options_.num_samples > 0 ? static_cast<std::size_t>(options_.num_samples) : n;
    order.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      const auto& members = by_class[static_cast<std::size_t>(rng.integer(0, static_cast<std::int64_t>(by_class.size()) - 1))];
      order.push_back(members[static_cast<std::size_t>(rng.integer(0, static_cast<std::int64_t>(members.size()) - 1))]);
    }
  } else {
    order.resize(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    if (options_.shuffle) {
      SampleRng rng(options_.seed, epoch_index, kShuffleStream);
      rng.shuffle(order);
    }
  }
  if (options_.num_shards > 1) {
    // As PyTorch's DistributedSampler: pad with the first items to a multiple of the shard count, then stride.
    const std::size_t shards = static_cast<std::size_t>(options_.num_shards);
    const std::size_t padded = (order.size() + shards - 1) / shards * shards;
    for (std::size_t i = 0; order.size() < padded; ++i) order.push_back(order[i]);
    std::vector<std::size_t> mine;
    for (std::size_t i = static_cast<std::size_t>(options_.shard_index); i < order.size(); i += shards) {
      mine.push_back(order[i]);
    }
    order = std::move(mine);
  }
  return order;
}

std::int64_t DataLoader::num_samples() const {
  const auto n = static_cast<std::int64_t>(options_.balanced && options_.num_samples > 0 ? options_.num_samples
                                                                                         : dataset_->size());
  return (n + options_.num_shards - 1) / options_.num_shards;
}

std::int64_t DataLoader::num_batches() const {
  const auto n = num_samples();
  return options_.drop_last ? n / options_.batch_size : (n + options_.batch_size - 1) / options_.batch_size;
}

struct DataLoader::Epoch::State {
  std::shared_ptr<const ImageDataset> dataset;
  TransformPtr transform;
  LoaderOptions options;
  std::uint64_t epoch = 0;
  std::vector<std::size_t> order;
  std::int64_t num_batches = 0;
  std::vector<float> table;

  std::mutex mutex;
  std::condition_variable batch_ready;
  std::condition_variable space_free;
  std::map<std::int64_t, std::pair<std::optional<Batch>, std::exception_ptr>> ready;
  std::int64_t next_to_claim = 0;
  std::int64_t next_to_return = 0;
  bool stopping = false;
  std::vector<SkippedFile> skipped;
  std::vector<std::thread> workers;

  std::int64_t capacity() const { return static_cast<std::int64_t>(options.num_workers) * options.prefetch_batches; }

  /// Item `index` decoded and transformed. Files go through decode_and_apply, which decodes a JPEG only as far
  /// as the transform's first crop or resize reads it; in-memory images are transformed as they are.
  Sample load_transformed(std::size_t index, SampleRng& rng) const {
    const DatasetItem& item = dataset->items.at(index);
    Sample targets;
    targets.objects = item.objects;
    if (dataset->instance_masks) {
      if (item.instance_masks.size() != item.objects.size()) {
        throw ConfigError(dataset->describe(index) + " has " + std::to_string(item.objects.size()) + " objects but " +
                          std::to_string(item.instance_masks.size()) + " instance masks; give each object its mask");
      }
      // Decoded here, in the worker, at the size the annotations give; decode_and_apply checks it is the file's.
      for (std::size_t i = 0; i < item.objects.size(); ++i) {
        targets.objects[i].mask = decode_instance_mask(item.instance_masks[i], item.width, item.height,
                                                       dataset->describe(index) + ", object " + std::to_string(i + 1));
      }
    }
    if (item.mask) {
      targets.mask = item.mask->decode(dataset->ignore_index);
      targets.mask_fill = dataset->ignore_index;
    }
    if (item.memory_index >= 0 || item.path.empty()) {
      Sample sample = std::move(targets);
      sample.image = dataset->load(index);
      sample.original_width = sample.image.width;
      sample.original_height = sample.image.height;
      transform->apply(sample, rng);
      return sample;
    }
    thread_local std::vector<std::uint8_t> bytes;  // reused across samples: no fresh pages per file
    read_image_file(item.path, bytes);
    return decode_and_apply(bytes, item.path.string(), *transform, rng, {}, std::move(targets));
  }

  /// The sample's instance masks as [N, H, W] uint8, each checked to have the image's size.
  torch::Tensor object_masks(const Sample& sample, std::size_t index) const {
    const int width = sample.image.width, height = sample.image.height;
    auto masks = torch::empty({static_cast<std::int64_t>(sample.objects.size()), height, width}, torch::kUInt8);
    const auto plane = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
    for (std::size_t i = 0; i < sample.objects.size(); ++i) {
      const Image& mask = sample.objects[i].mask;
      if (mask.width != width || mask.height != height || mask.channels != 1) {
        throw ConfigError("the transforms left the mask of object " + std::to_string(i + 1) + " of " +
                          dataset->describe(index) + " at " + std::to_string(mask.width) + "x" +
                          std::to_string(mask.height) + ", not its image's " + std::to_string(width) + "x" +
                          std::to_string(height) + "; a custom geometric transform must move the masks (map_targets)");
      }
      std::copy_n(mask.pixels.data(), plane, masks.data_ptr<std::uint8_t>() + i * plane);
    }
    return masks;
  }

  /// Batch `b` of the epoch: decode, augment, normalize into one tensor. Undecodable files are skipped (or thrown,
  /// strict); a batch whose every file failed has no images.
  std::optional<Batch> build(std::int64_t b) {
    const auto begin = static_cast<std::size_t>(b * options.batch_size);
    const auto end = std::min(order.size(), begin + static_cast<std::size_t>(options.batch_size));
    Batch batch;
    std::int64_t filled = 0, height = 0, width = 0;
    std::vector<float> multi;
    std::vector<std::int64_t> labels;
    std::vector<std::int64_t> image_ids, orig_sizes;
    std::vector<double> input_maps;
    std::vector<std::uint8_t> label_maps;
    // Where a dense sample's pixels came from: its id, original size and the map from the original.
    const auto add_geometry = [&](const Sample& sample, std::int64_t image_id) {
      image_ids.push_back(image_id);
      orig_sizes.insert(orig_sizes.end(), {sample.original_height, sample.original_width});
      const AxisMap& map = sample.geometry;
      input_maps.insert(input_maps.end(), {map.scale_x, map.offset_x, map.scale_y, map.offset_y});
    };
    // A detection sample's objects as the batch's per-image tensors.
    const auto add_objects = [&](Batch& out, const Sample& sample, std::size_t index, std::int64_t image_id) {
      const auto n = static_cast<std::int64_t>(sample.objects.size());
      auto boxes = torch::empty({n, 4}, torch::kFloat32);
      auto classes = torch::empty({n}, torch::kInt64);
      auto crowd = torch::empty({n}, torch::kBool);
      auto areas = torch::empty({n}, torch::kFloat64);
      for (std::int64_t i = 0; i < n; ++i) {
        const SampleObject& object = sample.objects[static_cast<std::size_t>(i)];
        for (int k = 0; k < 4; ++k) boxes.data_ptr<float>()[i * 4 + k] = static_cast<float>(object.box[k]);
        classes.data_ptr<std::int64_t>()[i] = object.label;
        crowd.data_ptr<bool>()[i] = object.iscrowd;
        areas.data_ptr<double>()[i] = object.area;
      }
      out.boxes.push_back(boxes);
      out.labels.push_back(classes);
      out.iscrowd.push_back(crowd);
      out.areas.push_back(areas);
      if (dataset->instance_masks) out.masks.push_back(object_masks(sample, index));
      add_geometry(sample, image_id);
    };
    for (std::size_t position = begin; position < end; ++position) {
      const std::size_t index = order[position];
      // The position in the whole (unsharded) epoch seeds the sample: the same on every worker count and shard.
      const auto global_position = position * static_cast<std::size_t>(options.num_shards) +
                                   static_cast<std::size_t>(options.shard_index);
      SampleRng rng(options.seed, epoch, global_position);
      Sample sample;
      try {
        sample = load_transformed(index, rng);
      } catch (const Error& error) {
        // Only a file that cannot be read or decoded is skipped; a transform's error stops the epoch.
        if (!dynamic_cast<const FormatError*>(&error) && !dynamic_cast<const IoError*>(&error)) throw;
        if (options.strict_data) {
          throw FormatError(std::string(error.what()) + " (strict_data is set; unset it to skip such files)");
        }
        const std::lock_guard lock(mutex);
        skipped.push_back({dataset->describe(index), error.what()});
        continue;
      }
      const Image& image = sample.image;
      if (image.channels != 3) {
        throw ConfigError("the transforms produced a " + std::to_string(image.channels) +
                          "-channel image for " + dataset->describe(index) + "; the loader expects RGB");
      }
      if (!batch.images.defined()) {
        height = image.height;
        width = image.width;
        batch.images = BatchMemory::instance().float_tensor({static_cast<std::int64_t>(end - begin), 3, height, width});
      } else if (image.height != height || image.width != width) {
        throw ConfigError("the transforms gave " + dataset->describe(index) + " the size " +
                          std::to_string(image.width) + "x" + std::to_string(image.height) + ", but the batch is " +
                          std::to_string(width) + "x" + std::to_string(height) +
                          "; end the transforms with a fixed-size crop or resize");
      }
      float* out = batch.images.data_ptr<float>() + filled * 3 * height * width;
      const std::int64_t plane = height * width;
      const std::uint8_t* pixels = image.pixels.data();
      // One pass over the pixels, three planes out.
      float* red = out;
      float* green = out + plane;
      float* blue = out + 2 * plane;
      const float* lut = table.data();
      for (std::int64_t i = 0; i < plane; ++i) {
        red[i] = lut[pixels[3 * i]];
        green[i] = lut[256 + pixels[3 * i + 1]];
        blue[i] = lut[512 + pixels[3 * i + 2]];
      }
      const DatasetItem& item = dataset->items[index];
      if (dataset->segmentation) {
        // Items without a label file (images to predict) carry their geometry only.
        if (item.mask && (sample.mask.width != width || sample.mask.height != height)) {
          throw ConfigError("the transforms left the label map of " + dataset->describe(index) + " at " +
                            std::to_string(sample.mask.width) + "x" + std::to_string(sample.mask.height) +
                            ", not its image's " + std::to_string(width) + "x" + std::to_string(height) +
                            "; a custom geometric transform must move the mask (map_targets)");
        }
        if (item.mask) label_maps.insert(label_maps.end(), sample.mask.pixels.begin(), sample.mask.pixels.end());
        add_geometry(sample, item.image_id);
      } else if (dataset->detection) {
        add_objects(batch, sample, index, item.image_id);
      } else if (dataset->multi_label) {
        multi.insert(multi.end(), item.labels.begin(), item.labels.end());
      } else {
        labels.push_back(item.label);
      }
      batch.indices.push_back(index);
      ++filled;
    }
    if (filled == 0) return std::nullopt;
    if (filled < static_cast<std::int64_t>(end - begin)) batch.images = batch.images.narrow(0, 0, filled);
    if (dataset->segmentation && !label_maps.empty()) {
      if (static_cast<std::int64_t>(label_maps.size()) != filled * height * width) {
        throw ConfigError("the batch mixes images with and without label files in '" + dataset->source +
                          "'; give every image its mask, or none (prediction)");
      }
      batch.targets = torch::from_blob(label_maps.data(), {filled, height, width}, torch::kUInt8).to(torch::kInt64);
    }
    if (dataset->detection || dataset->segmentation) {
      batch.image_ids = torch::from_blob(image_ids.data(), {filled}, torch::kInt64).clone();
      batch.orig_sizes = torch::from_blob(orig_sizes.data(), {filled, 2}, torch::kInt64).clone();
      batch.input_maps = torch::from_blob(input_maps.data(), {filled, 4}, torch::kFloat64).clone();
    } else if (dataset->multi_label) {
      batch.targets = torch::from_blob(multi.data(), {filled, dataset->num_classes()}, torch::kFloat32).clone();
    } else {
      batch.targets = torch::from_blob(labels.data(), {filled}, torch::kInt64).clone();
    }
    return batch;
  }

  void work() {
    for (;;) {
      std::int64_t b = 0;
      {
        std::unique_lock lock(mutex);
        space_free.wait(lock, [&] {
          return stopping || next_to_claim >= num_batches || next_to_claim < next_to_return + capacity();
        });
        if (stopping || next_to_claim >= num_batches) return;
        b = next_to_claim++;
      }
      std::pair<std::optional<Batch>, std::exception_ptr> result;
      try {
        result.first = build(b);
      } catch (...) {
        result.second = std::current_exception();
      }
      {
        const std::lock_guard lock(mutex);
        ready.emplace(b, std::move(result));
      }
      batch_ready.notify_all();
    }
  }

  void stop() {
    {
      const std::lock_guard lock(mutex);
      stopping = true;
    }
    space_free.notify_all();
    for (auto& worker : workers) worker.join();
    workers.clear();
  }
};

DataLoader::Epoch DataLoader::epoch(std::uint64_t epoch_index) const {
  auto state = std::make_shared<Epoch::State>();
  state->dataset = dataset_;
  state->transform = transform_;
  state->options = options_;
  state->epoch = epoch_index;
  state->order = epoch_order(epoch_index);
  state->num_batches = num_batches();
  state->table = normalization_table(options_);
  for (int i = 0; i < options_.num_workers; ++i) state->workers.emplace_back([raw = state.get()] { raw->work(); });
  return Epoch(std::move(state));
}

DataLoader::Epoch::Epoch(std::shared_ptr<State> state) : state_(std::move(state)) {}
DataLoader::Epoch::Epoch(Epoch&&) noexcept = default;

DataLoader::Epoch::~Epoch() {
  if (state_) state_->stop();
}

std::optional<Batch> DataLoader::Epoch::next() {
  State& s = *state_;
  for (;;) {
    std::pair<std::optional<Batch>, std::exception_ptr> result;
    {
      std::unique_lock lock(s.mutex);
      if (s.next_to_return >= s.num_batches) return std::nullopt;
      const std::int64_t b = s.next_to_return;
      if (s.workers.empty()) {
        lock.unlock();
        ++s.next_to_return;
        auto batch = s.build(b);
        if (batch) return batch;
        continue;
      }
      s.batch_ready.wait(lock, [&] { return s.ready.count(b) > 0; });
      auto node = s.ready.extract(b);
      result = std::move(node.mapped());
      ++s.next_to_return;
    }
    s.space_free.notify_all();
    if (result.second) std::rethrow_exception(result.second);
    if (result.first) return std::move(result.first);
  }
}

std::vector<SkippedFile> DataLoader::Epoch::skipped() const {
  std::vector<SkippedFile> out;
  {
    const std::lock_guard lock(state_->mutex);
    out = state_->skipped;
  }
  // Workers finish in any order: report by path, the same for every worker count.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.what < b.what; });
  return out;
}

}  // namespace autotimm
