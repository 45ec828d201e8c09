#pragma once
// The state of an AutoTrainer between and during its loops, and the TrainerHandle its callbacks see.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "autotimm/trainer/auto_trainer.hpp"
#include "autotimm/trainer/callbacks.hpp"
#include "autotimm/trainer/checkpoint.hpp"
#include "autotimm/trainer/grad_scaler.hpp"
#include "autotimm/trainer/precision.hpp"
#include "../distributed/gradient_reducer.hpp"
#include "../distributed/process_group.hpp"

namespace autotimm {

/// The task's parameters and buffers as they were, put back by restore() (the tuners' trial runs).
class TaskSnapshot {
 public:
  explicit TaskSnapshot(Task& task) : task_(task), was_training_(task.is_training()) {
    for (const auto& p : task.parameters()) saved_.emplace_back(p, p.detach().clone());
    for (const auto& b : task.buffers()) saved_.emplace_back(b, b.detach().clone());
  }
  void restore() {
    torch::NoGradGuard no_grad;
    for (auto& [tensor, copy] : saved_) tensor.copy_(copy);
    for (auto& p : task_.parameters()) p.mutable_grad() = torch::Tensor();
    task_.reset_metrics("train");
    task_.train(was_training_);
  }

 private:
  Task& task_;
  bool was_training_;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> saved_;
};

struct AutoTrainer::Run final : public TrainerHandle {
  explicit Run(AutoTrainerOptions opts) : options(std::move(opts)) {}

  AutoTrainerOptions options;
  TrainingState state;
  std::filesystem::path run_dir;
  std::vector<std::shared_ptr<Callback>> callbacks;
  std::vector<std::shared_ptr<Logger>> loggers;
  std::map<std::string, double> logged;
  bool hparams_logged = false;
  bool failed = false;                 // a loop threw: the loggers' runs end as failed
  torch::Device device = torch::kCPU;
  Precision precision = Precision::fp32;
  distributed::ProcessGroup* group = nullptr;  // set in distributed runs (this process's group, shared by trainers)

  // Set while a loop runs.
  Task* task = nullptr;
  OptimizerSetup* setup = nullptr;
  std::int64_t batches_done = 0;       // training batches of state.epoch already consumed
  std::int64_t train_batches = 0;      // per epoch
  ModelCheckpoint* model_checkpoint = nullptr;
  std::unique_ptr<distributed::GradientReducer> reducer;  // fit under ddp
  std::unique_ptr<GradScaler> scaler;                     // fit in 16-mixed
  DataModule* data = nullptr;                             // during fit
  bool scheduler_suspended = false;                       // a callback (SWA) drives the learning rate
  std::vector<torch::Tensor> buffers;                     // synced from rank 0 before each synced step

  // TrainerHandle
  void save_checkpoint(const std::filesystem::path& path) override;
  std::filesystem::path log_dir() const override { return run_dir; }
  void log_metrics(const std::map<std::string, double>& metrics, std::int64_t step) override;
  const torch::nn::Module& model() const override;
  std::string optimizer_name() const override { return setup ? setup->optimizer_name : std::string(); }
  std::vector<double> learning_rates() const override;

  /// Runtime, seed, device and precision checks; the run folder, loggers and callbacks (once per trainer).
  void prepare(Task& task, const std::string& stage);
  /// Joins the distributed run this process belongs to (starting the local peers when devices > 1 and no launcher
  /// did); nothing for a single-process run.
  void join_distributed();
  /// The ranks of the run (a world of one without ddp).
  Collective& ranks();
  /// Shards `data` across the ranks.
  void shard(DataModule& data) const;
  /// Under ddp: rank 0's weights and buffers everywhere, and the gradient reducer over the trainable parameters.
  void start_ddp(Task& task);
  /// True on every rank when `flag` is true on any (the flag itself in one process).
  bool any_rank(bool flag) { return group ? group->any(flag) : flag; }
  /// ConfigError naming `what` when this run is (or will be) distributed: the tuners run in one process.
  void refuse_distributed(const std::string& what) const;
  /// The tuner config's finders, before fit trains.
  void tune(AutoTrainer& trainer, Task& task, DataModule& data);
  /// The task on the trainer's device, convolution weights channels-last when asked.
  void place(Task& task) const;
  /// The batch's tensors on the trainer's device and in its memory layout (the batch itself when nothing changes).
  Batch on_device(const Batch& batch) const;
  /// The task's training step on the batch moved by on_device, under the run's autocast: fit and the finders.
  StepOutput training_step(Task& task, const Batch& batch, const StepContext& context) const;
  /// The task's evaluation step likewise: validate and test.
  StepOutput evaluation_step(Task& task, const Batch& batch, const std::string& stage) const;
  /// The trainer's loggers and the ones its config names (save_dir defaulting to default_root_dir), or the default
  /// CSV logger at <default_root_dir>/logs/version_<n>.
  void make_loggers();
  /// Restores a fit checkpoint into the task, optimizer, scheduler, callbacks, generator and counters.
  void restore(const Checkpoint& checkpoint, const std::filesystem::path& path);
  /// Puts the weights of a checkpoint ("best", "last" or a path) into the task; "" leaves it as it is.
  void load_weights(Task& task, const std::string& ckpt_path);
  /// Calls `hook` on every callback.
  template <class Hook>
  void each_callback(Hook&& hook) {
    state.trainer = this;
    for (auto& callback : callbacks) hook(*callback);
  }
  void log_hyperparams(Task& task, const DataModule* data);
  /// Makes the loggers' records durable after a loop; the runs themselves end when the trainer does.
  void finish_loggers(RunStatus status);
  bool is_dev_run() const { return options.fast_dev_run > 0; }
};

}  // namespace autotimm
