#pragma once
// SemanticSegmentor: a class per pixel from any backbone with a feature pyramid, trained by AutoTrainer — AutoTimm's
// SemanticSegmentor in C++.
//
//   autotimm::SemanticSegmentor model({.backbone = "resnet50", .num_classes = 21, .head_type = "deeplabv3plus"});
//   auto logits = model.forward(images);        // [N, C, H, W] at the input's resolution
//   auto labels = model.predict(images);        // [N, H, W] class indices
//
// Heads and losses are plugins looked up by name: "deeplabv3plus" (ASPP on the deepest map, decoder with the stride-4
// map) or "fcn" (on the deepest map); losses "combined" (CE + Dice), "ce", "dice", "focal", "tversky". Logits are
// upsampled to the input size before the loss, the argmax and the metrics: predictions are always full resolution.
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
#include "autotimm/metrics/segmentation_metrics.hpp"
#include "autotimm/tasks/task.hpp"

namespace autotimm {

class Registry;

struct SemanticSegmentorOptions {
  std::string backbone = "resnet50";
  std::int64_t num_classes = 0;                 ///< 0: taken from the data when training starts
  std::string head_type = "deeplabv3plus";      ///< a head entry: deeplabv3plus, fcn, or a plugin's
  boost::json::object head_options = {};        ///< more options of the head (aspp_rates, dropout, channels, ...)
  std::string loss = "combined";                ///< combined (CE + Dice), ce, dice, focal, tversky (the plugin's
                                                ///< segmentation_<name> entries), or any registered loss
  double ce_weight = 1.0;                       ///< combined: the weights of its two terms
  double dice_weight = 1.0;
  std::int64_t ignore_index = 255;              ///< label of pixels no loss or metric counts
  std::vector<double> class_weights = {};       ///< per class, for the losses that take them
  boost::json::object loss_options = {};        ///< more options of the loss (gamma, alpha, beta, smooth, ...)
  bool freeze_backbone = false;
  std::string optimizer = "adamw";
  double lr = 1e-4;
  double weight_decay = 1e-4;
  boost::json::object optimizer_options = {};
  std::string scheduler = "cosine";
  boost::json::object scheduler_options = {};
  std::uint64_t seed = 42;
  bool pretrained = true;
  std::optional<double> drop_path_rate = {};
  boost::json::object backbone_args = {};
  std::vector<std::string> class_names = {};

  static AUTOTIMM_API SemanticSegmentorOptions from(const Config& config);
  AUTOTIMM_API boost::json::object to_json() const;
};

struct SlidingWindowOptions {
  std::int64_t window = 512;  ///< square window, the training size
  std::int64_t stride = 341;  ///< step between windows (2/3 of the window: overlaps are averaged)
};

class AUTOTIMM_API SemanticSegmentor : public Task {
 public:
  explicit SemanticSegmentor(SemanticSegmentorOptions options, Registry* registry = nullptr);

  static std::shared_ptr<SemanticSegmentor> load_from_checkpoint(const std::filesystem::path& path,
                                                                 const boost::json::object& overrides = {},
                                                                 Registry* registry = nullptr);

  /// Class logits [N, C, H, W] at the input's resolution.
  torch::Tensor forward(const torch::Tensor& images);
  /// Class indices [N, H, W], in eval mode without gradients (the mode is restored).
  torch::Tensor predict(const torch::Tensor& images);
  /// Class probabilities [N, C, H, W] of images of any size, windows of options.window slid by options.stride
  /// (padded where the image is smaller than a window) with the overlaps averaged.
  torch::Tensor predict_sliding(const torch::Tensor& images, const SlidingWindowOptions& options);

  std::string task_name() const override { return "SemanticSegmentor"; }
  void attach_data(DataModule& data) override;
  StepOutput training_step(const Batch& batch, const StepContext& context) override;
  StepOutput evaluation_step(const Batch& batch, std::string_view stage) override;
  std::map<std::string, double> compute_metrics(std::string_view stage) override;
  void reset_metrics(std::string_view stage) override;
  void sync_metrics(std::string_view stage, Collective& ranks) override;
  /// "labels" [B, H, W] class indices at the batch's input resolution.
  std::map<std::string, torch::Tensor> predict_step(const Batch& batch) override;
  double learning_rate() const override { return options_.lr; }
  void set_learning_rate(double lr) override;
  OptimizerSetup configure_optimizers(const SchedulerContext& context) override;
  boost::json::object hparams() const override { return options_.to_json(); }
  std::optional<DataConfig> data_config() const override { return data_config_; }
  void set_data_config(const DataConfig& config) { data_config_ = config; }

  const SemanticSegmentorOptions& options() const noexcept { return options_; }
  const std::vector<std::string>& class_names() const noexcept { return options_.class_names; }
  std::int64_t num_classes() const noexcept { return options_.num_classes; }
  const std::shared_ptr<Backbone>& backbone() const noexcept { return backbone_; }
  /// The metrics of a stage (val, test), for the confusion matrix.
  SegmentationMetrics& metrics(std::string_view stage);

 private:
  void build_head();
  LossOutput loss_of(const torch::Tensor& logits, const torch::Tensor& labels);

  SemanticSegmentorOptions options_;
  Registry* registry_;
  std::shared_ptr<Backbone> backbone_;
  std::vector<std::int64_t> feature_indices_;  ///< the maps the head takes, in its order
  std::vector<std::int64_t> feature_channels_;
  std::shared_ptr<Head> head_;
  std::shared_ptr<Loss> loss_;
  std::map<std::string, std::unique_ptr<SegmentationMetrics>, std::less<>> metrics_;
  std::optional<DataConfig> data_config_;
};

/// Label maps of a batch taken back to each original image: the letterbox padding cut off, the class probabilities
/// resized (bilinear) to the original size, then the argmax. One [H_i, W_i] int64 map per image.
AUTOTIMM_API std::vector<torch::Tensor> to_original_label_maps(const torch::Tensor& logits, const Batch& batch);

}  // namespace autotimm
