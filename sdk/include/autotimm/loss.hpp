#pragma once
// Loss: returns each term by name plus the total, so loggers see every term (train/loss_cls, train/loss_box, ...).
#include <map>
#include <string>

#include <torch/nn/module.h>

#include "autotimm/export.hpp"

namespace autotimm {

using TensorMap = std::map<std::string, torch::Tensor>;

struct LossOutput {
  torch::Tensor total;  ///< the scalar that backward() is called on
  TensorMap terms;      ///< named scalar terms, detached or not; the total is not repeated here
};

class AUTOTIMM_API Loss : public torch::nn::Module {
 public:
  ~Loss() override;
  virtual LossOutput forward(const TensorMap& predictions, const TensorMap& targets) = 0;
};

}  // namespace autotimm
