// The hf plugin's entry point: registers the "hf-hub" resolver for the hf-hub:, hf_hub: and timm/ prefixes. The
// factory reads the environment each time (so HF_ENDPOINT / HF_HUB_CACHE / HF_HUB_OFFLINE changes take effect), with
// the application's hub settings on top.
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "hf_resolver.hpp"

namespace autotimm::hf {

void register_hf_hub(Registrar& registrar) {
  registrar.add(HubResolverEntry{
      .name = "hf-hub",
      .factory = [](const Config& settings) -> std::shared_ptr<HubResolver> {
        return std::make_shared<HfHubResolver>(hub_options_from(settings));
      },
      .prefixes = {"hf-hub:", "hf_hub:", "timm/"},
      .description = "Hugging Face Hub: search, model info and cached downloads (huggingface_hub cache layout)"});
}

}  // namespace autotimm::hf

AUTOTIMM_PLUGIN(hf, {.version = "0.1.0",
                     .license = "Apache-2.0",
                     .description = "Hugging Face Hub resolver for hf-hub:, hf_hub: and timm/ model names (libcurl)",
                     .origin = "https://example.org/autotimm-hf",
                     .register_fn = &autotimm::hf::register_hf_hub})
