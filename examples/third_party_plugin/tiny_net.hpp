#pragma once
// TinyNet: a deliberately small convolutional backbone, the example of a third-party family.
//
//   auto net = std::make_shared<tinynet::TinyNetImpl>(tinynet::TinyNetOptions{.widths = {16, 32, 64}, .num_classes = 10});
//   torch::Tensor logits = net->forward(torch::randn({2, 3, 64, 64}));   // [2, 10]
#include <cstdint>
#include <vector>

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "autotimm/backbone.hpp"
#include "autotimm/config.hpp"

namespace tinynet {

struct TinyNetOptions {
  std::vector<std::int64_t> widths = {16, 32, 64};  ///< channels of each stage; each stage halves the resolution
  std::int64_t in_chans = 3;
  std::int64_t num_classes = 1000;  ///< 0 = headless: forward returns pooled features
};

/// Reads the model_args a user may pass; anything else is reported by the caller's expect_all_used().
TinyNetOptions options_from(const autotimm::Config& model_args, TinyNetOptions defaults);

class TinyNetImpl : public autotimm::Backbone {
 public:
  explicit TinyNetImpl(TinyNetOptions options);

  torch::Tensor forward_features(const torch::Tensor& x) override;
  torch::Tensor forward_head(const torch::Tensor& features, bool pre_logits = false) override;
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& x,
                                                   const std::vector<std::int64_t>& indices) override;
  const std::vector<autotimm::FeatureInfo>& feature_info() const override { return feature_info_; }
  std::int64_t num_features() const override { return options_.widths.back(); }
  std::int64_t num_classes() const override { return options_.num_classes; }
  void reset_classifier(std::int64_t num_classes) override;

 private:
  TinyNetOptions options_;
  std::vector<torch::nn::Sequential> stages_;
  torch::nn::Linear fc_{nullptr};
  std::vector<autotimm::FeatureInfo> feature_info_;
};

}  // namespace tinynet
