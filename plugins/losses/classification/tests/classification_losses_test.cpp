// The classification losses against values computed by hand: cross-entropy with smoothing, weights, ignored labels
// and soft targets; binary cross-entropy with one-hot conversion, smoothing and pos_weight; and their messages.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/loss.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "support/error_text.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace autotimm::classification_losses {
namespace {

using autotimm::testing::error_text;

std::shared_ptr<Loss> make(const std::string& name, const std::string& options = "{}") {
  auto config = Config::parse(options, "loss options");
  auto loss = testing::registry_of(autotimm_plugin_descriptor()).losses().get(name).factory(config);
  config.expect_all_used();
  return loss;
}

double loss_of(Loss& loss, const torch::Tensor& logits, const torch::Tensor& labels) {
  return loss.forward({{"logits", logits}}, {{"labels", labels}}).total.item<double>();
}

// -log softmax(row)[k], written out.
double nll(const std::vector<double>& row, std::size_t k) {
  double sum = 0;
  for (double v : row) sum += std::exp(v);
  return -(row[k] - std::log(sum));
}

const std::vector<std::vector<double>> kRows = {{2.0, 0.5, -1.0}, {0.1, 0.2, 0.3}};

torch::Tensor logits_tensor() {
  return torch::tensor({2.0, 0.5, -1.0, 0.1, 0.2, 0.3}, torch::kFloat64).view({2, 3});
}

TEST(CrossEntropy, MeanNegativeLogLikelihood) {
  auto loss = make("ce");
  const double expected = (nll(kRows[0], 0) + nll(kRows[1], 2)) / 2;
  EXPECT_NEAR(loss_of(*loss, logits_tensor(), torch::tensor({0, 2}, torch::kLong)), expected, 1e-12);
}

TEST(CrossEntropy, LabelSmoothingMixesInTheUniformTarget) {
  auto loss = make("ce", R"({"label_smoothing": 0.3})");
  double expected = 0;
  const std::size_t labels[] = {1, 0};
  for (std::size_t r = 0; r < 2; ++r) {
    double uniform = 0;
    for (std::size_t k = 0; k < 3; ++k) uniform += nll(kRows[r], k) / 3;
    expected += (0.7 * nll(kRows[r], labels[r]) + 0.3 * uniform) / 2;
  }
  EXPECT_NEAR(loss_of(*loss, logits_tensor(), torch::tensor({1, 0}, torch::kLong)), expected, 1e-12);
}

TEST(CrossEntropy, SoftTargetsEqualHardOnesWhenOneHot) {
  auto loss = make("ce", R"({"label_smoothing": 0.1})");
  const auto hard = torch::tensor({0, 2}, torch::kLong);
  const auto soft = torch::one_hot(hard, 3).to(torch::kFloat64);
  EXPECT_NEAR(loss_of(*loss, logits_tensor(), soft), loss_of(*loss, logits_tensor(), hard), 1e-12);
  // A 50/50 mix is the average of the two hard losses (what mixup relies on).
  auto plain = make("ce");
  auto mixed = torch::tensor({0.5, 0.5, 0.0, 0.0, 0.5, 0.5}, torch::kFloat64).view({2, 3});
  const double expected = ((nll(kRows[0], 0) + nll(kRows[0], 1)) / 2 + (nll(kRows[1], 1) + nll(kRows[1], 2)) / 2) / 2;
  EXPECT_NEAR(loss_of(*plain, logits_tensor(), mixed), expected, 1e-12);
}

TEST(CrossEntropy, ClassWeightsAndIgnoredLabels) {
  auto weighted = make("ce", R"({"weight": [1.0, 1.0, 3.0]})");
  // PyTorch's weighted mean: sum w_y * nll / sum w_y.
  const double expected = (1.0 * nll(kRows[0], 0) + 3.0 * nll(kRows[1], 2)) / 4.0;
  EXPECT_NEAR(loss_of(*weighted, logits_tensor(), torch::tensor({0, 2}, torch::kLong)), expected, 1e-6);
  auto ignoring = make("ce", R"({"ignore_index": 255})");
  EXPECT_NEAR(loss_of(*ignoring, logits_tensor(), torch::tensor({0, 255}, torch::kLong)), nll(kRows[0], 0), 1e-12);
}

TEST(CrossEntropy, GradientFlowsToTheLogits) {
  auto loss = make("ce");
  auto logits = logits_tensor().requires_grad_(true);
  loss->forward({{"logits", logits}}, {{"labels", torch::tensor({0, 2}, torch::kLong)}}).total.backward();
  // d/dz of the mean CE = (softmax - onehot) / N.
  auto expected = (torch::softmax(logits_tensor(), 1) - torch::one_hot(torch::tensor({0, 2}), 3)) / 2;
  EXPECT_TRUE(torch::allclose(logits.grad(), expected, 1e-12, 1e-12));
}

TEST(CrossEntropy, BadInputIsNamed) {
  auto loss = make("ce");
  EXPECT_EQ(error_text([&] { loss->forward({{"scores", logits_tensor()}}, {{"labels", torch::tensor({0, 1})}}); }),
            "loss 'ce': the predictions have no 'logits'; a classification head must produce them");
  EXPECT_EQ(error_text([&] { loss_of(*loss, logits_tensor(), torch::tensor({0, 1, 2})); }),
            "loss 'ce': expected labels as int64 [2] class indices or floating [2, 3] targets for logits [2, 3], got "
            "Long [3]");
  EXPECT_EQ(error_text([&] { make("ce", R"({"label_smoothing": 1.0})"); }),
            "loss 'ce': 'label_smoothing' must be in [0, 1), got 1.000000");
  EXPECT_EQ(error_text([&] { make("ce", R"({"weight": [1.0, 2.0]})")->forward(
                                 {{"logits", logits_tensor()}}, {{"labels", torch::tensor({0, 1})}}); }),
            "loss 'ce': 'weight' has 2 values, the logits have 3 classes; give one value per class");
  EXPECT_THROW(make("ce", R"({"smoothing": 0.1})"), ConfigError);  // unknown option
}

double bce(double z, double t, double pos_weight = 1.0) {
  const double p = 1.0 / (1.0 + std::exp(-z));
  return -(pos_weight * t * std::log(p) + (1 - t) * std::log(1 - p));
}

TEST(BinaryCrossEntropy, MeanOverEveryLabel) {
  auto loss = make("bce");
  auto targets = torch::tensor({1.0, 0.0, 1.0, 0.0, 0.0, 1.0}, torch::kFloat64).view({2, 3});
  double expected = 0;
  const double t[2][3] = {{1, 0, 1}, {0, 0, 1}};
  for (int r = 0; r < 2; ++r)
    for (int k = 0; k < 3; ++k) expected += bce(kRows[r][k], t[r][k]) / 6;
  EXPECT_NEAR(loss_of(*loss, logits_tensor(), targets), expected, 1e-12);
}

TEST(BinaryCrossEntropy, IndicesBecomeOneHotAndSmoothingMovesTargets) {
  auto loss = make("bce", R"({"label_smoothing": 0.3})");
  const double off = 0.3 / 3, on = 1 - 0.3 + off;
  double expected = 0;
  const int labels[] = {2, 0};
  for (int r = 0; r < 2; ++r)
    for (int k = 0; k < 3; ++k) expected += bce(kRows[r][k], k == labels[r] ? on : off) / 6;
  EXPECT_NEAR(loss_of(*loss, logits_tensor(), torch::tensor({2, 0}, torch::kLong)), expected, 1e-12);
  EXPECT_EQ(error_text([&] { loss_of(*loss, logits_tensor(), torch::tensor({3, 0}, torch::kLong)); }),
            "loss 'bce': class indices must be in [0, 3)");
}

TEST(BinaryCrossEntropy, PositiveWeights) {
  auto loss = make("bce", R"({"pos_weight": [2.0, 1.0, 1.0]})");
  auto targets = torch::tensor({1.0, 1.0, 0.0, 1.0, 0.0, 0.0}, torch::kFloat64).view({2, 3});
  double expected = 0;
  const double t[2][3] = {{1, 1, 0}, {1, 0, 0}};
  for (int r = 0; r < 2; ++r)
    for (int k = 0; k < 3; ++k) expected += bce(kRows[r][k], t[r][k], k == 0 ? 2.0 : 1.0) / 6;
  EXPECT_NEAR(loss_of(*loss, logits_tensor(), targets), expected, 1e-6);
}

TEST(ClassificationLosses, RegistersBothNames) {
  auto& registry = testing::registry_of(autotimm_plugin_descriptor());
  EXPECT_EQ(registry.losses().list(), (std::vector<std::string>{"bce", "ce"}));
}

}  // namespace
}  // namespace autotimm::classification_losses
