#pragma once
// What every task does the same way: build its optimizer and scheduler from the options it was given, and find its
// own hyperparameters in a checkpoint.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "autotimm/backbone.hpp"
#include "autotimm/backbones.hpp"
#include "autotimm/config.hpp"
#include "autotimm/state_dict.hpp"

#include "autotimm/tasks/task.hpp"
#include "autotimm/trainer/checkpoint.hpp"

namespace autotimm::tasks {

struct OptimizerChoice {
  std::string optimizer;
  boost::json::object optimizer_options;  ///< make_optimizer keywords beyond lr and weight_decay
  double lr = 1e-3;
  double weight_decay = 0.0;
  std::string scheduler;
  boost::json::object scheduler_options;  ///< make_scheduler keywords, plus "monitor" for plateau
};

/// `config[key]` into `field` when present and not null; ConfigError unless it is an object.
void read_object(const Config& config, std::string_view key, boost::json::object& field);

template <class T>
boost::json::value optional_json(const std::optional<T>& value) {
  return value ? boost::json::value(*value) : boost::json::value(nullptr);
}

/// The optimizer fields of a task's options struct (optimizer, optimizer_options, lr, weight_decay, scheduler,
/// scheduler_options), which every task names the same.
template <class TaskOptions>
OptimizerChoice optimizer_choice(const TaskOptions& o) {
  return {.optimizer = o.optimizer,
          .optimizer_options = o.optimizer_options,
          .lr = o.lr,
          .weight_decay = o.weight_decay,
          .scheduler = o.scheduler,
          .scheduler_options = o.scheduler_options};
}

/// The optimizer over `model`'s parameters and the scheduler for a run of `context`'s length.
OptimizerSetup make_optimizer_setup(torch::nn::Module& model, const OptimizerChoice& choice,
                                    const SchedulerContext& context);

/// The headless backbone a task trains (frozen: no gradients), from the backbone fields every task's options have.
template <class TaskOptions>
std::shared_ptr<Backbone> make_task_backbone(const TaskOptions& o, Registry* registry) {
  auto backbone = create_backbone(o.backbone, {.pretrained = o.pretrained,
                                               .num_classes = 0,
                                               .drop_path_rate = o.drop_path_rate,
                                               .model_args = o.backbone_args},
                                  registry);
  if (o.freeze_backbone) {
    for (auto& parameter : backbone->parameters()) parameter.set_requires_grad(false);
  }
  return backbone;
}

/// The backbone's maps at `indices`, without a graph when it is frozen.
std::vector<torch::Tensor> backbone_maps(Backbone& backbone, const torch::Tensor& images,
                                         const std::vector<std::int64_t>& indices, bool frozen);

/// What attach_data found about the classes of the data against a task's.
enum class DataClasses { build_head, renamed, unchanged };

/// Takes the data's classes into a task's num_classes and class_names: all of them when the head is not built yet
/// (build_head), only new names otherwise (renamed, with a warning when names were set). ConfigError naming `task`
/// when the data has no classes for an unsized task or a different count from a built one.
DataClasses adopt_data_classes(const std::string& task, const std::vector<std::string>& data_names, bool head_built,
                               std::int64_t& num_classes, std::vector<std::string>& class_names);

/// Class names, or "0" … "n-1" when there are none.
std::vector<std::string> names_or_indices(const std::vector<std::string>& names, std::int64_t num_classes);

struct TaskCheckpoint {
  Checkpoint checkpoint;
  boost::json::object hparams;  ///< the saved options with `overrides` applied
};

/// The checkpoint at `path`, which must hold a `task_name` (FormatError naming what it holds otherwise).
TaskCheckpoint read_task_checkpoint(const std::filesystem::path& path, const std::string& task_name,
                                    const boost::json::object& overrides);

/// The checkpoint's saved data_config, when it has one.
std::optional<DataConfig> checkpoint_data_config(const TaskCheckpoint& saved, const std::filesystem::path& path);

/// A task of class TaskT (named `task_name` in checkpoints, built from TaskOptions) from a checkpoint alone: its
/// options with `overrides`, never re-downloading the backbone, every weight and the preprocessing from the file.
template <class TaskT, class TaskOptions>
std::shared_ptr<TaskT> load_task_checkpoint(const std::filesystem::path& path, const std::string& task_name,
                                            const boost::json::object& overrides, Registry* registry) {
  auto saved = read_task_checkpoint(path, task_name, overrides);
  Config config(std::move(saved.hparams), "hparams of " + path.string());
  TaskOptions options = TaskOptions::from(config);
  config.expect_all_used();
  // Every weight comes from the checkpoint.
  if constexpr (requires { options.pretrained; }) {
    options.pretrained = false;
  } else {
    options.detector.pretrained = false;
  }
  auto model = std::make_shared<TaskT>(std::move(options), registry);
  load_state_dict(*model, saved.checkpoint.with_prefix("model."), {.source = path.string()});
  if (auto data_config = checkpoint_data_config(saved, path)) model->set_data_config(*data_config);
  return model;
}

/// `lr` when it is a positive finite number; ConfigError naming `task` otherwise.
double checked_learning_rate(const std::string& task, double lr);

}  // namespace autotimm::tasks
