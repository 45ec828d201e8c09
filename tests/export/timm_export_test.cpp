// export_timm_folder and `autotimm export`: the folder holds what timm writes (config.json fields and order,
// safetensors keys and shapes equal to a real timm resnet18 folder from the shared fixtures) and our own loader,
// reading it as a backbone name, gives the classifier's logits. Failures leave nothing behind.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include <boost/json.hpp>

#include "autotimm/backbones.hpp"
#include "autotimm/data/data_module.hpp"
#include "autotimm/error.hpp"
#include "autotimm/export/timm_export.hpp"
#include "autotimm/io/safetensors_torch.hpp"
#include "autotimm/state_dict.hpp"
#include "autotimm/tasks/image_classifier.hpp"
#include "autotimm/trainer/checkpoint.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"
#include "tiny_classifier.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using namespace export_testing;

const fs::path kTimmFixtures = fs::path(AUTOTIMM_SHARED_DIR) / "fixtures" / "timm";

boost::json::object read_json(const fs::path& path) {
  std::ifstream in(path);
  return boost::json::parse(std::string(std::istreambuf_iterator<char>(in), {})).as_object();
}

std::vector<std::string> keys_of(const boost::json::object& object) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : object) keys.emplace_back(key);
  return keys;
}

void expect_same_logits(ImageClassifier& model, const fs::path& folder, std::int64_t size) {
  auto rebuilt = create_backbone(folder.string());
  rebuilt->eval();
  model.eval();
  torch::manual_seed(11);
  const torch::Tensor images = torch::randn({3, 3, size, size});
  torch::NoGradGuard no_grad;
  const torch::Tensor expected = model.forward(images);
  const torch::Tensor got = rebuilt->forward(images);
  ASSERT_EQ(got.sizes(), expected.sizes());
  EXPECT_LE((got - expected).abs().max().item<double>(), 1e-5);
  EXPECT_GT(expected.std().item<double>(), 1e-3);  // the logits are not all alike, so equality means something
}

TEST(TimmExport, ResnetFolderHasTimmsKeysAndReloadsWithTheSameLogits) {
  TempDir dir;
  auto model = tiny_classifier("resnet18", 10);
  model->set_data_config(small_input(64));
  const auto result = export_timm_folder(*model, dir / "resnet18-export");
  EXPECT_EQ(result.folder, dir / "resnet18-export");
  EXPECT_EQ(result.architecture, "resnet18");
  EXPECT_EQ(result.classifier, "fc");
  EXPECT_GE(result.max_logit_difference, 0.0);
  EXPECT_LE(result.max_logit_difference, 1e-4);
  for (const char* file : {"config.json", "model.safetensors", "README.md"}) {
    EXPECT_TRUE(fs::is_regular_file(dir / "resnet18-export" / file)) << file;
  }
  // Nothing else beside it: the staging folder was renamed, not copied.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);

  expect_same_logits(*model, dir / "resnet18-export", 64);

  const auto config = read_json(dir / "resnet18-export" / "config.json");
  EXPECT_EQ(keys_of(config), (std::vector<std::string>{"architecture", "num_classes", "num_features", "label_names",
                                                       "pretrained_cfg"}));
  EXPECT_EQ(config.at("architecture").as_string(), "resnet18");
  EXPECT_EQ(config.at("num_classes").as_int64(), 10);
  EXPECT_EQ(config.at("num_features").as_int64(), 512);
  EXPECT_EQ(config.at("label_names").as_array().size(), 10u);
  EXPECT_EQ(config.at("label_names").as_array()[3].as_string(), "class_0003");
  const auto& cfg = config.at("pretrained_cfg").as_object();
  EXPECT_EQ(cfg.at("num_classes").as_int64(), 10);
  EXPECT_EQ(cfg.at("classifier").as_string(), "fc");
  EXPECT_EQ(cfg.at("first_conv").as_string(), "conv1");
  EXPECT_EQ(boost::json::serialize(cfg.at("input_size")), "[3,64,64]");  // the trained preprocessing
  EXPECT_EQ(cfg.at("interpolation").as_string(), "bilinear");
  EXPECT_EQ(cfg.at("mean").as_array()[1].as_double(), 0.5);
  EXPECT_EQ(cfg.at("std").as_array()[2].as_double(), 0.25);
  EXPECT_FALSE(cfg.contains("test_input_size"));  // trained at another size than the family's default
  EXPECT_TRUE(cfg.at("pool_size").is_null());
  // timm refuses unknown pretrained_cfg keys and drops these before writing (hub.md §7.4, §7.5).
  const std::set<std::string> allowed = {
      "url", "file", "state_dict", "hf_hub_id", "hf_hub_filename", "source", "architecture", "tag", "custom_load",
      "input_size", "test_input_size", "min_input_size", "fixed_input_size", "interpolation", "crop_pct",
      "test_crop_pct", "crop_mode", "mean", "std", "num_classes", "label_offset", "label_names", "label_descriptions",
      "pool_size", "test_pool_size", "first_conv", "classifier", "license", "description", "origin_url", "paper_name",
      "paper_ids", "notes"};
  for (const auto& [key, value] : cfg) EXPECT_TRUE(allowed.contains(std::string(key))) << key;
  for (const char* dropped : {"url", "file", "hf_hub_id", "hf_hub_filename", "source", "label_names"}) {
    EXPECT_FALSE(cfg.contains(dropped)) << dropped;
  }
  // Python's json.dump(indent=2) layout.
  std::ifstream text(dir / "resnet18-export" / "config.json");
  const std::string raw(std::istreambuf_iterator<char>(text), {});
  EXPECT_TRUE(raw.starts_with("{\n  \"architecture\": \"resnet18\",\n  \"num_classes\": 10,\n")) << raw.substr(0, 80);
  EXPECT_NE(raw.find("\"crop_pct\": 1.0,"), std::string::npos);

  // Same keys, shapes and integer dtypes as the folder timm itself wrote for resnet18 with 10 classes.
  const fs::path fixture = kTimmFixtures / "resnet18.fixture" / "model.safetensors";
  if (!fs::exists(fixture)) GTEST_SKIP() << "shared fixture " << fixture << " not found";
  const auto ours = load_safetensors(dir / "resnet18-export" / "model.safetensors");
  const auto timms = load_safetensors(fixture);
  ASSERT_EQ(ours.size(), timms.size());
  for (const auto& [key, tensor] : timms) {
    ASSERT_TRUE(ours.contains(key)) << key;
    EXPECT_EQ(ours.at(key).sizes(), tensor.sizes()) << key;
    EXPECT_EQ(ours.at(key).is_floating_point(), tensor.is_floating_point()) << key;
  }
  // The head's linear layer is timm's fc.
  EXPECT_TRUE(torch::equal(ours.at("fc.weight"), state_dict(*model->head())[0].second));
  const auto fixture_config = read_json(kTimmFixtures / "resnet18.fixture" / "config.json");
  EXPECT_EQ(keys_of(config), keys_of(fixture_config));
}

TEST(TimmExport, VitKeepsItsModelArgsAndGlobalPool) {
  TempDir dir;
  auto model = tiny_classifier("vit_tiny_patch16_224", 4, {{"depth", 2}, {"img_size", 32}});
  const auto result = export_timm_folder(*model, dir / "vit");
  EXPECT_EQ(result.classifier, "head");
  const auto config = read_json(dir / "vit" / "config.json");
  EXPECT_EQ(keys_of(config), (std::vector<std::string>{"architecture", "num_classes", "num_features", "global_pool",
                                                       "label_names", "model_args", "pretrained_cfg"}));
  EXPECT_EQ(config.at("global_pool").as_string(), "token");
  EXPECT_EQ(config.at("model_args").as_object().at("depth").as_int64(), 2);
  EXPECT_EQ(config.at("model_args").as_object().at("img_size").as_int64(), 32);
  // A fixed-size model's input size follows its img_size.
  EXPECT_EQ(boost::json::serialize(config.at("pretrained_cfg").at("input_size")), "[3,32,32]");
  expect_same_logits(*model, dir / "vit", 32);

  const fs::path fixture = kTimmFixtures / "vit_tiny_patch16_224.fixture-depth2" / "model.safetensors";
  if (!fs::exists(fixture)) GTEST_SKIP() << "shared fixture " << fixture << " not found";
  std::set<std::string> ours, timms;
  for (const auto& [key, tensor] : load_safetensors(dir / "vit" / "model.safetensors")) ours.insert(key);
  for (const auto& [key, tensor] : load_safetensors(fixture)) timms.insert(key);
  EXPECT_EQ(ours, timms);
}

// A backbone that came from a timm folder keeps that folder's model_args (the fixture ViT has depth 2) and tag.
TEST(TimmExport, BackboneFromATimmFolderKeepsItsModelArgs) {
  const fs::path fixture = kTimmFixtures / "vit_tiny_patch16_224.fixture-depth2";
  if (!fs::is_directory(fixture)) GTEST_SKIP() << "shared fixture " << fixture << " not found";
  TempDir dir;
  auto model = tiny_classifier(fixture.string(), 4);
  export_timm_folder(*model, dir / "from-folder");
  const auto config = read_json(dir / "from-folder" / "config.json");
  EXPECT_EQ(config.at("architecture").as_string(), "vit_tiny_patch16_224");
  EXPECT_EQ(config.at("model_args").as_object().at("depth").as_int64(), 2);
  EXPECT_EQ(config.at("pretrained_cfg").at("tag").as_string(), "fixture-depth2");
  EXPECT_EQ(boost::json::serialize(config.at("pretrained_cfg").at("input_size")), "[3,224,224]");
  expect_same_logits(*model, dir / "from-folder", 224);
}

// The head goes under each family's own classifier name, beside the head layers the backbone keeps (ConvNeXt's
// head.norm, MobileNet-V3's conv_head): the key sets equal those timm wrote for the same architectures.
TEST(TimmExport, ClassifierNamesFollowTheFamily) {
  for (const auto& [arch, classifier] : std::vector<std::pair<std::string, std::string>>{
           {"convnext_atto", "head.fc"}, {"mobilenetv3_small_100", "classifier"}}) {
    SCOPED_TRACE(arch);
    TempDir dir;
    auto model = tiny_classifier(arch, 10);
    model->set_data_config(small_input(64));
    const auto result = export_timm_folder(*model, dir / arch);
    EXPECT_EQ(result.classifier, classifier);
    expect_same_logits(*model, dir / arch, 64);
    const fs::path fixture = kTimmFixtures / (arch + ".fixture") / "model.safetensors";
    if (!fs::exists(fixture)) continue;
    const auto ours = load_safetensors(dir / arch / "model.safetensors");
    const auto timms = load_safetensors(fixture);
    std::set<std::string> our_keys, timm_keys;
    for (const auto& [key, tensor] : ours) our_keys.insert(key);
    for (const auto& [key, tensor] : timms) timm_keys.insert(key);
    EXPECT_EQ(our_keys, timm_keys);
    for (const auto& [key, tensor] : timms) {
      if (ours.contains(key)) {
        EXPECT_EQ(ours.at(key).sizes(), tensor.sizes()) << key;
      }
    }
  }
}

TEST(TimmExport, RefusesAnOccupiedFolderUnlessOverwriteAndLeavesNothingOnFailure) {
  TempDir dir;
  auto model = tiny_classifier("resnet18", 3);
  model->set_data_config(small_input(32));
  fs::create_directories(dir / "out");
  std::ofstream(dir / "out" / "old.txt") << "old";
  try {
    export_timm_folder(*model, dir / "out");
    FAIL() << "an occupied folder was overwritten";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("--overwrite"), std::string::npos) << error.what();
  }
  EXPECT_TRUE(fs::exists(dir / "out" / "old.txt"));
  EXPECT_THROW(export_timm_folder(*model, dir / "out" / "old.txt" / "inside"), IoError);  // a file as parent

  // A verification that cannot pass (negative tolerance): the old folder stays, no staging folder is left.
  EXPECT_THROW(export_timm_folder(*model, dir / "out", {.overwrite = true, .tolerance = -1.0}), FormatError);
  EXPECT_TRUE(fs::exists(dir / "out" / "old.txt"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
  EXPECT_THROW(export_timm_folder(*model, dir / "new", {.tolerance = -1.0}), FormatError);
  EXPECT_FALSE(fs::exists(dir / "new"));

  const auto result = export_timm_folder(*model, dir / "out", {.overwrite = true});
  EXPECT_FALSE(fs::exists(dir / "out" / "old.txt"));
  EXPECT_TRUE(fs::exists(dir / "out" / "model.safetensors"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
  EXPECT_EQ(result.tensors, load_safetensors(dir / "out" / "model.safetensors").size());

  ImageClassifier unsized({.backbone = "resnet18", .pretrained = false});
  EXPECT_THROW(export_timm_folder(unsized, dir / "unsized"), ConfigError);
  EXPECT_FALSE(fs::exists(dir / "unsized"));
}

TEST(TimmExport, ModelCardHasTimmsFrontMatter) {
  TempDir dir;
  auto model = tiny_classifier("resnet18", 2);
  model->set_data_config(small_input(32));
  export_timm_folder(*model, dir / "card", {.verify = false, .model_name = "my tiny model"});
  std::ifstream in(dir / "card" / "README.md");
  const std::string card(std::istreambuf_iterator<char>(in), {});
  EXPECT_TRUE(card.starts_with("---\ntags:\n- image-classification\n- timm\n")) << card;
  EXPECT_NE(card.find("\nlibrary_name: timm\n"), std::string::npos);
  EXPECT_NE(card.find("\npipeline_tag: image-classification\n"), std::string::npos);
  EXPECT_NE(card.find("\nlicense: apache-2.0\n"), std::string::npos);
  EXPECT_NE(card.find("# my tiny model"), std::string::npos);
  EXPECT_NE(card.find("- Input: [3, 32, 32], interpolation bilinear, crop_pct 1.0, mean [0.5, 0.5, 0.5], std "
                      "[0.25, 0.25, 0.25]"),
            std::string::npos)
      << card;
}

TEST(TimmExport, PrettyJsonMatchesPythonsLayout) {
  const auto value = boost::json::parse(R"({"a": [1, 2.5, 1.0], "b": {}, "c": [], "d": {"e": "x\"y", "f": null}})");
  EXPECT_EQ(pretty_json(value), "{\n  \"a\": [\n    1,\n    2.5,\n    1.0\n  ],\n  \"b\": {},\n  \"c\": [],\n"
                                "  \"d\": {\n    \"e\": \"x\\\"y\",\n    \"f\": null\n  }\n}");
  EXPECT_EQ(pretty_json(boost::json::value(0.875)), "0.875");
  EXPECT_EQ(pretty_json(boost::json::value(0.229)), "0.229");
}

// `autotimm export` on a checkpoint: the CLI writes the folder, --checkpoint is --ckpt-path's alias, other formats
// and non-classifier checkpoints are refused with the supported list.
TEST(TimmExportCli, ExportsACheckpointAndRefusesUnknownFormats) {
  TempDir dir;
  auto model = tiny_classifier("resnet18", 3);
  model->set_data_config(small_input(32));
  Checkpoint checkpoint;
  for (const auto& [key, tensor] : state_dict(*model)) checkpoint.tensors["model." + key] = tensor;
  checkpoint.meta = {{"task", "ImageClassifier"},
                     {"hparams", model->hparams()},
                     {"data_config", data_config_to_json(*model->data_config())}};
  write_checkpoint(dir / "best.ckpt", checkpoint);
  const std::string cli = std::string("'") + AUTOTIMM_CLI + "' export ";

  auto ok = testing::run_command(cli + "--checkpoint '" + (dir / "best.ckpt").string() + "' --format timm --out '" +
                                 (dir / "cli-out").string() + "' --json");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const auto summary = boost::json::parse(ok.out).as_object();
  EXPECT_EQ(summary.at("architecture").as_string(), "resnet18");
  EXPECT_EQ(summary.at("num_classes").as_int64(), 3);
  EXPECT_LE(summary.at("max_logit_difference").as_double(), 1e-4);
  expect_same_logits(*model, dir / "cli-out", 32);

  auto occupied = testing::run_command(cli + "--ckpt-path '" + (dir / "best.ckpt").string() + "' --out '" +
                                       (dir / "cli-out").string() + "'");
  EXPECT_NE(occupied.exit_code, 0);
  EXPECT_NE(occupied.err.find("--overwrite"), std::string::npos) << occupied.err;

  auto onnx = testing::run_command(cli + "--ckpt-path '" + (dir / "best.ckpt").string() + "' --format onnx --out '" +
                                   (dir / "x").string() + "'");
  EXPECT_EQ(onnx.exit_code, 2);
  EXPECT_NE(onnx.err.find("supported formats: timm"), std::string::npos) << onnx.err;
  EXPECT_FALSE(fs::exists(dir / "x"));

  auto missing = testing::run_command(cli + "--out '" + (dir / "y").string() + "'");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("--ckpt-path"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace autotimm
