// The classification loss plugin: "ce" (softmax cross-entropy) and "bce" (sigmoid binary cross-entropy).
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "binary_cross_entropy.hpp"
#include "cross_entropy.hpp"

namespace autotimm::classification_losses {

void register_classification_losses(Registrar& registrar) {
  registrar.add(LossEntry{
      .name = "ce",
      .factory = [](const Config& options) -> std::shared_ptr<Loss> {
        return std::make_shared<CrossEntropyLoss>(CrossEntropyOptions::from(options));
      },
      .description = "softmax cross-entropy; class indices or soft targets (label_smoothing, weight, ignore_index)"});
  registrar.add(LossEntry{
      .name = "bce",
      .factory = [](const Config& options) -> std::shared_ptr<Loss> {
        return std::make_shared<BinaryCrossEntropyLoss>(BinaryCrossEntropyOptions::from(options));
      },
      .description = "binary cross-entropy on logits for multi-label targets (label_smoothing, pos_weight, weight)"});
}

}  // namespace autotimm::classification_losses

AUTOTIMM_PLUGIN(classification, {.version = "0.1.0", .license = "Apache-2.0",
                                 .description = "image classification losses: ce, bce",
                                 .origin = "https://example.org/autotimm-losses",
                                 .register_fn = &autotimm::classification_losses::register_classification_losses})
