// Instance segmentation through the front doors, as processes: `autotimm make-dataset shapes --task instance`, `fit`
// on the example config, then `predict` from the checkpoint alone: each object's mask as COCO RLE at the image's
// resolution, inside its box, and the drawn PNGs.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>

#include "autotimm/data/rle.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::run_command;

const std::string kCli = AUTOTIMM_CLI;
const std::string kConfig = std::string(AUTOTIMM_SOURCE_DIR) + "/examples/configs/shapes_instance.json";

TEST(InstanceCli, FitThenPredictWritesMasks) {
  testing::TempDir dir;
  const auto data = dir / "shapes";
  const auto made = run_command(kCli + " make-dataset shapes --task instance --out " + data.string() +
                                " --size 64 --train 48 --val 6 --seed 2");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const auto fit = run_command(kCli + " fit --config " + kConfig + " --set data.data_dir=" + data.string() +
                               " --set data.image_size=64 --set trainer.default_root_dir=" + (dir / "runs").string() +
                               " --set trainer.max_epochs=2 --set trainer.enable_progress_bar=false --json");
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  const fs::path best(std::string(boost::json::parse(fit.out).as_object().at("best_model_path").as_string()));
  ASSERT_TRUE(fs::exists(best)) << fit.out;
  EXPECT_NE(best.filename().string().find("val_mask_map="), std::string::npos) << best;

  const auto images = data / "images" / "val";
  const auto predict = run_command(kCli + " predict --ckpt-path " + best.string() + " --min-score 0 --json --out " +
                                   (dir / "drawn").string() + " " + images.string());
  ASSERT_EQ(predict.exit_code, 0) << predict.err;
  std::istringstream lines(predict.out);
  std::string line;
  int count = 0, masks = 0;
  while (std::getline(lines, line)) {
    const auto row = boost::json::parse(line).as_object();
    EXPECT_TRUE(fs::exists(fs::path(std::string(row.at("drawn").as_string())))) << line;
    for (const auto& found : row.at("detections").as_array()) {
      const auto& object = found.as_object();
      const auto& box = object.at("box").as_array();
      const auto& mask = object.at("mask").as_object();
      const auto& size = mask.at("size").as_array();
      ASSERT_EQ(size.size(), 2u);
      EXPECT_EQ(size[0].as_int64(), 64);  // the original image's resolution
      EXPECT_EQ(size[1].as_int64(), 64);
      const Rle rle = rle_from_string(std::string(mask.at("counts").as_string()), 64, 64);
      EXPECT_EQ(static_cast<std::int64_t>(rle.area()), object.at("mask_area").as_int64()) << line;
      if (rle.area() == 0) continue;
      // A pasted mask never leaves its box (by more than the pixel its edge rounds into).
      const auto extent = rle.box();
      EXPECT_GE(extent[0], std::floor(box[0].as_double())) << line;
      EXPECT_GE(extent[1], std::floor(box[1].as_double())) << line;
      EXPECT_LE(extent[2], std::ceil(box[2].as_double())) << line;
      EXPECT_LE(extent[3], std::ceil(box[3].as_double())) << line;
      ++masks;
    }
    ++count;
  }
  EXPECT_EQ(count, 6);
  EXPECT_GT(masks, 0);
  EXPECT_TRUE(fs::exists(dir / "drawn" / "000000.png"));
}

}  // namespace
}  // namespace autotimm
