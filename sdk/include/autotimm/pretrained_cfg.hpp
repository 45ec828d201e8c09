#pragma once
// Pretrained metadata for one `arch.tag`, the counterpart of timm's PretrainedCfg: where the weights come from and
// how inputs must be prepared for them.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace autotimm {

struct PretrainedCfg {
  std::string tag = {};                 ///< "a1_in1k"; empty for an architecture without tags
  std::string hf_hub_id = {};      ///< "timm/resnet50.a1_in1k"; empty when the weights are not on the Hub
  std::string url = {};            ///< direct download, when there is no Hub id
  std::string architecture = {};   ///< filled in by the registry from the entry's name
  std::array<std::int64_t, 3> input_size = {3, 224, 224};
  std::optional<std::array<std::int64_t, 3>> test_input_size = {};
  std::optional<std::array<std::int64_t, 3>> min_input_size = {};
  bool fixed_input_size = false;
  std::string interpolation = "bicubic";  ///< nearest, bilinear, bicubic, box, hamming, lanczos
  double crop_pct = 0.875;
  std::optional<double> test_crop_pct = {};
  std::string crop_mode = "center";  ///< center, squash, border
  std::array<double, 3> mean = {0.485, 0.456, 0.406};
  std::array<double, 3> std = {0.229, 0.224, 0.225};
  std::int64_t num_classes = 1000;
  std::vector<std::string> label_names = {};
  std::string first_conv = {};  ///< module whose weight adapts to another in_chans, e.g. "conv1"
  std::string classifier = {};  ///< module dropped when num_classes differs, e.g. "fc"; several are separated by
                                ///< commas ("head,head_dist"), written to config.json as timm's list
  std::string license = {};
  std::string paper = {};
  std::string notes = {};
};

}  // namespace autotimm
