// The training front doors as users run them: `autotimm fit/test/predict/data sample` on a run config, and the two
// example programs, as separate processes on a generated colour dataset.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "support/run_command.hpp"
#include "support/temp_dir.hpp"
#include "synthetic_images.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::run_command;
using testing::TempDir;

const std::string kCli = AUTOTIMM_CLI;
const std::string kConfig = std::string(AUTOTIMM_SOURCE_DIR) + "/examples/configs/colors.json";

/// One dataset and one trained run shared by the tests of this file.
struct TrainedRun {
  TempDir dir;
  fs::path data, root;
  std::string fit_out, fit_err;
  int fit_exit = -1;
  TrainedRun() : data(dir / "colors"), root(dir / "runs") {
    testing::write_color_folder(data, 12, 4, 4);
    const auto result = run_command(kCli + " fit --config " + kConfig + " --set data.data_dir=" + data.string() +
                                    " --set trainer.default_root_dir=" + root.string() +
                                    " --set trainer.max_epochs=3 --test --json");
    fit_exit = result.exit_code;
    fit_out = result.out;
    fit_err = result.err;
  }
  std::string overrides() const {
    return " --set data.data_dir=" + data.string() + " --set trainer.default_root_dir=" + root.string();
  }
};

TrainedRun& trained() {
  static TrainedRun run;
  return run;
}

TEST(TrainCli, FitTestsTheBestCheckpointAndReportsWhereThingsAre) {
  auto& run = trained();
  ASSERT_EQ(run.fit_exit, 0) << run.fit_err;
  const auto json = boost::json::parse(run.fit_out).as_object();
  const fs::path best(std::string(json.at("best_model_path").as_string()));
  EXPECT_TRUE(fs::exists(best)) << best;
  EXPECT_EQ(best.parent_path(), run.root / "logs" / "version_0" / "checkpoints");
  EXPECT_GE(json.at("test").as_object().at("test/accuracy").as_double(), 0.99);
  EXPECT_TRUE(fs::exists(fs::path(std::string(json.at("log_dir").as_string())) / "metrics.csv"));
}

TEST(TrainCli, TestAndPredictFromTheCheckpointAlone) {
  auto& run = trained();
  ASSERT_EQ(run.fit_exit, 0) << run.fit_err;
  const std::string best(boost::json::parse(run.fit_out).as_object().at("best_model_path").as_string());
  const auto test = run_command(kCli + " test --config " + kConfig + run.overrides() + " --ckpt-path " + best + " --json");
  ASSERT_EQ(test.exit_code, 0) << test.err;
  EXPECT_GE(boost::json::parse(test.out).as_object().at("test/accuracy").as_double(), 0.99);

  const auto predict = run_command(kCli + " predict --ckpt-path " + best + " --top-k 2 --json " +
                                   (run.data / "test" / "red").string());
  ASSERT_EQ(predict.exit_code, 0) << predict.err;
  std::istringstream lines(predict.out);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    const auto row = boost::json::parse(line).as_object();
    const auto& top = row.at("top").as_array();
    ASSERT_EQ(top.size(), 2u);
    EXPECT_EQ(top[0].as_object().at("label").as_string(), "red") << line;
    EXPECT_GT(top[0].as_object().at("probability").as_double(), top[1].as_object().at("probability").as_double());
    ++count;
  }
  EXPECT_EQ(count, 4);
}

TEST(TrainCli, DataSampleWritesNamedImages) {
  auto& run = trained();
  TempDir out;
  const auto result = run_command(kCli + " data sample --config " + kConfig + run.overrides() +
                                  " --split test --count 5 --out " + out.path().string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(fs::exists(out / "0-blue.png"));
  EXPECT_TRUE(fs::exists(out / "4-green.png"));  // 4 test images per class, in class order
  EXPECT_FALSE(fs::exists(out / "5-green.png"));
}

TEST(TrainCli, UnknownKeysAreErrorsWithSuggestions) {
  const auto result = run_command(kCli + " fit --config " + kConfig + " --set trainer.max_epoch=3");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("unknown option 'trainer.max_epoch'"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("did you mean 'trainer.max_epochs'"), std::string::npos) << result.err;
  const auto bad_set = run_command(kCli + " fit --config " + kConfig + " --set trainer");
  EXPECT_EQ(bad_set.exit_code, 2);
  EXPECT_NE(bad_set.err.find("expected KEY=VALUE"), std::string::npos) << bad_set.err;
}

TEST(Examples, ConfigAppAndQuickstartTrainAndTest) {
  auto& run = trained();
  TempDir work;
  const auto app = run_command("cd " + work.path().string() + " && " + AUTOTIMM_EXAMPLE_CONFIG_APP + " " + kConfig +
                               " data.data_dir=" + run.data.string() + " trainer.max_epochs=2 model.loss=ce");
  ASSERT_EQ(app.exit_code, 0) << app.err;
  EXPECT_NE(app.out.find("test/accuracy "), std::string::npos) << app.out;
  EXPECT_TRUE(fs::exists(work / "runs" / "colors" / "logs" / "version_0" / "checkpoints" / "last.ckpt"));

  const auto quick = run_command("cd " + work.path().string() + " && " + AUTOTIMM_EXAMPLE_QUICKSTART + " " +
                                 run.data.string() + " 2");
  ASSERT_EQ(quick.exit_code, 0) << quick.err;
  EXPECT_NE(quick.out.find("test accuracy "), std::string::npos) << quick.out;
  EXPECT_NE(quick.out.find("resnet backbones: "), std::string::npos) << quick.out;
}

}  // namespace
}  // namespace autotimm
