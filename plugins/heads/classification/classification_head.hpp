#pragma once
// The classification head of AutoTimm's ImageClassifier: dropout then a linear layer over the backbone's pooled
// features. A feature map [N, C, H, W] is average-pooled first, so the head also sits on a feature pyramid's last map.
//
//   auto head = std::make_shared<ClassificationHeadImpl>(ClassificationHeadOptions{.in_features = 512,
//                                                                                  .num_classes = 10});
//   auto logits = head->forward({features})[0];   // [N, 10]
#include <cstdint>

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include "autotimm/config.hpp"
#include "autotimm/head.hpp"

namespace autotimm::classification {

struct ClassificationHeadOptions {
  std::int64_t in_features = 0;  ///< channels of the backbone's pooled features (its head_hidden_size())
  std::int64_t num_classes = 0;
  double dropout = 0.0;          ///< probability, before the linear layer (ImageClassifier's head_dropout)

  /// From `{"in_features", "num_classes", "dropout"}`; unknown keys are left to the caller's expect_all_used().
  static ClassificationHeadOptions from(const Config& config);
};

class ClassificationHeadImpl : public Head {
 public:
  explicit ClassificationHeadImpl(ClassificationHeadOptions options);
  /// features: one tensor, [N, C] or [N, C, H, W] (pooled first). Returns {logits [N, num_classes]}.
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& features) override;
  const ClassificationHeadOptions& options() const noexcept { return options_; }

 private:
  ClassificationHeadOptions options_;
  torch::nn::Dropout drop{nullptr};
  torch::nn::Linear fc{nullptr};
};

}  // namespace autotimm::classification
