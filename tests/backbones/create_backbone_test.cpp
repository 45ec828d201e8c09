#include <gtest/gtest.h>

#include <fstream>

#include <boost/json.hpp>

#include "autotimm/backbones.hpp"
#include "autotimm/error.hpp"
#include "autotimm/hub_resolver.hpp"
#include "autotimm/io/safetensors_torch.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/testing/backbone_conformance.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"
#include "support/torch_checkpoint_writer.hpp"
#include "test_net.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::error_text;
using testing::TempDir;
using testing::TestNetImpl;

void add_test_net(Registry& registry) {
  Registrar registrar({"testnet", "(test)"});
  registrar.add(testing::test_net_entry());
  registrar.add(BackboneAliasEntry{.name = "old_testnet", .target = "testnet.b_in1k"});
  registry.commit(registrar);
}

// Writes a timm Hub folder for a testnet with `num_classes` classes; returns the model whose weights it holds.
std::shared_ptr<TestNetImpl> write_folder(const fs::path& folder, std::int64_t num_classes,
                                          const std::string& extra_model_args = "") {
  auto net = std::make_shared<TestNetImpl>(3, 4, num_classes);
  std::map<std::string, torch::Tensor> tensors;
  for (auto& [key, value] : state_dict(*net)) tensors[key] = value;
  fs::create_directories(folder);
  save_safetensors(folder / "model.safetensors", tensors);
  std::ofstream(folder / "config.json") << R"({"architecture": "testnet", "num_classes": )" << num_classes
                                        << R"(, "label_names": ["cat", "dog"], "model_args": {)" << extra_model_args
                                        << R"(}, "pretrained_cfg": {"tag": "ft", "input_size": [3, 32, 32],
                                           "interpolation": "bilinear", "crop_pct": 1.0, "mean": [0.5],
                                           "std": [0.5, 0.5, 0.5], "num_classes": 1000, "first_conv": "conv1",
                                           "classifier": "fc", "custom_field": {"ignored": true}}})";
  return net;
}

// A hub resolver that serves one local folder and remembers what it was asked for.
struct FolderResolver : HubResolver {
  fs::path folder;
  HubModelRef last;
  fs::path resolve(const HubModelRef& ref) override {
    last = ref;
    return folder;
  }
  std::vector<HubModelInfo> search(const HubSearchQuery&) override { return {}; }
  HubModelInfo model_info(const HubModelRef& ref) override { return {.id = ref.repo_id}; }
  std::vector<HubCachedModel> cached_models() override { return {}; }
};

TEST(CreateBackbone, BuildsARegisteredArchitectureWithOptions) {
  Registry registry;
  add_test_net(registry);
  auto net = create_backbone("testnet", {.num_classes = 3}, &registry);
  EXPECT_EQ(net->num_classes(), 3);
  EXPECT_EQ(net->forward(torch::randn({2, 3, 8, 8})).sizes(), torch::IntArrayRef({2, 3}));
  EXPECT_EQ(net->pretrained_cfg().tag, "a_in1k") << "an untagged name takes the default tag's cfg";
  EXPECT_EQ(net->pretrained_cfg().architecture, "testnet");
  EXPECT_EQ(net->pretrained_cfg().num_classes, 3);

  auto gray = create_backbone("testnet.b_in1k", {.in_chans = 1, .model_args = {{"width", 6}}}, &registry);
  EXPECT_EQ(gray->num_features(), 6);
  EXPECT_EQ(gray->pretrained_cfg().tag, "b_in1k");
  EXPECT_EQ(gray->pretrained_cfg().interpolation, "bilinear");
  EXPECT_EQ(gray->forward(torch::randn({1, 1, 8, 8})).size(1), 1000);
}

TEST(CreateBackbone, ADeprecatedNameResolvesToItsReplacement) {
  Registry registry;
  add_test_net(registry);
  auto net = create_backbone("old_testnet", {}, &registry);
  EXPECT_EQ(net->pretrained_cfg().tag, "b_in1k");
  EXPECT_EQ(net->pretrained_cfg().architecture, "testnet");
  EXPECT_EQ(resolve_pretrained_cfg("old_testnet", &registry).tag, "b_in1k");
  EXPECT_EQ(list_backbones("*", false, &registry), (std::vector<std::string>{"testnet"})) << "aliases are not listed";
  Registrar empty_target({"broken", "(test)"});
  empty_target.add(BackboneAliasEntry{.name = "x", .target = ""});
  EXPECT_THROW(registry.commit(empty_target), PluginError);
}

TEST(CreateBackbone, NamesUnknownArchitecturesTagsAndOptions) {
  Registry registry;
  add_test_net(registry);
  EXPECT_EQ(error_text([&] { create_backbone("testnett", {}, &registry); }),
            "unknown backbone 'testnett'; closest: testnet (autotimm plugins lists every name)");
  EXPECT_EQ(error_text([&] { create_backbone("testnet.in1k", {}, &registry); }),
            "unknown pretrained tag 'in1k' for testnet; available: a_in1k (default), b_in1k");
  EXPECT_EQ(error_text([&] { create_backbone("testnet", {.model_args = {{"widht", 8}}}, &registry); }),
            "unknown option 'widht' in options of testnet; did you mean 'width'? (valid options: in_chans, "
            "num_classes, width)");
}

TEST(CreateBackbone, PretrainedWeightsNeedAHubResolver) {
  Registry registry;
  add_test_net(registry);
  EXPECT_EQ(error_text([&] { create_backbone("testnet.a_in1k", {.pretrained = true}, &registry); }),
            "cannot resolve 'testnet.a_in1k': no hub resolver plugin handles 'hf-hub:'; install the hf hub plugin or "
            "add its folder to AUTOTIMM_PLUGIN_PATH (autotimm plugins lists what is loaded)");
  EXPECT_EQ(error_text([&] { create_backbone("testnet.b_in1k", {.pretrained = true}, &registry); }),
            "no pretrained weights for 'testnet.b_in1k'; tags with weights: a_in1k (default), b_in1k; pass "
            "pretrained_file, or leave pretrained off for random initialisation");
  EXPECT_THROW(create_backbone("hf_hub:timm/testnet.a_in1k", {}, &registry), NotFoundError);
}

TEST(CreateBackbone, LoadsATimmFolderWithItsConfig) {
  Registry registry;
  add_test_net(registry);
  TempDir dir;
  auto saved = write_folder(dir / "model", 2);
  auto net = create_backbone((dir / "model").string(), {}, &registry);
  EXPECT_EQ(net->num_classes(), 2);
  auto& loaded = dynamic_cast<TestNetImpl&>(*net);
  EXPECT_TRUE(torch::equal(loaded.conv1->weight, saved->conv1->weight));
  EXPECT_TRUE(torch::equal(loaded.fc->weight, saved->fc->weight));
  const auto& cfg = net->pretrained_cfg();
  EXPECT_EQ(cfg.tag, "ft");
  EXPECT_EQ(cfg.input_size, (std::array<std::int64_t, 3>{3, 32, 32}));
  EXPECT_EQ(cfg.mean, (std::array<double, 3>{0.5, 0.5, 0.5})) << "a one-element mean is repeated per channel";
  EXPECT_EQ(cfg.interpolation, "bilinear");
  EXPECT_EQ(cfg.num_classes, 2) << "the top-level num_classes wins over pretrained_cfg's";
  EXPECT_EQ(cfg.label_names, (std::vector<std::string>{"cat", "dog"}));
}

TEST(CreateBackbone, AFolderWithOnlyAPytorchCheckpointLoadsIt) {
  Registry registry;
  add_test_net(registry);
  TempDir dir;
  auto saved = write_folder(dir / "model", 2);
  std::map<std::string, torch::Tensor> tensors;
  for (auto& [key, value] : state_dict(*saved)) tensors[key] = value.detach().clone();
  fs::remove(dir / "model" / "model.safetensors");
  std::ofstream(dir / "model" / "pytorch_model.bin", std::ios::binary)
      << testing::torch_zip::state_dict_checkpoint(tensors);
  auto net = create_backbone((dir / "model").string(), {}, &registry);
  auto& loaded = dynamic_cast<TestNetImpl&>(*net);
  EXPECT_TRUE(torch::equal(loaded.conv1->weight, saved->conv1->weight));
  EXPECT_TRUE(torch::equal(loaded.bn1->num_batches_tracked, saved->bn1->num_batches_tracked));
  EXPECT_TRUE(torch::equal(loaded.fc->bias, saved->fc->bias));
}

TEST(CreateBackbone, AFolderWithOtherClassesOrChannelsAdaptsAsTimmDoes) {
  Registry registry;
  add_test_net(registry);
  TempDir dir;
  auto saved = write_folder(dir / "model", 2);
  auto net = create_backbone((dir / "model").string(), {.num_classes = 5, .in_chans = 1}, &registry);
  auto& loaded = dynamic_cast<TestNetImpl&>(*net);
  EXPECT_EQ(net->num_classes(), 5);
  EXPECT_TRUE(torch::allclose(loaded.conv1->weight, saved->conv1->weight.sum(1, true)));
  EXPECT_TRUE(torch::equal(loaded.bn1->weight, saved->bn1->weight));
  EXPECT_TRUE(net->pretrained_cfg().label_names.empty()) << "labels of 2 classes do not describe 5";
}

TEST(CreateBackbone, AFolderPassesItsModelArgsToTheFamily) {
  Registry registry;
  add_test_net(registry);
  TempDir dir;
  write_folder(dir / "model", 2, R"("unknown_arg": 1)");
  EXPECT_EQ(error_text([&] { create_backbone((dir / "model").string(), {}, &registry); }).substr(0, 40),
            "unknown option 'unknown_arg' in options ");
}

TEST(CreateBackbone, ABadFolderSaysWhatIsMissing) {
  Registry registry;
  add_test_net(registry);
  TempDir dir;
  fs::create_directories(dir / "empty");
  EXPECT_EQ(error_text([&] { create_backbone((dir / "empty").string(), {}, &registry); }),
            "not a timm model folder: '" + (dir / "empty").string() +
                "' has no config.json; expected the files timm pushes to the Hub (config.json and model.safetensors)");
  write_folder(dir / "noweights", 2);
  fs::remove(dir / "noweights" / "model.safetensors");
  EXPECT_EQ(error_text([&] { create_backbone((dir / "noweights").string(), {}, &registry); }),
            "no weights in '" + (dir / "noweights").string() + "': expected model.safetensors (or pytorch_model.bin)");
}

TEST(CreateBackbone, HubNamesGoToTheResolverForTheirPrefix) {
  Registry registry;
  add_test_net(registry);
  TempDir dir;
  auto saved = write_folder(dir / "model", 2);
  auto resolver = std::make_shared<FolderResolver>();
  resolver->folder = dir / "model";
  Registrar registrar({"fakehub", "(test)"});
  registrar.add(HubResolverEntry{.name = "hf-hub",
                                 .factory = [resolver](const Config&) -> std::shared_ptr<HubResolver> { return resolver; },
                                 .prefixes = {"hf-hub:", "hf_hub:", "timm/"}});
  registry.commit(registrar);

  auto net = create_backbone("hf-hub:org/testnet.ft@v1.0", {}, &registry);
  EXPECT_EQ(resolver->last.repo_id, "org/testnet.ft");
  EXPECT_EQ(resolver->last.revision, "v1.0");
  EXPECT_TRUE(torch::equal(dynamic_cast<TestNetImpl&>(*net).fc->weight, saved->fc->weight));
  create_backbone("timm/testnet.ft", {}, &registry);
  EXPECT_EQ(resolver->last.repo_id, "timm/testnet.ft");
  EXPECT_EQ(resolver->last.revision, "");
  create_backbone("hf_hub:timm/testnet.ft", {}, &registry);
  EXPECT_EQ(resolver->last.repo_id, "timm/testnet.ft");

  // pretrained=true on a registered tag fetches the tag's hub id through the same resolver.
  auto pretrained = create_backbone("testnet.a_in1k", {.pretrained = true, .num_classes = 2}, &registry);
  EXPECT_EQ(resolver->last.repo_id, "timm/testnet.a_in1k");
  EXPECT_TRUE(torch::equal(dynamic_cast<TestNetImpl&>(*pretrained).conv1->weight, saved->conv1->weight));
}

TEST(CreateFeatureBackbone, ReturnsTheChosenStagesHeadless) {
  Registry registry;
  add_test_net(registry);
  auto features = create_feature_backbone("testnet", {}, {-1}, &registry);
  EXPECT_EQ(features->backbone()->num_classes(), 0);
  EXPECT_EQ(features->out_indices(), (std::vector<std::int64_t>{0}));
  ASSERT_EQ(features->feature_info().size(), 1u);
  EXPECT_EQ(features->feature_info()[0].module, "bn1");
  auto maps = features->forward(torch::randn({1, 3, 8, 8}));
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_EQ(maps[0].sizes(), torch::IntArrayRef({1, 4, 8, 8}));
  EXPECT_THROW(create_feature_backbone("testnet", {}, {3}, &registry), ConfigError);
}

AUTOTIMM_BACKBONE_CONFORMANCE(TestNet, add_test_net, {"testnet", "testnet.b_in1k"})

TEST(ListBackbones, ListsArchitecturesOrTaggedNames) {
  Registry registry;
  add_test_net(registry);
  EXPECT_EQ(list_backbones("test*", false, &registry), (std::vector<std::string>{"testnet"}));
  EXPECT_EQ(list_backbones("test*", true, &registry), (std::vector<std::string>{"testnet.a_in1k", "testnet.b_in1k"}));
  EXPECT_EQ(list_backbones("*.b_*", true, &registry), (std::vector<std::string>{"testnet.b_in1k"}));
  EXPECT_EQ(resolve_pretrained_cfg("testnet", &registry).tag, "a_in1k");
  EXPECT_EQ(resolve_pretrained_cfg("testnet.b_in1k", &registry).crop_pct, 0.95);
  EXPECT_THROW(resolve_pretrained_cfg("testnet.zz", &registry), NotFoundError);
}

}  // namespace
}  // namespace autotimm
