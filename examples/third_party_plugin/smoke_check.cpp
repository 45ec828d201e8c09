// Loads the plugins given on the command line into a registry, builds every tinynet variant through it and checks
// the shapes a user relies on. Prints one line per variant; exits non-zero on any mismatch.
#include <torch/torch.h>

#include <iostream>

#include "autotimm/backbone.hpp"
#include "autotimm/config.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/registry.hpp"

int main(int argc, char** argv) {
  autotimm::Registry registry;
  autotimm::PluginLoader loader(registry);
  for (int i = 1; i < argc; ++i) {
    const auto& record = loader.load_library(argv[i]);
    if (!record.loaded) {
      std::cerr << record.error << "\n";
      return 1;
    }
  }
  const auto names = registry.backbones().list("tinynet*");
  if (names.size() != 2) {
    std::cerr << "expected 2 tinynet variants, found " << names.size() << "\n";
    return 1;
  }
  for (const auto& name : names) {
    auto args = autotimm::Config::parse(R"({"num_classes": 7})", "smoke check");
    auto net = registry.backbones().get(name).factory(args);
    args.expect_all_used();
    net->eval();
    const auto logits = net->forward(torch::randn({2, 3, 64, 64}));
    const auto maps = net->forward_intermediates(torch::randn({1, 3, 64, 64}), {-1});
    const auto& last = net->feature_info().back();
    const bool ok = logits.sizes() == torch::IntArrayRef({2, 7}) && maps.size() == 1 &&
                    maps[0].size(1) == last.num_chs && maps[0].size(2) == 64 / last.reduction;
    std::cout << name << " logits " << logits.sizes() << " last map " << maps[0].sizes() << (ok ? " ok" : " WRONG")
              << "\n";
    if (!ok) return 1;
  }
  return 0;
}
