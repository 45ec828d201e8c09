// LAMB, following timm's Lamb (NVIDIA FusedLAMB behaviour): see optimizers.hpp for the update.
#include <cmath>

#include "autotimm/optim/optimizers.hpp"

namespace autotimm {

LambOptions::LambOptions(double lr) : lr_(lr) {}
LambOptions::~LambOptions() = default;
double LambOptions::get_lr() const { return lr(); }
void LambOptions::set_lr(const double lr) { this->lr(lr); }
LambParamState::~LambParamState() = default;

Lamb::Lamb(std::vector<torch::optim::OptimizerParamGroup> param_groups, LambOptions defaults)
    : torch::optim::Optimizer(std::move(param_groups), std::make_unique<LambOptions>(defaults)) {
  TORCH_CHECK(defaults.lr() >= 0, "Invalid learning rate: ", defaults.lr());
  TORCH_CHECK(defaults.eps() >= 0, "Invalid epsilon value: ", defaults.eps());
  TORCH_CHECK(defaults.weight_decay() >= 0, "Invalid weight_decay value: ", defaults.weight_decay());
}

torch::Tensor Lamb::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss = {};
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }

  // Global gradient-norm clipping (timm reads max_grad_norm from the defaults): grads are divided by
  // max(||all grads|| / max_grad_norm, 1), out of place.
  torch::Tensor clip;
  const auto& defaults_options = static_cast<const LambOptions&>(defaults());
  if (defaults_options.max_grad_norm()) {
    std::vector<torch::Tensor> norms;
    for (const auto& group : param_groups_) {
      for (const auto& p : group.params()) {
        if (!p.grad().defined()) continue;
        TORCH_CHECK(!p.grad().is_sparse(), "Lamb does not support sparse gradients");
        norms.push_back(torch::linalg_vector_norm(p.grad()));
      }
    }
    if (!norms.empty()) {
      auto global_norm = torch::linalg_vector_norm(torch::stack(norms));
      clip = (global_norm / *defaults_options.max_grad_norm()).clamp_min_(1.0);
    }
  }

  for (auto& group : param_groups_) {
    const auto& options = static_cast<const LambOptions&>(group.options());
    const double beta1 = std::get<0>(options.betas());
    const double beta2 = std::get<1>(options.betas());
    const double beta3 = options.grad_averaging() ? 1.0 - beta1 : 1.0;
    const double lr = options.lr();
    const double weight_decay = options.weight_decay();
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto key = c10::guts::to_string(p.unsafeGetTensorImpl());
      auto found = state_.find(key);
      if (found == state_.end()) {
        auto fresh = std::make_unique<LambParamState>();
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        found = state_.emplace(key, std::move(fresh)).first;
      }
      auto& state = static_cast<LambParamState&>(*found->second);
      state.step(state.step() + 1);
      const auto step = static_cast<double>(state.step());
      const double bias_correction1 = options.bias_correction() ? 1.0 - std::pow(beta1, step) : 1.0;
      const double bias_correction2 = options.bias_correction() ? 1.0 - std::pow(beta2, step) : 1.0;

      auto grad = clip.defined() ? p.grad() / clip : p.grad();
      auto& exp_avg = state.exp_avg();
      auto& exp_avg_sq = state.exp_avg_sq();
      if (options.grad_averaging()) {
        exp_avg.lerp_(grad, beta3);
      } else {
        exp_avg.mul_(beta1).add_(grad, beta3);
      }
      exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1.0 - beta2);

      auto denom = (exp_avg_sq.sqrt() / std::sqrt(bias_correction2)).add_(options.eps());
      auto update = (exp_avg / bias_correction1).div_(denom);
      if (weight_decay != 0) update.add_(p, weight_decay);
      if (weight_decay != 0 || options.always_adapt()) {
        // Layer-wise adaptation: ||p|| / ||update||, 1 when either norm is 0; LAMBC clamps it at 1.
        auto w_norm = p.norm(2);
        auto g_norm = update.norm(2);
        auto one = torch::ones_like(w_norm);
        auto trust_ratio = torch::where(w_norm > 0, torch::where(g_norm > 0, w_norm / g_norm, one), one);
        if (options.trust_clip()) trust_ratio.clamp_max_(1.0);
        update.mul_(trust_ratio);
      }
      p.add_(update, -lr);
    }
  }
  return loss;
}

}  // namespace autotimm
