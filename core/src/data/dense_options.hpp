#pragma once
// The loading keys every dense data module's options struct has (image_size, transforms, mean, std, batching), read
// from a config and gathered into DenseLoading once, for any such struct.
#include <array>
#include <filesystem>
#include <string_view>

#include "autotimm/config.hpp"
#include "autotimm/data/dense_data_module.hpp"
#include "autotimm/error.hpp"

namespace autotimm::data {

/// `path` under data_dir unless absolute (or no data_dir).
inline std::filesystem::path under(const std::filesystem::path& data_dir, const std::filesystem::path& path) {
  return path.is_absolute() || data_dir.empty() ? path : data_dir / path;
}

inline std::array<double, 3> rgb_option(const Config& config, std::string_view key, std::array<double, 3> fallback) {
  if (!config.contains(key)) return fallback;
  const auto values = config.require<std::vector<double>>(key);
  if (values.size() != 3) throw ConfigError(config.where(key) + " must be three numbers (r, g, b)");
  return {values[0], values[1], values[2]};
}

template <class Options>
void read_loading(const Config& config, Options& o) {
  o.image_size = config.get("image_size", o.image_size);
  o.train_transforms = config.get("train_transforms", o.train_transforms);
  if (config.contains("transforms")) {
    const auto& list = config.raw("transforms");
    if (!list.is_array()) throw ConfigError(config.where("transforms") + " must be a list of objects");
    o.transforms = list.as_array();
  }
  o.mean = rgb_option(config, "mean", o.mean);
  o.std = rgb_option(config, "std", o.std);
  o.batch_size = config.get("batch_size", o.batch_size);
  o.num_workers = config.get("num_workers", o.num_workers);
  o.seed = static_cast<std::uint64_t>(config.get<std::int64_t>("seed", static_cast<std::int64_t>(o.seed)));
  o.strict_data = config.get("strict_data", o.strict_data);
}

template <class Options>
DenseLoading loading_of(const Options& o) {
  return {.image_size = o.image_size,
          .train_transforms = o.train_transforms,
          .transforms = o.transforms,
          .mean = o.mean,
          .std = o.std,
          .batch_size = o.batch_size,
          .num_workers = o.num_workers,
          .seed = o.seed,
          .strict_data = o.strict_data,
          .shard_index = o.shard_index,
          .num_shards = o.num_shards};
}

}  // namespace autotimm::data
