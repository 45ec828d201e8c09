#pragma once
// Task: a model the trainer can fit — backbone + head + loss + metrics + how to optimize it, as a LightningModule.
// ImageClassifier is one; the dense tasks (detection, segmentation) are others. The trainer owns the loops; a task
// owns what a step means.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <torch/torch.h>

#include "autotimm/data/data_module.hpp"
#include "autotimm/data/loader.hpp"
#include "autotimm/distributed/collective.hpp"
#include "autotimm/export.hpp"
#include "autotimm/optim/schedulers.hpp"

namespace autotimm {

/// Where a training step is in the run: what per-step randomness (mixup, cutmix) is seeded from, so a resumed run
/// draws what an uninterrupted one would.
struct StepContext {
  std::int64_t epoch = 0;
  std::int64_t batch_idx = 0;
  std::int64_t global_step = 0;
  /// The processes of a distributed run (null: one process), for what a step must agree on across ranks, such as
  /// a detection loss's normaliser (positives averaged over ranks). Every rank takes every step, so a collective
  /// call made in each step is matched.
  Collective* ranks = nullptr;
};

/// The loss of one step, with its named terms (detached or not), for logging.
struct StepOutput {
  torch::Tensor loss;
  std::map<std::string, torch::Tensor> terms = {};
};

/// What configure_optimizers returns. The scheduler steps per its interval(); a scheduler that needs a metric
/// (plateau) reads `monitor` from the logged metrics.
struct OptimizerSetup {
  std::string optimizer_name;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::unique_ptr<LrScheduler> scheduler;  ///< may be null
  std::string monitor = "val/loss";
};

class AUTOTIMM_API Task : public torch::nn::Module {
 public:
  ~Task() override;
  /// "ImageClassifier": the class name saved in checkpoints.
  virtual std::string task_name() const = 0;
  /// Before any loop: checks the data fits the task (class count, label kind) and takes what the checkpoint must
  /// remember from it (class names, preprocessing).
  virtual void attach_data(DataModule& data) = 0;
  /// One training batch: forward, loss, training metrics. The trainer calls backward on `loss`.
  virtual StepOutput training_step(const Batch& batch, const StepContext& context) = 0;
  /// One evaluation batch of `stage` ("val" or "test"): forward, loss, metrics of that stage.
  virtual StepOutput evaluation_step(const Batch& batch, std::string_view stage) = 0;
  /// The metrics of `stage` ("train", "val", "test") accumulated since its last reset, keyed "<stage>/<name>".
  virtual std::map<std::string, double> compute_metrics(std::string_view stage) = 0;
  virtual void reset_metrics(std::string_view stage) = 0;
  /// Distributed runs: merges the metric state of `stage` across ranks, called on every rank before compute_metrics.
  virtual void sync_metrics(std::string_view stage, Collective& ranks) = 0;
  /// Inference on a batch: named outputs (a classifier gives "probabilities" and "labels").
  virtual std::map<std::string, torch::Tensor> predict_step(const Batch& batch) = 0;
  /// The base learning rate configure_optimizers uses (the learning-rate finder sets it).
  virtual double learning_rate() const = 0;
  virtual void set_learning_rate(double lr) = 0;
  /// The optimizer and scheduler for a run of `context`'s length.
  virtual OptimizerSetup configure_optimizers(const SchedulerContext& context) = 0;
  /// Everything needed to build the same task again (saved in checkpoints, logged as hyperparameters).
  virtual boost::json::object hparams() const = 0;
  /// The preprocessing the task was trained with (for predict); nullopt before attach_data or a checkpoint.
  virtual std::optional<DataConfig> data_config() const = 0;
};

}  // namespace autotimm
