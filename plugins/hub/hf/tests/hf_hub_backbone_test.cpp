// End to end through the plugin libraries: create_backbone("hf-hub:timm/resnet18.fixture") against the fake Hub
// serving a copy of the shared timm fixture gives the same logits as loading the fixture folder directly, and a
// warm second resolve sends no request.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "autotimm/backbones.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/registry.hpp"
#include "fakes/fake_hub_server.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;

const fs::path kFixture = fs::path(AUTOTIMM_SHARED_DIR) / "fixtures" / "timm" / "resnet18.fixture";
const fs::path kPlugins = fs::path(AUTOTIMM_BINARY_DIR) / "lib" / "autotimm" / "plugins";

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

TEST(HfHubBackboneTest, HubNameGivesTheSameLogitsAsTheLocalFolder) {
  if (!fs::is_directory(kFixture)) GTEST_SKIP() << "shared fixture " << kFixture << " not found";
  testing::FakeHubServer hub;
  hub.add_repo_from_folder("timm/resnet18.fixture", kFixture);
  testing::TempDir home;
  const ScopedEnv endpoint("HF_ENDPOINT", hub.endpoint());
  const ScopedEnv cache("HF_HUB_CACHE", (home / "hub").string());
  const ScopedEnv hf_home("HF_HOME", home.path().string());
  const ScopedEnv no_token("HF_TOKEN", "");
  const ScopedEnv online("HF_HUB_OFFLINE", "0");

  Registry registry;
  PluginLoader loader(registry);
  ASSERT_TRUE(loader.load_library(kPlugins / "libautotimm_backbone_resnet.so").loaded);
  ASSERT_TRUE(loader.load_library(kPlugins / "libautotimm_hub_hf.so").loaded);
  const HubResolverEntry& entry = registry.hub_resolvers().get("hf-hub");
  EXPECT_EQ(entry.prefixes, (std::vector<std::string>{"hf-hub:", "hf_hub:", "timm/"}));

  torch::manual_seed(0);
  const torch::Tensor input = torch::randn({2, 3, 64, 64});
  torch::NoGradGuard no_grad;
  auto local = create_backbone(kFixture.string(), {}, &registry);
  local->eval();
  auto from_hub = create_backbone("hf-hub:timm/resnet18.fixture", {}, &registry);
  from_hub->eval();
  EXPECT_TRUE(torch::equal(local->forward(input), from_hub->forward(input)));
  EXPECT_GT(hub.request_count(), 0u);

  hub.clear_requests();
  auto warm = create_backbone("hf-hub:timm/resnet18.fixture", {}, &registry);
  warm->eval();
  EXPECT_EQ(hub.request_count(), 0u);
  EXPECT_TRUE(torch::equal(local->forward(input), warm->forward(input)));
}

}  // namespace
}  // namespace autotimm
