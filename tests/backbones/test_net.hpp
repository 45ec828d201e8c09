#pragma once
// A small backbone for front-door tests: conv1 → bn1 → relu → global average pool → fc, registered as "testnet" with
// two pretrained tags. It reads num_classes, in_chans and width from its options, like a family factory does.
#include <torch/torch.h>

#include "autotimm/backbone.hpp"
#include "autotimm/config.hpp"
#include "autotimm/registry.hpp"

namespace autotimm::testing {

class TestNetImpl : public Backbone {
 public:
  TestNetImpl(std::int64_t in_chans, std::int64_t width, std::int64_t num_classes) : width_(width) {
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_chans, width, 3).padding(1)));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(width));
    reset_classifier(num_classes);
    info_ = {{width, 1, "bn1"}};
  }
  torch::Tensor forward_features(const torch::Tensor& x) override {
    return stage_output(0, torch::relu(bn1(conv1(x))));
  }
  torch::Tensor forward_head(const torch::Tensor& f, bool pre_logits) override {
    auto pooled = f.mean({2, 3});
    return pre_logits || !fc ? pooled : fc(pooled);
  }
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& x,
                                                   const std::vector<std::int64_t>& indices) override {
    resolve_feature_indices(indices, 1);
    return {forward_features(x)};
  }
  const std::vector<FeatureInfo>& feature_info() const override { return info_; }
  std::int64_t num_features() const override { return width_; }
  std::int64_t num_classes() const override { return num_classes_; }
  void reset_classifier(std::int64_t n) override {
    if (fc) unregister_module("fc");
    fc = nullptr;
    num_classes_ = n;
    if (n > 0) fc = register_module("fc", torch::nn::Linear(width_, n));
  }

  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  std::int64_t width_;
  std::int64_t num_classes_ = 0;
  std::vector<FeatureInfo> info_;
};

inline BackboneEntry test_net_entry() {
  return BackboneEntry{
      .name = "testnet",
      .factory = [](const Config& args) -> std::shared_ptr<Backbone> {
        return std::make_shared<TestNetImpl>(args.get<std::int64_t>("in_chans", 3), args.get<std::int64_t>("width", 4),
                                             args.get<std::int64_t>("num_classes", 1000));
      },
      .pretrained = {PretrainedCfg{.tag = "a_in1k", .hf_hub_id = "timm/testnet.a_in1k", .first_conv = "conv1",
                                   .classifier = "fc"},
                     PretrainedCfg{.tag = "b_in1k", .interpolation = "bilinear", .crop_pct = 0.95,
                                   .first_conv = "conv1", .classifier = "fc"}}};
}

}  // namespace autotimm::testing
