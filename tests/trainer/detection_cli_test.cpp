// Detection through the front doors, as processes: `autotimm make-dataset shapes`, `fit` on the example detection
// config, then `predict` from the checkpoint alone (objects as JSON in the original image's pixels, PNGs drawn).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>

#include "support/run_command.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::run_command;

const std::string kCli = AUTOTIMM_CLI;
const std::string kConfig = std::string(AUTOTIMM_SOURCE_DIR) + "/examples/configs/shapes_detection.json";

TEST(DetectionCli, FitThenPredictDrawsBoxes) {
  testing::TempDir dir;
  const auto data = dir / "shapes";
  const auto made = run_command(kCli + " make-dataset shapes --task detection --out " + data.string() +
                                " --size 64 --train 64 --val 8 --seed 2");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const auto fit = run_command(kCli + " fit --config " + kConfig + " --set data.data_dir=" + data.string() +
                               " --set data.image_size=64 --set trainer.default_root_dir=" + (dir / "runs").string() +
                               " --set trainer.max_epochs=2 --set trainer.enable_progress_bar=false --json");
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  const fs::path best(std::string(boost::json::parse(fit.out).as_object().at("best_model_path").as_string()));
  ASSERT_TRUE(fs::exists(best)) << fit.out;
  EXPECT_NE(best.filename().string().find("val_map="), std::string::npos) << best;

  const auto images = data / "images" / "val";
  const auto predict = run_command(kCli + " predict --ckpt-path " + best.string() + " --min-score 0 --json --out " +
                                   (dir / "drawn").string() + " " + images.string());
  ASSERT_EQ(predict.exit_code, 0) << predict.err;
  std::istringstream lines(predict.out);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    const auto row = boost::json::parse(line).as_object();
    const fs::path image(std::string(row.at("image").as_string()));
    EXPECT_TRUE(fs::exists(fs::path(std::string(row.at("drawn").as_string())))) << line;
    for (const auto& found : row.at("detections").as_array()) {
      const auto& box = found.as_object().at("box").as_array();
      for (const auto& value : box) EXPECT_TRUE(value.as_double() >= 0.0 && value.as_double() <= 64.0) << line;
      const std::string label(found.as_object().at("label").as_string());
      EXPECT_TRUE(label == "rectangle" || label == "ellipse" || label == "triangle") << line;
    }
    ++count;
  }
  EXPECT_EQ(count, 8);
  EXPECT_TRUE(fs::exists(dir / "drawn" / "000000.png"));
  // Flags of the other task are refused with the right one named.
  const auto wrong = run_command(kCli + " predict --ckpt-path " + best.string() + " --top-k 2 " + images.string());
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("use --min-score with a detector"), std::string::npos) << wrong.err;
}

}  // namespace
}  // namespace autotimm
