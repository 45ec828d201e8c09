#pragma once
// Head: a task head on backbone features (classification, fcos, deeplabv3plus, fcn, mask). It takes the feature
// maps the task selected (one for classification, a pyramid for dense tasks) and returns its outputs in order.
#include <vector>

#include <torch/nn/module.h>

#include "autotimm/export.hpp"

namespace autotimm {

class AUTOTIMM_API Head : public torch::nn::Module {
 public:
  ~Head() override;
  virtual std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& features) = 0;
};

}  // namespace autotimm
