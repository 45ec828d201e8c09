#pragma once
// EvalModeGuard: a module in eval mode for the guard's lifetime, its previous mode back on the way out (also on an
// exception). For code that measures, explains or checks a model it was handed: dropout and stochastic depth must
// be off, and the caller's training must not find its model switched to eval afterwards.
//
//   autotimm::EvalModeGuard eval(model);
//   torch::NoGradGuard no_grad;
//   auto logits = model.forward(images);
#include <torch/nn/module.h>

namespace autotimm {

class EvalModeGuard {
 public:
  explicit EvalModeGuard(torch::nn::Module& module) : module_(module), was_training_(module.is_training()) {
    module_.eval();
  }
  ~EvalModeGuard() { module_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  torch::nn::Module& module_;
  bool was_training_;
};

}  // namespace autotimm
