// Time of a warm Hub resolve: the revision's config.json and weights are already in the cache, so resolving
// `hf-hub:<repo>` must touch neither the network nor the weights. The endpoint points at a closed port, so any
// request would fail the run. Median of timed runs after warm-up.
//
//   build/bin/bench_hub_resolve [--runs 200]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "autotimm/config.hpp"
#include "autotimm/hub_resolver.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/registry.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  int runs = 200;
  if (argc == 3 && std::string(argv[1]) == "--runs") runs = std::max(1, std::atoi(argv[2]));

  // A cache laid out as huggingface_hub writes it: blobs, refs/main → commit, snapshot links to the blobs.
  const fs::path cache = fs::temp_directory_path() / ("autotimm-bench-hub-" + std::to_string(::getpid()));
  const std::string commit(40, 'a');
  const fs::path repo = cache / "models--timm--resnet50.a1_in1k";
  fs::create_directories(repo / "blobs");
  fs::create_directories(repo / "refs");
  fs::create_directories(repo / "snapshots" / commit);
  std::ofstream(repo / "refs" / "main") << commit;
  std::ofstream(repo / "blobs" / "config") << R"({"architecture": "resnet50", "num_classes": 1000})";
  std::ofstream(repo / "blobs" / "weights") << std::string(1 << 20, '\0');
  fs::create_symlink("../../blobs/config", repo / "snapshots" / commit / "config.json");
  fs::create_symlink("../../blobs/weights", repo / "snapshots" / commit / "model.safetensors");

  ::setenv("HF_HUB_CACHE", cache.c_str(), 1);
  ::setenv("HF_ENDPOINT", "http://127.0.0.1:9", 1);  // discard port: nothing listens

  autotimm::Registry registry;
  autotimm::PluginLoader loader(registry);
  const auto& record = loader.load_library(autotimm::default_plugin_directory() / "libautotimm_hub_hf.so");
  if (!record.loaded) {
    std::cerr << record.error << "\n";
    return 1;
  }
  auto resolver = registry.hub_resolvers().get("hf-hub").factory(autotimm::Config());
  const autotimm::HubModelRef ref{.repo_id = "timm/resnet50.a1_in1k", .revision = ""};

  std::vector<double> micros;
  for (int i = 0; i < runs + 10; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const fs::path folder = resolver->resolve(ref);
    const std::chrono::duration<double, std::micro> elapsed = std::chrono::steady_clock::now() - start;
    if (folder != repo / "snapshots" / commit) {
      std::cerr << "resolved to " << folder << ", expected the cached snapshot\n";
      return 1;
    }
    if (i >= 10) micros.push_back(elapsed.count());
  }
  std::sort(micros.begin(), micros.end());
  std::cout << "warm resolve of hf-hub:timm/resnet50.a1_in1k: median " << micros[micros.size() / 2] << " us, p90 "
            << micros[micros.size() * 9 / 10] << " us over " << runs << " runs (no network)\n";
  fs::remove_all(cache);
  return 0;
}
