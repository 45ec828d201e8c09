#pragma once
// Parity with timm on a fixture made by timm itself: a Hub folder (`config.json` + `model.safetensors`) and the
// golden outputs timm computed from it (`<fixture>.safetensors` + its `<fixture>.json` sidecar). A family's parity
// test is one line per fixture:
//
//   TEST(ConvNeXtParity, Atto) { autotimm::testing::check_timm_parity(registry, fixtures_dir, "convnext_atto.fixture"); }
//
// Checked, each within |ours - golden| <= 1e-4 + 1e-4·|golden|: eval logits, forward_features, pre-logits, the
// features_only maps (the sidecar's resolved out_indices), and one train step — train-mode logits, cross-entropy,
// gradients of the watched parameters, BatchNorm running statistics (where the model has one), the parameters after
// one plain SGD step, and the logits and loss after it. The largest difference of each is printed for the record.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <string>

#include "autotimm/backbones.hpp"
#include "autotimm/config.hpp"
#include "autotimm/io/safetensors_torch.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/state_dict.hpp"

namespace autotimm::testing {

struct ParityTolerance {
  double absolute = 1e-4;
  double relative = 1e-4;
};

/// Expects `ours` to match `golden` elementwise within the tolerance; prints the largest difference.
inline void expect_close_to_golden(const std::string& what, const torch::Tensor& ours, const torch::Tensor& golden,
                                   const ParityTolerance& tolerance = {}) {
  ASSERT_TRUE(ours.defined()) << what << ": no tensor";
  ASSERT_EQ(ours.sizes(), golden.sizes()) << what;
  const auto diff = (ours.detach().to(torch::kFloat32) - golden).abs();
  const double max_error = diff.numel() ? diff.max().item<double>() : 0.0;
  const auto excess = diff - (tolerance.absolute + tolerance.relative * golden.abs());
  const bool ok = diff.numel() == 0 || excess.max().item<double>() <= 0.0;
  std::cout << "  " << std::left << std::setw(48) << what << " max |diff| " << std::scientific << std::setprecision(2)
            << max_error << std::defaultfloat << "\n";
  EXPECT_TRUE(ok) << what << ": max |ours - golden| = " << max_error << " beyond " << tolerance.absolute << " + "
                  << tolerance.relative << "·|golden| at " << (excess > 0).sum().item<std::int64_t>() << " of "
                  << diff.numel() << " elements";
}

/// `fixtures_dir` holds `timm/<fixture>/` and `golden/<fixture>.{safetensors,json}`; a missing fixture skips the test.
/// The backbone is built from the registry by the folder's `architecture`, with its `num_classes` and `model_args`.
inline void check_timm_parity(Registry& registry, const std::filesystem::path& fixtures_dir, const std::string& fixture,
                              const ParityTolerance& tolerance = {}) {
  namespace fs = std::filesystem;
  const fs::path folder = fixtures_dir / "timm" / fixture;
  const fs::path golden_file = fixtures_dir / "golden" / (fixture + ".safetensors");
  const fs::path sidecar_file = fixtures_dir / "golden" / (fixture + ".json");
  if (!fs::exists(folder / "model.safetensors") || !fs::exists(golden_file) || !fs::exists(sidecar_file)) {
    GTEST_SKIP() << "shared fixture " << folder << " not found";
  }
  const int threads = at::get_num_threads();
  at::set_num_threads(1);  // the fixtures were made on one thread: bit for bit where the kernels agree
  struct RestoreThreads {
    int n;
    ~RestoreThreads() { at::set_num_threads(n); }
  } restore{threads};

  const auto hub_config = Config::from_file(folder / "config.json");
  const auto arch = hub_config.require<std::string>("architecture");
  BackboneOptions options{.num_classes = hub_config.require<std::int64_t>("num_classes")};
  options.model_args = hub_config.section("model_args").json();
  auto net = create_backbone(arch, options, &registry);
  load_state_dict(*net, load_safetensors(folder / "model.safetensors", torch::kFloat32),
                  {.source = (folder / "model.safetensors").string(), .strict = true});

  auto golden = load_safetensors(golden_file, torch::kFloat32);
  const auto sidecar = Config::from_file(sidecar_file);
  const auto train = sidecar.section("train");
  const auto& input = golden.at("input");
  std::cout << fixture << ":\n";

  net->eval();
  {
    torch::NoGradGuard no_grad;
    expect_close_to_golden("logits", net->forward(input), golden.at("logits"), tolerance);
    const auto features = net->forward_features(input);
    expect_close_to_golden("features", features, golden.at("features"), tolerance);
    expect_close_to_golden("pre_logits", net->forward_head(features, /*pre_logits=*/true), golden.at("pre_logits"),
                           tolerance);
    const auto out_indices = sidecar.section("feature_info").require<std::vector<std::int64_t>>("out_indices");
    const auto maps = net->forward_intermediates(input, out_indices);
    ASSERT_EQ(maps.size(), out_indices.size());
    for (std::size_t i = 0; i < maps.size(); ++i) {
      const std::string key = "feat." + std::to_string(i);
      ASSERT_TRUE(golden.count(key)) << key;
      expect_close_to_golden(key, maps[i], golden.at(key), tolerance);
    }
  }

  net->train();
  const auto target = golden.at("train.target").to(torch::kLong);
  const auto logits = net->forward(input);
  expect_close_to_golden("train.logits", logits, golden.at("train.logits"), tolerance);
  const auto loss = torch::nn::functional::cross_entropy(logits, target);
  expect_close_to_golden("train.loss_before", loss, golden.at("train.loss_before"), tolerance);
  loss.backward();

  const auto params = net->named_parameters();
  const auto watched = train.require<std::vector<std::string>>("params");
  for (const auto& name : watched) {
    ASSERT_TRUE(params.contains(name)) << "no parameter " << name;
    expect_close_to_golden("train.grad." + name, params[name].grad(), golden.at("train.grad." + name), tolerance);
  }
  if (const auto bn = train.get<std::string>("bn", ""); !bn.empty()) {
    const auto buffers = net->named_buffers();
    for (const char* stat : {"running_mean", "running_var"}) {
      const std::string key = bn + "." + stat;
      ASSERT_TRUE(buffers.contains(key)) << "no buffer " << key;
      expect_close_to_golden("train.bn." + key, buffers[key], golden.at("train.bn." + key), tolerance);
    }
  }

  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(train.require<double>("lr"))
                                               .momentum(train.require<double>("momentum"))
                                               .weight_decay(train.require<double>("weight_decay")));
  sgd.step();
  for (const auto& name : watched) {
    expect_close_to_golden("train.param_after." + name, params[name], golden.at("train.param_after." + name),
                           tolerance);
  }
  torch::NoGradGuard no_grad;
  const auto after = net->forward(input);
  expect_close_to_golden("train.logits_after", after, golden.at("train.logits_after"), tolerance);
  expect_close_to_golden("train.loss_after", torch::nn::functional::cross_entropy(after, target),
                         golden.at("train.loss_after"), tolerance);
}

}  // namespace autotimm::testing
