#include "task_setup.hpp"

#include <boost/json.hpp>
#include <cmath>

#include <spdlog/spdlog.h>

#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "autotimm/optim/optimizers.hpp"

namespace autotimm::tasks {

void read_object(const Config& config, std::string_view key, boost::json::object& field) {
  if (!config.contains(key)) return;
  const auto& value = config.raw(key);
  if (value.is_null()) return;
  if (!value.is_object()) throw ConfigError(config.where(key) + ": expected an object, got " + boost::json::serialize(value));
  field = value.as_object();
}

OptimizerSetup make_optimizer_setup(torch::nn::Module& model, const OptimizerChoice& choice,
                                    const SchedulerContext& context) {
  Config optimizer_config(choice.optimizer_options, "optimizer_options");
  OptimizerOptions optimizer_options = OptimizerOptions::from(optimizer_config);
  optimizer_config.expect_all_used();
  optimizer_options.lr = choice.lr;
  optimizer_options.weight_decay = choice.weight_decay;
  OptimizerSetup setup;
  setup.optimizer_name = choice.optimizer;
  setup.optimizer = make_optimizer(choice.optimizer, model, optimizer_options);
  boost::json::object scheduler_json = choice.scheduler_options;
  if (auto it = scheduler_json.find("monitor"); it != scheduler_json.end()) {
    if (!it->value().is_string()) throw ConfigError("scheduler_options.monitor must be a metric name");
    setup.monitor = std::string(it->value().as_string());
    scheduler_json.erase(it);
  }
  Config scheduler_config(std::move(scheduler_json), "scheduler_options");
  const SchedulerOptions scheduler_options = SchedulerOptions::from(scheduler_config);
  scheduler_config.expect_all_used();
  setup.scheduler = make_scheduler(choice.scheduler, *setup.optimizer, scheduler_options, context);
  return setup;
}

std::vector<torch::Tensor> backbone_maps(Backbone& backbone, const torch::Tensor& images,
                                         const std::vector<std::int64_t>& indices, bool frozen) {
  if (!frozen) return backbone.forward_intermediates(images, indices);
  torch::NoGradGuard no_grad;  // a frozen backbone needs no graph: only what follows it learns
  return backbone.forward_intermediates(images, indices);
}

DataClasses adopt_data_classes(const std::string& task, const std::vector<std::string>& data_names, bool head_built,
                               std::int64_t& num_classes, std::vector<std::string>& class_names) {
  const auto data_classes = static_cast<std::int64_t>(data_names.size());
  if (!head_built) {
    if (data_classes == 0) throw ConfigError(task + ": the data has no classes and num_classes is 0");
    num_classes = data_classes;
    class_names = data_names;
    return DataClasses::build_head;
  }
  if (data_classes != 0 && data_classes != num_classes) {
    throw ConfigError(task + ": the data has " + std::to_string(data_classes) + " classes (" + join_names(data_names) +
                      "), the model was built for " + std::to_string(num_classes) + "; set num_classes to " +
                      std::to_string(data_classes) + " (or 0 to take it from the data)");
  }
  if (data_names.empty() || class_names == data_names) return DataClasses::unchanged;
  if (!class_names.empty()) {
    spdlog::warn("{}: the data's class names ({}) differ from the model's ({}); the data's are used", task,
                 join_names(data_names), join_names(class_names));
  }
  class_names = data_names;
  return DataClasses::renamed;
}

std::vector<std::string> names_or_indices(const std::vector<std::string>& names, std::int64_t num_classes) {
  if (!names.empty()) return names;
  std::vector<std::string> out;
  for (std::int64_t c = 0; c < num_classes; ++c) out.push_back(std::to_string(c));
  return out;
}

TaskCheckpoint read_task_checkpoint(const std::filesystem::path& path, const std::string& task_name,
                                    const boost::json::object& overrides) {
  TaskCheckpoint out{read_checkpoint(path), {}};
  const auto* task = out.checkpoint.meta.if_contains("task");
  if (task == nullptr || !task->is_string() || task->as_string() != task_name) {
    throw FormatError("checkpoint '" + path.string() + "' holds a " +
                      (task && task->is_string() ? std::string(task->as_string()) : std::string("task of unknown kind")) +
                      ", not an " + task_name);
  }
  const auto* hparams = out.checkpoint.meta.if_contains("hparams");
  if (hparams == nullptr || !hparams->is_object()) {
    throw FormatError("checkpoint '" + path.string() + "' has no hparams object in its metadata");
  }
  out.hparams = hparams->as_object();
  for (const auto& [key, value] : overrides) out.hparams[key] = value;
  return out;
}

double checked_learning_rate(const std::string& task, double lr) {
  if (!(lr > 0.0) || !std::isfinite(lr)) throw ConfigError(task + ": 'lr' must be > 0, got " + std::to_string(lr));
  return lr;
}

std::optional<DataConfig> checkpoint_data_config(const TaskCheckpoint& saved, const std::filesystem::path& path) {
  const auto* data = saved.checkpoint.meta.if_contains("data_config");
  if (data == nullptr || !data->is_object()) return std::nullopt;
  return data_config_from_json(data->as_object(), path.string() + " data_config");
}

}  // namespace autotimm::tasks
