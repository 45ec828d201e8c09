#pragma once
// Optimizers by name, as timm's create_optimizer_v2 and AutoTimm's `optimizer=` option:
//
//   auto opt = autotimm::make_optimizer("adamw", model->named_parameters(), {.lr = 1e-3, .weight_decay = 0.05});
//
// Names: sgd (momentum, dampening, nesterov), adam, adamw, rmsprop, adagrad, lamb. Only parameters that require
// grad are optimized. With weight decay and `filter_bias_and_bn` (the default), parameters are split as timm's
// param_groups_weight_decay does: group 0 holds every 1-d (or 0-d) parameter, every name ending in ".bias" and every
// name matching `no_weight_decay`, with weight decay 0; group 1 holds the rest with `weight_decay`. Empty groups are
// dropped. The optimizers are libtorch's own (torch::optim::SGD, ...) except LAMB, which libtorch lacks.
//
// Checkpoints store optimizer state as named tensors (`optimizer_state_tensors`): exact resume.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "autotimm/config.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

/// Keyword arguments of make_optimizer. A field an optimizer does not use is ignored.
struct OptimizerOptions {
  double lr = 1e-3;
  double weight_decay = 0.0;               ///< L2 for sgd/adam/rmsprop/adagrad/lamb, decoupled for adamw
  double momentum = 0.9;                   ///< sgd, rmsprop (timm's factory default)
  double dampening = 0.0;                  ///< sgd; must be 0 with nesterov
  bool nesterov = false;                   ///< sgd; needs momentum > 0
  std::array<double, 2> betas = {0.9, 0.999};  ///< adam, adamw, lamb
  std::optional<double> eps = {};          ///< default: adam/adamw/rmsprop 1e-8, adagrad 1e-10, lamb 1e-6
  bool amsgrad = false;                    ///< adam, adamw
  double alpha = 0.9;                      ///< rmsprop smoothing constant (timm's factory uses 0.9)
  bool centered = false;                   ///< rmsprop
  double lr_decay = 0.0;                   ///< adagrad
  double initial_accumulator_value = 0.0;  ///< adagrad
  std::optional<double> max_grad_norm = 1.0;  ///< lamb: global grad-norm clip before the update (nullopt: off)
  bool trust_clip = false;                 ///< lamb: LAMBC, clamp the trust ratio at 1
  bool always_adapt = false;               ///< lamb: apply the trust ratio to parameters without weight decay too
  bool bias_correction = true;             ///< lamb
  bool grad_averaging = true;              ///< lamb: (1 - beta1) on the gradient in the first moment
  bool filter_bias_and_bn = true;          ///< no weight decay on norms, biases and `no_weight_decay`
  std::vector<std::string> no_weight_decay = {};  ///< parameter names (wildcards allowed) excluded from decay

  /// From a config object with the keys above (and "name", which is left to the caller); unknown keys are a
  /// ConfigError with suggestions. `eps`/`max_grad_norm` may be null.
  static AUTOTIMM_API OptimizerOptions from(const Config& config);
};

/// The names make_optimizer accepts, sorted.
AUTOTIMM_API std::vector<std::string> optimizer_names();

/// Builds the optimizer `name` over `named_parameters` (names drive the weight-decay split). Unknown name or
/// invalid option (negative lr, beta outside [0, 1), nesterov without momentum...) → ConfigError.
AUTOTIMM_API std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const std::string& name, const torch::OrderedDict<std::string, torch::Tensor>& named_parameters,
    const OptimizerOptions& options = {});
/// Same, over a module's parameters.
AUTOTIMM_API std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::string& name,
                                                                     const torch::nn::Module& module,
                                                                     const OptimizerOptions& options = {});

/// timm's param_groups_weight_decay split, by name. Parameters not requiring grad are left out.
struct WeightDecayGroups {
  std::vector<std::string> no_decay_names;
  std::vector<torch::Tensor> no_decay;
  std::vector<std::string> decay_names;
  std::vector<torch::Tensor> decay;
};
AUTOTIMM_API WeightDecayGroups split_weight_decay(const torch::OrderedDict<std::string, torch::Tensor>& named_parameters,
                                                  const std::vector<std::string>& no_weight_decay = {});

/// LAMB as timm's Lamb (NVIDIA FusedLAMB behaviour): Adam moments with bias correction, L2 weight decay added to
/// the update, the update scaled per parameter by ||p|| / ||update|| (1 when either is 0; clamped at 1 with
/// trust_clip) when weight_decay != 0 or always_adapt, and gradients first divided by max(global_norm /
/// max_grad_norm, 1). The step count is kept per parameter (timm keeps it per group: equal unless a parameter of a
/// group has no gradient on some step).
struct AUTOTIMM_API LambOptions : public torch::optim::OptimizerCloneableOptions<LambOptions> {
  LambOptions(double lr = 1e-3);  // NOLINT(google-explicit-constructor)
  TORCH_ARG(double, lr) = 1e-3;
  typedef std::tuple<double, double> betas_t;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  TORCH_ARG(double, eps) = 1e-6;
  TORCH_ARG(double, weight_decay) = 0.01;
  TORCH_ARG(bool, bias_correction) = true;
  TORCH_ARG(bool, grad_averaging) = true;
  TORCH_ARG(std::optional<double>, max_grad_norm) = 1.0;
  TORCH_ARG(bool, trust_clip) = false;
  TORCH_ARG(bool, always_adapt) = false;

 public:
  double get_lr() const override;
  void set_lr(const double lr) override;
  ~LambOptions() override;
};

struct AUTOTIMM_API LambParamState : public torch::optim::OptimizerCloneableParamState<LambParamState> {
  TORCH_ARG(std::int64_t, step) = 0;
  TORCH_ARG(torch::Tensor, exp_avg);
  TORCH_ARG(torch::Tensor, exp_avg_sq);

 public:
  ~LambParamState() override;
};

class AUTOTIMM_API Lamb : public torch::optim::Optimizer {
 public:
  explicit Lamb(std::vector<torch::optim::OptimizerParamGroup> param_groups, LambOptions defaults = {});
  explicit Lamb(std::vector<torch::Tensor> params, LambOptions defaults = {})
      : Lamb({torch::optim::OptimizerParamGroup(std::move(params))}, std::move(defaults)) {}
  torch::Tensor step(LossClosure closure = nullptr) override;
};

/// The optimizer's state as named tensors for a checkpoint: "optimizer.state.<group>.<param index>.<field>"
/// (fields as in PyTorch: exp_avg, exp_avg_sq, max_exp_avg_sq, momentum_buffer, square_avg, grad_avg, sum; the step
/// count as an int64 scalar "step") and each group's current lr as "optimizer.param_groups.<group>.lr" (float64).
/// Tensors are copies.
AUTOTIMM_API std::map<std::string, torch::Tensor> optimizer_state_tensors(const torch::optim::Optimizer& optimizer);
/// The inverse, into an optimizer built the same way (same name, same parameters): replaces its state and group
/// lrs. A key that does not name one of its groups, parameters or fields, or a tensor of the wrong shape →
/// FormatError naming the key.
AUTOTIMM_API void load_optimizer_state_tensors(torch::optim::Optimizer& optimizer,
                                               const std::map<std::string, torch::Tensor>& tensors);

}  // namespace autotimm
