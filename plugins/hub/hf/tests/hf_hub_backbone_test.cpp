// End to end through the plugin libraries: create_backbone("hf-hub:timm/resnet18.fixture") against the fake Hub
// serving a copy of the shared timm fixture gives the same logits as loading the fixture folder directly, and a
// warm second resolve sends no request.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "autotimm/backbones.hpp"
#include "autotimm/config.hpp"
#include "autotimm/error.hpp"
#include "autotimm/hub.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/registry.hpp"
#include "fakes/fake_hub_server.hpp"
#include "support/run_command.hpp"
#include "support/scoped_env.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;

const fs::path kFixture = fs::path(AUTOTIMM_SHARED_DIR) / "fixtures" / "timm" / "resnet18.fixture";
const fs::path kPlugins = fs::path(AUTOTIMM_BINARY_DIR) / "lib" / "autotimm" / "plugins";

using testing::ScopedEnv;

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

namespace autotimm {
namespace {

// The application-side Hub functions and `autotimm hub`, against the fake Hub.
using testing::FakeHubRepo;

class HubFrontDoorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeHubRepo small;
    small.files = {{"config.json", R"({"architecture": "resnet18", "num_classes": 2})"},
                   {"model.safetensors", std::string(2048, 'x')}};
    small.downloads = 10;
    small.tags = {"timm", "image-classification"};
    hub.add_repo("timm/resnet_a", small);
    small.downloads = 30;
    hub.add_repo("timm/resnet_b", small);
    small.downloads = 20;
    hub.add_repo("timm/vit_c", small);
    loader.load_library(kPlugins / "libautotimm_hub_hf.so");
  }

  testing::FakeHubServer hub;
  testing::TempDir home;
  const ScopedEnv endpoint{"HF_ENDPOINT", hub.endpoint()};
  const ScopedEnv cache{"HF_HUB_CACHE", (home / "hub").string()};
  const ScopedEnv hf_home{"HF_HOME", home.path().string()};
  const ScopedEnv no_token{"HF_TOKEN", nullptr};
  const ScopedEnv online{"HF_HUB_OFFLINE", nullptr};
  Registry registry;
  PluginLoader loader{registry};
};

TEST_F(HubFrontDoorTest, ListsTimmModelsAsHubNames) {
  const auto names = list_hf_hub_backbones({.model_name = "resnet", .author = "timm", .limit = 10}, &registry);
  EXPECT_EQ(names, (std::vector<std::string>{"hf-hub:timm/resnet_b", "hf-hub:timm/resnet_a"}));
  const auto one = list_hf_hub_backbones({.author = "timm", .limit = 1}, &registry);
  EXPECT_EQ(one, (std::vector<std::string>{"hf-hub:timm/resnet_b"}));
  EXPECT_THROW(search_hub({.limit = 0}, &registry), ConfigError);
}

TEST_F(HubFrontDoorTest, InfoAndDownloadGoThroughTheResolver) {
  const auto info = hub_model_info("hf-hub:timm/resnet_a", &registry);
  EXPECT_EQ(info.id, "timm/resnet_a");
  EXPECT_NE(std::find(info.files.begin(), info.files.end(), "model.safetensors"), info.files.end());
  const auto folder = hub_download("timm/resnet_a@main", &registry);
  EXPECT_TRUE(fs::exists(folder / "config.json"));
  EXPECT_EQ(fs::file_size(folder / "model.safetensors"), 2048u);
  EXPECT_TRUE(folder.string().starts_with((home / "hub").string())) << folder;

  const auto cached = hub_cached_models(&registry);
  ASSERT_EQ(cached.size(), 1u);
  EXPECT_EQ(cached[0].repo_id, "timm/resnet_a");
  EXPECT_EQ(cached[0].folder, home / "hub" / "models--timm--resnet_a");
  ASSERT_EQ(cached[0].refs.size(), 1u);
  EXPECT_EQ(cached[0].refs[0].first, "main");
  EXPECT_EQ(cached[0].snapshots, (std::vector<std::string>{cached[0].refs[0].second}));
  EXPECT_EQ(folder.filename().string(), cached[0].refs[0].second);
  // The weights and config once each: snapshot links are not counted again.
  EXPECT_EQ(cached[0].size_bytes, 2048u + fs::file_size(folder / "config.json"));
  EXPECT_EQ(parse_hub_name("hf_hub:org/x@v2").revision, "v2");
  EXPECT_EQ(parse_hub_name("timm/x").repo_id, "timm/x");

  Registry empty;
  EXPECT_THROW(hub_model_info("timm/resnet_a", &empty), NotFoundError);
}

TEST_F(HubFrontDoorTest, CommandLineSearchInfoAndDownload) {
  const std::string cli = std::string("'") + AUTOTIMM_CLI + "' ";
  auto search = testing::run_command(cli + "hub search resnet --limit 5 --json");
  ASSERT_EQ(search.exit_code, 0) << search.err;
  const auto models = boost::json::parse(search.out).as_array();
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].at("id").as_string(), "timm/resnet_b");
  EXPECT_EQ(models[0].at("downloads").as_int64(), 30);

  auto info = testing::run_command(cli + "hub info timm/vit_c");
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("id            timm/vit_c"), std::string::npos) << info.out;

  auto download = testing::run_command(cli + "hub download timm/vit_c");
  ASSERT_EQ(download.exit_code, 0) << download.err;
  EXPECT_TRUE(fs::exists(fs::path(download.out.substr(0, download.out.size() - 1)) / "model.safetensors"));

  auto cached = testing::run_command(cli + "hub cache list --json");
  ASSERT_EQ(cached.exit_code, 0) << cached.err;
  const auto list = boost::json::parse(cached.out).as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].at("repo_id").as_string(), "timm/vit_c");
  EXPECT_EQ(list[0].at("snapshots").as_array().size(), 1u);
  auto text = testing::run_command(cli + "hub cache list");
  EXPECT_NE(text.out.find("timm/vit_c  "), std::string::npos) << text.out;
  auto pruned = testing::run_command(cli + "hub cache prune --detached --json");
  ASSERT_EQ(pruned.exit_code, 0) << pruned.err;
  EXPECT_EQ(boost::json::parse(pruned.out).at("freed_bytes").to_number<std::uint64_t>(), 0u) << "nothing unused yet";
  auto dry = testing::run_command(cli + "hub cache rm timm/vit_c@main --dry-run");
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("would remove "), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("would free "), std::string::npos) << dry.out;
  EXPECT_EQ(hub_cached_models(&registry).size(), 1u) << "a dry run removes nothing";
  auto removed = testing::run_command(cli + "hub cache rm timm/vit_c");
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_TRUE(hub_cached_models(&registry).empty());
  auto gone = testing::run_command(cli + "hub cache rm timm/vit_c");
  EXPECT_EQ(gone.exit_code, 2) << gone.err;
  EXPECT_NE(gone.err.find("not in the hub cache"), std::string::npos) << gone.err;

  auto missing = testing::run_command(cli + "hub info timm/resnet_x");
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("timm/resnet_x"), std::string::npos) << missing.err;
  EXPECT_EQ(testing::run_command(cli + "hub search --limit zero").exit_code, 2);
}

TEST_F(HubFrontDoorTest, InfoShowsTheModelCard) {
  testing::FakeHubRepo carded;
  carded.files = {{"config.json", "{}"},
                  {"README.md", "---\nlicense: apache-2.0\ndatasets:\n- imagenet-1k\nmetrics:\n- accuracy\n---\n"}};
  hub.add_repo("timm/carded", carded);
  const std::string cli = std::string("'") + AUTOTIMM_CLI + "' ";
  auto text = testing::run_command(cli + "hub info timm/carded");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("license     apache-2.0"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("datasets    imagenet-1k"), std::string::npos) << text.out;
  auto json = testing::run_command(cli + "hub info timm/carded --json");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(boost::json::parse(json.out).at("card").at("metrics").as_array()[0].as_string(), "accuracy");
}

TEST_F(HubFrontDoorTest, SettingsFromTheApplicationReachTheResolver) {
  hub_download("timm/resnet_a", &registry);
  hub.clear_requests();
  struct ResetHubOptions {
    ~ResetHubOptions() { set_hub_options(Config()); }
  } reset_at_exit;
  set_hub_options(Config::parse(R"({"offline": true})"));
  EXPECT_NO_THROW(hub_download("timm/resnet_a", &registry));
  try {
    hub_download("timm/resnet_b", &registry);
    FAIL() << "offline: nothing to download from";
  } catch (const NotFoundError& error) {
    EXPECT_NE(std::string(error.what()).find("hub option 'offline'"), std::string::npos) << error.what();
  }
  EXPECT_EQ(hub.request_count(), 0u);
  set_hub_options(Config::parse(R"({"ofline": true})"));
  EXPECT_THROW(hub_download("timm/resnet_a", &registry), ConfigError);
  set_hub_options(Config());
  EXPECT_NO_THROW(hub_download("timm/resnet_b", &registry));
}

// Two processes download the same model at once: the second waits on the blob's lock while the first writes it,
// then uses the first one's blob. One GET of the weights reaches the download host, and the cache holds one copy.
TEST_F(HubFrontDoorTest, ConcurrentProcessesShareOneDownload) {
  const std::string weights(2048, 'x');
  hub.inject({.path_part = "/cdn/", .times = 1, .method = "GET", .stall_ms = 1500});
  const std::string cli = std::string("'") + AUTOTIMM_CLI + "' hub download timm/resnet_a";
  const std::string out1 = (home / "out1").string(), out2 = (home / "out2").string();
  const auto both = testing::run_command("(" + cli + " >'" + out1 + "' & " + cli + " >'" + out2 + "' & wait)");
  ASSERT_EQ(both.exit_code, 0) << both.err;
  auto first_line = [](const fs::path& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return fs::path(line);
  };
  const fs::path folder1 = first_line(out1), folder2 = first_line(out2);
  ASSERT_FALSE(folder1.empty());
  EXPECT_EQ(folder1, folder2);
  std::ifstream in(folder1 / "model.safetensors", std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), weights);
  std::size_t weight_gets = 0;
  for (const auto& request : hub.requests()) {
    if (request.method == "GET" && request.target.starts_with("/cdn/")) ++weight_gets;
  }
  EXPECT_EQ(weight_gets, 1u);
  for (const auto& blob : fs::directory_iterator(home / "hub" / "models--timm--resnet_a" / "blobs")) {
    EXPECT_NE(blob.path().extension(), ".incomplete") << blob.path();
  }
}

}  // namespace
}  // namespace autotimm
