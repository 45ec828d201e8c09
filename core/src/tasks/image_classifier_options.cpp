// ImageClassifierOptions ↔ JSON: the `model` section of a run config, and the hparams saved in checkpoints.
#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/tasks/image_classifier.hpp"
#include "task_setup.hpp"

namespace autotimm {

using tasks::optional_json;
using tasks::read_object;

ImageClassifierOptions ImageClassifierOptions::from(const Config& config) {
  ImageClassifierOptions o;
  read_arg(config, "backbone", o.backbone);
  read_arg(config, "num_classes", o.num_classes);
  read_arg(config, "multi_label", o.multi_label);
  read_arg(config, "threshold", o.threshold);
  read_arg(config, "loss", o.loss);
  read_arg(config, "label_smoothing", o.label_smoothing);
  read_arg(config, "head_dropout", o.head_dropout);
  read_arg(config, "freeze_backbone", o.freeze_backbone);
  read_arg(config, "mixup_alpha", o.mixup_alpha);
  read_arg(config, "cutmix_alpha", o.cutmix_alpha);
  read_arg(config, "mixup_prob", o.mixup_prob);
  read_arg(config, "mixup_switch_prob", o.mixup_switch_prob);
  read_arg(config, "optimizer", o.optimizer);
  read_arg(config, "lr", o.lr);
  read_arg(config, "weight_decay", o.weight_decay);
  read_object(config, "optimizer_options", o.optimizer_options);
  read_arg(config, "scheduler", o.scheduler);
  read_object(config, "scheduler_options", o.scheduler_options);
  read_arg(config, "metrics", o.metrics);
  if (auto seed = config.get_optional<std::int64_t>("seed")) {
    if (*seed < 0) throw ConfigError(config.where("seed") + ": expected a seed >= 0, got " + std::to_string(*seed));
    o.seed = static_cast<std::uint64_t>(*seed);
  }
  read_arg(config, "pretrained", o.pretrained);
  read_arg(config, "drop_rate", o.drop_rate);
  read_arg(config, "drop_path_rate", o.drop_path_rate);
  read_object(config, "backbone_args", o.backbone_args);
  read_arg(config, "head", o.head);
  read_object(config, "loss_options", o.loss_options);
  read_arg(config, "class_names", o.class_names);
  return o;
}

boost::json::object ImageClassifierOptions::to_json() const {
  boost::json::object json;
  json["backbone"] = backbone;
  json["num_classes"] = num_classes;
  json["multi_label"] = multi_label;
  json["threshold"] = threshold;
  json["loss"] = loss;
  json["label_smoothing"] = label_smoothing;
  json["head_dropout"] = head_dropout;
  json["freeze_backbone"] = freeze_backbone;
  json["mixup_alpha"] = mixup_alpha;
  json["cutmix_alpha"] = cutmix_alpha;
  json["mixup_prob"] = mixup_prob;
  json["mixup_switch_prob"] = mixup_switch_prob;
  json["optimizer"] = optimizer;
  json["lr"] = lr;
  json["weight_decay"] = weight_decay;
  json["optimizer_options"] = optimizer_options;
  json["scheduler"] = scheduler;
  json["scheduler_options"] = scheduler_options;
  json["metrics"] = boost::json::array(metrics.begin(), metrics.end());
  json["seed"] = seed;
  json["pretrained"] = pretrained;
  json["drop_rate"] = optional_json(drop_rate);
  json["drop_path_rate"] = optional_json(drop_path_rate);
  json["backbone_args"] = backbone_args;
  json["head"] = head;
  json["loss_options"] = loss_options;
  json["class_names"] = boost::json::array(class_names.begin(), class_names.end());
  return json;
}

}  // namespace autotimm
