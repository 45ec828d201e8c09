// `autotimm models` as a user runs it, on the shared timm fixtures: the tool that checks a port against timm.
#include <gtest/gtest.h>

#include <fstream>

#include <boost/json/parse.hpp>

#include "autotimm/io/safetensors_torch.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

using Result = autotimm::testing::CommandResult;

Result run(const std::string& arguments) { return autotimm::testing::run_command("'" AUTOTIMM_CLI "' " + arguments); }

const fs::path kShared = AUTOTIMM_SHARED_DIR;

bool close_to(const torch::Tensor& ours, const torch::Tensor& golden) {
  return ours.sizes() == golden.sizes() &&
         ((ours - golden).abs() <= 1e-4 + 1e-4 * golden.abs()).all().item<bool>();
}

TEST(ModelsCli, ListsAndDescribesRegisteredBackbones) {
  auto list = run("models list 'resnet1*'");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("resnet18\n"), std::string::npos) << list.out;
  EXPECT_LT(list.out.find("resnet18\n"), list.out.find("resnet101\n")) << "natural order";
  auto tagged = run("models list 'resnet50*' --pretrained");
  EXPECT_NE(tagged.out.find("resnet50.a1_in1k\n"), std::string::npos) << tagged.out;

  auto info = run("models info resnet50.a1_in1k --json");
  ASSERT_EQ(info.exit_code, 0) << info.err;
  const auto json = boost::json::parse(info.out).as_object();
  EXPECT_EQ(json.at("num_params").as_int64(), 25557032);
  EXPECT_EQ(json.at("feature_info").as_array().size(), 5u);
  EXPECT_EQ(json.at("pretrained_cfg").at("tag").as_string(), "a1_in1k");
  EXPECT_EQ(json.at("pretrained_cfg").at("crop_pct").as_double(), 0.95);

  auto unknown = run("models info resnet5");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown backbone 'resnet5'; closest: resnet50"), std::string::npos) << unknown.err;
}

TEST(ModelsCli, ForwardOnAFixtureFolderMatchesTimm) {
  for (const char* name : {"resnet18", "resnet50"}) {
    const fs::path folder = kShared / "fixtures/timm" / (std::string(name) + ".fixture");
    const fs::path golden_file = kShared / "fixtures/golden" / (std::string(name) + ".fixture.safetensors");
    if (!fs::exists(folder)) GTEST_SKIP() << "shared fixtures not present";
    autotimm::testing::TempDir dir;
    auto result = run("models forward --model '" + folder.string() + "' --input '" + golden_file.string() +
                      "' --output '" + (dir / "out.safetensors").string() + "' --features");
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const auto ours = autotimm::load_safetensors(dir / "out.safetensors");
    const auto golden = autotimm::load_safetensors(golden_file);
    for (const char* key : {"logits", "features", "pre_logits", "feat.0", "feat.4"}) {
      ASSERT_TRUE(ours.count(key)) << key;
      EXPECT_TRUE(close_to(ours.at(key), golden.at(key))) << name << " " << key;
    }
  }
}

TEST(ModelsCli, ForwardRefusesAFileWithoutInput) {
  autotimm::testing::TempDir dir;
  autotimm::save_safetensors(dir / "in.safetensors", {{"x", torch::zeros({1, 3, 8, 8})}});
  auto result = run("models forward --model resnet18 --input '" + (dir / "in.safetensors").string() +
                    "' --output '" + (dir / "out.safetensors").string() + "'");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("has no tensor named 'input'"), std::string::npos) << result.err;
  EXPECT_FALSE(fs::exists(dir / "out.safetensors"));
  EXPECT_EQ(run("models forward --model resnet18").exit_code, 2);
}

}  // namespace
