// The CSV logger: the header grows with every new key (sorted), missing values stay empty, hparams.yaml, texts,
// images and histograms, and files that are whole after every save.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <torch/torch.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "autotimm/data/decode.hpp"
#include "autotimm/error.hpp"
#include "autotimm/loggers/csv_logger.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

using testing::TempDir;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

ino_t file_inode(const std::filesystem::path& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_ino;
}

TEST(CsvLogger, HeaderIsEveryKeySortedAndRowsLeaveGaps) {
  TempDir dir;
  CsvLogger logger({.save_dir = dir.path(), .name = "", .version = "run"});
  logger.log_metrics({{"train/loss", 0.5}, {"epoch", 0}}, 10);
  logger.log_metrics({{"val/loss", 0.25}, {"val/accuracy", 0.875}, {"epoch", 0}}, 10);
  logger.save();
  EXPECT_EQ(read_text(dir / "run" / "metrics.csv"),
            "epoch,step,train/loss,val/accuracy,val/loss\n"
            "0,10,0.5,,\n"
            "0,10,,0.875,0.25\n");
  const auto inode = file_inode(dir / "run" / "metrics.csv");
  logger.log_metrics({{"train/loss", 0.125}}, 11);
  logger.save();
  EXPECT_EQ(read_text(dir / "run" / "metrics.csv"),
            "epoch,step,train/loss,val/accuracy,val/loss\n"
            "0,10,0.5,,\n"
            "0,10,,0.875,0.25\n"
            ",11,0.125,,\n");
  EXPECT_EQ(file_inode(dir / "run" / "metrics.csv"), inode) << "known keys: the new row is appended";
  logger.log_metrics({{"lr-adamw", 1e-4}}, 12);
  logger.finalize(RunStatus::success);
  EXPECT_EQ(read_text(dir / "run" / "metrics.csv"),
            "epoch,lr-adamw,step,train/loss,val/accuracy,val/loss\n"
            "0,,10,0.5,,\n"
            "0,,10,,0.875,0.25\n"
            ",,11,0.125,,\n"
            ",0.0001,12,,,\n");
  EXPECT_NE(file_inode(dir / "run" / "metrics.csv"), inode) << "a new key: the file is replaced with the new header";
}

TEST(CsvLogger, FlushesEveryNRowsWithoutSave) {
  TempDir dir;
  CsvLogger logger({.save_dir = dir.path(), .prefix = "fold1", .flush_logs_every_n_steps = 2});
  logger.log_metrics({{"a", 1}}, 1);
  EXPECT_FALSE(std::filesystem::exists(logger.log_dir() / "metrics.csv"));
  logger.log_metrics({{"a", 2}}, 2);
  EXPECT_EQ(read_text(logger.log_dir() / "metrics.csv"), "fold1-a,step\n1,1\n2,2\n");
}

TEST(CsvLogger, HparamsAsYaml) {
  TempDir dir;
  CsvLogger logger({.save_dir = dir.path(), .name = "", .version = 0});
  logger.log_hyperparams(boost::json::parse(R"({"task": "ImageClassifier", "model": {"backbone": "resnet18",
      "lr": 0.001, "metrics": ["accuracy", "f1_macro"], "drop_rate": null, "note": "a: b", "empty": {}}})").as_object());
  EXPECT_EQ(read_text(dir / "version_0" / "hparams.yaml"),
            "task: ImageClassifier\n"
            "model:\n"
            "  backbone: resnet18\n"
            "  lr: 0.001\n"
            "  metrics:\n"
            "    - accuracy\n"
            "    - f1_macro\n"
            "  drop_rate: null\n"
            "  note: \"a: b\"\n"
            "  empty: {}\n");
}

TEST(CsvLogger, RunFoldersAreVersionedAsLightningNamesThem) {
  TempDir dir;
  std::filesystem::create_directories(dir / "logs" / "version_4");
  std::filesystem::create_directories(dir / "logs" / "version_x");  // not a version: ignored
  CsvLogger next({.save_dir = dir.path()});
  EXPECT_EQ(next.log_dir(), dir / "logs" / "version_5");
  EXPECT_EQ(next.name(), "logs");
  EXPECT_EQ(next.version(), "version_5");
  CsvLogger after({.save_dir = dir.path()});
  EXPECT_EQ(after.version(), "version_6") << "a folder taken by another logger is skipped";
  CsvLogger named({.save_dir = dir.path(), .name = "exp", .version = "baseline"});
  EXPECT_EQ(named.log_dir(), dir / "exp" / "baseline");
  EXPECT_THROW(CsvLogger({.save_dir = dir.path(), .version = "../escape"}), ConfigError);
  EXPECT_THROW(CsvLogger({.save_dir = dir.path(), .version = ""}), ConfigError);
  EXPECT_THROW(CsvLogger({.save_dir = dir.path(), .version = std::int64_t{-1}}), ConfigError);
}

TEST(CsvLogger, TextsImagesAndHistograms) {
  TempDir outer;
  CsvLogger logger({.save_dir = outer.path(), .name = "", .version = "v"});
  const auto dir = logger.log_dir();
  logger.log_text("notes", "hello, \"world\"", 3);
  EXPECT_EQ(read_text(dir / "texts.csv"), "step,tag,text\n3,notes,\"hello, \"\"world\"\"\"\n");
  auto image = torch::zeros({3, 4, 5});
  image[0].fill_(1.0);  // red
  logger.log_image("val/sample", image, 7);
  const auto decoded = decode_image(dir / "images" / "val_sample-step=7.png");
  EXPECT_EQ(decoded.width, 5);
  EXPECT_EQ(decoded.height, 4);
  EXPECT_EQ(decoded.at(0, 0, 0), 255);
  EXPECT_EQ(decoded.at(0, 0, 1), 0);
  logger.log_histogram("weights", torch::tensor({1.0, 2.0, 3.0}), 8);
  logger.save();
  const std::string csv = read_text(dir / "metrics.csv");
  EXPECT_EQ(csv, "step,weights/max,weights/mean,weights/min,weights/std\n8,3,2,1,1\n");
}

}  // namespace
}  // namespace autotimm
