// Loggers as users meet them: `autotimm fit` with W&B (offline), TensorBoard and MLflow (file store) at once, the run
// folder of the first one holding the checkpoints, then `autotimm wandb sync` sending the offline run to a fake W&B
// server over loopback, each step a separate process.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "fakes/fake_wandb_server.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"
#include "synthetic_images.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::FakeWandbServer;
using testing::run_command;
using testing::TempDir;

const std::string kCli = AUTOTIMM_CLI;
const std::string kConfig = std::string(AUTOTIMM_SOURCE_DIR) + "/examples/configs/colors.json";

/// The files under `dir` whose name contains `part`.
std::vector<fs::path> files_named(const fs::path& dir, const std::string& part) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().filename().string().find(part) != std::string::npos) {
      out.push_back(entry.path());
    }
  }
  return out;
}

TEST(LoggerCli, ThreeLoggersAtOnceThenWandbSyncSendsTheOfflineRun) {
  TempDir dir;
  const fs::path data = dir / "colors", root = dir / "runs";
  testing::write_color_folder(data, 8, 2, 2);
  const std::string loggers =
      R"([{"backend": "wandb", "params": {"mode": "offline", "project": "colors", "id": "clirun01"}},)"
      R"( {"backend": "tensorboard"},)"
      R"( {"backend": "mlflow", "params": {"tracking_uri": "file:)" + (root / "mlruns").string() + R"("}}])";
  const std::string env = "env -u WANDB_API_KEY -u WANDB_MODE -u WANDB_DIR -u MLFLOW_TRACKING_URI ";
  const auto fit = run_command(env + kCli + " fit --config " + kConfig + " --set data.data_dir=" + data.string() +
                               " --set trainer.default_root_dir=" + root.string() +
                               " --set trainer.max_epochs=1 --set 'trainer.loggers=" + loggers + "' --json");
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  const auto report = boost::json::parse(fit.out).as_object();
  const fs::path log_dir(std::string(report.at("log_dir").as_string()));
  EXPECT_EQ(log_dir.parent_path(), root / "wandb") << "the first logger's run folder";
  EXPECT_TRUE(log_dir.filename().string().starts_with("offline-run-")) << log_dir;
  EXPECT_TRUE(fs::exists(log_dir / "checkpoints" / "last.ckpt"));
  EXPECT_EQ(files_named(root / "logs" / "version_0", ".tfevents.").size(), 1u) << "TensorBoard beside it";
  EXPECT_FALSE(files_named(root / "mlruns", "loss").empty()) << "and MLflow's file store";

  FakeWandbServer server;
  const auto sync = run_command("env WANDB_API_KEY=test-api-key WANDB_BASE_URL=" + server.endpoint() + " " + kCli +
                                " wandb sync " + (root / "wandb").string());
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_NE(sync.out.find("to alice/colors/clirun01"), std::string::npos) << sync.out;
  const auto run = server.run("clirun01");
  ASSERT_TRUE(run.has_value());
  EXPECT_TRUE(run->complete);
  EXPECT_EQ(run->exitcode, 0);
  EXPECT_TRUE(run->config.contains("model")) << "the hyperparameters travel with the run";
  bool has_val_loss = false;
  for (const auto& line : run->history) has_val_loss |= line.find("\"val/loss\"") != std::string::npos;
  EXPECT_TRUE(has_val_loss);

  const auto again = run_command("env WANDB_API_KEY=test-api-key WANDB_BASE_URL=" + server.endpoint() + " " + kCli +
                                 " wandb sync " + (root / "wandb").string());
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("skipped"), std::string::npos) << again.out;
  const auto bad = run_command(kCli + " logger sync tensorboard " + root.string());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("has no offline mode"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace autotimm
