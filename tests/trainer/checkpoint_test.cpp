// The checkpoint file: round trip, file names, and what reading a file that is not one says.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "autotimm/io/safetensors_torch.hpp"
#include "autotimm/trainer/checkpoint.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

using testing::error_text;
using testing::TempDir;

TEST(Checkpoint, RoundTripsTensorsAndMetadata) {
  TempDir dir;
  Checkpoint written;
  written.tensors["model.fc.weight"] = torch::randn({3, 4});
  written.tensors["model.bn.num_batches_tracked"] = torch::tensor(7, torch::kLong);
  written.tensors["rng.torch_cpu"] = torch::arange(10, torch::kUInt8);
  written.meta = {{"task", "ImageClassifier"}, {"epoch", 3}, {"hparams", {{"lr", 0.001}}}};
  const auto path = dir / "sub" / "x.ckpt";
  write_checkpoint(path, written);
  const auto read = read_checkpoint(path);
  EXPECT_EQ(read.meta.at("format_version").as_int64(), kCheckpointFormatVersion);
  EXPECT_EQ(read.meta.at("epoch").as_int64(), 3);
  EXPECT_EQ(read.meta.at("hparams").as_object().at("lr").as_double(), 0.001);
  ASSERT_EQ(read.tensors.size(), 3u);
  for (const auto& [key, tensor] : written.tensors) EXPECT_TRUE(torch::equal(read.tensors.at(key), tensor)) << key;
  const auto model = read.with_prefix("model.");
  ASSERT_EQ(model.size(), 2u);
  EXPECT_TRUE(model.contains("fc.weight"));
  EXPECT_TRUE(model.contains("bn.num_batches_tracked"));
}

TEST(Checkpoint, FileNamesFollowTheMonitoredMetric) {
  EXPECT_EQ(checkpoint_file_name("best", 3, "val/loss", 0.42114), "best-epoch=3-val_loss=0.4211.ckpt");
  EXPECT_EQ(checkpoint_file_name("best", 42, "val/accuracy", 0.95432), "best-epoch=42-val_accuracy=0.9543.ckpt");
}

TEST(Checkpoint, WhatIsNotACheckpointSaysSo) {
  TempDir dir;
  EXPECT_EQ(error_text([&] { read_checkpoint(dir / "none.ckpt"); }),
            "checkpoint '" + (dir / "none.ckpt").string() + "' does not exist");
  save_safetensors(dir / "weights.safetensors", {{"fc.weight", torch::zeros({2, 2})}});
  EXPECT_EQ(error_text([&] { read_checkpoint(dir / "weights.safetensors"); }),
            "'" + (dir / "weights.safetensors").string() +
                "' is a safetensors file without AutoTimm checkpoint metadata (plain weights?); load weights with "
                "create_backbone(..., {.pretrained_file = ...}) instead");
  save_safetensors(dir / "future.ckpt", {{"x", torch::zeros({1})}}, {{"autotimm", R"({"format_version": 99})"}});
  EXPECT_EQ(error_text([&] { read_checkpoint(dir / "future.ckpt"); }),
            "checkpoint '" + (dir / "future.ckpt").string() +
                "' has format version 99, this autotimm reads up to 1; upgrade autotimm");
  save_safetensors(dir / "bad.ckpt", {{"x", torch::zeros({1})}}, {{"autotimm", "[1, 2"}});
  EXPECT_NE(error_text([&] { read_checkpoint(dir / "bad.ckpt"); }).find("is not a JSON object"), std::string::npos);
}

}  // namespace
}  // namespace autotimm
