// `autotimm predict` as users run it on a classifier trained by `autotimm fit`: --tta flip gives the mean of both
// views' probabilities as the library computes them on the unfolded model (so the folded model the command runs
// predicts the same), --checkpoint is --ckpt-path's alias, and wrong options are usage errors that say what to do.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <boost/json.hpp>
#include <sstream>

#include "autotimm/data/dataset.hpp"
#include "autotimm/data/loader.hpp"
#include "autotimm/data/transform.hpp"
#include "autotimm/inference/test_time_augmentation.hpp"
#include "autotimm/tasks/image_classifier.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"
#include "trainer/synthetic_images.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::run_command;
using testing::TempDir;

const std::string kCli = AUTOTIMM_CLI;
const std::string kConfig = std::string(AUTOTIMM_SOURCE_DIR) + "/examples/configs/colors.json";

struct TrainedClassifier {
  TempDir dir;
  fs::path data;
  std::string best, fit_err;
  TrainedClassifier() : data(dir / "colors") {
    testing::write_color_folder(data, 8, 3, 3);
    const auto fit = run_command(kCli + " fit --config " + kConfig + " --set data.data_dir=" + data.string() +
                                 " --set trainer.default_root_dir=" + (dir / "runs").string() +
                                 " --set trainer.max_epochs=2 --json");
    fit_err = fit.err;
    if (fit.exit_code == 0) best = boost::json::parse(fit.out).as_object().at("best_model_path").as_string().c_str();
  }
};

TrainedClassifier& trained() {
  static TrainedClassifier run;
  return run;
}

/// image path → label → probability, from predict's --json lines.
std::map<std::string, std::map<std::string, double>> parse_predictions(const std::string& out) {
  std::map<std::string, std::map<std::string, double>> rows;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto row = boost::json::parse(line).as_object();
    auto& top = rows[std::string(row.at("image").as_string())];
    for (const auto& entry : row.at("top").as_array()) {
      top[std::string(entry.as_object().at("label").as_string())] = entry.as_object().at("probability").as_double();
    }
  }
  return rows;
}

TEST(PredictCli, FlipTtaMatchesTheLibraryOnTheUnfoldedModel) {
  auto& run = trained();
  ASSERT_FALSE(run.best.empty()) << run.fit_err;
  const auto folder = run.data / "test";
  const auto predict = run_command(kCli + " predict --checkpoint " + run.best + " --tta flip --top-k 3 --json " +
                                   folder.string());
  ASSERT_EQ(predict.exit_code, 0) << predict.err;
  EXPECT_EQ(predict.err.find("without folding"), std::string::npos) << predict.err;  // the folded model ran
  const auto rows = parse_predictions(predict.out);
  ASSERT_EQ(rows.size(), 9u);

  // The same images through the checkpoint's preprocessing, in this process, without folding.
  auto model = ImageClassifier::load_from_checkpoint(run.best);
  const auto config = model->data_config().value();
  auto dataset = std::make_shared<ImageDataset>();
  for (const auto& [path, top] : rows) dataset->items.push_back({.path = path});
  DataLoader loader(dataset, eval_transform(config),
                    {.batch_size = 16, .num_workers = 0, .strict_data = true, .mean = config.mean, .std = config.std});
  auto pass = loader.epoch(0);
  int compared = 0, correct = 0;
  while (auto batch = pass.next()) {
    const auto probabilities = classify_with_tta(*model, batch->images, TtaMode::flip);
    for (std::int64_t row = 0; row < batch->size(); ++row) {
      const auto path = dataset->items[batch->indices[static_cast<std::size_t>(row)]].path;
      const auto& printed = rows.at(path.string());
      ASSERT_EQ(printed.size(), 3u);
      for (std::int64_t c = 0; c < 3; ++c) {
        const auto& label = model->class_names()[static_cast<std::size_t>(c)];
        EXPECT_NEAR(printed.at(label), probabilities[row][c].item<double>(), 1e-4) << path << " " << label;
      }
      const auto best = probabilities[row].argmax().item<std::int64_t>();
      const auto& best_label = model->class_names()[static_cast<std::size_t>(best)];
      correct += best_label == path.parent_path().filename().string() ? 1 : 0;
      ++compared;
    }
  }
  EXPECT_EQ(compared, 9);
  EXPECT_GE(correct, 8);
}

TEST(PredictCli, CheckpointIsAnAliasOfCkptPath) {
  auto& run = trained();
  ASSERT_FALSE(run.best.empty()) << run.fit_err;
  const auto image = (run.data / "test" / "red" / "0.png").string();
  const auto by_alias = run_command(kCli + " predict --checkpoint " + run.best + " --json " + image);
  const auto by_name = run_command(kCli + " predict --ckpt-path " + run.best + " --json " + image);
  ASSERT_EQ(by_alias.exit_code, 0) << by_alias.err;
  ASSERT_EQ(by_name.exit_code, 0) << by_name.err;
  EXPECT_EQ(by_alias.out, by_name.out);
  EXPECT_EQ(parse_predictions(by_alias.out).size(), 1u);
  const auto both = run_command(kCli + " predict --checkpoint " + run.best + " --ckpt-path " + run.best + " " + image);
  EXPECT_EQ(both.exit_code, 0) << both.err;
  const auto clash = run_command(kCli + " predict --checkpoint " + run.best + " --ckpt-path other.ckpt " + image);
  EXPECT_EQ(clash.exit_code, 2);
  EXPECT_NE(clash.err.find("give one"), std::string::npos) << clash.err;
  const auto neither = run_command(kCli + " predict " + image);
  EXPECT_EQ(neither.exit_code, 2);
  EXPECT_NE(neither.err.find("--checkpoint"), std::string::npos) << neither.err;
}

TEST(PredictCli, NoOptimizeRunsTheModelAsTrainedWithTheSameOutputs) {
  auto& run = trained();
  ASSERT_FALSE(run.best.empty()) << run.fit_err;
  const auto folder = (run.data / "test").string();
  const std::string predict = kCli + " predict --checkpoint " + run.best + " --top-k 3 --json ";
  const auto optimised = run_command(predict + folder);
  const auto plain = run_command(predict + "--no-optimize " + folder);
  ASSERT_EQ(optimised.exit_code, 0) << optimised.err;
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(optimised.err.find("folded into their convolutions"), std::string::npos) << optimised.err;
  EXPECT_EQ(plain.err.find("folded"), std::string::npos) << plain.err;
  const auto a = parse_predictions(optimised.out), b = parse_predictions(plain.out);
  ASSERT_EQ(a.size(), 9u);
  ASSERT_EQ(b.size(), a.size());
  for (const auto& [image, top] : a) {
    ASSERT_EQ(b.at(image).size(), top.size()) << image;
    for (const auto& [label, probability] : top) EXPECT_NEAR(b.at(image).at(label), probability, 1e-4) << image;
  }
}

TEST(PredictCli, UnknownTtaModeListsTheSupportedOnes) {
  auto& run = trained();
  ASSERT_FALSE(run.best.empty()) << run.fit_err;
  const auto result = run_command(kCli + " predict --checkpoint " + run.best + " --tta rotate " +
                                  (run.data / "test").string());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("supported: none, flip"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace autotimm
