#include "task_setup.hpp"

#include <boost/json.hpp>

#include "autotimm/error.hpp"
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

std::optional<DataConfig> checkpoint_data_config(const TaskCheckpoint& saved, const std::filesystem::path& path) {
  const auto* data = saved.checkpoint.meta.if_contains("data_config");
  if (data == nullptr || !data->is_object()) return std::nullopt;
  return data_config_from_json(data->as_object(), path.string() + " data_config");
}

}  // namespace autotimm::tasks
