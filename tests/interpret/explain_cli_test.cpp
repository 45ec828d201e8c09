// `autotimm explain` as users run it: a checkpoint of the square classifier trained here, images of another size
// than the model's input, overlays at the original size, the summary's fields, and the command's refusals.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <utility>

#include "square_images.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::run_command;
using testing::TempDir;

const std::string kCli = AUTOTIMM_CLI;

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Two images: a red square at (40, 30) in 96 × 80 pixels (resized and center-cropped on the way in) and a blue one
/// at (10, 40) in 64 × 64.
struct ExplainInputs {
  TempDir dir;
  fs::path red, blue;
  ExplainInputs() : red(dir / "red.png"), blue(dir / "blue.png") {
    SampleRng rng(17);
    write_image(red, testing::square_image(2, 40, 30, rng, 96, 80));
    write_image(blue, testing::square_image(0, 10, 40, rng));
  }
};

TEST(ExplainCli, WritesOverlaysAtTheOriginalSizeAndASummary) {
  const auto& checkpoint = testing::trained_squares().checkpoint;
  ExplainInputs inputs;
  const fs::path out = inputs.dir / "explained";
  const auto result = run_command(kCli + " explain --checkpoint " + checkpoint.string() + " --image " +
                                  inputs.red.string() + " --image " + inputs.blue.string() +
                                  " --method gradcam,gradcampp,ig --target-layer layer3 --steps 16 --metrics --json"
                                  " --out " + out.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto summary = boost::json::parse(result.out).as_object();
  EXPECT_EQ(boost::json::parse(slurp(out / "summary.json")), boost::json::value(summary));
  EXPECT_EQ(summary.at("task").as_string(), "ImageClassifier");
  const auto& images = summary.at("images").as_array();
  ASSERT_EQ(images.size(), 2u);

  const auto& red = images[0].as_object();
  EXPECT_EQ(red.at("image").as_string(), inputs.red.string());
  EXPECT_EQ(red.at("width").as_int64(), 96);
  EXPECT_EQ(red.at("height").as_int64(), 80);
  const auto& targets = red.at("targets").as_array();
  ASSERT_EQ(targets.size(), 1u);
  const auto& target = targets[0].as_object();
  EXPECT_EQ(target.at("label").as_string(), "red");
  EXPECT_GT(target.at("score").as_double(), 0.5);
  const auto& methods = target.at("methods").as_object();
  for (const char* method : {"gradcam", "gradcampp", "ig"}) {
    ASSERT_TRUE(methods.contains(method)) << method;
    const auto& record = methods.at(method).as_object();
    const fs::path png(std::string(record.at("png").as_string()));
    EXPECT_EQ(png, out / (std::string("red-") + method + ".png"));
    const Image picture = decode_image(png);
    EXPECT_EQ(picture.width, 96) << method;
    EXPECT_EQ(picture.height, 80) << method;
    EXPECT_TRUE(record.contains("deletion_auc")) << method;
    EXPECT_TRUE(record.contains("insertion_auc")) << method;
    // The heatmap's peak, taken back through the resize and the crop, lies on the square (40..56, 30..46).
    const auto& peak = record.at("peak").as_array();
    const auto x = peak[0].as_int64(), y = peak[1].as_int64();
    if (std::string(method) != "ig") {
      EXPECT_TRUE(x >= 40 - 8 && x < 56 + 8 && y >= 30 - 8 && y < 46 + 8) << method << " peak " << x << ", " << y;
    }
  }
  EXPECT_EQ(methods.at("gradcam").as_object().at("layer").as_string(), "layer3");
  // The curves follow the class probability: areas in [0, 1], deleting the hot pixels first hurts more than adding
  // them first helps the baseline.
  const auto& gradcam = methods.at("gradcam").as_object();
  const double deletion = gradcam.at("deletion_auc").as_double(), insertion = gradcam.at("insertion_auc").as_double();
  EXPECT_GE(deletion, 0.0);
  EXPECT_LE(insertion, 1.0);
  EXPECT_LT(deletion, insertion);
  const double gap = methods.at("ig").as_object().at("completeness_gap").as_double();
  const double difference = methods.at("ig").as_object().at("score_difference").as_double();
  EXPECT_LE(std::abs(gap), 0.1 * std::abs(difference) + 1e-2);
  EXPECT_EQ(images[1].as_object().at("targets").as_array()[0].as_object().at("label").as_string(), "blue");
  EXPECT_TRUE(fs::exists(out / "blue-gradcam.png"));
}

TEST(ExplainCli, ExplainsTheClassAskedForWithSmoothGrad) {
  const auto& checkpoint = testing::trained_squares().checkpoint;
  ExplainInputs inputs;
  const fs::path out = inputs.dir / "smooth";
  const auto result = run_command(kCli + " explain --ckpt-path " + checkpoint.string() + " " + inputs.red.string() +
                                  " --class blue --smoothgrad 2 --colormap viridis --alpha 0.3 --out " + out.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto summary = boost::json::parse(slurp(out / "summary.json")).as_object();
  const auto& target = summary.at("images").as_array()[0].as_object().at("targets").as_array()[0].as_object();
  EXPECT_EQ(target.at("label").as_string(), "blue");
  EXPECT_EQ(summary.at("smoothgrad").as_int64(), 2);
  EXPECT_TRUE(target.at("methods").as_object().contains("gradcam"));  // the classifier's default method
  EXPECT_TRUE(fs::exists(out / "red-gradcam.png"));
}

TEST(ExplainCli, RefusesWhatItCannotDo) {
  const auto& checkpoint = testing::trained_squares().checkpoint;
  ExplainInputs inputs;
  const std::string base = kCli + " explain --checkpoint " + checkpoint.string() + " --image " + inputs.red.string() +
                           " --out " + (inputs.dir / "refused").string();
  const auto method = run_command(base + " --method gradcam,lime");
  EXPECT_EQ(method.exit_code, 2);
  EXPECT_NE(method.err.find("unknown method 'lime'"), std::string::npos) << method.err;
  const auto layer = run_command(base + " --target-layer layer9");
  EXPECT_NE(layer.exit_code, 0);
  EXPECT_NE(layer.err.find("1: layer1"), std::string::npos) << layer.err;
  const auto klass = run_command(base + " --class purple");
  EXPECT_EQ(klass.exit_code, 2);
  EXPECT_NE(klass.err.find("blue, green, red"), std::string::npos) << klass.err;
  const auto missing = run_command(kCli + " explain --image " + inputs.red.string());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("--checkpoint"), std::string::npos) << missing.err;
  const auto baseline = run_command(base + " --method ig --baseline gray");
  EXPECT_EQ(baseline.exit_code, 2);
  const auto rollout = run_command(base + " --method rollout");  // a CNN has no attention to roll out
  EXPECT_NE(rollout.exit_code, 0);
}


/// A model of `task` ("segmentation", "detection") fitted for two epochs on generated 48-pixel shapes with the example
/// config, through the CLI: its best checkpoint and one validation image (empty checkpoint after a failure, reported).
std::pair<std::string, fs::path> train_on_shapes(const TempDir& dir, const std::string& task, int seed,
                                                 const std::string& overrides) {
  const auto data = dir / "shapes";
  const auto made = run_command(kCli + " make-dataset shapes --task " + task + " --out " + data.string() +
                                " --size 48 --train 16 --val 2 --seed " + std::to_string(seed));
  EXPECT_EQ(made.exit_code, 0) << made.err;
  const std::string config = std::string(AUTOTIMM_SOURCE_DIR) + "/examples/configs/shapes_" + task + ".json";
  const auto fit = run_command(kCli + " fit --config " + config + " --set data.data_dir=" + data.string() +
                               " --set data.image_size=64 --set trainer.default_root_dir=" + (dir / "runs").string() +
                               overrides + " --set trainer.enable_progress_bar=false --set trainer.max_epochs=2 --json");
  EXPECT_EQ(fit.exit_code, 0) << fit.err;
  if (made.exit_code != 0 || fit.exit_code != 0) return {};
  fs::path image;
  for (const auto& entry : fs::directory_iterator(data / "images" / "val")) image = entry.path();
  return {std::string(boost::json::parse(fit.out).as_object().at("best_model_path").as_string()), image};
}

TEST(ExplainCli, ExplainsEachClassASegmentorPredicts) {
  TempDir dir;
  const auto [best, image] = train_on_shapes(dir, "segmentation", 3, "");
  ASSERT_FALSE(best.empty());
  const fs::path out = dir / "explained";
  const auto result = run_command(kCli + " explain --checkpoint " + best + " --image " + image.string() +
                                  " --steps 4 --out " + out.string() + " --json");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto summary = boost::json::parse(result.out).as_object();
  EXPECT_EQ(summary.at("task").as_string(), "SemanticSegmentor");
  const auto& record = summary.at("images").as_array()[0].as_object();
  const auto& targets = record.at("targets").as_array();
  ASSERT_FALSE(targets.empty());
  double covered = 0.0;
  for (const auto& entry : targets) {
    const auto& target = entry.as_object();
    covered += target.at("fraction").as_double();
    const auto& gradcam = target.at("methods").as_object().at("gradcam").as_object();  // the default method
    EXPECT_EQ(gradcam.at("layer").as_string(), "layer4");  // the last stage, through forward_intermediates
    const fs::path png(std::string(gradcam.at("png").as_string()));
    EXPECT_EQ(png.filename().string(),
              image.stem().string() + "-gradcam-" + std::string(target.at("label").as_string()) + ".png");
    const Image picture = decode_image(png);
    EXPECT_EQ(picture.width, 48);  // the image's own size, not the 64-pixel letterboxed input
    EXPECT_EQ(picture.height, 48);
  }
  EXPECT_NEAR(covered, 1.0, 1e-9);  // every class present is explained
}


TEST(ExplainCli, RollsOutAViTsAttentionAndTakesItsTokensAsGradCamLayer) {
  const auto& checkpoint = testing::trained_square_vit();
  ExplainInputs inputs;
  const fs::path out = inputs.dir / "vit";
  const auto result = run_command(kCli + " explain --checkpoint " + checkpoint.string() + " --image " +
                                  inputs.blue.string() + " --method rollout,gradcam --out " + out.string() + " --json");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto summary = boost::json::parse(result.out);
  const auto& record = summary.as_object().at("images").as_array()[0].as_object();
  const auto& rollout = record.at("rollout").as_object();  // once per image, whatever the targets
  EXPECT_EQ(fs::path(std::string(rollout.at("png").as_string())), out / "blue-rollout.png");
  const Image picture = decode_image(out / "blue-rollout.png");
  EXPECT_EQ(picture.width, 64);
  EXPECT_EQ(picture.height, 64);
  const auto& gradcam = record.at("targets").as_array()[0].as_object().at("methods").as_object().at("gradcam");
  EXPECT_EQ(gradcam.as_object().at("layer").as_string(), "blocks.1");  // the last block's tokens
  EXPECT_TRUE(fs::exists(out / "blue-gradcam.png"));
}


TEST(ExplainCli, ExplainsEachBoxADetectorFinds) {
  TempDir dir;
  const auto [best, image] = train_on_shapes(dir, "detection", 4, " --set model.max_detections_per_image=2");
  ASSERT_FALSE(best.empty());
  const fs::path out = dir / "explained";
  const auto result = run_command(kCli + " explain --checkpoint " + best + " --image " + image.string() +
                                  " --min-score 0 --steps 2 --out " + out.string() + " --json");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto summary = boost::json::parse(result.out);
  EXPECT_EQ(summary.as_object().at("task").as_string(), "ObjectDetector");
  const auto& targets = summary.as_object().at("images").as_array()[0].as_object().at("targets").as_array();
  ASSERT_FALSE(targets.empty());
  EXPECT_LE(targets.size(), 2u);  // max_detections_per_image
  for (std::size_t k = 0; k < targets.size(); ++k) {
    const auto& target = targets[k].as_object();
    const auto& box = target.at("box").as_array();  // original pixels
    ASSERT_EQ(box.size(), 4u);
    EXPECT_LE(box[0].as_double(), box[2].as_double());
    EXPECT_LE(box[1].as_double(), box[3].as_double());
    const fs::path png(std::string(target.at("methods").as_object().at("gradcam").as_object().at("png").as_string()));
    EXPECT_EQ(png.filename().string(), image.stem().string() + "-gradcam-" + std::to_string(k) + "-" +
                                           std::string(target.at("label").as_string()) + ".png");
    const Image picture = decode_image(png);
    EXPECT_EQ(picture.width, 48);
    EXPECT_EQ(picture.height, 48);
  }
}

}  // namespace
}  // namespace autotimm
