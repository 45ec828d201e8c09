#pragma once
// The front door for backbones, mirroring timm.create_model:
//
//   auto net = autotimm::create_backbone("resnet50", {.num_classes = 10});
//   auto tuned = autotimm::create_backbone("/models/resnet50.fixture", {});          // a timm Hub folder
//   auto hub = autotimm::create_backbone("hf-hub:timm/resnet50.a1_in1k", {.pretrained = true});
//   auto pyramid = autotimm::create_feature_backbone("resnet50", {.out_indices = {-3, -2, -1}});
//   auto names = autotimm::list_backbones("resnet*", /*pretrained_only=*/true);     // arch.tag names
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "autotimm/backbone.hpp"
#include "autotimm/export.hpp"
#include "autotimm/pretrained_cfg.hpp"

namespace autotimm {

class Registry;

/// timm.create_model's keywords. Unset optionals keep the variant's (or the checkpoint's) own value.
struct BackboneOptions {
  bool pretrained = false;                     ///< load the weights of the name's tag (or the default tag)
  std::optional<std::int64_t> num_classes = {};     ///< 0 = headless: forward returns pooled features
  std::optional<std::int64_t> in_chans = {};        ///< pretrained first conv is adapted when it differs
  std::optional<std::string> global_pool = {};      ///< avg, max, avgmax, catavgmax, "" (none)
  std::optional<double> drop_rate = {};
  std::optional<double> drop_path_rate = {};
  boost::json::object model_args = {};         ///< family arguments (a timm config.json's model_args); these win
  bool strict = true;                          ///< missing or unexpected weight keys are an error
  std::filesystem::path pretrained_file = {};  ///< weights to load instead of the tag's (safetensors)
};

/// A backbone built and, when asked, loaded with weights.
AUTOTIMM_API std::shared_ptr<Backbone> create_backbone(std::string_view name, const BackboneOptions& options = {},
                                                       Registry* registry = nullptr);

/// A backbone that returns feature maps: forward(x) gives the maps of `out_indices` (timm's features_only).
class AUTOTIMM_API FeatureBackbone {
 public:
  FeatureBackbone(std::shared_ptr<Backbone> backbone, std::vector<std::int64_t> out_indices);
  std::vector<torch::Tensor> forward(const torch::Tensor& x);
  /// The entries of the returned maps, in order.
  const std::vector<FeatureInfo>& feature_info() const noexcept { return feature_info_; }
  const std::vector<std::int64_t>& out_indices() const noexcept { return out_indices_; }
  const std::shared_ptr<Backbone>& backbone() const noexcept { return backbone_; }

 private:
  std::shared_ptr<Backbone> backbone_ = {};
  std::vector<std::int64_t> out_indices_ = {};
  std::vector<FeatureInfo> feature_info_ = {};
};

/// timm's features_only: a headless backbone returning the maps of `out_indices` (empty = every stage; negative
/// values count from the end).
AUTOTIMM_API std::shared_ptr<FeatureBackbone> create_feature_backbone(std::string_view name,
                                                                      const BackboneOptions& options = {},
                                                                      std::vector<std::int64_t> out_indices = {},
                                                                      Registry* registry = nullptr);

/// Registered architectures matching `pattern`; with `pretrained_only`, every `arch.tag` that has weights instead.
AUTOTIMM_API std::vector<std::string> list_backbones(std::string_view pattern = "*", bool pretrained_only = false,
                                                     Registry* registry = nullptr);

/// The pretrained cfg of `arch` or `arch.tag` (the default tag for a bare arch); NotFoundError for an unknown tag,
/// listing the architecture's tags.
AUTOTIMM_API PretrainedCfg resolve_pretrained_cfg(std::string_view name, Registry* registry = nullptr);

}  // namespace autotimm
