// The plugin's one entry point and its registrations: two sizes of TinyNet.
#include "autotimm/plugin.hpp"
#include "autotimm/registry.hpp"
#include "tiny_net.hpp"

namespace tinynet {
namespace {

struct Variant {
  const char* name;
  TinyNetOptions options;
};

void register_tinynet(autotimm::Registrar& registrar) {
  const Variant variants[] = {{"tinynet_s", {.widths = {8, 16, 32}}}, {"tinynet_m", {.widths = {16, 32, 64, 128}}}};
  for (const auto& variant : variants) {
    const TinyNetOptions defaults = variant.options;
    registrar.add(autotimm::BackboneEntry{
        .name = variant.name,
        .factory = [defaults](const autotimm::Config& model_args) -> std::shared_ptr<autotimm::Backbone> {
          return std::make_shared<TinyNetImpl>(options_from(model_args, defaults));
        },
        .description = "TinyNet example backbone"});
  }
}

}  // namespace
}  // namespace tinynet

AUTOTIMM_PLUGIN(tinynet, {.version = "0.1.0", .license = "Apache-2.0",
                          .description = "TinyNet: an example third-party backbone family",
                          .origin = "https://example.org/autotimm-tinynet",
                          .register_fn = &tinynet::register_tinynet})
