#pragma once
// The transformer feed-forward block, as timm's layers/mlp.py Mlp: fc1 → act → dropout → fc2 → dropout. State
// dict keys `fc1.weight`, `fc1.bias`, `fc2.weight`, `fc2.bias` under the owner's name ("blocks.0.mlp.fc1.weight").
//
//   autotimm::layers::Mlp mlp(autotimm::layers::MlpOptions{.in_features = 384, .hidden_features = 1536});
//   torch::Tensor y = mlp(tokens);                                  // [N, L, 384] → [N, L, 384]
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "autotimm/export.hpp"
#include "autotimm/layers/activations.hpp"

namespace autotimm::layers {

struct MlpOptions {
  std::int64_t in_features = 0;
  std::int64_t hidden_features = 0;  ///< 0: in_features
  std::int64_t out_features = 0;     ///< 0: in_features
  Activation act_layer = Activation::gelu;  ///< timm's default nn.GELU (exact erf form)
  bool bias = true;                         ///< on both fc1 and fc2
  double drop = 0.0;                        ///< dropout after the activation and after fc2 (training only)
};

class AUTOTIMM_API MlpImpl : public torch::nn::Module {
 public:
  /// ConfigError when a width is not positive or `drop` is not a probability in [0, 1).
  explicit MlpImpl(MlpOptions options);
  ~MlpImpl() override;

  at::Tensor forward(const at::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  MlpOptions options;
  torch::nn::Linear fc1{nullptr};
  torch::nn::Linear fc2{nullptr};
};
TORCH_MODULE(Mlp);

}  // namespace autotimm::layers
