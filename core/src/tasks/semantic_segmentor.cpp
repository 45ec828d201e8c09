#include "autotimm/tasks/semantic_segmentor.hpp"

#include <boost/json.hpp>

#include "autotimm/data/segmentation_data_module.hpp"
#include "autotimm/error.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/state_dict.hpp"
#include "task_setup.hpp"

namespace autotimm {

namespace {

void check_options(const SemanticSegmentorOptions& o) {
  const auto fail = [](const std::string& what) { throw ConfigError("SemanticSegmentor: " + what); };
  if (o.backbone.empty()) fail("'backbone' is empty; name a backbone such as resnet50 (autotimm models --list)");
  if (o.head_type.empty()) fail("'head_type' is empty; choose deeplabv3plus or fcn");
  if (o.num_classes < 0) fail("'num_classes' must be >= 0 (0: from the data), got " + std::to_string(o.num_classes));
  if (o.num_classes > 255) fail("'num_classes' must be at most 255 (label maps are 8-bit), got " + std::to_string(o.num_classes));
  if (o.ignore_index < 0 || o.ignore_index > 255) {
    fail("'ignore_index' must be within 0..255 (label maps are 8-bit), got " + std::to_string(o.ignore_index));
  }
  if (o.num_classes > o.ignore_index) {
    fail("'ignore_index' " + std::to_string(o.ignore_index) + " is a class index (num_classes " +
         std::to_string(o.num_classes) + "); use a value of num_classes or above, such as 255");
  }
  if (!(o.ce_weight >= 0.0) || !(o.dice_weight >= 0.0)) fail("'ce_weight' and 'dice_weight' must be >= 0");
  if (!o.class_weights.empty() && o.num_classes != 0 &&
      static_cast<std::int64_t>(o.class_weights.size()) != o.num_classes) {
    fail("'class_weights' has " + std::to_string(o.class_weights.size()) + " values for num_classes " +
         std::to_string(o.num_classes));
  }
  if (!(o.lr > 0.0)) fail("'lr' must be > 0, got " + std::to_string(o.lr));
  if (!(o.weight_decay >= 0.0)) fail("'weight_decay' must be >= 0, got " + std::to_string(o.weight_decay));
  if (!o.class_names.empty() && o.num_classes != 0 && static_cast<std::int64_t>(o.class_names.size()) != o.num_classes) {
    fail("'class_names' has " + std::to_string(o.class_names.size()) + " names for num_classes " +
         std::to_string(o.num_classes));
  }
}

torch::Tensor upsample_to(const torch::Tensor& logits, std::int64_t height, std::int64_t width) {
  if (logits.size(2) == height && logits.size(3) == width) return logits;
  namespace F = torch::nn::functional;
  return F::interpolate(logits, F::InterpolateFuncOptions()
                                    .size(std::vector<std::int64_t>{height, width})
                                    .mode(torch::kBilinear)
                                    .align_corners(false));
}

/// The registry entry of a loss option: the task's short names are the segmentation plugin's losses (whose
/// registry names carry a prefix, as "ce" alone is the classification loss); any other name is taken as it is.
std::string loss_entry(const std::string& loss) {
  for (const char* name : {"combined", "ce", "dice", "focal", "tversky"}) {
    if (loss == name) return "segmentation_" + loss;
  }
  return loss;
}

void expect_label_maps(const Batch& batch) {
  if (!batch.targets.defined() || batch.targets.dim() != 3) {
    throw ConfigError("SemanticSegmentor: the batch has no label maps [B, H, W]; train it on segmentation data "
                      "(SegmentationDataModule)");
  }
}

}  // namespace

SemanticSegmentor::SemanticSegmentor(SemanticSegmentorOptions options, Registry* registry)
    : options_(std::move(options)), registry_(registry != nullptr ? registry : &autotimm::registry()) {
  check_options(options_);
  if (options_.num_classes == 0 && !options_.class_names.empty()) {
    options_.num_classes = static_cast<std::int64_t>(options_.class_names.size());
  }
  torch::manual_seed(options_.seed);
  backbone_ = register_module("backbone", tasks::make_task_backbone(options_, registry_));
  // DeepLabV3+ takes the stride-4 map and the deepest; FCN the deepest; another head every stage.
  const auto& info = backbone_->feature_info();
  const auto last = static_cast<std::int64_t>(info.size()) - 1;
  if (options_.head_type == "fcn") {
    feature_indices_ = {last};
  } else if (options_.head_type == "deeplabv3plus") {
    const auto low = std::find_if(info.begin(), info.end(), [](const FeatureInfo& f) { return f.reduction >= 4; });
    if (low == info.end() || low - info.begin() == last) {
      throw ConfigError("SemanticSegmentor: deeplabv3plus needs a backbone with a stride-4 stage and a deeper one; '" +
                        options_.backbone + "' has " + std::to_string(info.size()) +
                        " stage(s); use head_type fcn, or a backbone with a feature pyramid");
    }
    feature_indices_ = {low - info.begin(), last};
  } else {
    for (std::int64_t i = 0; i <= last; ++i) feature_indices_.push_back(i);
  }
  for (const auto index : feature_indices_) feature_channels_.push_back(info[static_cast<std::size_t>(index)].num_chs);
  boost::json::object loss_json = options_.loss_options;
  loss_json["ignore_index"] = options_.ignore_index;
  if (!options_.class_weights.empty()) {
    loss_json["class_weights"] = boost::json::array(options_.class_weights.begin(), options_.class_weights.end());
  }
  if (options_.loss == "combined") {
    loss_json["ce_weight"] = options_.ce_weight;
    loss_json["dice_weight"] = options_.dice_weight;
  }
  Config loss_args(std::move(loss_json), "options of loss '" + loss_entry(options_.loss) + "'");
  loss_ = registry_->losses().get(loss_entry(options_.loss)).factory(loss_args);
  loss_args.expect_all_used();
  if (options_.num_classes > 0) build_head();
}

void SemanticSegmentor::build_head() {
  boost::json::object head_json = options_.head_options;
  if (feature_channels_.size() == 1) {
    head_json["in_channels"] = feature_channels_.front();
  } else {
    head_json["in_channels"] = boost::json::array(feature_channels_.begin(), feature_channels_.end());
  }
  head_json["num_classes"] = options_.num_classes;
  Config head_args(std::move(head_json), "options of head '" + options_.head_type + "'");
  head_ = registry_->heads().get(options_.head_type).factory(head_args);
  head_args.expect_all_used();
  register_module("head", head_);
  const auto names = tasks::names_or_indices(options_.class_names, options_.num_classes);
  for (const char* stage : {"val", "test"}) {
    metrics_[stage] = std::make_unique<SegmentationMetrics>(names, options_.ignore_index);
  }
}

void SemanticSegmentor::attach_data(DataModule& data) {
  switch (tasks::adopt_data_classes("SemanticSegmentor", data.class_names(), head_ != nullptr, options_.num_classes,
                                    options_.class_names)) {
    case tasks::DataClasses::build_head:
      check_options(options_);  // the data's class count against ignore_index and class_weights
      build_head();
      break;
    case tasks::DataClasses::renamed:
      for (auto& [stage, metric] : metrics_) {
        metric = std::make_unique<SegmentationMetrics>(options_.class_names, options_.ignore_index);
      }
      break;
    case tasks::DataClasses::unchanged: break;
  }
  if (auto* segmentation_data = dynamic_cast<SegmentationDataModule*>(&data)) {
    if (segmentation_data->ignore_index() != options_.ignore_index) {
      throw ConfigError("SemanticSegmentor: the data marks unlabelled pixels with " +
                        std::to_string(segmentation_data->ignore_index()) + ", the model ignores " +
                        std::to_string(options_.ignore_index) + "; set the same ignore_index on both");
    }
    const auto& cfg = backbone_->pretrained_cfg();
    segmentation_data->set_normalization(cfg.mean, cfg.std);
  }
  data_config_ = data.data_config();
}

torch::Tensor SemanticSegmentor::forward(const torch::Tensor& images) {
  if (!head_) {
    throw ConfigError("SemanticSegmentor: the number of classes is not known yet; set num_classes, or train it on "
                      "data first (AutoTrainer::fit sets it from the data)");
  }
  if (images.dim() != 4) {
    throw ConfigError("SemanticSegmentor: expected images [N, C, H, W], got " + c10::str(images.sizes()));
  }
  const auto maps = tasks::backbone_maps(*backbone_, images, feature_indices_, options_.freeze_backbone);
  return upsample_to(head_->forward(maps).at(0), images.size(2), images.size(3));
}

LossOutput SemanticSegmentor::loss_of(const torch::Tensor& logits, const torch::Tensor& labels) {
  return loss_->forward({{"logits", logits.to(torch::kFloat32)}}, {{"labels", labels}});
}

StepOutput SemanticSegmentor::training_step(const Batch& batch, const StepContext& context) {
  (void)context;
  expect_label_maps(batch);
  auto loss = loss_of(forward(batch.images), batch.targets);
  return {.loss = loss.total, .terms = std::move(loss.terms)};
}

StepOutput SemanticSegmentor::evaluation_step(const Batch& batch, std::string_view stage) {
  torch::NoGradGuard no_grad;
  expect_label_maps(batch);
  const auto logits = forward(batch.images);
  auto loss = loss_of(logits, batch.targets);
  metrics(stage).update(logits.argmax(1), batch.targets);
  return {.loss = loss.total, .terms = std::move(loss.terms)};
}

SegmentationMetrics& SemanticSegmentor::metrics(std::string_view stage) {
  const auto it = metrics_.find(stage);
  if (it == metrics_.end()) {
    if (!head_) throw ConfigError("SemanticSegmentor: no metrics before the number of classes is known");
    throw ConfigError("SemanticSegmentor: unknown evaluation stage '" + std::string(stage) + "'; expected val or test");
  }
  return *it->second;
}

std::map<std::string, double> SemanticSegmentor::compute_metrics(std::string_view stage) {
  const auto it = metrics_.find(stage);
  if (it == metrics_.end()) return {};  // training logs its loss terms only
  return it->second->compute(stage);
}

void SemanticSegmentor::reset_metrics(std::string_view stage) {
  if (const auto it = metrics_.find(stage); it != metrics_.end()) it->second->reset();
}

void SemanticSegmentor::sync_metrics(std::string_view stage, Collective& ranks) {
  if (const auto it = metrics_.find(stage); it != metrics_.end()) it->second->sync(ranks);
}

torch::Tensor SemanticSegmentor::predict(const torch::Tensor& images) {
  const bool was_training = is_training();
  eval();
  torch::Tensor labels;
  {
    torch::NoGradGuard no_grad;
    labels = forward(images).argmax(1);
  }
  if (was_training) train();
  return labels;
}

torch::Tensor SemanticSegmentor::predict_sliding(const torch::Tensor& images, const SlidingWindowOptions& options) {
  if (options.window < 1 || options.stride < 1 || options.stride > options.window) {
    throw ConfigError("SemanticSegmentor: the sliding window needs 1 <= stride <= window, got window " +
                      std::to_string(options.window) + " and stride " + std::to_string(options.stride));
  }
  const bool was_training = is_training();
  eval();
  torch::NoGradGuard no_grad;
  const auto height = images.size(2), width = images.size(3);
  // Windows from the top left every stride, the last flush with the far edge; an image smaller than a window is
  // padded (zeros: the normalised mean) and the padding cut off again.
  const auto starts = [&](std::int64_t extent) {
    std::vector<std::int64_t> out;
    if (extent <= options.window) return std::vector<std::int64_t>{0};
    for (std::int64_t s = 0;; s += options.stride) {
      if (s + options.window >= extent) {
        out.push_back(extent - options.window);
        break;
      }
      out.push_back(s);
    }
    return out;
  };
  auto sums = torch::zeros({images.size(0), options_.num_classes, height, width}, images.options().dtype(torch::kFloat32));
  auto counts = torch::zeros({1, 1, height, width}, sums.options());
  for (const auto y : starts(height)) {
    for (const auto x : starts(width)) {
      const auto h = std::min(options.window, height - y), w = std::min(options.window, width - x);
      auto tile = images.narrow(2, y, h).narrow(3, x, w);
      if (h < options.window || w < options.window) {
        tile = torch::constant_pad_nd(tile, {0, options.window - w, 0, options.window - h}, 0.0);
      }
      const auto probabilities = torch::softmax(forward(tile).to(torch::kFloat32), 1).narrow(2, 0, h).narrow(3, 0, w);
      sums.narrow(2, y, h).narrow(3, x, w).add_(probabilities);
      counts.narrow(2, y, h).narrow(3, x, w).add_(1.0);
    }
  }
  if (was_training) train();
  return sums / counts;
}

std::map<std::string, torch::Tensor> SemanticSegmentor::predict_step(const Batch& batch) {
  return {{"labels", predict(batch.images)}};
}

std::vector<torch::Tensor> to_original_label_maps(const torch::Tensor& logits, const Batch& batch) {
  std::vector<torch::Tensor> out;
  for (std::int64_t i = 0; i < logits.size(0); ++i) {
    auto image_logits = logits[i].unsqueeze(0).to(torch::kFloat32);
    if (batch.input_maps.defined() && batch.orig_sizes.defined()) {
      // input = scale · original + offset: the original image is the input's region [offset, offset + scale · size).
      const auto map = batch.input_maps[i];
      const auto original_height = batch.orig_sizes[i][0].item<std::int64_t>();
      const auto original_width = batch.orig_sizes[i][1].item<std::int64_t>();
      const auto region = [&](double scale, double offset, std::int64_t size, std::int64_t limit) {
        const auto begin = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::lround(offset)), 0, limit - 1);
        const auto end = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::lround(offset + scale * size)),
                                                  begin + 1, limit);
        return std::pair{begin, end - begin};
      };
      const auto [y, h] = region(map[2].item<double>(), map[3].item<double>(), original_height, image_logits.size(2));
      const auto [x, w] = region(map[0].item<double>(), map[1].item<double>(), original_width, image_logits.size(3));
      image_logits = upsample_to(image_logits.narrow(2, y, h).narrow(3, x, w), original_height, original_width);
    }
    out.push_back(image_logits.argmax(1).squeeze(0));
  }
  return out;
}

void SemanticSegmentor::set_learning_rate(double lr) {
  options_.lr = tasks::checked_learning_rate("SemanticSegmentor", lr);
}

OptimizerSetup SemanticSegmentor::configure_optimizers(const SchedulerContext& context) {
  if (!head_) forward(torch::Tensor());  // throws the "number of classes" message
  return tasks::make_optimizer_setup(*this, tasks::optimizer_choice(options_), context);
}

std::shared_ptr<SemanticSegmentor> SemanticSegmentor::load_from_checkpoint(const std::filesystem::path& path,
                                                                           const boost::json::object& overrides,
                                                                           Registry* registry) {
  return tasks::load_task_checkpoint<SemanticSegmentor, SemanticSegmentorOptions>(path, "SemanticSegmentor",
                                                                                  overrides, registry);
}

}  // namespace autotimm
