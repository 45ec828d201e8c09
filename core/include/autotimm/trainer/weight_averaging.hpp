#pragma once
// Weight averaging callbacks: an exponential moving average of the weights (timm's ModelEmaV3), or stochastic weight
// averaging (an equal average of the weights at the end of each epoch from swa_epoch_start on, with SWALR's
// learning-rate annealing and a BatchNorm pass at the end, as Lightning's StochasticWeightAveraging). Validation runs on the averaged weights, checkpoints
// store them as the model's weights (so test, predict and load_from_checkpoint use them) with the raw training
// weights beside them for resuming, and after fit the model holds the average.
//
//   autotimm::AutoTrainer trainer({.callbacks = {std::make_shared<autotimm::WeightAveraging>(
//       autotimm::WeightAveragingOptions{.kind = "ema", .decay = 0.9998})}});
//
// Registry names: ema ({"name": "ema", "decay": 0.9998, ...}) and swa ({"name": "swa", "swa_epoch_start": 0.8}).
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>
#include <variant>

#include "autotimm/callback.hpp"
#include "autotimm/config.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

/// A callback whose state includes tensors. The trainer saves them into checkpoints as
/// "callbacks.<state_key()>.<name>" and gives them back on resume, after the model's weights were loaded.
class AUTOTIMM_API CallbackTensors {
 public:
  virtual ~CallbackTensors();
  virtual std::map<std::string, torch::Tensor> checkpoint_tensors(const torch::nn::Module& model) const = 0;
  virtual void load_checkpoint_tensors(const std::map<std::string, torch::Tensor>& tensors,
                                       const torch::nn::Module& model) = 0;
  /// The weights a checkpoint stores as the model's, by state-dict key; empty: the model's own.
  virtual std::map<std::string, torch::Tensor> checkpoint_model_weights(const torch::nn::Module& model) const {
    return {};
  }
};

struct WeightAveragingOptions {
  std::string kind = "ema";  ///< ema or swa
  /// ema: the average keeps `decay` of itself at each update.
  double decay = 0.9998;
  /// ema: the decay ramps up as min(decay, 1 - (1 + step)^-warmup_power), timm's warm-up, so early weights do not
  /// linger in the average.
  bool warmup = true;
  double warmup_power = 2.0 / 3.0;
  std::int64_t update_every_n_steps = 1;  ///< ema: optimizer steps between updates
  std::int64_t start_step = 0;            ///< ema: the first optimizer step that updates (before it: a copy)
  /// swa: the first epoch averaged, as an index (>= 1) or a fraction of max_epochs (< 1).
  double swa_epoch_start = 0.8;
  /// swa: from swa_epoch_start the learning rate goes from its value then to swa_lr over annealing_epochs (then
  /// stays), in place of the task's scheduler, as torch's SWALR; none: the task's schedule goes on.
  std::optional<double> swa_lr = {};
  std::int64_t annealing_epochs = 10;
  std::string annealing_strategy = "cos";  ///< cos or linear
  /// swa: after fit, the BatchNorm statistics of the averaged weights are recomputed with one pass over the training
  /// data (averaged weights and averaged statistics do not match), and last.ckpt is rewritten with them.
  bool update_bn = true;
  /// Also average the buffers (BatchNorm statistics) instead of taking the model's, as timm's EMA does.
  bool average_buffers = true;
  static AUTOTIMM_API WeightAveragingOptions from(const Config& config, const std::string& kind);
};

class AUTOTIMM_API WeightAveraging : public Callback, public CallbackTensors {
 public:
  explicit WeightAveraging(WeightAveragingOptions options = {});

  void on_fit_start(TrainingState& state) override;
  void on_train_epoch_start(TrainingState& state) override;
  void on_train_batch_end(TrainingState& state) override;
  void on_validation_start(TrainingState& state) override;
  void on_validation_end(TrainingState& state) override;
  void on_fit_end(TrainingState& state) override;
  void on_exception(TrainingState& state, const std::string& what) override;
  std::string state_key() const override { return options_.kind == "ema" ? "EMA" : "SWA"; }
  boost::json::object state_dict() const override;
  void load_state_dict(const boost::json::object& state) override;

  std::map<std::string, torch::Tensor> checkpoint_tensors(const torch::nn::Module& model) const override;
  void load_checkpoint_tensors(const std::map<std::string, torch::Tensor>& tensors,
                               const torch::nn::Module& model) override;
  std::map<std::string, torch::Tensor> checkpoint_model_weights(const torch::nn::Module& model) const override;

  /// The averaged weights by state-dict key (empty before fit).
  const std::map<std::string, torch::Tensor>& average() const noexcept { return average_; }
  /// Updates so far (ema: optimizer steps averaged; swa: epochs averaged).
  std::int64_t num_updates() const noexcept { return updates_; }
  /// The decay the next ema update uses.
  double current_decay() const;
  const WeightAveragingOptions& options() const noexcept { return options_; }

 private:
  void update(const torch::nn::Module& model);
  /// Puts the average into the model, keeping the raw weights aside (swap_back undoes it).
  void swap_in(const torch::nn::Module& model);
  void swap_back(const torch::nn::Module& model);
  std::int64_t swa_start_epoch(std::int64_t max_epochs) const;
  /// swa: BatchNorm running statistics of the model recomputed over the training data.
  void recompute_batch_norm(TrainingState& state);

  WeightAveragingOptions options_;
  std::map<std::string, torch::Tensor> average_;
  std::map<std::string, torch::Tensor> raw_;  // the training weights while the average is in the model
  std::int64_t updates_ = 0;
  std::int64_t last_step_ = -1;
  std::vector<double> initial_lrs_;  // swa_lr: each param group's learning rate when the annealing began
  bool restored_ = false;
};

}  // namespace autotimm
