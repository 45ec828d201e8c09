#pragma once
// Small classifiers for the export tests: random weights that all matter (BatchNorm statistics too) and a small
// input size, so that exporting and verifying take well under a second.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "autotimm/data/transform.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/tasks/image_classifier.hpp"

namespace autotimm::export_testing {

inline std::vector<std::string> class_names(int count) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) names.push_back("class_000" + std::to_string(i));
  return names;
}

/// A classifier with weights that all matter: random BatchNorm statistics (fresh ones are 0 and 1) and a random head.
inline std::unique_ptr<ImageClassifier> tiny_classifier(const std::string& backbone, std::int64_t classes,
                                                 boost::json::object backbone_args = {}) {
  auto model = std::make_unique<ImageClassifier>(
      ImageClassifierOptions{.backbone = backbone,
                             .num_classes = classes,
                             .pretrained = false,
                             .backbone_args = std::move(backbone_args),
                             .class_names = class_names(static_cast<int>(classes))});
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  for (auto& [key, tensor] : state_dict(*model)) {
    if (key.ends_with("running_mean")) tensor.uniform_(-0.3, 0.3);
    if (key.ends_with("running_var")) tensor.uniform_(0.5, 2.0);
  }
  model->eval();
  return model;
}

inline DataConfig small_input(std::int64_t size) {
  DataConfig config;
  config.input_size = {3, size, size};
  config.interpolation = Interpolation::bilinear;
  config.crop_pct = 1.0;
  config.mean = {0.5, 0.5, 0.5};
  config.std = {0.25, 0.25, 0.25};
  return config;
}

}  // namespace autotimm::export_testing
