#include <gtest/gtest.h>

#include "autotimm/error.hpp"
#include "autotimm/pretrained_cfg_json.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/state_dict_adapter.hpp"
#include "support/error_text.hpp"
#include "test_net.hpp"

namespace autotimm {
namespace {

using testing::TestNetImpl;

std::map<std::string, torch::Tensor> tensors_of(const torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> out;
  for (auto& [key, value] : state_dict(module)) out[key] = value.detach().clone();
  return out;
}

TEST(StateDict, ListsParametersAndBuffersUnderTimmNames) {
  auto net = std::make_shared<TestNetImpl>(3, 4, 10);
  std::vector<std::string> keys;
  for (auto& [key, _] : state_dict(*net)) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean",
                                            "bn1.running_var", "bn1.num_batches_tracked", "fc.weight", "fc.bias"}));
}

TEST(StateDict, LoadsEveryTensorConvertingDtypes) {
  auto source = std::make_shared<TestNetImpl>(3, 4, 10);
  auto target = std::make_shared<TestNetImpl>(3, 4, 10);
  auto tensors = tensors_of(*source);
  tensors["conv1.weight"] = tensors["conv1.weight"].to(torch::kFloat16).to(torch::kFloat32);
  tensors["fc.weight"] = tensors["fc.weight"].to(torch::kFloat64);
  tensors["bn1.running_mean"].fill_(0.25);
  auto report = load_state_dict(*target, tensors);
  EXPECT_TRUE(report.missing.empty() && report.unexpected.empty() && report.dropped.empty());
  EXPECT_TRUE(torch::equal(target->conv1->weight, tensors["conv1.weight"]));
  EXPECT_TRUE(torch::allclose(target->fc->weight, source->fc->weight));
  EXPECT_EQ(target->fc->weight.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(target->bn1->running_mean, torch::full({4}, 0.25)));
}

TEST(StateDict, StrictLoadingListsMissingAndUnexpectedKeysAndChangesNothing) {
  auto target = std::make_shared<TestNetImpl>(3, 4, 10);
  const auto before = target->conv1->weight.clone();
  auto tensors = tensors_of(*std::make_shared<TestNetImpl>(3, 4, 10));
  tensors.erase("bn1.running_var");
  tensors.erase("fc.bias");
  tensors["head.extra"] = torch::zeros({1});
  EXPECT_EQ(testing::error_text([&] { load_state_dict(*target, tensors, {.source = "w.safetensors"}); }),
            "cannot load weights from w.safetensors: missing keys (2): bn1.running_var, fc.bias; unexpected keys (1): "
            "head.extra; load non-strictly to keep the model's own values for those keys");
  EXPECT_TRUE(torch::equal(target->conv1->weight, before)) << "a refused load must not change the model";

  auto report = load_state_dict(*target, tensors, {.strict = false});
  EXPECT_EQ(report.missing, (std::vector<std::string>{"bn1.running_var", "fc.bias"}));
  EXPECT_EQ(report.unexpected, (std::vector<std::string>{"head.extra"}));
  EXPECT_TRUE(torch::equal(target->conv1->weight, tensors["conv1.weight"]));
}

TEST(StateDict, ShapeMismatchesAreAlwaysErrorsNamingBothShapes) {
  auto target = std::make_shared<TestNetImpl>(3, 4, 10);
  auto tensors = tensors_of(*std::make_shared<TestNetImpl>(3, 4, 10));
  tensors["bn1.weight"] = torch::ones({5});
  EXPECT_EQ(testing::error_text([&] { load_state_dict(*target, tensors, {.source = "x", .strict = false}); }),
            "cannot load weights from x: 'bn1.weight' has shape [5], the model expects [4]; are these weights for "
            "another architecture or configuration?");
}

TEST(StateDict, ListsAtMostTenKeysOfEachKind) {
  auto target = std::make_shared<TestNetImpl>(3, 4, 10);
  auto tensors = tensors_of(*target);
  for (int i = 0; i < 12; ++i) tensors["extra." + std::to_string(i)] = torch::zeros({1});
  const auto message = testing::error_text([&] { load_state_dict(*target, tensors); });
  EXPECT_NE(message.find("unexpected keys (12): "), std::string::npos) << message;
  EXPECT_NE(message.find(" and 2 more"), std::string::npos) << message;
}

TEST(StateDict, DropsTheClassifierWhenClassCountsDiffer) {
  auto pretrained = std::make_shared<TestNetImpl>(3, 4, 1000);
  auto tensors = tensors_of(*pretrained);
  auto target = std::make_shared<TestNetImpl>(3, 4, 10);
  const auto fresh = target->fc->weight.clone();
  auto report = load_state_dict(*target, tensors, {.classifier = "fc"});
  EXPECT_EQ(report.dropped, (std::vector<std::string>{"fc.weight", "fc.bias"}));
  EXPECT_TRUE(torch::equal(target->fc->weight, fresh));
  EXPECT_TRUE(torch::equal(target->conv1->weight, tensors["conv1.weight"]));

  auto headless = std::make_shared<TestNetImpl>(3, 4, 0);
  auto headless_report = load_state_dict(*headless, tensors, {.classifier = "fc"});
  EXPECT_EQ(headless_report.dropped, (std::vector<std::string>{"fc.bias", "fc.weight"}));
  EXPECT_TRUE(headless_report.unexpected.empty());
}

TEST(StateDict, DropsEveryClassifierOfACommaSeparatedList) {
  // DeiT's ("head", "head_dist") as one string; the list reads from and writes to config.json as timm's array.
  auto source = std::make_shared<TestNetImpl>(3, 4, 10);
  auto target = std::make_shared<TestNetImpl>(3, 4, 5);
  auto tensors = tensors_of(*source);
  tensors["conv1.weight"] = tensors["conv1.weight"] * 2;
  auto report = load_state_dict(*target, tensors, {.classifier = "head,fc"});
  EXPECT_EQ(report.dropped, (std::vector<std::string>{"fc.weight", "fc.bias"}));
  EXPECT_TRUE(torch::equal(target->conv1->weight, tensors["conv1.weight"]));

  PretrainedCfg cfg;
  cfg.classifier = "head,head_dist";
  const auto json = pretrained_cfg_to_json(cfg);
  ASSERT_TRUE(json.at("classifier").is_array());
  EXPECT_EQ(json.at("classifier").as_array().size(), 2u);
  EXPECT_EQ(pretrained_cfg_from_json(json, "cfg").classifier, "head,head_dist");
}

// A model that renames an old key and scales a tensor before loading, as a family's adapter would.
class AdaptingNetImpl : public TestNetImpl, public StateDictAdapter {
 public:
  AdaptingNetImpl() : TestNetImpl(3, 4, 10) {}
  std::vector<std::string> adapt_state_dict(std::map<std::string, torch::Tensor>& tensors,
                                            const std::string& source) const override {
    sources.push_back(source);
    auto old = tensors.extract("fc.old_weight");
    if (old.empty()) return {};
    tensors["fc.weight"] = old.mapped() * 2;
    return {"fc.weight"};
  }
  mutable std::vector<std::string> sources;
};

TEST(StateDict, AStateDictAdapterRewritesTheFileBeforeTheStrictChecks) {
  auto source = std::make_shared<TestNetImpl>(3, 4, 10);
  auto target = std::make_shared<AdaptingNetImpl>();
  auto tensors = tensors_of(*source);
  tensors["fc.old_weight"] = tensors.extract("fc.weight").mapped();
  const auto report = load_state_dict(*target, tensors, {.source = "old.safetensors"});
  EXPECT_EQ(target->sources, std::vector<std::string>{"old.safetensors"});
  EXPECT_EQ(report.adapted, std::vector<std::string>{"fc.weight"});
  EXPECT_TRUE(torch::allclose(target->fc->weight, source->fc->weight * 2));
}

TEST(StateDict, AdaptsTheFirstConvToOtherChannelCounts) {
  auto pretrained = std::make_shared<TestNetImpl>(3, 4, 10);
  auto tensors = tensors_of(*pretrained);
  const auto w = tensors["conv1.weight"];

  auto gray = std::make_shared<TestNetImpl>(1, 4, 10);
  auto report = load_state_dict(*gray, tensors, {.first_conv = "conv1"});
  EXPECT_EQ(report.adapted, (std::vector<std::string>{"conv1.weight"}));
  EXPECT_TRUE(torch::allclose(gray->conv1->weight, w.sum(1, true)));

  auto five = std::make_shared<TestNetImpl>(5, 4, 10);
  load_state_dict(*five, tensors, {.first_conv = "conv1"});
  const auto expected = torch::cat({w, w.slice(1, 0, 2)}, 1) * (3.0 / 5.0);
  EXPECT_TRUE(torch::allclose(five->conv1->weight, expected));

  // Without the first_conv rule the channel difference is a shape mismatch.
  EXPECT_THROW(load_state_dict(*std::make_shared<TestNetImpl>(1, 4, 10), tensors), FormatError);
}

TEST(AdaptInputConv, FollowsTimmRules) {
  const auto w = torch::arange(2 * 6 * 1 * 1, torch::kFloat32).reshape({2, 6, 1, 1});
  // Space-to-depth weights (6 = 2 groups of RGB) sum within each group.
  const auto gray = adapt_input_conv(w, 1);
  EXPECT_EQ(gray.sizes(), torch::IntArrayRef({2, 2, 1, 1}));
  EXPECT_FLOAT_EQ(gray[0][0][0][0].item<float>(), 0 + 1 + 2);
  EXPECT_FLOAT_EQ(gray[1][1][0][0].item<float>(), 9 + 10 + 11);
  EXPECT_THROW(adapt_input_conv(w, 4), ConfigError);
  EXPECT_THROW(adapt_input_conv(torch::zeros({2, 3}), 1), ConfigError);
  const auto half = torch::ones({1, 3, 1, 1}, torch::kFloat16);
  EXPECT_EQ(adapt_input_conv(half, 6).scalar_type(), torch::kFloat16);
  EXPECT_FLOAT_EQ(adapt_input_conv(half, 6).sum().item<float>(), 3.0f);
}

}  // namespace
}  // namespace autotimm
