#include "autotimm/tasks/object_detector.hpp"

#include <boost/json.hpp>

#include "autotimm/data/dense_data_module.hpp"
#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "autotimm/ops/boxes.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/state_dict.hpp"
#include "task_setup.hpp"

namespace autotimm {

namespace {

/// "8, 16, 32" (integers without a fraction).
std::string join_numbers(const std::vector<double>& values) {
  std::vector<std::string> parts;
  for (const double v : values) {
    parts.push_back(v == std::floor(v) ? std::to_string(static_cast<std::int64_t>(v)) : std::to_string(v));
  }
  return join_names(parts);
}

void check_options(const ObjectDetectorOptions& o) {
  const auto fail = [](const std::string& what) { throw ConfigError("ObjectDetector: " + what); };
  if (o.backbone.empty()) fail("'backbone' is empty; name a backbone such as resnet50 (autotimm models --list)");
  if (o.detection_arch != "fcos") fail("'detection_arch' \"" + o.detection_arch + "\" is not built; the choice is \"fcos\"");
  if (o.num_classes < 0) fail("'num_classes' must be >= 0 (0: from the data), got " + std::to_string(o.num_classes));
  if (o.fpn_channels <= 0) fail("'fpn_channels' must be > 0, got " + std::to_string(o.fpn_channels));
  if (o.head_num_convs < 0) fail("'head_num_convs' must be >= 0, got " + std::to_string(o.head_num_convs));
  if (o.strides.empty()) fail("'strides' is empty; FCOS uses [8, 16, 32, 64, 128]");
  for (std::size_t i = 1; i < o.strides.size(); ++i) {
    if (!(o.strides[i] > o.strides[i - 1])) fail("'strides' must increase, got " + join_numbers(o.strides));
  }
  if (!(o.center_sampling_radius >= 0)) fail("'center_sampling_radius' must be >= 0 (0: the whole box)");
  if (!(o.focal_gamma >= 0)) fail("'focal_gamma' must be >= 0");
  if (!(o.score_thresh >= 0 && o.score_thresh < 1)) fail("'score_thresh' must be in [0, 1)");
  if (!(o.nms_thresh > 0 && o.nms_thresh <= 1)) fail("'nms_thresh' must be in (0, 1]");
  if (o.max_detections_per_image <= 0 || o.pre_nms_top_k <= 0) {
    fail("'max_detections_per_image' and 'pre_nms_top_k' must be > 0");
  }
  if (!(o.lr > 0.0)) fail("'lr' must be > 0, got " + std::to_string(o.lr));
  if (!(o.weight_decay >= 0.0)) fail("'weight_decay' must be >= 0, got " + std::to_string(o.weight_decay));
  if (!o.regress_ranges.empty() && o.regress_ranges.size() != o.strides.size()) {
    fail("'regress_ranges' has " + std::to_string(o.regress_ranges.size()) + " pairs for " +
         std::to_string(o.strides.size()) + " strides; give one per stride, or none for FCOS's");
  }
  if (!o.class_names.empty() && o.num_classes != 0 && static_cast<std::int64_t>(o.class_names.size()) != o.num_classes) {
    fail("'class_names' has " + std::to_string(o.class_names.size()) + " names for num_classes " +
         std::to_string(o.num_classes));
  }
}

/// One level's map [B, K, H, W] as [B, H·W, K], row-major: the order of fcos::locations.
torch::Tensor per_location(const torch::Tensor& map) { return map.flatten(2).transpose(1, 2); }

void expect_detection_batch(const Batch& batch, const std::string& task) {
  if (static_cast<std::int64_t>(batch.boxes.size()) != batch.size() || !batch.image_ids.defined()) {
    throw ConfigError(task + ": the batch has no boxes; train it on detection data (DetectionDataModule, or "
                      "InstanceSegmentationDataModule), whose batches carry boxes, labels and image ids");
  }
}

}  // namespace

ObjectDetector::ObjectDetector(ObjectDetectorOptions options, Registry* registry)
    : options_(std::move(options)), registry_(registry != nullptr ? registry : &autotimm::registry()) {
  check_options(options_);
  if (options_.num_classes == 0 && !options_.class_names.empty()) {
    options_.num_classes = static_cast<std::int64_t>(options_.class_names.size());
  }
  torch::manual_seed(options_.seed);
  backbone_ = register_module("backbone", tasks::make_task_backbone(options_, registry_));
  // The first pyramid levels are backbone stages of those strides; the rest are made by the neck, each halving.
  const auto& info = backbone_->feature_info();
  std::vector<std::int64_t> channels;
  std::size_t level = 0;
  for (; level < options_.strides.size(); ++level) {
    const auto found = std::find_if(info.begin(), info.end(), [&](const FeatureInfo& f) {
      return static_cast<double>(f.reduction) == options_.strides[level];
    });
    if (found == info.end()) break;
    feature_indices_.push_back(found - info.begin());
    channels.push_back(found->num_chs);
  }
  if (level == 0) {
    std::vector<double> reductions;
    for (const auto& f : info) reductions.push_back(static_cast<double>(f.reduction));
    throw ConfigError("ObjectDetector: backbone '" + options_.backbone + "' has no stage of stride " +
                      join_numbers({options_.strides.front()}) + " (its strides: " + join_numbers(reductions) +
                      "); set 'strides' to start at one of them");
  }
  for (std::size_t extra = level; extra < options_.strides.size(); ++extra) {
    if (options_.strides[extra] != 2 * options_.strides[extra - 1]) {
      throw ConfigError("ObjectDetector: stride " + join_numbers({options_.strides[extra]}) + " is not a stage of '" +
                        options_.backbone + "' and not twice the level before; the neck adds levels by halving");
    }
  }
  Config neck_args(boost::json::object{{"in_channels", boost::json::array(channels.begin(), channels.end())},
                                       {"out_channels", options_.fpn_channels},
                                       {"num_extra_levels", static_cast<std::int64_t>(options_.strides.size() - level)}},
                   "options of neck '" + options_.neck + "'");
  neck_ = registry_->heads().get(options_.neck).factory(neck_args);
  neck_args.expect_all_used();
  register_module("neck", neck_);
  Config loss_args(boost::json::object{{"focal_alpha", options_.focal_alpha},
                                       {"focal_gamma", options_.focal_gamma},
                                       {"cls_weight", options_.cls_loss_weight},
                                       {"box_weight", options_.box_loss_weight},
                                       {"centerness_weight", options_.centerness_loss_weight}},
                   "options of loss '" + options_.loss + "'");
  loss_ = registry_->losses().get(options_.loss).factory(loss_args);
  loss_args.expect_all_used();
  if (options_.num_classes > 0) build_head();
}

void ObjectDetector::build_head() {
  Config head_args(boost::json::object{{"in_channels", options_.fpn_channels},
                                       {"num_classes", options_.num_classes},
                                       {"num_convs", options_.head_num_convs},
                                       {"strides", boost::json::array(options_.strides.begin(), options_.strides.end())}},
                   "options of head '" + options_.head + "'");
  head_ = registry_->heads().get(options_.head).factory(head_args);
  head_args.expect_all_used();
  register_module("head", head_);
  const auto names = tasks::names_or_indices(options_.class_names, options_.num_classes);
  for (const char* stage : {"val", "test"}) metrics_[stage] = std::make_unique<CocoMetric>(names);
}

void ObjectDetector::attach_data(DataModule& data) {
  switch (tasks::adopt_data_classes("ObjectDetector", data.class_names(), head_ != nullptr, options_.num_classes,
                                    options_.class_names)) {
    case tasks::DataClasses::build_head: build_head(); break;
    case tasks::DataClasses::renamed:
      for (auto& [stage, metric] : metrics_) metric = std::make_unique<CocoMetric>(options_.class_names);
      break;
    case tasks::DataClasses::unchanged: break;
  }
  if (auto* dense_data = dynamic_cast<DenseDataModule*>(&data)) {
    // The images are normalised as the backbone was trained.
    const auto& cfg = backbone_->pretrained_cfg();
    dense_data->set_normalization(cfg.mean, cfg.std);
  }
  data_config_ = data.data_config();
}

std::vector<torch::Tensor> ObjectDetector::pyramid(const torch::Tensor& images) {
  if (!head_) {
    throw ConfigError(task_name() + ": the number of classes is not known yet; set num_classes, or train it on data "
                      "first (AutoTrainer::fit sets it from the data)");
  }
  if (images.dim() != 4) {
    throw ConfigError(task_name() + ": expected images [N, C, H, W], got " + c10::str(images.sizes()));
  }
  return neck_->forward(tasks::backbone_maps(*backbone_, images, feature_indices_, options_.freeze_backbone));
}

std::vector<torch::Tensor> ObjectDetector::head_outputs(const std::vector<torch::Tensor>& pyramid) {
  return head_->forward(pyramid);
}

std::vector<torch::Tensor> ObjectDetector::forward(const torch::Tensor& images) { return head_outputs(pyramid(images)); }

std::vector<fcos::Level> ObjectDetector::levels_for(const std::vector<torch::Tensor>& head_outputs) const {
  std::vector<std::pair<std::int64_t, std::int64_t>> sizes;
  for (std::size_t i = 0; i < head_outputs.size(); i += 3) sizes.emplace_back(head_outputs[i].size(2), head_outputs[i].size(3));
  return fcos::make_levels(sizes, options_.strides, options_.regress_ranges);
}

LossOutput ObjectDetector::loss_of(const std::vector<torch::Tensor>& outputs, const Batch& batch, Collective* ranks) {
  expect_detection_batch(batch, task_name());
  const auto levels = levels_for(outputs);
  const auto device = outputs.front().device();
  const auto points = fcos::locations(levels);
  std::vector<torch::Tensor> labels, boxes, centerness;
  for (std::int64_t i = 0; i < batch.size(); ++i) {
    const auto image = static_cast<std::size_t>(i);
    const auto targets = fcos::assign(levels, points, batch.boxes[image].cpu(), batch.labels[image].cpu(),
                                      batch.iscrowd.empty() ? torch::Tensor() : batch.iscrowd[image].cpu(),
                                      {.center_sampling_radius = options_.center_sampling_radius});
    labels.push_back(targets.labels);
    boxes.push_back(targets.box_ltrb);
    centerness.push_back(targets.centerness);
  }
  auto label_targets = torch::stack(labels).to(device);
  // The normaliser: positives averaged over ranks, so every rank's gradient has the same scale.
  auto positives = (label_targets >= 0).sum().to(torch::kFloat32).reshape({1});
  if (ranks != nullptr && ranks->world_size() > 1) {
    std::vector<torch::Tensor> sums{positives};
    ranks->all_reduce_sum(sums);
    positives = sums[0] / ranks->world_size();
  }
  std::vector<torch::Tensor> cls, box, ctr;
  for (std::size_t l = 0; l < levels.size(); ++l) {
    cls.push_back(per_location(outputs[3 * l]));
    box.push_back(per_location(outputs[3 * l + 1]));
    ctr.push_back(outputs[3 * l + 2].flatten(1));
  }
  return loss_->forward({{"cls_logits", torch::cat(cls, 1).to(torch::kFloat32)},
                         {"box_ltrb", torch::cat(box, 1).to(torch::kFloat32)},
                         {"centerness", torch::cat(ctr, 1).to(torch::kFloat32)}},
                        {{"labels", label_targets},
                         {"box_ltrb", torch::stack(boxes).to(device)},
                         {"centerness", torch::stack(centerness).to(device)},
                         {"num_positives", positives.clamp_min(1.0).squeeze()}});
}

std::vector<fcos::Detections> ObjectDetector::detect(const std::vector<torch::Tensor>& outputs,
                                                     const torch::Tensor& images) const {
  std::vector<torch::Tensor> on_cpu;
  for (const auto& output : outputs) on_cpu.push_back(output.detach().to(torch::kCPU, torch::kFloat32));
  return fcos::decode(on_cpu, levels_for(outputs), images.size(2), images.size(3),
                      {.score_thresh = options_.score_thresh,
                       .nms_thresh = options_.nms_thresh,
                       .pre_nms_top_k = options_.pre_nms_top_k,
                       .max_detections = options_.max_detections_per_image});
}

StepOutput ObjectDetector::training_step(const Batch& batch, const StepContext& context) {
  auto loss = loss_of(forward(batch.images), batch, context.ranks);
  return {.loss = loss.total, .terms = std::move(loss.terms)};
}

torch::Tensor boxes_to_original(const torch::Tensor& boxes, const Batch& batch, std::int64_t index) {
  if (!batch.input_maps.defined()) return boxes;
  const auto map = batch.input_maps[index];  // sx, tx, sy, ty: input = s · original + t
  const double sx = map[0].item<double>(), tx = map[1].item<double>();
  const double sy = map[2].item<double>(), ty = map[3].item<double>();
  const auto b = boxes.to(torch::kFloat64);
  const auto x1 = (b.select(1, 0) - tx) / sx, x2 = (b.select(1, 2) - tx) / sx;
  const auto y1 = (b.select(1, 1) - ty) / sy, y2 = (b.select(1, 3) - ty) / sy;
  return torch::stack({torch::minimum(x1, x2), torch::minimum(y1, y2), torch::maximum(x1, x2), torch::maximum(y1, y2)},
                      1);
}

DetectionResult to_original_image(const DetectionResult& detections, const Batch& batch, std::int64_t index) {
  if (!batch.input_maps.defined() || !batch.orig_sizes.defined()) return detections;
  const auto boxes = ops::clip_boxes(boxes_to_original(detections.boxes, batch, index),
                                     batch.orig_sizes[index][0].item<double>(),
                                     batch.orig_sizes[index][1].item<double>());
  return {boxes.to(torch::kFloat32), detections.scores, detections.labels};
}

std::vector<DetectionGroundTruth> original_ground_truths(const Batch& batch, std::int64_t index) {
  const auto image = static_cast<std::size_t>(index);
  const DetectionResult truth = to_original_image(
      {batch.boxes[image].cpu(), torch::Tensor(), batch.labels[image].cpu()}, batch, index);
  std::vector<DetectionGroundTruth> out;
  const auto boxes = truth.boxes.to(torch::kFloat64).contiguous();
  const auto b = boxes.accessor<double, 2>();
  const auto labels = truth.labels.contiguous();
  const auto areas = batch.areas.empty() ? torch::Tensor() : batch.areas[image].cpu().contiguous();
  const auto crowd = batch.iscrowd.empty() ? torch::Tensor() : batch.iscrowd[image].cpu().contiguous();
  for (std::int64_t g = 0; g < boxes.size(0); ++g) {
    out.push_back({.category = labels.data_ptr<std::int64_t>()[g],
                   .box = {b[g][0], b[g][1], b[g][2], b[g][3]},
                   .area = areas.defined() ? areas.data_ptr<double>()[g] : 0.0,
                   .iscrowd = crowd.defined() && crowd.data_ptr<bool>()[g]});
  }
  return out;
}

std::vector<Detection> coco_detections(const DetectionResult& detections) {
  std::vector<Detection> out;
  const auto boxes = detections.boxes.to(torch::kFloat64).contiguous();
  const auto b = boxes.accessor<double, 2>();
  const auto labels = detections.labels.contiguous();
  const auto scores = detections.scores.to(torch::kFloat64).contiguous();
  for (std::int64_t d = 0; d < boxes.size(0); ++d) {
    out.push_back({.category = labels.data_ptr<std::int64_t>()[d],
                   .box = {b[d][0], b[d][1], b[d][2], b[d][3]},
                   .score = scores.data_ptr<double>()[d]});
  }
  return out;
}

StepOutput ObjectDetector::evaluation_step(const Batch& batch, std::string_view stage) {
  torch::NoGradGuard no_grad;
  const auto outputs = forward(batch.images);
  auto loss = loss_of(outputs, batch, nullptr);
  const auto found = detect(outputs, batch.images);
  auto metric = metrics_.find(stage);
  if (metric == metrics_.end()) {
    throw ConfigError("ObjectDetector: unknown evaluation stage '" + std::string(stage) + "'; expected val or test");
  }
  for (std::int64_t i = 0; i < batch.size(); ++i) {
    const auto image = static_cast<std::size_t>(i);
    // Ground truth and detections both in the original image's pixels, where COCO's area ranges apply.
    const DetectionResult mine = to_original_image({found[image].boxes, found[image].scores, found[image].labels},
                                                   batch, i);
    metric->second->update(batch.image_ids[i].item<std::int64_t>(), original_ground_truths(batch, i),
                           coco_detections(mine));
  }
  return {.loss = loss.total, .terms = std::move(loss.terms)};
}

std::map<std::string, double> ObjectDetector::compute_metrics(std::string_view stage) {
  const auto metric = metrics_.find(stage);
  if (metric == metrics_.end()) return {};  // training logs its loss terms only
  return metric->second->compute(stage);
}

void ObjectDetector::reset_metrics(std::string_view stage) {
  if (const auto metric = metrics_.find(stage); metric != metrics_.end()) metric->second->reset();
}

void ObjectDetector::sync_metrics(std::string_view stage, Collective& ranks) {
  if (const auto metric = metrics_.find(stage); metric != metrics_.end()) metric->second->sync(ranks);
}

std::vector<DetectionResult> ObjectDetector::predict(const torch::Tensor& images) {
  const bool was_training = is_training();
  eval();
  std::vector<DetectionResult> out;
  {
    torch::NoGradGuard no_grad;
    for (auto& found : detect(forward(images), images)) out.push_back({found.boxes, found.scores, found.labels});
  }
  if (was_training) train();
  return out;
}

std::map<std::string, torch::Tensor> ObjectDetector::predict_step(const Batch& batch) {
  std::vector<DetectionResult> mapped;
  const auto found = predict(batch.images);
  for (std::size_t i = 0; i < found.size(); ++i) {
    mapped.push_back(to_original_image(found[i], batch, static_cast<std::int64_t>(i)));
  }
  return padded_detections(mapped);
}

std::map<std::string, torch::Tensor> ObjectDetector::padded_detections(const std::vector<DetectionResult>& found) const {
  const auto batch_size = static_cast<std::int64_t>(found.size());
  // A fixed width, so the trainer can concatenate the batches of a predict run.
  const std::int64_t most = options_.max_detections_per_image;
  auto boxes = torch::zeros({batch_size, most, 4});
  auto scores = torch::zeros({batch_size, most});
  auto labels = torch::full({batch_size, most}, -1, torch::kInt64);
  auto counts = torch::zeros({batch_size}, torch::kInt64);
  for (std::int64_t i = 0; i < batch_size; ++i) {
    const auto& mapped = found[static_cast<std::size_t>(i)];
    const auto k = mapped.boxes.size(0);
    boxes[i].narrow(0, 0, k).copy_(mapped.boxes);
    scores[i].narrow(0, 0, k).copy_(mapped.scores);
    labels[i].narrow(0, 0, k).copy_(mapped.labels);
    counts[i] = k;
  }
  return {{"boxes", boxes}, {"scores", scores}, {"labels", labels}, {"counts", counts}};
}

void ObjectDetector::set_learning_rate(double lr) {
  options_.lr = tasks::checked_learning_rate("ObjectDetector", lr);
}

OptimizerSetup ObjectDetector::configure_optimizers(const SchedulerContext& context) {
  if (!head_) forward(torch::Tensor());  // throws the "number of classes" message
  return tasks::make_optimizer_setup(*this, tasks::optimizer_choice(options_), context);
}

std::shared_ptr<ObjectDetector> ObjectDetector::load_from_checkpoint(const std::filesystem::path& path,
                                                                     const boost::json::object& overrides,
                                                                     Registry* registry) {
  return tasks::load_task_checkpoint<ObjectDetector, ObjectDetectorOptions>(path, "ObjectDetector", overrides,
                                                                            registry);
}

}  // namespace autotimm
