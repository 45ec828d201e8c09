// SemanticSegmentorOptions ↔ JSON: the `model` section of a segmentation run config, and the hparams in checkpoints.
#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/tasks/semantic_segmentor.hpp"
#include "task_setup.hpp"

namespace autotimm {

using tasks::optional_json;
using tasks::read_object;

SemanticSegmentorOptions SemanticSegmentorOptions::from(const Config& config) {
  SemanticSegmentorOptions o;
  read_arg(config, "backbone", o.backbone);
  read_arg(config, "num_classes", o.num_classes);
  read_arg(config, "head_type", o.head_type);
  read_object(config, "head_options", o.head_options);
  read_arg(config, "loss", o.loss);
  read_arg(config, "ce_weight", o.ce_weight);
  read_arg(config, "dice_weight", o.dice_weight);
  read_arg(config, "ignore_index", o.ignore_index);
  read_arg(config, "class_weights", o.class_weights);
  read_object(config, "loss_options", o.loss_options);
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
  read_arg(config, "class_names", o.class_names);
  return o;
}

boost::json::object SemanticSegmentorOptions::to_json() const {
  boost::json::object json;
  json["backbone"] = backbone;
  json["num_classes"] = num_classes;
  json["head_type"] = head_type;
  json["head_options"] = head_options;
  json["loss"] = loss;
  json["ce_weight"] = ce_weight;
  json["dice_weight"] = dice_weight;
  json["ignore_index"] = ignore_index;
  json["class_weights"] = boost::json::array(class_weights.begin(), class_weights.end());
  json["loss_options"] = loss_options;
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
  json["class_names"] = boost::json::array(class_names.begin(), class_names.end());
  return json;
}

}  // namespace autotimm
