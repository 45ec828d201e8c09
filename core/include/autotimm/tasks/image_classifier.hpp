#pragma once
// ImageClassifier: a timm backbone, a classification head and a loss, trained by AutoTrainer — AutoTimm's
// ImageClassifier in C++.
//
//   autotimm::ImageClassifier model({.backbone = "resnet18", .num_classes = 10, .pretrained = false});
//   auto logits = model.forward(images);                 // [N, 10]
//   auto out = model.predict(images);                    // probabilities [N, 10], labels [N]
//   auto restored = autotimm::ImageClassifier::load_from_checkpoint("logs/version_0/checkpoints/last.ckpt");
//
// Single-label: softmax cross-entropy ("ce") with label smoothing; multi-label: binary cross-entropy on logits
// ("bce") and a probability threshold. The head and the loss come from the registry (plugins), by name.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "autotimm/backbone.hpp"
#include "autotimm/config.hpp"
#include "autotimm/export.hpp"
#include "autotimm/head.hpp"
#include "autotimm/loss.hpp"
#include "autotimm/metrics/metric_collection.hpp"
#include "autotimm/tasks/task.hpp"

namespace autotimm {

class Registry;

struct ImageClassifierOptions {
  std::string backbone = "resnet18";          ///< a timm name, arch.tag, hf-hub:org/name or a timm Hub folder
  std::int64_t num_classes = 0;               ///< 0: taken from the data when training starts
  bool multi_label = false;
  double threshold = 0.5;                     ///< multi-label: a label is predicted above this probability
  std::string loss = "";                      ///< "" = "ce", or "bce" when multi_label
  double label_smoothing = 0.0;
  double head_dropout = 0.0;
  bool freeze_backbone = false;               ///< train the head only
  double mixup_alpha = 0.0;                   ///< > 0: mixup with lambda ~ Beta(alpha, alpha)
  double cutmix_alpha = 0.0;                  ///< > 0: cutmix with lambda ~ Beta(alpha, alpha)
  double mixup_prob = 1.0;                    ///< probability that a batch is mixed at all
  double mixup_switch_prob = 0.5;             ///< with both alphas: probability of cutmix over mixup
  std::string optimizer = "adamw";
  double lr = 1e-3;
  double weight_decay = 1e-4;
  boost::json::object optimizer_options = {}; ///< more make_optimizer keywords (momentum, betas, ...)
  std::string scheduler = "cosine";
  boost::json::object scheduler_options = {}; ///< make_scheduler keywords (interval, warmup_epochs, eta_min, ...)
  std::vector<std::string> metrics = {};      ///< MetricCollection names; empty = its defaults
  std::uint64_t seed = 42;                    ///< initial weights of head (and backbone from scratch), mixup draws
  bool pretrained = true;                     ///< load the backbone's pretrained weights (as AutoTimm does)
  std::optional<double> drop_rate = {};
  std::optional<double> drop_path_rate = {};
  boost::json::object backbone_args = {};     ///< family model_args
  std::string head = "classification";        ///< head entry in the registry
  boost::json::object loss_options = {};      ///< more options of the loss (weight, pos_weight, ...)
  std::vector<std::string> class_names = {};  ///< filled from the data (or the checkpoint)

  /// From a config object (the keys above); ConfigError for wrong types, unknown keys left to expect_all_used().
  static AUTOTIMM_API ImageClassifierOptions from(const Config& config);
  /// The inverse of from(): every field.
  AUTOTIMM_API boost::json::object to_json() const;
};

/// What predict returns.
struct ClassifierPrediction {
  torch::Tensor probabilities;  ///< [N, C] softmax (single-label) or sigmoid (multi-label)
  torch::Tensor labels;         ///< [N] argmax, or [N, C] 0/1 at the threshold (multi-label)
};

class AUTOTIMM_API ImageClassifier : public Task {
 public:
  /// Builds the backbone (headless), head and loss. With num_classes = 0 the head is built by attach_data.
  explicit ImageClassifier(ImageClassifierOptions options, Registry* registry = nullptr);

  /// A trained classifier from a checkpoint alone: options, class names, preprocessing and weights are in it.
  /// `overrides` replaces options (e.g. {"lr": 1e-4} to fine-tune further); the backbone is never re-downloaded.
  static std::shared_ptr<ImageClassifier> load_from_checkpoint(const std::filesystem::path& path,
                                                               const boost::json::object& overrides = {},
                                                               Registry* registry = nullptr);

  /// Logits [N, num_classes] of images [N, 3, H, W].
  torch::Tensor forward(const torch::Tensor& images);
  /// Probabilities and labels, in eval mode and without gradients (the mode is restored afterwards).
  ClassifierPrediction predict(const torch::Tensor& images);

  std::string task_name() const override { return "ImageClassifier"; }
  void attach_data(DataModule& data) override;
  StepOutput training_step(const Batch& batch, const StepContext& context) override;
  StepOutput evaluation_step(const Batch& batch, std::string_view stage) override;
  std::map<std::string, double> compute_metrics(std::string_view stage) override;
  void reset_metrics(std::string_view stage) override;
  void sync_metrics(std::string_view stage, Collective& ranks) override;
  double learning_rate() const override { return options_.lr; }
  void set_learning_rate(double lr) override;
  std::map<std::string, torch::Tensor> predict_step(const Batch& batch) override;
  OptimizerSetup configure_optimizers(const SchedulerContext& context) override;
  boost::json::object hparams() const override;
  std::optional<DataConfig> data_config() const override { return data_config_; }

  const ImageClassifierOptions& options() const noexcept { return options_; }
  const std::vector<std::string>& class_names() const noexcept { return options_.class_names; }
  std::int64_t num_classes() const noexcept { return options_.num_classes; }
  const std::shared_ptr<Backbone>& backbone() const noexcept { return backbone_; }
  const std::shared_ptr<Head>& head() const noexcept { return head_; }
  /// The metrics of a stage, for tensors such as the confusion matrix.
  MetricCollection& metrics(std::string_view stage);
  void set_data_config(const DataConfig& config) { data_config_ = config; }

 private:
  void build_head();
  torch::Tensor logits_of(const torch::Tensor& images);
  LossOutput loss_of(const torch::Tensor& logits, const torch::Tensor& targets);

  ImageClassifierOptions options_;
  Registry* registry_;
  std::shared_ptr<Backbone> backbone_;
  std::shared_ptr<Head> head_;
  std::shared_ptr<Loss> loss_;
  std::map<std::string, std::unique_ptr<MetricCollection>, std::less<>> metrics_;
  std::optional<DataConfig> data_config_;
};

}  // namespace autotimm
