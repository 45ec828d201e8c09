// The trainer's bookkeeping: run folder, loggers and callbacks, checkpoints written and restored, weights loaded
// for evaluation.
#include "trainer_run.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdlib>
#include <mutex>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "autotimm/layers/batch_norm.hpp"
#include "autotimm/loggers/csv_logger.hpp"
#include "autotimm/trainer/weight_averaging.hpp"
#include "autotimm/optim/optimizers.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/runtime.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/version.hpp"
#include "../distributed/launcher.hpp"

namespace autotimm {

namespace fs = std::filesystem;

namespace {

constexpr const char* kRngKey = "rng.torch_cpu";

/// <root>/logs/version_<n>, n one more than the largest there.
fs::path next_version_dir(const fs::path& root) {
  const fs::path logs = root / "logs";
  long next = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(logs, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || !name.starts_with("version_")) continue;
    try {
      std::size_t used = 0;
      const long n = std::stol(name.substr(8), &used);
      if (used == name.size() - 8 && n >= next) next = n + 1;
    } catch (const std::exception&) {
      // not one of ours
    }
  }
  return logs / ("version_" + std::to_string(next));
}

/// Where a run keeps checkpoints, as Lightning decides it: the first logger's folder, else <root>/<name>/<version>
/// of a logger that names its run (an MLflow server's experiment and run id), else the next <root>/logs/version_<n>.
fs::path run_dir_of(const Logger& logger, const fs::path& root) {
  if (auto dir = logger.log_dir(); !dir.empty()) return dir;
  const std::string name = logger.name(), version = logger.version();
  if (!name.empty() && !version.empty() && fs::path(name).filename() == name && fs::path(version).filename() == version) {
    return root / name / version;
  }
  return next_version_dir(root);
}

const boost::json::object& object_at(const boost::json::object& meta, const char* key, const fs::path& path) {
  const auto* value = meta.if_contains(key);
  if (value == nullptr || !value->is_object()) {
    throw FormatError("checkpoint '" + path.string() + "' has no '" + key + "' object; it was not written by fit");
  }
  return value->as_object();
}

std::int64_t int_at(const boost::json::object& meta, const char* key, const fs::path& path) {
  const auto* value = meta.if_contains(key);
  if (value == nullptr || !value->is_int64()) {
    throw FormatError("checkpoint '" + path.string() + "' has no integer '" + key + "'; it was not written by fit");
  }
  return value->as_int64();
}

}  // namespace

Batch AutoTrainer::Run::on_device(const Batch& batch) const {
  const bool bf16 = precision == Precision::bf16_true;
  if (device.is_cpu() && !options.channels_last && !bf16) return batch;
  Batch moved = batch;
  moved.images = bf16 ? batch.images.to(device, torch::kBFloat16) : batch.images.to(device);
  if (options.channels_last && moved.images.dim() == 4) {
    moved.images = moved.images.contiguous(at::MemoryFormat::ChannelsLast);
  }
  if (batch.targets.defined()) {
    moved.targets = bf16 && batch.targets.is_floating_point() ? batch.targets.to(device, torch::kBFloat16)
                                                               : batch.targets.to(device);
  }
  // Detection targets stay float32: box arithmetic in bf16 would lose whole pixels.
  for (auto* per_image : {&moved.boxes, &moved.labels, &moved.iscrowd, &moved.masks}) {
    for (auto& tensor : *per_image) tensor = tensor.to(device);
  }
  return moved;
}

StepOutput AutoTrainer::Run::training_step(Task& the_task, const Batch& batch, const StepContext& context) const {
  AutocastScope autocast(precision, device);
  StepContext with_ranks = context;
  with_ranks.ranks = group;
  return the_task.training_step(on_device(batch), with_ranks);
}

StepOutput AutoTrainer::Run::evaluation_step(Task& the_task, const Batch& batch, const std::string& stage) const {
  AutocastScope autocast(precision, device);
  return the_task.evaluation_step(on_device(batch), stage);
}

void AutoTrainer::Run::place(Task& the_task) const {
  the_task.to(device);
  if (precision == Precision::bf16_true) the_task.to(torch::kBFloat16);  // weights, buffers and so the optimizer state
  if (!options.channels_last) return;
  // Convolution weights in NHWC too, so oneDNN converts nothing inside the steps. set_data keeps the parameters
  // the optimizer holds; checkpoints still store plain contiguous tensors.
  torch::NoGradGuard no_grad;
  for (auto& p : the_task.parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  }
}

void AutoTrainer::Run::join_distributed() {
  if (group != nullptr) return;
  auto env = distributed::Environment::from_env();
  const int wanted = options.devices * options.num_nodes;
  const bool defaults = options.devices == 1 && options.num_nodes == 1;
  if (!env) {
    if (wanted <= 1) return;  // ddp on one device is one process
    if (options.num_nodes > 1) {
      throw ConfigError("AutoTrainer: num_nodes = " + std::to_string(options.num_nodes) + " needs a launcher on each "
                        "node: run `autotimm launch --nnodes " + std::to_string(options.num_nodes) +
                        " --node-rank <r> --nproc-per-node " + std::to_string(options.devices) +
                        " --master-addr <node 0's address> --master-port <port> -- <command>` on every node");
    }
    const bool threads_chosen = std::getenv("OMP_NUM_THREADS") != nullptr;
    distributed::spawn_local_peers(options.devices);
    if (!threads_chosen) at::set_num_threads(std::max(1, configure_runtime().threads / options.devices));
    env = distributed::Environment::from_env();
  } else if (env->world_size != wanted && !defaults) {
    throw ConfigError("AutoTrainer: the launcher started " + std::to_string(env->world_size) + " processes (WORLD_SIZE) "
                      "but devices × num_nodes = " + std::to_string(options.devices) + " × " +
                      std::to_string(options.num_nodes) + "; make them agree, or leave devices and num_nodes at 1 to "
                      "take the launcher's");
  }
  if (env->world_size == 1) return;
  const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(options.distributed_timeout_s * 1000.0));
  group = &distributed::ProcessGroup::join(*env, timeout);
  state.is_global_zero = group->rank() == 0;
}

Collective& AutoTrainer::Run::ranks() {
  static SingleProcess one;
  return group != nullptr ? static_cast<Collective&>(*group) : one;
}

void AutoTrainer::Run::shard(DataModule& data) const {
  if (group != nullptr) data.set_shard(group->rank(), group->world_size());
}

void AutoTrainer::Run::start_ddp(Task& the_task) {
  reducer.reset();
  buffers.clear();
  if (group == nullptr) return;
  std::vector<torch::Tensor> everything, trainable;
  std::vector<std::string> names;
  for (const auto& item : the_task.named_parameters()) {
    everything.push_back(item.value());
    if (item.value().requires_grad()) {
      trainable.push_back(item.value());
      names.push_back(item.key());
    }
  }
  for (const auto& item : the_task.named_buffers()) {
    everything.push_back(item.value());
    buffers.push_back(item.value());
  }
  group->broadcast(everything);  // every rank starts from rank 0's weights
  if (options.sync_batchnorm) {
    // Only the SDK's BatchNorm2d can synchronise; torch's own in a third-party model is named, not silently skipped.
    std::int64_t synced = 0;
    for (const auto& item : the_task.named_modules("", /*include_self=*/false)) {
      if (dynamic_cast<const layers::BatchNorm2dImpl*>(item.value().get()) != nullptr) {
        ++synced;
      } else if (dynamic_cast<const torch::nn::BatchNorm2dImpl*>(item.value().get()) != nullptr ||
                 dynamic_cast<const torch::nn::BatchNorm1dImpl*>(item.value().get()) != nullptr ||
                 dynamic_cast<const torch::nn::BatchNorm3dImpl*>(item.value().get()) != nullptr) {
        spdlog::warn("sync_batchnorm: '{}' is torch's BatchNorm, which keeps per-process statistics; build it with "
                     "autotimm::layers::BatchNorm2d to synchronise it", item.key());
      }
    }
    if (group->rank() == 0) spdlog::info("sync_batchnorm: {} BatchNorm layer(s) synchronised across ranks", synced);
  }
  reducer = std::make_unique<distributed::GradientReducer>(
      *group, std::move(trainable), std::move(names),
      distributed::GradientReducerOptions{.find_unused_parameters = options.find_unused_parameters,
                                          .compression = options.gradient_compression});
}

void AutoTrainer::Run::prepare(Task& the_task, const std::string& stage) {
  configure_runtime();
  task = &the_task;
  state.stage = stage;
  state.trainer = this;
  state.batch_idx = 0;
  if (stage == "fit" && options.seed) torch::manual_seed(*options.seed);
  if (options.deterministic) at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/false);
  const bool cuda_available = torch::cuda::is_available();
  if ((options.accelerator == "cuda" || options.accelerator == "gpu") && !cuda_available) {
    throw ConfigError("AutoTrainer: accelerator '" + options.accelerator +
                      "' asked for, but this libtorch sees no CUDA device; use accelerator cpu or auto");
  }
  const auto check_precision = [&] {
    if (precision == Precision::fp16_mixed && !device.is_cuda()) {
      throw ConfigError("AutoTrainer: precision '16-mixed' (float16 autocast with dynamic loss scaling) runs on CUDA, "
                        "and this run is on the CPU; use bf16-mixed, which needs no loss scaling and runs fast on "
                        "CPUs with AVX-512 BF16");
    }
  };
  if (stage == "predict" || stage == "tune") {  // these leave no run folder, logs or checkpoints, and run alone
    device = options.accelerator != "cpu" && cuda_available ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    check_precision();
    return;
  }
  join_distributed();
  const int local_rank = group != nullptr ? group->environment().local_rank : 0;
  device = options.accelerator != "cpu" && cuda_available ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank))
                                                          : torch::Device(torch::kCPU);
  check_precision();

  // Only rank 0 logs and writes; every rank knows the run folder (checkpoint paths, "best").
  if (loggers.empty() && !is_dev_run() && state.is_global_zero) make_loggers();
  if (run_dir.empty() && !is_dev_run()) {
    if (state.is_global_zero) {
      run_dir = loggers.empty() ? next_version_dir(options.default_root_dir)
                                : run_dir_of(*loggers.front(), options.default_root_dir);
      fs::create_directories(run_dir);
    }
    if (group != nullptr) run_dir = group->share(run_dir.string());
  }
  if (callbacks.empty()) {
    // Summary and progress first, checkpointing last so it sees what the other callbacks decided.
    bool has_checkpoint = false, has_summary = false, has_progress = false;
    for (const auto& c : options.callbacks) {
      has_checkpoint |= dynamic_cast<ModelCheckpoint*>(c.get()) != nullptr;
      has_summary |= dynamic_cast<ModelSummary*>(c.get()) != nullptr;
      has_progress |= dynamic_cast<ProgressBar*>(c.get()) != nullptr;
    }
    if (options.enable_model_summary && !has_summary) callbacks.push_back(std::make_shared<ModelSummary>());
    if (options.enable_progress_bar && !has_progress) callbacks.push_back(std::make_shared<ProgressBar>());
    for (const auto& c : options.callbacks) {
      if (auto* checkpoint = dynamic_cast<ModelCheckpoint*>(c.get()); checkpoint == nullptr || !is_dev_run()) {
        callbacks.push_back(c);
      }
    }
    if (options.enable_checkpointing && !has_checkpoint && !is_dev_run()) {
      callbacks.push_back(std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{
          .monitor = options.checkpoint_monitor,
          .mode = options.checkpoint_mode,
          .save_top_k = options.save_top_k,
          .save_last = options.save_last}));
    }
    for (const auto& c : callbacks) {
      if (auto* checkpoint = dynamic_cast<ModelCheckpoint*>(c.get())) model_checkpoint = checkpoint;
    }
  }
}

void AutoTrainer::Run::make_loggers() {
  loggers = options.loggers;
  for (const auto& spec : options.logger_configs) {
    auto [backend, args] = logger_backend_and_params(spec);
    if (!args.contains("save_dir")) args["save_dir"] = options.default_root_dir.string();
    Config config(std::move(args), "trainer.loggers entry '" + backend + "'");
    loggers.push_back(registry().loggers().get(backend).factory(config));
    config.expect_all_used();
  }
  if (loggers.empty() && options.logger) {
    loggers.push_back(std::make_shared<CsvLogger>(CsvLoggerOptions{.save_dir = options.default_root_dir}));
  }
}

void AutoTrainer::Run::log_metrics(const std::map<std::string, double>& metrics, std::int64_t step) {
  for (const auto& [name, value] : metrics) {
    state.metrics[name] = value;
    logged[name] = value;
  }
  if (!state.is_global_zero || state.sanity_checking) return;
  for (auto& logger : loggers) logger->log_metrics(metrics, step);
}

void AutoTrainer::Run::log_hyperparams(Task& the_task, const DataModule* data) {
  if (hparams_logged || !state.is_global_zero) return;
  hparams_logged = true;
  boost::json::object params{{"task", the_task.task_name()},
                             {"model", the_task.hparams()},
                             {"trainer", options.to_json()}};
  if (data != nullptr) params["data"] = data->hparams();
  for (auto& logger : loggers) logger->log_hyperparams(params);
}

void AutoTrainer::Run::finish_loggers(RunStatus status) {
  for (auto& logger : loggers) {
    try {
      logger->save();
    } catch (const std::exception& e) {
      spdlog::error("logger: {}", e.what());
    }
  }
  if (status != RunStatus::success) failed = true;
}

const torch::nn::Module& AutoTrainer::Run::model() const {
  if (task == nullptr) throw ConfigError("the trainer has no task outside fit, validate, test and predict");
  return *task;
}

std::vector<double> AutoTrainer::Run::learning_rates() const {
  std::vector<double> lrs;
  if (setup == nullptr) return lrs;
  for (const auto& group : setup->optimizer->param_groups()) lrs.push_back(group.options().get_lr());
  return lrs;
}

void AutoTrainer::Run::save_checkpoint(const fs::path& path) {
  if (!state.is_global_zero) return;
  if (task == nullptr) throw ConfigError("save_checkpoint: no task is being trained");
  Checkpoint checkpoint;
  std::map<std::string, torch::Tensor> weights;
  for (const auto& [key, tensor] : state_dict(*task)) weights[key] = tensor;
  for (const auto& callback : callbacks) {
    // Weight averaging stores its average as the model's weights and the training weights beside them.
    if (const auto* with_tensors = dynamic_cast<const CallbackTensors*>(callback.get())) {
      if (auto replaced = with_tensors->checkpoint_model_weights(*task); !replaced.empty()) weights = std::move(replaced);
      for (auto& [key, tensor] : with_tensors->checkpoint_tensors(*task)) {
        checkpoint.tensors["callbacks." + callback->state_key() + "." + key] = tensor;
      }
    }
  }
  for (const auto& [key, tensor] : weights) checkpoint.tensors["model." + key] = tensor;
  boost::json::object meta{{"task", task->task_name()},
                           {"hparams", task->hparams()},
                           {"autotimm_version", kSdkVersion},
                           {"epoch", state.epoch},
                           {"global_step", state.global_step},
                           {"batches_done", batches_done},
                           {"train_batches", train_batches}};
  if (auto config = task->data_config()) meta["data_config"] = data_config_to_json(*config);
  if (scaler) {
    boost::json::object scaler_state;
    for (const auto& [key, value] : scaler->state()) scaler_state[key] = value;
    meta["grad_scaler"] = std::move(scaler_state);
  }
  if (setup != nullptr) {
    for (auto& [key, tensor] : optimizer_state_tensors(*setup->optimizer)) checkpoint.tensors[key] = tensor;
    meta["optimizer"] = setup->optimizer_name;
    if (setup->scheduler) {
      boost::json::object scheduler_state;
      for (const auto& [key, value] : setup->scheduler->state()) scheduler_state[key] = value;
      meta["scheduler"] = boost::json::object{{"name", setup->scheduler->name()}, {"state", scheduler_state}};
    }
  }
  {
    auto generator = at::detail::getDefaultCPUGenerator();  // a handle to the process-wide generator
    std::lock_guard<std::mutex> lock(generator.mutex());
    checkpoint.tensors[kRngKey] = generator.get_state();
  }
  boost::json::object callback_states;
  for (const auto& callback : callbacks) {
    if (const auto key = callback->state_key(); !key.empty()) callback_states[key] = callback->state_dict();
  }
  meta["callbacks"] = std::move(callback_states);
  boost::json::object metrics;
  for (const auto& [name, value] : state.metrics) {
    if (std::isfinite(value)) metrics[name] = value;
  }
  meta["metrics"] = std::move(metrics);
  meta["trainer"] = options.to_json();
  checkpoint.meta = std::move(meta);
  write_checkpoint(path, checkpoint);
}

void AutoTrainer::Run::restore(const Checkpoint& checkpoint, const fs::path& path) {
  const auto* task_name = checkpoint.meta.if_contains("task");
  if (task_name == nullptr || !task_name->is_string() || task_name->as_string() != task->task_name()) {
    throw FormatError("checkpoint '" + path.string() + "' is not a checkpoint of a " + task->task_name());
  }
  load_state_dict(*task, checkpoint.with_prefix("model."), {.source = path.string()});
  std::map<std::string, torch::Tensor> optimizer_state;
  for (const auto& [key, tensor] : checkpoint.tensors) {
    if (key.starts_with("optimizer.")) optimizer_state[key] = tensor;
  }
  if (optimizer_state.empty()) {
    throw FormatError("checkpoint '" + path.string() + "' has no optimizer state; resume needs a checkpoint written "
                      "by fit (to start from its weights only, load it with load_from_checkpoint)");
  }
  load_optimizer_state_tensors(*setup->optimizer, optimizer_state);
  if (setup->scheduler) {
    const auto& scheduler = object_at(checkpoint.meta, "scheduler", path);
    const auto* name = scheduler.if_contains("name");
    if (name == nullptr || !name->is_string() || name->as_string() != setup->scheduler->name()) {
      throw FormatError("checkpoint '" + path.string() + "' was trained with another scheduler than '" +
                        setup->scheduler->name() + "'; resume with the same scheduler");
    }
    std::map<std::string, double> values;
    for (const auto& [key, value] : object_at(scheduler, "state", path)) values[key] = value.to_number<double>();
    setup->scheduler->load_state(values);
  }
  if (const auto* saved = checkpoint.meta.if_contains("grad_scaler"); scaler && saved && saved->is_object()) {
    std::map<std::string, double> values;
    for (const auto& [key, value] : saved->as_object()) values[key] = value.to_number<double>();
    scaler->load_state(values);
  }
  if (const auto it = checkpoint.tensors.find(kRngKey); it != checkpoint.tensors.end()) {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(it->second);
  }
  const auto& callback_states = object_at(checkpoint.meta, "callbacks", path);
  for (const auto& callback : callbacks) {
    const auto key = callback->state_key();
    if (key.empty()) continue;
    if (const auto* saved = callback_states.if_contains(key); saved != nullptr && saved->is_object()) {
      callback->load_state_dict(saved->as_object());
    }
    if (auto* with_tensors = dynamic_cast<CallbackTensors*>(callback.get())) {
      const auto tensors = checkpoint.with_prefix("callbacks." + key + ".");
      if (tensors.empty()) {
        spdlog::warn("resume: the checkpoint has no {} state; it starts afresh from the loaded weights", key);
      } else {
        with_tensors->load_checkpoint_tensors(tensors, *task);
      }
    }
  }
  if (const auto* metrics = checkpoint.meta.if_contains("metrics"); metrics && metrics->is_object()) {
    for (const auto& [key, value] : metrics->as_object()) state.metrics[key] = value.to_number<double>();
  }
  state.epoch = int_at(checkpoint.meta, "epoch", path);
  state.global_step = int_at(checkpoint.meta, "global_step", path);
  batches_done = int_at(checkpoint.meta, "batches_done", path);
  const auto saved_batches = int_at(checkpoint.meta, "train_batches", path);
  if (saved_batches != train_batches) {
    spdlog::warn("resume: the checkpoint's epochs had {} batches, this run has {}; the data or batch size changed, "
                 "so the run will not match an uninterrupted one",
                 saved_batches, train_batches);
    if (batches_done >= saved_batches) batches_done = train_batches;
  }
}

void AutoTrainer::Run::load_weights(Task& the_task, const std::string& ckpt_path) {
  if (ckpt_path.empty()) return;
  fs::path path;
  if (ckpt_path == "best" || ckpt_path == "last") {
    if (model_checkpoint != nullptr) {
      path = ckpt_path == "best" ? model_checkpoint->best_model_path() : model_checkpoint->last_model_path();
    }
    if (path.empty()) {
      throw ConfigError("ckpt_path '" + ckpt_path + "': this trainer has saved no " + ckpt_path +
                        " checkpoint; run fit with checkpointing first, or give a checkpoint file");
    }
  } else {
    path = ckpt_path;
  }
  const Checkpoint checkpoint = read_checkpoint(path);
  const auto* task_name = checkpoint.meta.if_contains("task");
  if (task_name == nullptr || !task_name->is_string() || task_name->as_string() != the_task.task_name()) {
    throw FormatError("checkpoint '" + path.string() + "' is not a checkpoint of a " + the_task.task_name());
  }
  load_state_dict(the_task, checkpoint.with_prefix("model."), {.source = path.string()});
  spdlog::info("{}: weights from {}", state.stage, path.string());
}

}  // namespace autotimm
