#include "autotimm/tasks/image_classifier.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "autotimm/backbones.hpp"
#include "autotimm/data/image_data_module.hpp"
#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/trainer/checkpoint.hpp"
#include "autotimm/tasks/mixup.hpp"
#include "task_setup.hpp"

namespace autotimm {

namespace {

// Mixup draws come from their own stream of the run's seed, apart from the data pipeline's.
constexpr std::uint64_t kMixupStream = 0x6d69787570ULL;

void check_options(const ImageClassifierOptions& o) {
  const auto fail = [](const std::string& what) { throw ConfigError("ImageClassifier: " + what); };
  if (o.backbone.empty()) fail("'backbone' is empty; name a backbone such as resnet18 (autotimm models --list)");
  if (o.num_classes < 0) fail("'num_classes' must be >= 0 (0: from the data), got " + std::to_string(o.num_classes));
  if (!(o.threshold > 0.0 && o.threshold < 1.0)) fail("'threshold' must be in (0, 1), got " + std::to_string(o.threshold));
  if (!(o.lr > 0.0)) fail("'lr' must be > 0, got " + std::to_string(o.lr));
  if (!(o.weight_decay >= 0.0)) fail("'weight_decay' must be >= 0, got " + std::to_string(o.weight_decay));
  if (!(o.mixup_alpha >= 0.0) || !(o.cutmix_alpha >= 0.0)) fail("'mixup_alpha' and 'cutmix_alpha' must be >= 0");
  if (!(o.mixup_prob >= 0.0 && o.mixup_prob <= 1.0) || !(o.mixup_switch_prob >= 0.0 && o.mixup_switch_prob <= 1.0)) {
    fail("'mixup_prob' and 'mixup_switch_prob' must be in [0, 1]");
  }
  if (o.multi_label && (o.mixup_alpha > 0.0 || o.cutmix_alpha > 0.0)) {
    fail("mixup and cutmix are for single-label classification; set mixup_alpha and cutmix_alpha to 0");
  }
  if (!o.class_names.empty() && o.num_classes != 0 && static_cast<std::int64_t>(o.class_names.size()) != o.num_classes) {
    fail("'class_names' has " + std::to_string(o.class_names.size()) + " names for num_classes " +
         std::to_string(o.num_classes));
  }
}

std::string loss_name(const ImageClassifierOptions& o) {
  if (!o.loss.empty()) return o.loss;
  return o.multi_label ? "bce" : "ce";
}

}  // namespace

Task::~Task() = default;

ImageClassifier::ImageClassifier(ImageClassifierOptions options, Registry* registry)
    : options_(std::move(options)), registry_(registry != nullptr ? registry : &autotimm::registry()) {
  check_options(options_);
  if (options_.num_classes == 0 && !options_.class_names.empty()) {
    options_.num_classes = static_cast<std::int64_t>(options_.class_names.size());
  }
  torch::manual_seed(options_.seed);  // initial weights are part of the run's reproducibility
  BackboneOptions backbone_options{.pretrained = options_.pretrained,
                                   .num_classes = 0,
                                   .drop_rate = options_.drop_rate,
                                   .drop_path_rate = options_.drop_path_rate,
                                   .model_args = options_.backbone_args};
  backbone_ = create_backbone(options_.backbone, backbone_options, registry_);
  register_module("backbone", backbone_);
  if (options_.freeze_backbone) {
    for (auto& parameter : backbone_->parameters()) parameter.set_requires_grad(false);
  }
  boost::json::object loss_json = options_.loss_options;
  if (options_.label_smoothing != 0.0) loss_json["label_smoothing"] = options_.label_smoothing;
  Config loss_args(loss_json, "options of loss '" + loss_name(options_) + "'");
  loss_ = registry_->losses().get(loss_name(options_)).factory(loss_args);
  loss_args.expect_all_used();
  if (options_.num_classes > 0) build_head();
}

void ImageClassifier::build_head() {
  boost::json::object head_json{{"in_features", backbone_->head_hidden_size()},
                                {"num_classes", options_.num_classes},
                                {"dropout", options_.head_dropout}};
  Config head_args(std::move(head_json), "options of head '" + options_.head + "'");
  head_ = registry_->heads().get(options_.head).factory(head_args);
  head_args.expect_all_used();
  register_module("head", head_);
  const MetricCollectionOptions metric_options{.num_classes = options_.num_classes,
                                               .multi_label = options_.multi_label,
                                               .threshold = options_.threshold};
  auto names = options_.metrics.empty() ? MetricCollection::default_names(options_.num_classes, options_.multi_label)
                                        : options_.metrics;
  for (const char* stage : {"train", "val", "test"}) {
    metrics_[stage] = std::make_unique<MetricCollection>(names, metric_options);
  }
}

void ImageClassifier::attach_data(DataModule& data) {
  const auto& names = data.class_names();
  const auto data_classes = static_cast<std::int64_t>(names.size());
  if (!head_) {
    if (data_classes == 0) throw ConfigError("ImageClassifier: the data has no classes and num_classes is 0");
    options_.num_classes = data_classes;
    build_head();
  } else if (data_classes != 0 && data_classes != options_.num_classes) {
    throw ConfigError("ImageClassifier: the data has " + std::to_string(data_classes) + " classes (" +
                      join_names(names) + "), the classifier was built for " + std::to_string(options_.num_classes) +
                      "; set num_classes to " + std::to_string(data_classes) + " (or 0 to take it from the data)");
  }
  if (!options_.class_names.empty() && options_.class_names != names && !names.empty()) {
    spdlog::warn("ImageClassifier: the data's class names ({}) differ from the model's ({}); the data's are used",
                 join_names(names), join_names(options_.class_names));
  }
  if (!names.empty()) options_.class_names = names;
  if (auto* image_data = dynamic_cast<ImageDataModule*>(&data); image_data && image_data->multi_label() != options_.multi_label) {
    throw ConfigError(std::string("ImageClassifier: the data is ") + (image_data->multi_label() ? "multi" : "single") +
                      "-label and the classifier " + (options_.multi_label ? "multi" : "single") +
                      "-label; set multi_label to " + (image_data->multi_label() ? "true" : "false"));
  }
  data_config_ = data.data_config();
}

torch::Tensor ImageClassifier::logits_of(const torch::Tensor& images) {
  if (!head_) {
    throw ConfigError("ImageClassifier: the number of classes is not known yet; set num_classes, or train it on data "
                      "first (AutoTrainer::fit sets it from the data)");
  }
  if (images.dim() != 4) {
    throw ConfigError("ImageClassifier: expected images [N, C, H, W], got " + c10::str(images.sizes()));
  }
  torch::Tensor features;
  if (options_.freeze_backbone) {
    torch::NoGradGuard no_grad;  // the frozen backbone needs no graph: only the head learns
    features = backbone_->forward(images);
  } else {
    features = backbone_->forward(images);
  }
  return head_->forward({features}).at(0);
}

torch::Tensor ImageClassifier::forward(const torch::Tensor& images) { return logits_of(images); }

LossOutput ImageClassifier::loss_of(const torch::Tensor& logits, const torch::Tensor& targets) {
  if (options_.multi_label && !(targets.dim() == 2 && targets.is_floating_point())) {
    throw ConfigError("ImageClassifier: multi_label is set but the targets are class indices " +
                      c10::str(targets.sizes()) + "; use MultiLabelImageDataModule data or set multi_label to false");
  }
  return loss_->forward({{"logits", logits}}, {{"labels", targets}});
}

StepOutput ImageClassifier::training_step(const Batch& batch, const StepContext& context) {
  torch::Tensor images = batch.images, targets = batch.targets;
  bool mixed = false;
  const MixupOptions mixup{.mixup_alpha = options_.mixup_alpha,
                           .cutmix_alpha = options_.cutmix_alpha,
                           .prob = options_.mixup_prob,
                           .switch_prob = options_.mixup_switch_prob,
                           .num_classes = options_.num_classes};
  if (mixup.enabled()) {
    SampleRng rng(options_.seed ^ kMixupStream, static_cast<std::uint64_t>(context.epoch),
                  static_cast<std::uint64_t>(context.batch_idx));
    auto mixed_batch = mix_batch(images, targets, mixup, rng);
    images = mixed_batch.images;
    targets = mixed_batch.targets;
    mixed = mixed_batch.mixed;
  }
  const torch::Tensor logits = logits_of(images);
  auto loss = loss_of(logits, targets);
  // Accuracy against a blend of two labels means little: mixed batches count toward the loss only.
  if (!mixed) metrics_.at("train")->update(logits.detach(), batch.targets);
  return {.loss = loss.total, .terms = std::move(loss.terms)};
}

StepOutput ImageClassifier::evaluation_step(const Batch& batch, std::string_view stage) {
  torch::NoGradGuard no_grad;
  const torch::Tensor logits = logits_of(batch.images);
  auto loss = loss_of(logits, batch.targets);
  metrics(stage).update(logits, batch.targets);
  return {.loss = loss.total, .terms = std::move(loss.terms)};
}

MetricCollection& ImageClassifier::metrics(std::string_view stage) {
  const auto it = metrics_.find(stage);
  if (it == metrics_.end()) {
    if (!head_) throw ConfigError("ImageClassifier: no metrics before the number of classes is known");
    throw ConfigError("ImageClassifier: unknown stage '" + std::string(stage) + "'; expected train, val or test");
  }
  return *it->second;
}

std::map<std::string, double> ImageClassifier::compute_metrics(std::string_view stage) {
  return metrics(stage).compute(stage);
}

void ImageClassifier::reset_metrics(std::string_view stage) { metrics(stage).reset(); }

void ImageClassifier::set_learning_rate(double lr) {
  options_.lr = tasks::checked_learning_rate("ImageClassifier", lr);
}

void ImageClassifier::sync_metrics(std::string_view stage, Collective& ranks) { metrics(stage).sync(ranks); }

ClassifierPrediction ImageClassifier::predict(const torch::Tensor& images) {
  const bool was_training = is_training();
  eval();
  ClassifierPrediction out;
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor logits = logits_of(images);
    if (options_.multi_label) {
      out.probabilities = torch::sigmoid(logits);
      out.labels = (out.probabilities > options_.threshold).to(torch::kLong);
    } else {
      out.probabilities = torch::softmax(logits, 1);
      out.labels = out.probabilities.argmax(1);
    }
  }
  if (was_training) train();
  return out;
}

std::map<std::string, torch::Tensor> ImageClassifier::predict_step(const Batch& batch) {
  auto out = predict(batch.images);
  return {{"probabilities", out.probabilities}, {"labels", out.labels}};
}

OptimizerSetup ImageClassifier::configure_optimizers(const SchedulerContext& context) {
  if (!head_) logits_of(torch::Tensor());  // throws the "number of classes" message
  return tasks::make_optimizer_setup(*this, tasks::optimizer_choice(options_), context);
}

boost::json::object ImageClassifier::hparams() const { return options_.to_json(); }

std::shared_ptr<ImageClassifier> ImageClassifier::load_from_checkpoint(const std::filesystem::path& path,
                                                                       const boost::json::object& overrides,
                                                                       Registry* registry) {
  return tasks::load_task_checkpoint<ImageClassifier, ImageClassifierOptions>(path, "ImageClassifier", overrides,
                                                                              registry);
}

}  // namespace autotimm
