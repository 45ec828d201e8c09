#include "classification_head.hpp"

#include <torch/torch.h>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"

namespace autotimm::classification {

ClassificationHeadOptions ClassificationHeadOptions::from(const Config& config) {
  ClassificationHeadOptions options;
  options.in_features = config.require<std::int64_t>("in_features");
  options.num_classes = config.require<std::int64_t>("num_classes");
  read_arg(config, "dropout", options.dropout);
  return options;
}

ClassificationHeadImpl::ClassificationHeadImpl(ClassificationHeadOptions options) : options_(options) {
  if (options_.in_features < 1) {
    throw ConfigError("classification head: 'in_features' must be >= 1, got " + std::to_string(options_.in_features));
  }
  if (options_.num_classes < 1) {
    throw ConfigError("classification head: 'num_classes' must be >= 1, got " + std::to_string(options_.num_classes) +
                      "; set the number of classes of the data");
  }
  if (!(options_.dropout >= 0.0 && options_.dropout < 1.0)) {
    throw ConfigError("classification head: 'dropout' must be in [0, 1), got " + std::to_string(options_.dropout));
  }
  drop = register_module("drop", torch::nn::Dropout(options_.dropout));
  fc = register_module("fc", torch::nn::Linear(options_.in_features, options_.num_classes));
}

std::vector<torch::Tensor> ClassificationHeadImpl::forward(const std::vector<torch::Tensor>& features) {
  if (features.size() != 1) {
    throw ConfigError("classification head: expected one feature tensor, got " + std::to_string(features.size()));
  }
  torch::Tensor x = features.front();
  if (x.dim() == 4) x = x.mean({2, 3});
  if (x.dim() != 2 || x.size(1) != options_.in_features) {
    throw ConfigError("classification head: expected features [N, " + std::to_string(options_.in_features) +
                      "] or [N, " + std::to_string(options_.in_features) + ", H, W], got " +
                      c10::str(x.sizes()));
  }
  return {fc->forward(drop->forward(x))};
}

}  // namespace autotimm::classification
