// The transform registry, Compose, config parsing helpers and the data config.
#include "autotimm/data/transform.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "autotimm/pretrained_cfg.hpp"
#include "builtin.hpp"

namespace autotimm {

namespace {

struct Registered {
  TransformFactory factory;
  std::string description;
};

struct TransformRegistry {
  std::mutex mutex;
  std::map<std::string, Registered> entries;

  TransformRegistry() {
    for (auto list : {&transforms::geometry_transforms, &transforms::color_transforms,
                      &transforms::auto_augment_transforms}) {
      for (auto& builtin : list()) {
        entries.emplace(builtin.name, Registered{std::move(builtin.factory), std::move(builtin.description)});
      }
    }
  }
};

TransformRegistry& transform_registry() {
  static TransformRegistry registry;
  return registry;
}

constexpr std::array<std::pair<std::string_view, Interpolation>, 6> kInterpolations = {{
    {"nearest", Interpolation::nearest},
    {"bilinear", Interpolation::bilinear},
    {"bicubic", Interpolation::bicubic},
    {"box", Interpolation::box},
    {"hamming", Interpolation::hamming},
    {"lanczos", Interpolation::lanczos},
}};

}  // namespace

Interpolation interpolation_from_name(std::string_view name) {
  for (const auto& [known, value] : kInterpolations) {
    if (known == name) return value;
  }
  throw ConfigError("unknown interpolation '" + std::string(name) +
                    "'; expected one of nearest, bilinear, bicubic, box, hamming, lanczos");
}

std::string_view to_string(Interpolation interpolation) {
  for (const auto& [known, value] : kInterpolations) {
    if (value == interpolation) return known;
  }
  return "unknown";
}

Transform::~Transform() = default;

boost::json::object Transform::describe() const { return boost::json::object{{"name", std::string(name())}}; }

Compose::Compose(std::vector<TransformPtr> transforms) : transforms_(std::move(transforms)) {
  for (const auto& transform : transforms_) {
    if (!transform) throw ConfigError("Compose: a transform in the list is null");
  }
}

void Compose::apply(Sample& sample, SampleRng& rng) const {
  for (const auto& transform : transforms_) transform->apply(sample, rng);
}

boost::json::object Compose::describe() const {
  boost::json::array steps;
  for (const auto& transform : transforms_) steps.push_back(transform->describe());
  return boost::json::object{{"name", "compose"}, {"transforms", std::move(steps)}};
}

TransformPtr make_transform(const Config& spec) {
  const auto name = spec.require<std::string>("name");
  TransformFactory factory;
  {
    auto& registry = transform_registry();
    const std::lock_guard lock(registry.mutex);
    const auto found = registry.entries.find(name);
    if (found == registry.entries.end()) {
      std::vector<std::string> known;
      for (const auto& [known_name, entry] : registry.entries) known.push_back(known_name);
      const auto hint = did_you_mean(name, known);
      throw ConfigError("unknown transform '" + name + "' in " + spec.source() +
                        (hint ? "; did you mean '" + *hint + "'?" : std::string()) + " Registered: " + join_names(known));
    }
    factory = found->second.factory;
  }
  TransformPtr transform = factory(spec);
  spec.expect_all_used();
  return transform;
}

TransformPtr make_transforms(const boost::json::array& specs, const std::string& source) {
  std::vector<TransformPtr> transforms;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const std::string where = source + "[" + std::to_string(i) + "]";
    if (!specs[i].is_object()) {
      throw ConfigError(where + ": expected an object like {\"name\": \"resize\", \"size\": 256}");
    }
    transforms.push_back(make_transform(Config(specs[i].as_object(), where)));
  }
  return std::make_shared<Compose>(std::move(transforms));
}

void register_transform(const std::string& name, TransformFactory factory, const std::string& description) {
  auto& registry = transform_registry();
  const std::lock_guard lock(registry.mutex);
  if (!factory) throw ConfigError("register_transform('" + name + "'): the factory is empty");
  if (!registry.entries.emplace(name, Registered{std::move(factory), description}).second) {
    throw ConfigError("transform name '" + name + "' is already registered; pick another name");
  }
}

std::vector<std::pair<std::string, std::string>> list_transforms() {
  auto& registry = transform_registry();
  const std::lock_guard lock(registry.mutex);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, entry] : registry.entries) out.emplace_back(name, entry.description);
  return out;
}

DataConfig DataConfig::from(const PretrainedCfg& cfg) {
  DataConfig config;
  config.input_size = cfg.input_size;
  config.interpolation = interpolation_from_name(cfg.interpolation);
  config.mean = cfg.mean;
  config.std = cfg.std;
  config.crop_pct = cfg.crop_pct;
  config.crop_mode = cfg.crop_mode;
  return config;
}

namespace transforms {

std::pair<double, double> range_option(const Config& options, std::string_view key, std::pair<double, double> fallback) {
  if (!options.contains(key)) return fallback;
  const auto values = options.require<std::vector<double>>(key);
  if (values.size() != 2 || values[0] > values[1]) {
    throw ConfigError(options.where(key) + " must be [low, high] with low <= high");
  }
  return {values[0], values[1]};
}

std::pair<int, int> size_option(const Config& options, std::string_view key) {
  const auto& raw = options.raw(key);
  std::vector<std::int64_t> values;
  if (raw.is_int64() || raw.is_uint64()) {
    values = {options.require<std::int64_t>(key)};
  } else if (raw.is_array()) {
    values = options.require<std::vector<std::int64_t>>(key);
  } else {
    throw ConfigError(options.where(key) + " must be a size: one integer or [height, width]");
  }
  if (values.empty() || values.size() > 2 ||
      std::any_of(values.begin(), values.end(), [](std::int64_t v) { return v <= 0 || v > 65536; })) {
    throw ConfigError(options.where(key) + " must be one positive integer or [height, width], each at most 65536");
  }
  const int height = static_cast<int>(values[0]);
  const int width = static_cast<int>(values.size() == 2 ? values[1] : values[0]);
  return {height, width};
}

double probability_option(const Config& options, std::string_view key, double fallback) {
  const double p = options.get(key, fallback);
  if (!(p >= 0.0 && p <= 1.0)) {
    throw ConfigError(options.where(key) + " must be within [0, 1], got " + std::to_string(p));
  }
  return p;
}

}  // namespace transforms

}  // namespace autotimm
