// AutoTrainerOptions ↔ JSON: the `trainer` section of a run config, and the trainer's hyperparameters.
#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/trainer/auto_trainer.hpp"

namespace autotimm {

namespace {

void read_limit(const Config& config, std::string_view key, BatchLimit& limit) {
  if (!config.contains(key)) return;
  const auto& value = config.raw(key);
  if (value.is_int64()) {
    limit = BatchLimit(value.as_int64());
  } else if (value.is_uint64()) {
    limit = BatchLimit(static_cast<std::int64_t>(value.as_uint64()));
  } else if (value.is_double()) {
    limit = BatchLimit(value.as_double());
  } else {
    throw ConfigError(config.where(key) + ": expected a fraction (0.25) or a number of batches (10), got " +
                      boost::json::serialize(value));
  }
}

const boost::json::array& list_at(const Config& config, std::string_view key) {
  static const boost::json::array kEmpty;
  if (!config.contains(key)) return kEmpty;
  const auto& value = config.raw(key);
  if (!value.is_array()) {
    throw ConfigError(config.where(key) + ": expected a list of objects such as [{\"name\": \"" +
                      (key == "callbacks" ? std::string("early_stopping") : std::string("csv")) + "\"}]");
  }
  return value.as_array();
}

}  // namespace

AutoTrainerOptions AutoTrainerOptions::from(const Config& config) {
  AutoTrainerOptions o;
  read_arg(config, "max_epochs", o.max_epochs);
  read_arg(config, "min_epochs", o.min_epochs);
  read_arg(config, "accelerator", o.accelerator);
  read_arg(config, "strategy", o.strategy);
  read_arg(config, "devices", o.devices);
  read_arg(config, "num_nodes", o.num_nodes);
  read_arg(config, "find_unused_parameters", o.find_unused_parameters);
  read_arg(config, "sync_batchnorm", o.sync_batchnorm);
  read_arg(config, "gradient_compression", o.gradient_compression);
  read_arg(config, "distributed_timeout_s", o.distributed_timeout_s);
  if (config.contains("precision") && config.raw("precision").is_int64()) {
    o.precision = std::to_string(config.raw("precision").as_int64());  // Lightning accepts precision=32 too
  } else {
    read_arg(config, "precision", o.precision);
  }
  read_arg(config, "checkpoint_monitor", o.checkpoint_monitor);
  read_arg(config, "checkpoint_mode", o.checkpoint_mode);
  read_arg(config, "save_top_k", o.save_top_k);
  read_arg(config, "save_last", o.save_last);
  if (auto root = config.get_optional<std::string>("default_root_dir")) o.default_root_dir = *root;
  read_arg(config, "gradient_clip_val", o.gradient_clip_val);
  read_arg(config, "gradient_clip_algorithm", o.gradient_clip_algorithm);
  read_arg(config, "accumulate_grad_batches", o.accumulate_grad_batches);
  read_limit(config, "val_check_interval", o.val_check_interval);
  read_arg(config, "check_val_every_n_epoch", o.check_val_every_n_epoch);
  read_limit(config, "limit_train_batches", o.limit_train_batches);
  read_limit(config, "limit_val_batches", o.limit_val_batches);
  read_limit(config, "limit_test_batches", o.limit_test_batches);
  if (config.contains("fast_dev_run") && config.raw("fast_dev_run").is_bool()) {
    o.fast_dev_run = config.raw("fast_dev_run").as_bool() ? 1 : 0;  // true means one batch, as in Lightning
  } else {
    read_arg(config, "fast_dev_run", o.fast_dev_run);
  }
  read_arg(config, "num_sanity_val_steps", o.num_sanity_val_steps);
  if (auto seed = config.get_optional<std::int64_t>("seed")) {
    if (*seed < 0) throw ConfigError(config.where("seed") + ": expected a seed >= 0");
    o.seed = static_cast<std::uint64_t>(*seed);
  }
  read_arg(config, "deterministic", o.deterministic);
  read_arg(config, "channels_last", o.channels_last);
  read_arg(config, "logger", o.logger);
  read_arg(config, "enable_progress_bar", o.enable_progress_bar);
  read_arg(config, "enable_checkpointing", o.enable_checkpointing);
  read_arg(config, "enable_model_summary", o.enable_model_summary);
  read_arg(config, "log_every_n_steps", o.log_every_n_steps);
  for (const auto& spec : list_at(config, "callbacks")) {
    if (!spec.is_object() || !spec.as_object().contains("name") || !spec.as_object().at("name").is_string()) {
      throw ConfigError(config.where("callbacks") + ": each entry must be an object with a \"name\"");
    }
    boost::json::object args = spec.as_object();
    const std::string name(args.at("name").as_string());
    args.erase("name");
    Config callback_config(std::move(args), config.where("callbacks") + " entry '" + name + "'");
    o.callbacks.push_back(registry().callbacks().get(name).factory(callback_config));
    callback_config.expect_all_used();
  }
  if (config.contains("tuner_config")) {
    const Config tuner = config.section("tuner_config");
    read_arg(tuner, "auto_lr", o.tuner.auto_lr);
    read_arg(tuner, "auto_batch_size", o.tuner.auto_batch_size);
    const Config lr = tuner.section("lr_find");
    read_arg(lr, "min_lr", o.tuner.lr_find.min_lr);
    read_arg(lr, "max_lr", o.tuner.lr_find.max_lr);
    read_arg(lr, "num_training", o.tuner.lr_find.num_training);
    read_arg(lr, "mode", o.tuner.lr_find.mode);
    read_arg(lr, "early_stop_threshold", o.tuner.lr_find.early_stop_threshold);
    const Config batch = tuner.section("batch_size");
    read_arg(batch, "mode", o.tuner.batch_size.mode);
    read_arg(batch, "init_val", o.tuner.batch_size.init_val);
    read_arg(batch, "max_trials", o.tuner.batch_size.max_trials);
    read_arg(batch, "steps_per_trial", o.tuner.batch_size.steps_per_trial);
    read_arg(batch, "max_memory_fraction", o.tuner.batch_size.max_memory_fraction);
    if (auto bytes = batch.get_optional<std::int64_t>("max_memory_bytes")) o.tuner.batch_size.max_memory_bytes = *bytes;
  }
  o.logger_configs = list_at(config, "loggers");
  // Fail at load time for a malformed entry or a backend nobody provides, not when training starts.
  for (const auto& spec : o.logger_configs) registry().loggers().get(logger_backend_and_params(spec).first);
  return o;
}

std::pair<std::string, boost::json::object> logger_backend_and_params(const boost::json::value& spec) {
  const auto fail = [] {
    throw ConfigError("trainer.loggers: each entry is {\"backend\": \"tensorboard\", \"params\": {...}} (or "
                      "{\"name\": \"csv\", ...options} for a backend without a name option)");
  };
  if (!spec.is_object()) fail();
  const auto& entry = spec.as_object();
  if (const auto* backend = entry.if_contains("backend")) {
    if (!backend->is_string()) fail();
    for (const auto& [key, value] : entry) {
      if (key != "backend" && key != "params") {
        throw ConfigError("trainer.loggers entry '" + std::string(backend->as_string()) + "': unknown key '" +
                          std::string(key) + "'; options go inside \"params\"");
      }
    }
    boost::json::object params;
    if (const auto* given = entry.if_contains("params")) {
      if (!given->is_object()) fail();
      params = given->as_object();
    }
    return {std::string(backend->as_string()), std::move(params)};
  }
  const auto* name = entry.if_contains("name");
  if (name == nullptr || !name->is_string()) fail();
  boost::json::object params = entry;
  params.erase("name");
  return {std::string(name->as_string()), std::move(params)};
}

boost::json::object AutoTrainerOptions::to_json() const {
  boost::json::object json{{"max_epochs", max_epochs},
                           {"min_epochs", min_epochs},
                           {"accelerator", accelerator},
                           {"strategy", strategy},
                           {"devices", devices},
                           {"num_nodes", num_nodes},
                           {"find_unused_parameters", find_unused_parameters},
                           {"sync_batchnorm", sync_batchnorm},
                           {"gradient_compression", gradient_compression},
                           {"distributed_timeout_s", distributed_timeout_s},
                           {"precision", precision},
                           {"checkpoint_monitor", checkpoint_monitor},
                           {"checkpoint_mode", checkpoint_mode},
                           {"save_top_k", save_top_k},
                           {"save_last", save_last},
                           {"default_root_dir", default_root_dir.string()},
                           {"gradient_clip_val", gradient_clip_val},
                           {"gradient_clip_algorithm", gradient_clip_algorithm},
                           {"accumulate_grad_batches", accumulate_grad_batches},
                           {"val_check_interval", val_check_interval.to_json()},
                           {"check_val_every_n_epoch", check_val_every_n_epoch},
                           {"limit_train_batches", limit_train_batches.to_json()},
                           {"limit_val_batches", limit_val_batches.to_json()},
                           {"limit_test_batches", limit_test_batches.to_json()},
                           {"fast_dev_run", fast_dev_run},
                           {"num_sanity_val_steps", num_sanity_val_steps},
                           {"deterministic", deterministic},
                           {"channels_last", channels_last},
                           {"log_every_n_steps", log_every_n_steps}};
  json["seed"] = seed ? boost::json::value(*seed) : boost::json::value(nullptr);
  json["tuner_config"] = boost::json::object{{"auto_lr", tuner.auto_lr}, {"auto_batch_size", tuner.auto_batch_size}};
  return json;
}

}  // namespace autotimm
