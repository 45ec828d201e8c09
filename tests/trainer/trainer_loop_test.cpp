// AutoTrainer end to end on a generated colour dataset with a small resnet10t: learning, exact resume (at an epoch
// boundary and mid-epoch), load_from_checkpoint, the NaN stop, and the options that shape the loops.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "autotimm/error.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/trainer/callbacks.hpp"
#include "autotimm/trainer/checkpoint.hpp"
#include "support/error_text.hpp"
#include "trainer_fixtures.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::color_data_options;
using testing::LossRecorder;
using testing::quiet_trainer;
using testing::read_text;
using testing::StopAt;
using testing::TempDir;
using testing::tiny_classifier_options;

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AutoTrainerFit, LearnsTheColoursAndLeavesARecord) {
  TempDir root;
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  AutoTrainer trainer(quiet_trainer(root.path(), 4));
  trainer.fit(model, data);

  EXPECT_EQ(model.num_classes(), 3);
  EXPECT_EQ(model.class_names(), testing::color_classes());
  const auto test = trainer.test(model, data);
  EXPECT_GE(test.at("test/accuracy"), 0.99) << "the colours are trivially separable";
  EXPECT_LT(test.at("test/loss"), 0.5);

  // The run folder: logs/version_0 with metrics, hyperparameters and checkpoints.
  const fs::path run = root.path() / "logs" / "version_0";
  EXPECT_EQ(trainer.log_dir(), run);
  const auto checkpoints = files_in(run / "checkpoints");
  ASSERT_EQ(checkpoints.size(), 2u) << "save_top_k 1 and last";
  EXPECT_TRUE(std::regex_match(checkpoints[0], std::regex(R"(best-epoch=[0-3]-val_loss=\d\.\d{4}\.ckpt)")))
      << checkpoints[0];
  EXPECT_EQ(checkpoints[1], "last.ckpt");
  EXPECT_EQ(trainer.best_model_path(), run / "checkpoints" / checkpoints[0]);

  const std::string csv = read_text(run / "metrics.csv");
  const std::string header = csv.substr(0, csv.find('\n'));
  EXPECT_NE(header.find("epoch,step,test/accuracy"), std::string::npos) << header;
  EXPECT_NE(header.find("train/loss_epoch"), std::string::npos) << header;
  EXPECT_NE(header.find("val/accuracy"), std::string::npos) << header;
  const std::string hparams = read_text(run / "hparams.yaml");
  EXPECT_NE(hparams.find("  backbone: resnet10t\n"), std::string::npos) << hparams;
  EXPECT_NE(hparams.find("task: ImageClassifier\n"), std::string::npos) << hparams;
}

TEST(AutoTrainerFit, ResumeContinuesExactlyFromAnEpochBoundaryAndMidEpoch) {
  // Dropout, drop-path, mixup and random crops all draw randomness: a resume that restored any of them wrongly
  // would change the losses.
  auto options = tiny_classifier_options();
  options.head_dropout = 0.3;
  options.drop_path_rate = 0.1;
  options.mixup_alpha = 0.4;
  auto trainer_options = [](const fs::path& root, std::vector<std::shared_ptr<Callback>> callbacks) {
    auto o = quiet_trainer(root, 3);
    o.callbacks = std::move(callbacks);
    o.val_check_interval = 0.5;
    o.deterministic = true;
    return o;
  };

  TempDir full_root;
  auto full = std::make_shared<LossRecorder>();
  {
    ImageClassifier model(options);
    ImageDataModule data(color_data_options());
    AutoTrainer trainer(trainer_options(full_root.path(), {full}));
    trainer.fit(model, data);
  }
  const std::size_t per_epoch = 5;  // 36 images, batch 8
  ASSERT_EQ(full->losses.size(), 3 * per_epoch);

  for (const auto& [stop_epoch, stop_batch] : std::vector<std::pair<int, int>>{{0, -1}, {1, 2}}) {
    SCOPED_TRACE("stopped at epoch " + std::to_string(stop_epoch) + ", batch " + std::to_string(stop_batch));
    TempDir root;
    auto first = std::make_shared<LossRecorder>();
    {
      ImageClassifier model(options);
      ImageDataModule data(color_data_options());
      AutoTrainer trainer(trainer_options(root.path(), {first, std::make_shared<StopAt>(stop_epoch, stop_batch)}));
      trainer.fit(model, data);
    }
    const auto last = root.path() / "logs" / "version_0" / "checkpoints" / "last.ckpt";
    auto second = std::make_shared<LossRecorder>();
    ImageClassifier model(options);
    {
      torch::NoGradGuard no_grad;  // the checkpoint must replace every weight
      for (auto& p : model.parameters()) p.fill_(0.5);
    }
    ImageDataModule data(color_data_options());
    AutoTrainer trainer(trainer_options(root.path(), {second}));
    trainer.fit(model, data, last);

    const std::size_t done = first->losses.size();
    ASSERT_EQ(done + second->losses.size(), full->losses.size());
    for (std::size_t i = 0; i < done; ++i) EXPECT_EQ(first->losses[i], full->losses[i]) << "step " << i;
    for (std::size_t i = 0; i < second->losses.size(); ++i) {
      EXPECT_EQ(second->losses[i], full->losses[done + i]) << "resumed step " << i;
    }
    EXPECT_EQ(trainer.state().global_step, static_cast<std::int64_t>(full->losses.size()));
  }
}

TEST(AutoTrainerFit, LoadFromCheckpointNeedsNothingElse) {
  TempDir root;
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  AutoTrainer trainer(quiet_trainer(root.path(), 1));
  trainer.fit(model, data);

  auto restored = ImageClassifier::load_from_checkpoint(trainer.last_model_path());
  EXPECT_EQ(restored->class_names(), testing::color_classes());
  EXPECT_EQ(restored->num_classes(), 3);
  ASSERT_TRUE(restored->data_config().has_value());
  EXPECT_EQ(restored->data_config()->input_size, (std::array<std::int64_t, 3>{3, 32, 32}));
  const auto images = torch::rand({4, 3, 32, 32});
  model.eval();
  restored->eval();
  EXPECT_TRUE(torch::equal(model.forward(images), restored->forward(images)));

  // Overrides replace options; the learning rate is one a fine-tune would change.
  auto tuned = ImageClassifier::load_from_checkpoint(trainer.last_model_path(), {{"lr", 1e-5}});
  EXPECT_EQ(tuned->options().lr, 1e-5);
  EXPECT_EQ(testing::error_text([&] {
              ImageClassifier::load_from_checkpoint(trainer.last_model_path(), {{"lerning_rate", 1e-5}});
            }).find("unknown option 'lerning_rate'"),
            0u);
}

// A cross-entropy that turns NaN from its `nan_from`-th call on.
struct NanFromLoss : Loss {
  int calls = 0, nan_from;
  explicit NanFromLoss(int from) : nan_from(from) {}
  LossOutput forward(const TensorMap& predictions, const TensorMap& targets) override {
    auto loss = torch::nn::functional::cross_entropy(predictions.at("logits"), targets.at("labels"));
    if (++calls >= nan_from) loss = loss * std::numeric_limits<double>::quiet_NaN();
    return {.total = loss, .terms = {}};
  }
};

Registry& registry_with_nan_loss() {
  static Registry registry;
  static const bool loaded = [] {
    PluginLoader(registry).load_directory(default_plugin_directory());
    Registrar extra({"test", "trainer_loop_test"});
    extra.add(LossEntry{.name = "nan_on_call_8", .factory = [](const Config&) -> std::shared_ptr<Loss> {
                          return std::make_shared<NanFromLoss>(8);
                        }});
    registry.commit(extra);
    return true;
  }();
  (void)loaded;
  return registry;
}

TEST(AutoTrainerFit, NanLossStopsNamingTheStepAndKeepsTheLastGoodCheckpoint) {
  TempDir root;
  auto options = tiny_classifier_options();
  options.loss = "nan_on_call_8";  // epoch 0 has 5 batches: the NaN comes at epoch 1, batch 2
  ImageClassifier model(options, &registry_with_nan_loss());
  ImageDataModule data(color_data_options());
  auto trainer_options = quiet_trainer(root.path(), 3);
  trainer_options.num_sanity_val_steps = 0;
  trainer_options.limit_val_batches = 0;  // validation would call the loss too
  trainer_options.checkpoint_monitor = "train/loss_epoch";
  AutoTrainer trainer(trainer_options);
  const std::string message = testing::error_text([&] { trainer.fit(model, data); });
  const auto last = root.path() / "logs" / "version_0" / "checkpoints" / "last.ckpt";
  EXPECT_EQ(message, "the training loss is NaN at epoch 1, batch 2 (global step 7); the run stopped without saving "
                     "this step, the last good checkpoint is " + last.string() +
                     "; lower the learning rate, clip gradients (gradient_clip_val) or check the data");
  const auto checkpoint = read_checkpoint(last);
  EXPECT_EQ(checkpoint.meta.at("epoch").as_int64(), 0);
  for (const auto& [key, tensor] : checkpoint.with_prefix("model.")) {
    if (tensor.is_floating_point()) {
      EXPECT_TRUE(torch::isfinite(tensor).all().item<bool>()) << key;
    }
  }
}

TEST(AutoTrainerFit, BatchLimitsAccumulationAndFastDevRun) {
  TempDir root;
  {
    ImageClassifier model(tiny_classifier_options());
    ImageDataModule data(color_data_options());
    auto o = quiet_trainer(root.path(), 2);
    o.limit_train_batches = 3;
    o.accumulate_grad_batches = 2;  // 3 batches → 2 optimizer steps per epoch
    AutoTrainer trainer(o);
    trainer.fit(model, data);
    EXPECT_EQ(trainer.state().global_step, 4);
  }
  {
    ImageClassifier model(tiny_classifier_options());
    ImageDataModule data(color_data_options());
    auto o = quiet_trainer(root.path() / "dev", 5);
    o.fast_dev_run = 2;
    AutoTrainer trainer(o);
    trainer.fit(model, data);
    EXPECT_EQ(trainer.state().global_step, 2);
    EXPECT_EQ(trainer.state().epoch, 0);
    EXPECT_FALSE(fs::exists(root.path() / "dev")) << "a dev run writes nothing";
  }
}

TEST(AutoTrainerFit, AccumulatedSmallBatchesEqualOneLargeBatch) {
  // A ViT normalises each sample by itself (LayerNorm, no BatchNorm), so two accumulated batches of 8 give the
  // gradient of the batch of 16 they make up: the runs end with the same weights.
  auto train = [](std::int64_t batch_size, int accumulate, const fs::path& root) {
    auto options = tiny_classifier_options();
    options.backbone = "vit_tiny_patch16_224";
    options.backbone_args = {{"img_size", 32}, {"patch_size", 8}, {"depth", 2}};
    options.optimizer = "sgd";
    options.optimizer_options = {{"momentum", 0.9}};
    options.lr = 0.05;
    options.weight_decay = 0.0;
    options.scheduler = "none";
    options.num_classes = 3;
    torch::manual_seed(11);
    ImageClassifier model(options);
    auto data_options = color_data_options();
    data_options.batch_size = batch_size;
    data_options.train_transforms = "none";
    ImageDataModule data(data_options);
    auto o = quiet_trainer(root, 1);
    o.accumulate_grad_batches = accumulate;
    o.limit_train_batches = 2 * accumulate;  // two optimizer steps either way
    o.enable_checkpointing = false;
    o.num_sanity_val_steps = 0;
    AutoTrainer trainer(o);
    trainer.fit(model, data);
    EXPECT_EQ(trainer.state().global_step, 2);
    std::vector<torch::Tensor> weights;
    for (const auto& p : model.parameters()) weights.push_back(p.detach().clone());
    return weights;
  };
  TempDir root;
  const auto large = train(16, 1, root.path() / "large");
  const auto accumulated = train(8, 2, root.path() / "accumulated");
  ASSERT_EQ(large.size(), accumulated.size());
  double largest_change = 0;
  for (std::size_t i = 0; i < large.size(); ++i) {
    ASSERT_TRUE(torch::allclose(large[i], accumulated[i], 1e-5, 1e-6)) << "parameter " << i;
  }
  // And the runs did move the weights: the equality is not that of two untouched models.
  const auto untouched = [] {
    auto options = tiny_classifier_options();
    options.backbone = "vit_tiny_patch16_224";
    options.backbone_args = {{"img_size", 32}, {"patch_size", 8}, {"depth", 2}};
    options.num_classes = 3;
    torch::manual_seed(11);
    ImageClassifier model(options);
    std::vector<torch::Tensor> weights;
    for (const auto& p : model.parameters()) weights.push_back(p.detach().clone());
    return weights;
  }();
  for (std::size_t i = 0; i < large.size(); ++i) {
    largest_change = std::max(largest_change, (large[i] - untouched[i]).abs().max().item<double>());
  }
  EXPECT_GT(largest_change, 1e-4);
}

TEST(AutoTrainerFit, GradientClippingBoundsTheUpdate) {
  TempDir root;
  double squared = 0;
  for (const auto& change : testing::clipped_step_changes(root.path(), 1e-3, "norm")) {
    squared += change.pow(2).sum().item<double>();
  }
  // sgd with lr 1: the update is the clipped gradient, whose total norm is at most 1e-3.
  EXPECT_LE(std::sqrt(squared), 1e-3 * 1.0001);
  EXPECT_GT(std::sqrt(squared), 1e-4);

  double largest = 0;
  for (const auto& change : testing::clipped_step_changes(root.path() / "value", 1e-4, "value")) {
    largest = std::max(largest, change.abs().max().item<double>());
  }
  EXPECT_LE(largest, 1e-4 + 1e-6);  // float rounding of p - lr * g, then of the difference
  EXPECT_GT(largest, 1e-5);
}

TEST(AutoTrainerFit, EarlyStoppingTopKAndLearningRateMonitor) {
  TempDir root;
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  auto o = quiet_trainer(root.path(), 6);
  o.save_top_k = 2;
  o.callbacks = {std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val/loss", .patience = 1,
                                                                      .min_delta = 100.0}),
                 std::make_shared<LearningRateMonitor>()};
  AutoTrainer trainer(o);
  trainer.fit(model, data);
  // The first validation sets the best; no later one beats it by 100: stop after the second.
  EXPECT_EQ(trainer.state().epoch, 1);
  EXPECT_NE(trainer.state().stop_reason.find("EarlyStopping: val/loss did not improve"), std::string::npos);
  const auto dir = root.path() / "logs" / "version_0" / "checkpoints";
  const auto names = files_in(dir);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_TRUE(names[0].starts_with("best-epoch=0-")) << names[0];
  EXPECT_TRUE(names[1].starts_with("best-epoch=1-")) << names[1];
  const std::string csv = read_text(root.path() / "logs" / "version_0" / "metrics.csv");
  EXPECT_NE(csv.substr(0, csv.find('\n')).find("lr-adamw"), std::string::npos);
}

TEST(AutoTrainerFit, ValidatePredictAndConfigNamedCallbacks) {
  TempDir root;
  ImageClassifier model(tiny_classifier_options());
  ImageDataModule data(color_data_options());
  auto config = Config::parse(R"({"max_epochs": 1, "enable_progress_bar": false, "enable_model_summary": false,
                                  "callbacks": [{"name": "timer", "duration_seconds": 3600}],
                                  "limit_val_batches": 0.5})");
  auto options = AutoTrainerOptions::from(config);
  config.expect_all_used();
  options.default_root_dir = root.path();
  ASSERT_EQ(options.callbacks.size(), 1u);
  EXPECT_NE(dynamic_cast<Timer*>(options.callbacks[0].get()), nullptr);
  AutoTrainer trainer(options);
  trainer.fit(model, data);
  const auto val = trainer.validate(model, data, "best");
  EXPECT_TRUE(val.contains("val/accuracy"));
  EXPECT_TRUE(val.contains("val/loss"));
  const auto out = trainer.predict(model, data.val_loader());
  ASSERT_EQ(out.at("probabilities").sizes(), (std::vector<std::int64_t>{12, 3}));
  EXPECT_TRUE(torch::allclose(out.at("probabilities").sum(1), torch::ones({12}), 1e-5, 1e-5));
  EXPECT_EQ(out.at("labels").sizes(), (std::vector<std::int64_t>{12}));
}

TEST(AutoTrainerOptions, RefusesWhatItCannotDo) {
  using testing::error_text;
  EXPECT_EQ(error_text([] { AutoTrainer({.precision = "8"}); }),
            "AutoTrainer: unknown precision '8'; supported: 32 (32-true), bf16-mixed (bf16), 16-mixed (16, CUDA), "
            "bf16-true");
  EXPECT_NE(error_text([] { AutoTrainer({.precision = "16-true"}); }).find("is not in this build"), std::string::npos);
  EXPECT_NE(error_text([] { AutoTrainer({.precision = "64"}); }).find("supported: 32"), std::string::npos);
  EXPECT_EQ(error_text([] { AutoTrainer({.devices = 0}); }), "AutoTrainer: 'devices' must be >= 1, got 0");
  EXPECT_EQ(error_text([] { AutoTrainer({.strategy = "fsdp"}); }),
            "AutoTrainer: 'strategy' must be auto or ddp, got 'fsdp'");
  EXPECT_EQ(error_text([] { AutoTrainer({.max_epochs = 0}); }), "AutoTrainer: 'max_epochs' must be >= 1, got 0");
  auto config = Config::parse(R"({"max_epoch": 3})", "run.json");
  AutoTrainerOptions::from(config);
  EXPECT_NE(error_text([&] { config.expect_all_used(); }).find("did you mean 'max_epochs'"), std::string::npos);
}

}  // namespace
}  // namespace autotimm
