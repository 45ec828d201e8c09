// Parity with timm on the shared fixtures (../shared/fixtures, see its README.md): a timm Hub folder per model and
// the outputs timm computed from it. Eval outputs, feature maps, and one SGD step in train mode must agree within
// |ours - golden| <= 1e-4 + 1e-4 * |golden|.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <iomanip>
#include <iostream>

#include "autotimm/config.hpp"
#include "autotimm/io/safetensors_torch.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/state_dict.hpp"
#include "variants.hpp"

namespace autotimm::resnet {
namespace {

namespace fs = std::filesystem;

constexpr double kAbsoluteTolerance = 1e-4;
constexpr double kRelativeTolerance = 1e-4;

const fs::path kFixtures = fs::path(AUTOTIMM_SHARED_DIR) / "fixtures";

Registry& resnet_registry() {
  static Registry registry;
  static const bool committed = [] {
    Registrar registrar({"resnet", "(linked into the test)"});
    register_resnet(registrar);
    registry.commit(registrar);
    return true;
  }();
  (void)committed;
  return registry;
}

// Checks one tensor against its golden value and prints the largest difference, for the record.
void expect_close(const std::string& what, const torch::Tensor& ours, const torch::Tensor& golden) {
  ASSERT_TRUE(ours.defined()) << what;
  ASSERT_EQ(ours.sizes(), golden.sizes()) << what;
  const auto ours32 = ours.detach().to(torch::kFloat32);
  const auto diff = (ours32 - golden).abs();
  const double max_error = diff.numel() ? diff.max().item<double>() : 0.0;
  const auto allowed = kAbsoluteTolerance + kRelativeTolerance * golden.abs();
  const auto excess = diff - allowed;
  const bool ok = diff.numel() == 0 || excess.max().item<double>() <= 0.0;
  std::cout << "  " << std::left << std::setw(40) << what << " max |diff| " << std::scientific << std::setprecision(2)
            << max_error << std::defaultfloat << "\n";
  EXPECT_TRUE(ok) << what << ": max |ours - golden| = " << max_error << " beyond 1e-4 + 1e-4·|golden| at "
                  << (excess > 0).sum().item<std::int64_t>() << " of " << diff.numel() << " elements";
}

class ResNetParity : public ::testing::TestWithParam<std::string> {};

TEST_P(ResNetParity, MatchesTimm) {
  const std::string fixture = GetParam() + ".fixture";
  const fs::path folder = kFixtures / "timm" / fixture;
  const fs::path golden_file = kFixtures / "golden" / (fixture + ".safetensors");
  const fs::path sidecar_file = kFixtures / "golden" / (fixture + ".json");
  if (!fs::exists(folder / "model.safetensors") || !fs::exists(golden_file) || !fs::exists(sidecar_file)) {
    GTEST_SKIP() << "shared fixture " << folder << " not found";
  }
  at::set_num_threads(1);  // the fixtures were made on one thread: bit-for-bit where the kernels agree

  const auto hub_config = Config::from_file(folder / "config.json");
  const auto arch = hub_config.require<std::string>("architecture");
  const auto num_classes = hub_config.require<std::int64_t>("num_classes");
  ASSERT_EQ(arch, GetParam());

  auto model_args = Config::parse(R"({"num_classes": )" + std::to_string(num_classes) + "}", fixture);
  auto net = resnet_registry().backbones().get(arch).factory(model_args);
  model_args.expect_all_used();
  load_state_dict(*net, load_safetensors(folder / "model.safetensors", torch::kFloat32),
                  {.source = (folder / "model.safetensors").string(), .strict = true});

  auto golden = load_safetensors(golden_file, torch::kFloat32);
  const auto sidecar = Config::from_file(sidecar_file);
  const auto train = sidecar.section("train");
  const auto& input = golden.at("input");
  std::cout << fixture << ":\n";

  // Eval: logits, features, pre-logits and the features_only maps (timm's default out_indices 0..4).
  net->eval();
  {
    torch::NoGradGuard no_grad;
    expect_close("logits", net->forward(input), golden.at("logits"));
    const auto features = net->forward_features(input);
    expect_close("features", features, golden.at("features"));
    expect_close("pre_logits", net->forward_head(features, /*pre_logits=*/true), golden.at("pre_logits"));
    const auto maps = net->forward_intermediates(input, {0, 1, 2, 3, 4});
    for (std::size_t i = 0; i < maps.size(); ++i) {
      const std::string key = "feat." + std::to_string(i);
      ASSERT_TRUE(golden.count(key)) << key;
      expect_close(key, maps[i], golden.at(key));
    }
    EXPECT_FALSE(golden.count("feat." + std::to_string(maps.size())));
  }

  // Train: one forward, cross-entropy, backward, one plain SGD step, another forward.
  net->train();
  const auto target = golden.at("train.target").to(torch::kLong);
  const auto logits = net->forward(input);
  expect_close("train.logits", logits, golden.at("train.logits"));
  const auto loss = torch::nn::functional::cross_entropy(logits, target);
  expect_close("train.loss_before", loss, golden.at("train.loss_before"));
  loss.backward();

  const auto params = net->named_parameters();
  const auto watched = train.require<std::vector<std::string>>("params");
  for (const auto& name : watched) {
    expect_close("train.grad." + name, params[name].grad(), golden.at("train.grad." + name));
  }
  const auto bn = train.require<std::string>("bn");
  const auto buffers = net->named_buffers();
  for (const char* stat : {"running_mean", "running_var"}) {
    const std::string key = bn + "." + stat;
    expect_close("train.bn." + key, buffers[key], golden.at("train.bn." + key));
  }

  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(train.require<double>("lr"))
                                               .momentum(train.require<double>("momentum"))
                                               .weight_decay(train.require<double>("weight_decay")));
  sgd.step();
  for (const auto& name : watched) {
    expect_close("train.param_after." + name, params[name], golden.at("train.param_after." + name));
  }
  {
    torch::NoGradGuard no_grad;
    const auto after = net->forward(input);
    expect_close("train.logits_after", after, golden.at("train.logits_after"));
    expect_close("train.loss_after", torch::nn::functional::cross_entropy(after, target),
                 golden.at("train.loss_after"));
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ResNetParity, ::testing::Values("resnet18", "resnet50"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace autotimm::resnet
