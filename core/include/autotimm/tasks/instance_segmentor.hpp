#pragma once
// InstanceSegmentor: the FCOS ObjectDetector plus a Mask R-CNN mask branch — each detected box gets a mask from
// RoIAlign features of the pyramid level that matches its size — trained by AutoTrainer. AutoTimm's
// InstanceSegmentor in C++.
//
//   autotimm::InstanceSegmentor model({.detector = {.backbone = "resnet50", .num_classes = 80}, .mask_size = 28});
//   auto found = model.predict(images);   // per image: boxes, scores, labels, masks [K, H, W] (input pixels)
//   autotimm::AutoTrainer({.max_epochs = 12}).fit(model, data);   // data: an InstanceSegmentationDataModule
//
// Training adds to the detector's loss the "mask_bce" loss of the "mask_rcnn" head on positive proposals: the
// objects' own boxes and the detector's boxes that overlap an object by mask_proposal_iou, each with its object's
// mask cropped to the box and resized to mask_size. Validation logs COCO box mAP (`val/map`, …) and mask mAP
// (`val/mask_map`, `val/mask_map_50`, …) on masks pasted into the original images. In config files the detector's
// keys and the mask keys sit side by side in the model section.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "autotimm/config.hpp"
#include "autotimm/export.hpp"
#include "autotimm/metrics/mask_coco_metric.hpp"
#include "autotimm/tasks/object_detector.hpp"

namespace autotimm {

struct InstanceSegmentorOptions {
  ObjectDetectorOptions detector = {};           ///< backbone, classes, FCOS and training options
  std::string mask_head = "mask_rcnn";           ///< head entry in the registry
  std::string mask_loss = "mask_bce";            ///< loss entry (mask_bce, mask_dice)
  std::int64_t roi_pool_size = 14;               ///< RoIAlign output per box: roi_pool_size²
  std::int64_t mask_size = 28;                   ///< mask logits per box: the head doubles roi_pool_size
  std::int64_t roi_sampling_ratio = 2;           ///< RoIAlign samples per bin side (0: adaptive)
  std::vector<double> mask_strides = {8, 16, 32};  ///< pyramid levels the boxes are pooled from (among strides)
  std::int64_t mask_head_channels = 256;
  std::int64_t mask_head_num_convs = 4;
  double mask_loss_weight = 1.0;
  double mask_threshold = 0.5;                   ///< mask probability that counts as the object
  std::int64_t mask_proposals_per_image = 64;    ///< positives sampled per image for the mask loss
  double mask_proposal_iou = 0.5;                ///< a detection trains the mask head from this IoU with an object

  /// The detector's keys (ObjectDetectorOptions::from) and the mask keys from one config section.
  static AUTOTIMM_API InstanceSegmentorOptions from(const Config& config);
  AUTOTIMM_API boost::json::object to_json() const;
};

/// The instances of one image.
struct InstanceResult {
  torch::Tensor boxes = {};       ///< [K, 4] float32 x1, y1, x2, y2
  torch::Tensor scores = {};      ///< [K] float32, best first
  torch::Tensor labels = {};      ///< [K] int64
  torch::Tensor mask_probs = {};  ///< [K, mask_size, mask_size] float32: each box's mask in box coordinates
  torch::Tensor masks = {};       ///< [K, H, W] bool: mask_probs pasted at the boxes' image size and thresholded
};

class AUTOTIMM_API InstanceSegmentor : public ObjectDetector {
 public:
  explicit InstanceSegmentor(InstanceSegmentorOptions options, Registry* registry = nullptr);

  static std::shared_ptr<InstanceSegmentor> load_from_checkpoint(const std::filesystem::path& path,
                                                                 const boost::json::object& overrides = {},
                                                                 Registry* registry = nullptr);

  /// Instances per image in input pixels, in eval mode without gradients (the mode is restored).
  std::vector<InstanceResult> predict(const torch::Tensor& images);
  /// The same for a batch from a dense data module, in each image's original pixels (masks pasted at its full
  /// resolution): what `autotimm predict` reports.
  std::vector<InstanceResult> predict_original(const Batch& batch);
  /// Mask logits [K, num_classes, mask_size, mask_size] of boxes `rois` [K, 5] (image index, x1, y1, x2, y2 in
  /// input pixels) on a pyramid from ObjectDetector::pyramid.
  torch::Tensor mask_logits(const std::vector<torch::Tensor>& pyramid, const torch::Tensor& rois);

  std::string task_name() const override { return "InstanceSegmentor"; }
  void attach_data(DataModule& data) override;
  StepOutput training_step(const Batch& batch, const StepContext& context) override;
  StepOutput evaluation_step(const Batch& batch, std::string_view stage) override;
  std::map<std::string, double> compute_metrics(std::string_view stage) override;
  void reset_metrics(std::string_view stage) override;
  void sync_metrics(std::string_view stage, Collective& ranks) override;
  /// ObjectDetector's (boxes, scores, labels, counts; original pixels) plus "mask_probs" [B, K, M, M]: each box's
  /// mask in box coordinates — paste_masks(mask_probs[b], boxes[b], height, width) draws them at any size.
  std::map<std::string, torch::Tensor> predict_step(const Batch& batch) override;
  boost::json::object hparams() const override { return instance_options().to_json(); }

  /// The options, with the classes as the data has set them since construction.
  InstanceSegmentorOptions instance_options() const;

 private:
  void build_mask_head();
  void make_metrics();
  /// predict, with the masks pasted at the input's size or (for predict_step) left in box coordinates.
  std::vector<InstanceResult> instances(const torch::Tensor& images, bool paste);
  /// Mask loss on positive proposals of each image (see the header comment); `found` are the detector's decoded
  /// detections of the batch, from which the proposals beside the objects' own boxes come.
  LossOutput mask_loss_of(const std::vector<torch::Tensor>& pyramid, const std::vector<fcos::Detections>& found,
                          const Batch& batch);
  /// Each detection's mask probabilities for its own class, [K, M, M] per image.
  std::vector<torch::Tensor> mask_probabilities(const std::vector<torch::Tensor>& pyramid,
                                                const std::vector<fcos::Detections>& found);

  InstanceSegmentorOptions options_;  ///< options_.detector as given: the live detector options are options()
  std::vector<std::int64_t> mask_levels_;  ///< indices into the pyramid of mask_strides
  std::shared_ptr<Head> mask_head_;
  std::shared_ptr<Loss> mask_loss_;
  std::map<std::string, std::unique_ptr<MaskCocoMetric>, std::less<>> mask_metrics_;
};

/// Instances of a batch in its original images: boxes mapped back through batch.input_maps (clipped to
/// orig_sizes) and masks pasted there at full resolution, thresholded at `threshold`.
AUTOTIMM_API InstanceResult to_original_instances(const InstanceResult& instances, const Batch& batch,
                                                  std::int64_t index, double threshold);

/// Masks [K, H, W] of a batch's input pixels taken back to image `index`'s original size (nearest pixel centres).
AUTOTIMM_API torch::Tensor masks_to_original(const torch::Tensor& masks, const Batch& batch, std::int64_t index);

}  // namespace autotimm
