#pragma once
// A trained ImageClassifier written as the folder timm pushes to the Hugging Face Hub, so that Python loads it with
// `timm.create_model("local-dir:DIR", pretrained=True)` (or `"hf-hub:org/name"` after `autotimm hub upload`):
//   config.json        architecture, num_classes, num_features, [global_pool], label_names, [model_args], pretrained_cfg
//   model.safetensors  the backbone's state dict with the classification head's linear layer under the backbone's
//                      classifier name (pretrained_cfg.classifier: "fc", "head.fc", "classifier", "head", ...)
//   README.md          a model card with timm's front matter (library_name: timm, tags, pipeline_tag, license)
//
//   auto model = autotimm::ImageClassifier::load_from_checkpoint("best.ckpt");
//   auto exported = autotimm::export_timm_folder(*model, "export/my-model");
//   auto net = autotimm::create_backbone("export/my-model");   // our own loader reads it back: same logits
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "autotimm/export.hpp"

namespace autotimm {

class ImageClassifier;
class Registry;

struct TimmExportOptions {
  bool overwrite = false;             ///< replace a non-empty output folder (refused otherwise)
  bool verify = true;                 ///< rebuild the model from the written folder and compare logits before
                                      ///< publishing the folder
  double tolerance = 1e-4;            ///< largest |logit difference| verify accepts
  std::string license = "apache-2.0"; ///< pretrained_cfg.license when the backbone names none, and the card's
  std::string model_name = {};        ///< the card's title; empty: the output folder's name
  Registry* registry = nullptr;       ///< where verify finds the backbone family; nullptr: the global registry
};

struct TimmExportResult {
  std::filesystem::path folder = {};
  std::string architecture = {};
  std::vector<std::string> files = {};       ///< written, in order
  std::size_t tensors = 0;                   ///< in model.safetensors
  std::string classifier = {};               ///< the key prefix the head's weights went to ("fc")
  double max_logit_difference = -1.0;        ///< verify's measurement; -1 when not verified
};

/// The config.json timm writes for `model` (docs/hub.md §7.4): key order and content as timm's push_to_hf_hub.
/// ConfigError when the model has no classes yet.
AUTOTIMM_API boost::json::object timm_config_json(const ImageClassifier& model, const TimmExportOptions& options = {});

/// The state dict with timm's key names: the backbone's own tensors plus `<classifier>.weight` / `.bias` from the
/// head. ConfigError when the head is not one linear layer over the backbone's pooled features (hidden layers, ...)
/// or the backbone names no single classifier.
AUTOTIMM_API std::map<std::string, at::Tensor> timm_state_dict(const ImageClassifier& model);

/// Writes the folder: everything goes into a temporary folder beside `out`, which is renamed to `out` only when
/// complete (and verified), so a failure leaves nothing half-written. An existing non-empty `out` is refused unless
/// options.overwrite. Verification runs the model in eval mode without gradients and restores its mode afterwards,
/// so do not train it on another thread meanwhile. A multi-label classifier is written the same way (timm has no multi-label flag: apply a
/// sigmoid to the logits yourself).
AUTOTIMM_API TimmExportResult export_timm_folder(const ImageClassifier& model, const std::filesystem::path& out,
                                                 const TimmExportOptions& options = {});

/// `json` as text with two-space indentation (as Python's json.dump(indent=2)), numbers in their shortest exact form.
AUTOTIMM_API std::string pretty_json(const boost::json::value& json);

}  // namespace autotimm
