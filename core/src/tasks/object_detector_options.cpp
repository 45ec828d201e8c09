// ObjectDetectorOptions ↔ JSON: the `model` section of a detection run config, and the hparams in checkpoints.
#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/tasks/object_detector.hpp"
#include "task_setup.hpp"

namespace autotimm {

using tasks::optional_json;
using tasks::read_object;

namespace {

/// [[low, high], ...]; a high of null means no upper bound (JSON has no infinity).
std::vector<std::pair<double, double>> read_ranges(const Config& config, std::string_view key) {
  std::vector<std::pair<double, double>> out;
  if (!config.contains(key)) return out;
  const auto& value = config.raw(key);
  const auto fail = [&] {
    throw ConfigError(config.where(key) + ": expected [[low, high], ...] with one pair per stride (high null: "
                      "unbounded), got " + boost::json::serialize(value));
  };
  if (!value.is_array()) fail();
  for (const auto& item : value.as_array()) {
    if (!item.is_array() || item.as_array().size() != 2 || !item.as_array()[0].is_number()) fail();
    const auto& high = item.as_array()[1];
    if (!high.is_number() && !high.is_null()) fail();
    out.emplace_back(item.as_array()[0].to_number<double>(),
                     high.is_null() ? std::numeric_limits<double>::infinity() : high.to_number<double>());
  }
  return out;
}

}  // namespace

ObjectDetectorOptions ObjectDetectorOptions::from(const Config& config) {
  ObjectDetectorOptions o;
  read_arg(config, "backbone", o.backbone);
  read_arg(config, "num_classes", o.num_classes);
  read_arg(config, "detection_arch", o.detection_arch);
  read_arg(config, "fpn_channels", o.fpn_channels);
  read_arg(config, "head_num_convs", o.head_num_convs);
  read_arg(config, "strides", o.strides);
  o.regress_ranges = read_ranges(config, "regress_ranges");
  read_arg(config, "center_sampling_radius", o.center_sampling_radius);
  read_arg(config, "focal_alpha", o.focal_alpha);
  read_arg(config, "focal_gamma", o.focal_gamma);
  read_arg(config, "cls_loss_weight", o.cls_loss_weight);
  read_arg(config, "box_loss_weight", o.box_loss_weight);
  read_arg(config, "centerness_loss_weight", o.centerness_loss_weight);
  read_arg(config, "score_thresh", o.score_thresh);
  read_arg(config, "nms_thresh", o.nms_thresh);
  read_arg(config, "max_detections_per_image", o.max_detections_per_image);
  read_arg(config, "pre_nms_top_k", o.pre_nms_top_k);
  read_arg(config, "freeze_backbone", o.freeze_backbone);
  read_arg(config, "optimizer", o.optimizer);
  read_arg(config, "lr", o.lr);
  read_arg(config, "weight_decay", o.weight_decay);
  read_object(config, "optimizer_options", o.optimizer_options);
  read_arg(config, "scheduler", o.scheduler);
  read_object(config, "scheduler_options", o.scheduler_options);
  if (auto seed = config.get_optional<std::int64_t>("seed")) {
    if (*seed < 0) throw ConfigError(config.where("seed") + ": expected a seed >= 0, got " + std::to_string(*seed));
    o.seed = static_cast<std::uint64_t>(*seed);
  }
  read_arg(config, "pretrained", o.pretrained);
  read_arg(config, "drop_path_rate", o.drop_path_rate);
  read_object(config, "backbone_args", o.backbone_args);
  read_arg(config, "neck", o.neck);
  read_arg(config, "head", o.head);
  read_arg(config, "loss", o.loss);
  read_arg(config, "class_names", o.class_names);
  return o;
}

boost::json::object ObjectDetectorOptions::to_json() const {
  boost::json::object json;
  json["backbone"] = backbone;
  json["num_classes"] = num_classes;
  json["detection_arch"] = detection_arch;
  json["fpn_channels"] = fpn_channels;
  json["head_num_convs"] = head_num_convs;
  json["strides"] = boost::json::array(strides.begin(), strides.end());
  boost::json::array ranges;
  for (const auto& [low, high] : regress_ranges) {
    ranges.push_back(boost::json::array{low, std::isinf(high) ? boost::json::value(nullptr) : boost::json::value(high)});
  }
  json["regress_ranges"] = std::move(ranges);
  json["center_sampling_radius"] = center_sampling_radius;
  json["focal_alpha"] = focal_alpha;
  json["focal_gamma"] = focal_gamma;
  json["cls_loss_weight"] = cls_loss_weight;
  json["box_loss_weight"] = box_loss_weight;
  json["centerness_loss_weight"] = centerness_loss_weight;
  json["score_thresh"] = score_thresh;
  json["nms_thresh"] = nms_thresh;
  json["max_detections_per_image"] = max_detections_per_image;
  json["pre_nms_top_k"] = pre_nms_top_k;
  json["freeze_backbone"] = freeze_backbone;
  json["optimizer"] = optimizer;
  json["lr"] = lr;
  json["weight_decay"] = weight_decay;
  json["optimizer_options"] = optimizer_options;
  json["scheduler"] = scheduler;
  json["scheduler_options"] = scheduler_options;
  json["seed"] = seed;
  json["pretrained"] = pretrained;
  json["drop_path_rate"] = optional_json(drop_path_rate);
  json["backbone_args"] = backbone_args;
  json["neck"] = neck;
  json["head"] = head;
  json["loss"] = loss;
  json["class_names"] = boost::json::array(class_names.begin(), class_names.end());
  return json;
}

}  // namespace autotimm
