#include "autotimm/tasks/instance_segmentor.hpp"

#include <boost/json.hpp>

#include "autotimm/data/dense_data_module.hpp"
#include "autotimm/data/rle.hpp"
#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "autotimm/ops/boxes.hpp"
#include "autotimm/ops/paste_masks.hpp"
#include "autotimm/ops/roi_align.hpp"
#include "autotimm/registry.hpp"
#include "task_setup.hpp"

namespace autotimm {

namespace {

const ObjectDetectorOptions& checked_detector_options(const InstanceSegmentorOptions& o) {
  const auto fail = [](const std::string& what) { throw ConfigError("InstanceSegmentor: " + what); };
  if (o.roi_pool_size <= 0) fail("'roi_pool_size' must be > 0, got " + std::to_string(o.roi_pool_size));
  if (o.mask_size != 2 * o.roi_pool_size) {
    fail("'mask_size' is " + std::to_string(o.mask_size) + " but the mask head doubles 'roi_pool_size' (" +
         std::to_string(o.roi_pool_size) + "); set mask_size to " + std::to_string(2 * o.roi_pool_size) +
         " or roi_pool_size to half of mask_size");
  }
  if (o.roi_sampling_ratio < 0) fail("'roi_sampling_ratio' must be >= 0 (0: adaptive)");
  if (o.mask_strides.empty()) fail("'mask_strides' is empty; Mask R-CNN pools from [8, 16, 32]");
  for (const double stride : o.mask_strides) {
    if (std::find(o.detector.strides.begin(), o.detector.strides.end(), stride) == o.detector.strides.end()) {
      fail("mask stride " + std::to_string(stride) + " is not among the detector's 'strides'; pick mask_strides "
           "from them");
    }
  }
  if (o.mask_head_channels <= 0) fail("'mask_head_channels' must be > 0");
  if (o.mask_head_num_convs < 0) fail("'mask_head_num_convs' must be >= 0");
  if (!(o.mask_loss_weight >= 0.0)) fail("'mask_loss_weight' must be >= 0");
  if (!(o.mask_threshold > 0.0 && o.mask_threshold < 1.0)) fail("'mask_threshold' must be in (0, 1)");
  if (o.mask_proposals_per_image <= 0) fail("'mask_proposals_per_image' must be > 0");
  if (!(o.mask_proposal_iou > 0.0 && o.mask_proposal_iou <= 1.0)) fail("'mask_proposal_iou' must be in (0, 1]");
  return o.detector;
}

/// COCO RLEs of masks [K, H, W].
std::vector<Rle> encode_masks(const torch::Tensor& masks) {
  const auto bytes = masks.to(torch::kCPU, torch::kUInt8).contiguous();
  const auto count = bytes.size(0);
  const auto height = static_cast<int>(bytes.size(1)), width = static_cast<int>(bytes.size(2));
  std::vector<Rle> out;
  out.reserve(static_cast<std::size_t>(count));
  for (std::int64_t k = 0; k < count; ++k) {
    out.push_back(rle_encode(bytes.data_ptr<std::uint8_t>() + k * height * width, height, width));
  }
  return out;
}

/// For every output pixel along an axis, the input pixel whose area holds its centre (x_in = s · x + t), or -1.
torch::Tensor source_pixels(std::int64_t count, std::int64_t source_count, double s, double t) {
  auto u = torch::floor((torch::arange(count, torch::kFloat64) + 0.5) * s + t).to(torch::kInt64);
  return torch::where((u >= 0) & (u < source_count), u, torch::full_like(u, -1));
}

}  // namespace

InstanceSegmentor::InstanceSegmentor(InstanceSegmentorOptions options, Registry* registry)
    : ObjectDetector(checked_detector_options(options), registry), options_(std::move(options)) {
  for (const double stride : options_.mask_strides) {
    const auto& strides = options_.detector.strides;
    mask_levels_.push_back(std::find(strides.begin(), strides.end(), stride) - strides.begin());
  }
  Config loss_args(boost::json::object{}, "options of loss '" + options_.mask_loss + "'");
  mask_loss_ = this->registry().losses().get(options_.mask_loss).factory(loss_args);
  loss_args.expect_all_used();
  if (has_head()) build_mask_head();
}

InstanceSegmentorOptions InstanceSegmentor::instance_options() const {
  InstanceSegmentorOptions out = options_;
  out.detector = options();
  return out;
}

void InstanceSegmentor::build_mask_head() {
  const auto& detector = options();
  Config head_args(boost::json::object{{"in_channels", detector.fpn_channels},
                                       {"num_classes", detector.num_classes},
                                       {"channels", options_.mask_head_channels},
                                       {"num_convs", options_.mask_head_num_convs}},
                   "options of head '" + options_.mask_head + "'");
  mask_head_ = registry().heads().get(options_.mask_head).factory(head_args);
  head_args.expect_all_used();
  register_module("mask_head", mask_head_);
  make_metrics();
}

void InstanceSegmentor::make_metrics() {
  const auto names = tasks::names_or_indices(options().class_names, options().num_classes);
  for (const char* stage : {"val", "test"}) mask_metrics_[stage] = std::make_unique<MaskCocoMetric>(names);
}

void InstanceSegmentor::attach_data(DataModule& data) {
  ObjectDetector::attach_data(data);
  if (mask_head_) {
    make_metrics();  // named after the classes as they are now: the data may have named them
  } else {
    build_mask_head();
  }
}

torch::Tensor InstanceSegmentor::mask_logits(const std::vector<torch::Tensor>& pyramid, const torch::Tensor& rois) {
  std::vector<torch::Tensor> levels;
  for (const auto level : mask_levels_) levels.push_back(pyramid.at(static_cast<std::size_t>(level)));
  const auto features = ops::multi_scale_roi_align(levels, options_.mask_strides, rois, options_.roi_pool_size,
                                                   options_.roi_sampling_ratio, true);
  return mask_head_->forward({features}).at(0);
}

LossOutput InstanceSegmentor::mask_loss_of(const std::vector<torch::Tensor>& pyramid,
                                           const std::vector<fcos::Detections>& found, const Batch& batch) {
  if (static_cast<std::int64_t>(batch.masks.size()) != batch.size()) {
    throw ConfigError("InstanceSegmentor: the batch has no instance masks; train it on instance segmentation data "
                      "(InstanceSegmentationDataModule), whose batches carry one mask per object");
  }
  const auto device = pyramid.front().device();
  std::vector<torch::Tensor> rois, targets, labels;
  for (std::int64_t i = 0; i < batch.size(); ++i) {
    const auto image = static_cast<std::size_t>(i);
    const auto boxes = batch.boxes[image].to(device, torch::kFloat32);
    auto keep = torch::ones({boxes.size(0)}, torch::TensorOptions(torch::kBool).device(device));
    if (!batch.iscrowd.empty()) keep = batch.iscrowd[image].to(device).logical_not();
    const auto objects = torch::nonzero(keep).flatten();
    if (objects.numel() == 0) continue;
    const auto object_boxes = boxes.index_select(0, objects);
    // Proposals: the objects' own boxes and the detections overlapping one of them enough.
    const auto candidates = torch::cat({object_boxes, found[image].boxes.to(device, torch::kFloat32)});
    const auto [best_iou, match] = ops::box_iou(candidates, object_boxes).max(1);
    auto positive = torch::nonzero(best_iou >= options_.mask_proposal_iou).flatten();
    if (positive.numel() > options_.mask_proposals_per_image) {
      positive = positive.index_select(
          0, torch::randperm(positive.numel(), torch::TensorOptions(torch::kInt64).device(device))
                 .narrow(0, 0, options_.mask_proposals_per_image));
    }
    const auto proposals = candidates.index_select(0, positive);
    const auto matched = objects.index_select(0, match.index_select(0, positive));
    targets.push_back(
        ops::mask_targets(batch.masks[image].to(device).index_select(0, matched), proposals, options_.mask_size));
    labels.push_back(batch.labels[image].to(device).index_select(0, matched));
    rois.push_back(torch::cat({torch::full({proposals.size(0), 1}, static_cast<double>(i), proposals.options()),
                               proposals}, 1));
  }
  const auto float_options = torch::TensorOptions(torch::kFloat32).device(device);
  const auto all_rois = rois.empty() ? torch::zeros({0, 5}, float_options) : torch::cat(rois);
  const auto all_targets = targets.empty() ? torch::zeros({0, options_.mask_size, options_.mask_size}, float_options)
                                           : torch::cat(targets);
  const auto all_labels = labels.empty() ? torch::zeros({0}, torch::TensorOptions(torch::kInt64).device(device))
                                         : torch::cat(labels);
  auto loss = mask_loss_->forward({{"mask_logits", mask_logits(pyramid, all_rois).to(torch::kFloat32)}},
                                  {{"mask_targets", all_targets}, {"labels", all_labels}});
  return {loss.total * options_.mask_loss_weight, {}};
}

StepOutput InstanceSegmentor::training_step(const Batch& batch, const StepContext& context) {
  const auto features = pyramid(batch.images);
  const auto outputs = head_outputs(features);
  auto loss = loss_of(outputs, batch, context.ranks);
  std::vector<fcos::Detections> found;
  {
    torch::NoGradGuard no_grad;  // proposals only: the mask loss does not train the detector through them
    found = detect(outputs, batch.images);
  }
  auto mask = mask_loss_of(features, found, batch);
  loss.terms["loss_mask"] = mask.total;
  return {.loss = loss.total + mask.total, .terms = std::move(loss.terms)};
}

std::vector<torch::Tensor> InstanceSegmentor::mask_probabilities(const std::vector<torch::Tensor>& pyramid,
                                                                 const std::vector<fcos::Detections>& found) {
  const auto device = pyramid.front().device();
  std::vector<torch::Tensor> rois, labels;
  std::vector<std::int64_t> counts;
  for (std::size_t i = 0; i < found.size(); ++i) {
    const auto boxes = found[i].boxes.to(device, torch::kFloat32);
    counts.push_back(boxes.size(0));
    rois.push_back(torch::cat({torch::full({boxes.size(0), 1}, static_cast<double>(i), boxes.options()), boxes}, 1));
    labels.push_back(found[i].labels.to(device));
  }
  const auto all_labels = torch::cat(labels);
  // Each box's mask is its own class's channel.
  const auto logits = mask_logits(pyramid, torch::cat(rois));
  const auto rows = torch::arange(all_labels.numel(), all_labels.options());
  const auto probs = logits.index({rows, all_labels}).sigmoid().to(torch::kCPU, torch::kFloat32);
  return probs.split_with_sizes(counts);
}

InstanceResult to_original_instances(const InstanceResult& instances, const Batch& batch, std::int64_t index,
                                     double threshold) {
  const DetectionResult boxes = to_original_image({instances.boxes, instances.scores, instances.labels}, batch, index);
  std::int64_t height = batch.images.size(2), width = batch.images.size(3);
  if (batch.orig_sizes.defined()) {
    height = batch.orig_sizes[index][0].item<std::int64_t>();
    width = batch.orig_sizes[index][1].item<std::int64_t>();
  }
  // Pasted into the boxes before clipping: a mask covers its whole box, even where the box leaves the image.
  const auto paste_boxes = boxes_to_original(instances.boxes, batch, index).to(torch::kFloat32);
  return {boxes.boxes, boxes.scores, boxes.labels, instances.mask_probs,
          ops::paste_masks(instances.mask_probs, paste_boxes, height, width, threshold)};
}

torch::Tensor masks_to_original(const torch::Tensor& masks, const Batch& batch, std::int64_t index) {
  if (!batch.input_maps.defined() || !batch.orig_sizes.defined()) return masks;
  const auto map = batch.input_maps[index];  // input = s · original + t
  const double sx = map[0].item<double>(), tx = map[1].item<double>();
  const double sy = map[2].item<double>(), ty = map[3].item<double>();
  const auto height = batch.orig_sizes[index][0].item<std::int64_t>();
  const auto width = batch.orig_sizes[index][1].item<std::int64_t>();
  const auto rows = source_pixels(height, masks.size(1), sy, ty).to(masks.device());
  const auto columns = source_pixels(width, masks.size(2), sx, tx).to(masks.device());
  auto out = masks.index_select(1, rows.clamp_min(0)).index_select(2, columns.clamp_min(0));
  // Pixels whose centre falls outside the input (cut by a crop) are not the object's.
  const auto inside = (rows >= 0).view({1, -1, 1}) & (columns >= 0).view({1, 1, -1});
  return out * inside.to(out.dtype());
}

StepOutput InstanceSegmentor::evaluation_step(const Batch& batch, std::string_view stage) {
  torch::NoGradGuard no_grad;
  const auto metric = mask_metrics_.find(stage);
  if (metric == mask_metrics_.end()) {
    throw ConfigError("InstanceSegmentor: unknown evaluation stage '" + std::string(stage) + "'; expected val or test");
  }
  const auto features = pyramid(batch.images);
  const auto outputs = head_outputs(features);
  auto loss = loss_of(outputs, batch, nullptr);
  const auto found = detect(outputs, batch.images);  // the metric's detections are also the mask loss's proposals
  const auto mask = mask_loss_of(features, found, batch);
  loss.terms["loss_mask"] = mask.total;
  const auto probs = mask_probabilities(features, found);
  for (std::int64_t i = 0; i < batch.size(); ++i) {
    const auto image = static_cast<std::size_t>(i);
    const InstanceResult mine = to_original_instances(
        {found[image].boxes, found[image].scores, found[image].labels, probs[image], {}}, batch, i,
        options_.mask_threshold);
    metric->second->update(batch.image_ids[i].item<std::int64_t>(), original_ground_truths(batch, i),
                           encode_masks(masks_to_original(batch.masks[image], batch, i)),
                           coco_detections({mine.boxes, mine.scores, mine.labels}), encode_masks(mine.masks));
  }
  return {.loss = loss.total + mask.total, .terms = std::move(loss.terms)};
}

std::map<std::string, double> InstanceSegmentor::compute_metrics(std::string_view stage) {
  const auto metric = mask_metrics_.find(stage);
  if (metric == mask_metrics_.end()) return {};
  return metric->second->compute(stage);
}

void InstanceSegmentor::reset_metrics(std::string_view stage) {
  if (const auto metric = mask_metrics_.find(stage); metric != mask_metrics_.end()) metric->second->reset();
}

void InstanceSegmentor::sync_metrics(std::string_view stage, Collective& ranks) {
  if (const auto metric = mask_metrics_.find(stage); metric != mask_metrics_.end()) metric->second->sync(ranks);
}

std::vector<InstanceResult> InstanceSegmentor::predict(const torch::Tensor& images) { return instances(images, true); }

std::vector<InstanceResult> InstanceSegmentor::instances(const torch::Tensor& images, bool paste) {
  const bool was_training = is_training();
  eval();
  std::vector<InstanceResult> out;
  {
    torch::NoGradGuard no_grad;
    const auto features = pyramid(images);
    const auto found = detect(head_outputs(features), images);
    const auto probs = mask_probabilities(features, found);
    for (std::size_t i = 0; i < found.size(); ++i) {
      out.push_back({found[i].boxes, found[i].scores, found[i].labels, probs[i],
                     paste ? ops::paste_masks(probs[i], found[i].boxes, images.size(2), images.size(3),
                                              options_.mask_threshold)
                           : torch::Tensor()});
    }
  }
  if (was_training) train();
  return out;
}

std::vector<InstanceResult> InstanceSegmentor::predict_original(const Batch& batch) {
  auto found = instances(batch.images, false);
  for (std::size_t i = 0; i < found.size(); ++i) {
    found[i] = to_original_instances(found[i], batch, static_cast<std::int64_t>(i), options_.mask_threshold);
  }
  return found;
}

std::map<std::string, torch::Tensor> InstanceSegmentor::predict_step(const Batch& batch) {
  const auto found = instances(batch.images, false);
  std::vector<DetectionResult> mapped;
  for (std::size_t i = 0; i < found.size(); ++i) {
    mapped.push_back(to_original_image({found[i].boxes, found[i].scores, found[i].labels}, batch,
                                       static_cast<std::int64_t>(i)));
  }
  auto out = padded_detections(mapped);
  const auto most = options().max_detections_per_image;
  auto probs = torch::zeros({batch.size(), most, options_.mask_size, options_.mask_size});
  for (std::size_t i = 0; i < found.size(); ++i) {
    probs[static_cast<std::int64_t>(i)].narrow(0, 0, found[i].mask_probs.size(0)).copy_(found[i].mask_probs);
  }
  out["mask_probs"] = probs;
  return out;
}

std::shared_ptr<InstanceSegmentor> InstanceSegmentor::load_from_checkpoint(const std::filesystem::path& path,
                                                                           const boost::json::object& overrides,
                                                                           Registry* registry) {
  return tasks::load_task_checkpoint<InstanceSegmentor, InstanceSegmentorOptions>(path, "InstanceSegmentor",
                                                                                  overrides, registry);
}

}  // namespace autotimm
