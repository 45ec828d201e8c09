// Segmentation through the front doors, as processes: `autotimm make-dataset shapes --task segmentation`, `fit` on
// the example segmentation config, `validate` from the checkpoint, then `predict` (class fractions of label maps at
// each image's own resolution, coloured PNGs).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>

#include "autotimm/data/decode.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::run_command;

const std::string kCli = AUTOTIMM_CLI;
const std::string kConfig = std::string(AUTOTIMM_SOURCE_DIR) + "/examples/configs/shapes_segmentation.json";

TEST(SegmentationCli, FitValidateThenPredictColoursTheClasses) {
  testing::TempDir dir;
  const auto data = dir / "shapes";
  const auto made = run_command(kCli + " make-dataset shapes --task segmentation --out " + data.string() +
                                " --size 48 --train 32 --val 4 --seed 2");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string sets = " --set data.data_dir=" + data.string() + " --set data.image_size=64" +
                           " --set trainer.default_root_dir=" + (dir / "runs").string() +
                           " --set trainer.enable_progress_bar=false";
  const auto fit = run_command(kCli + " fit --config " + kConfig + sets + " --set trainer.max_epochs=2 --json");
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  const fs::path best(std::string(boost::json::parse(fit.out).as_object().at("best_model_path").as_string()));
  ASSERT_TRUE(fs::exists(best)) << fit.out;
  EXPECT_NE(best.filename().string().find("val_mIoU="), std::string::npos) << best;

  const auto validate = run_command(kCli + " validate --config " + kConfig + sets + " --ckpt-path " + best.string() +
                                    " --json");
  ASSERT_EQ(validate.exit_code, 0) << validate.err;
  const auto metrics = boost::json::parse(validate.out).as_object();
  for (const char* name : {"val/mIoU", "val/pixel_accuracy", "val/iou/background"}) {
    EXPECT_TRUE(metrics.contains(name)) << name << " in " << validate.out;
  }

  const auto images = data / "images" / "val";
  const auto predict = run_command(kCli + " predict --ckpt-path " + best.string() + " --json --out " +
                                   (dir / "coloured").string() + " " + images.string());
  ASSERT_EQ(predict.exit_code, 0) << predict.err;
  std::istringstream lines(predict.out);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    const auto row = boost::json::parse(line).as_object();
    EXPECT_EQ(row.at("height").as_int64(), 48) << line;  // the image's own resolution, not the 64-pixel input
    EXPECT_EQ(row.at("width").as_int64(), 48) << line;
    double total = 0;
    for (const auto& entry : row.at("classes").as_array()) total += entry.as_object().at("fraction").as_double();
    EXPECT_NEAR(total, 1.0, 1e-9) << line;
    const fs::path drawn(std::string(row.at("drawn").as_string()));
    const Image picture = decode_image(drawn);
    EXPECT_EQ(picture.width, 48);
    ++count;
  }
  EXPECT_EQ(count, 4);
  const auto wrong = run_command(kCli + " predict --ckpt-path " + best.string() + " --min-score 0.5 " + images.string());
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("a segmentor takes --out DIR"), std::string::npos) << wrong.err;
}

}  // namespace
}  // namespace autotimm
