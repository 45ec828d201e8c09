#pragma once
// A timm model folder, as timm pushes it to the Hugging Face Hub: config.json plus weights.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "autotimm/pretrained_cfg.hpp"

namespace autotimm {

struct TimmFolder {
  std::filesystem::path folder;
  std::string architecture;            ///< "resnet50" (may carry a tag: "resnet50.a1_in1k")
  std::int64_t num_classes = 0;        ///< the top-level value wins over pretrained_cfg.num_classes
  boost::json::object model_args;      ///< family arguments the model was built with
  PretrainedCfg pretrained_cfg;
  std::vector<std::string> label_names;
  std::filesystem::path weights;       ///< model.safetensors, else pytorch_model.bin
};

/// Reads and checks `folder`/config.json and finds the weights. FormatError / NotFoundError name the file and field.
TimmFolder read_timm_folder(const std::filesystem::path& folder);

}  // namespace autotimm
