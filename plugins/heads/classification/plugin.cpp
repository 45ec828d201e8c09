// The classification head plugin: registers "classification" (dropout + linear over pooled features).
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "classification_head.hpp"

namespace autotimm::classification {

void register_classification_head(Registrar& registrar) {
  registrar.add(HeadEntry{
      .name = "classification",
      .factory = [](const Config& options) -> std::shared_ptr<Head> {
        return std::make_shared<ClassificationHeadImpl>(ClassificationHeadOptions::from(options));
      },
      .description = "dropout + linear over the backbone's pooled features (in_features, num_classes, dropout)"});
}

}  // namespace autotimm::classification

AUTOTIMM_PLUGIN(classification, {.version = "0.1.0", .license = "Apache-2.0",
                                 .description = "image classification head: dropout + linear",
                                 .origin = "https://example.org/autotimm-heads",
                                 .register_fn = &autotimm::classification::register_classification_head})
