#pragma once
// ObjectDetector: FCOS (anchor-free, one stage) on any backbone with a feature pyramid, trained by AutoTrainer —
// AutoTimm's ObjectDetector in C++.
//
//   autotimm::ObjectDetector model({.backbone = "resnet50", .num_classes = 80});
//   auto found = model.predict(images);          // per image: boxes (x1, y1, x2, y2 input pixels), scores, labels
//   autotimm::AutoTrainer({.max_epochs = 12}).fit(model, data);   // data: a DetectionDataModule
//
// Backbone C3–C5 → "fpn" neck (P3–P7) → "fcos" head (shared towers, per-level scales, centerness), trained with the
// "fcos" loss (focal + GIoU + centerness BCE, normalised by positives averaged over ranks). Neck, head and loss come
// from the registry by name. Validation computes COCO mAP on boxes mapped back to the original images.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "autotimm/backbone.hpp"
#include "autotimm/config.hpp"
#include "autotimm/export.hpp"
#include "autotimm/head.hpp"
#include "autotimm/loss.hpp"
#include "autotimm/metrics/coco_metric.hpp"
#include "autotimm/tasks/fcos.hpp"
#include "autotimm/tasks/task.hpp"

namespace autotimm {

class Registry;

struct ObjectDetectorOptions {
  std::string backbone = "resnet50";            ///< a timm name, arch.tag, hf-hub:org/name or a timm Hub folder
  std::int64_t num_classes = 0;                 ///< 0: taken from the data when training starts
  std::string detection_arch = "fcos";          ///< the only one so far
  std::int64_t fpn_channels = 256;
  std::int64_t head_num_convs = 4;
  std::vector<double> strides = {8, 16, 32, 64, 128};  ///< pyramid levels: the backbone's, then extra (P6, P7)
  std::vector<std::pair<double, double>> regress_ranges = {};  ///< empty: FCOS's defaults
  double center_sampling_radius = 1.5;
  double focal_alpha = 0.25;
  double focal_gamma = 2.0;
  double cls_loss_weight = 1.0;
  double box_loss_weight = 1.0;
  double centerness_loss_weight = 1.0;
  double score_thresh = 0.05;
  double nms_thresh = 0.6;
  std::int64_t max_detections_per_image = 100;
  std::int64_t pre_nms_top_k = 1000;            ///< candidates kept per level before NMS
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
  std::string neck = "fpn";                     ///< head entries in the registry
  std::string head = "fcos";
  std::string loss = "fcos";                    ///< loss entry
  std::vector<std::string> class_names = {};

  static AUTOTIMM_API ObjectDetectorOptions from(const Config& config);
  AUTOTIMM_API boost::json::object to_json() const;
};

/// The detections of one image.
struct DetectionResult {
  torch::Tensor boxes;   ///< [K, 4] float32 x1, y1, x2, y2
  torch::Tensor scores;  ///< [K] float32, best first
  torch::Tensor labels;  ///< [K] int64
};

class AUTOTIMM_API ObjectDetector : public Task {
 public:
  explicit ObjectDetector(ObjectDetectorOptions options, Registry* registry = nullptr);

  static std::shared_ptr<ObjectDetector> load_from_checkpoint(const std::filesystem::path& path,
                                                              const boost::json::object& overrides = {},
                                                              Registry* registry = nullptr);

  /// The head's per-level outputs for images [N, 3, H, W]: [cls_0, box_0, ctr_0, cls_1, ...].
  std::vector<torch::Tensor> forward(const torch::Tensor& images);
  /// forward in two steps: the neck's pyramid (one map per stride), then the head's outputs on it.
  std::vector<torch::Tensor> pyramid(const torch::Tensor& images);
  std::vector<torch::Tensor> head_outputs(const std::vector<torch::Tensor>& pyramid);
  /// Detections per image in input pixels, in eval mode without gradients (the mode is restored).
  std::vector<DetectionResult> predict(const torch::Tensor& images);

  std::string task_name() const override { return "ObjectDetector"; }
  void attach_data(DataModule& data) override;
  StepOutput training_step(const Batch& batch, const StepContext& context) override;
  StepOutput evaluation_step(const Batch& batch, std::string_view stage) override;
  std::map<std::string, double> compute_metrics(std::string_view stage) override;
  void reset_metrics(std::string_view stage) override;
  void sync_metrics(std::string_view stage, Collective& ranks) override;
  /// "boxes" [B, K, 4] (original-image pixels when the batch says where its images came from), "scores" [B, K],
  /// "labels" [B, K] (-1 padding), "counts" [B]: detections per image; K = max_detections_per_image.
  std::map<std::string, torch::Tensor> predict_step(const Batch& batch) override;
  double learning_rate() const override { return options_.lr; }
  void set_learning_rate(double lr) override;
  OptimizerSetup configure_optimizers(const SchedulerContext& context) override;
  boost::json::object hparams() const override { return options_.to_json(); }
  std::optional<DataConfig> data_config() const override { return data_config_; }
  void set_data_config(const DataConfig& config) { data_config_ = config; }

  const ObjectDetectorOptions& options() const noexcept { return options_; }
  const std::vector<std::string>& class_names() const noexcept { return options_.class_names; }
  std::int64_t num_classes() const noexcept { return options_.num_classes; }
  const std::shared_ptr<Backbone>& backbone() const noexcept { return backbone_; }
  /// The pyramid levels of an input of height × width.
  std::vector<fcos::Level> levels_for(const std::vector<torch::Tensor>& head_outputs) const;

 protected:
  /// The FCOS loss of the head's outputs; `ranks` averages the positives over a distributed run.
  LossOutput loss_of(const std::vector<torch::Tensor>& outputs, const Batch& batch, Collective* ranks);
  /// Detections per image, in input pixels.
  std::vector<fcos::Detections> detect(const std::vector<torch::Tensor>& outputs, const torch::Tensor& images) const;
  /// Detections per image (original pixels) padded to max_detections_per_image: predict_step's tensors.
  std::map<std::string, torch::Tensor> padded_detections(const std::vector<DetectionResult>& found) const;
  Registry& registry() const noexcept { return *registry_; }
  bool has_head() const noexcept { return head_ != nullptr; }

 private:
  void build_head();

  ObjectDetectorOptions options_;
  Registry* registry_;
  std::shared_ptr<Backbone> backbone_;
  std::vector<std::int64_t> feature_indices_;  ///< backbone stages giving the first pyramid levels
  std::shared_ptr<Head> neck_;
  std::shared_ptr<Head> head_;
  std::shared_ptr<Loss> loss_;
  std::map<std::string, std::unique_ptr<CocoMetric>, std::less<>> metrics_;
  std::optional<DataConfig> data_config_;
};

/// Boxes [K, 4] of a batch's input pixels in image `index`'s original pixels (float64, not clipped); unchanged
/// when the batch has no input_maps.
AUTOTIMM_API torch::Tensor boxes_to_original(const torch::Tensor& boxes, const Batch& batch, std::int64_t index);
/// Detections of a batch mapped back to its original images through batch.input_maps, clipped to orig_sizes.
AUTOTIMM_API DetectionResult to_original_image(const DetectionResult& detections, const Batch& batch,
                                               std::int64_t index);

/// Image `index`'s annotated objects in its original pixels, as COCO evaluation takes them.
AUTOTIMM_API std::vector<DetectionGroundTruth> original_ground_truths(const Batch& batch, std::int64_t index);
/// Detections (already in original pixels) as COCO evaluation takes them.
AUTOTIMM_API std::vector<Detection> coco_detections(const DetectionResult& detections);

}  // namespace autotimm
