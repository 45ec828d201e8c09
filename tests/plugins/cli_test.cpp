// The autotimm executable as users run it: exit codes, stdout and stderr.
#include <cstdio>
#include <fstream>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "support/run_command.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

using Result = autotimm::testing::CommandResult;

Result run(const std::string& arguments, const std::string& env = "") {
  return autotimm::testing::run_command(env + " '" AUTOTIMM_CLI "' " + arguments);
}

TEST(Cli, HelpAndVersion) {
  auto help = run("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("plugins"), std::string::npos);
  EXPECT_NE(help.out.find("inspect"), std::string::npos);
  auto version = run("version --json");
  EXPECT_EQ(version.exit_code, 0);
  auto json = boost::json::parse(version.out).as_object();
  EXPECT_EQ(json.at("plugin_abi").as_string(), "6.0");
  EXPECT_EQ(run("plugins --help").exit_code, 0);
  EXPECT_NE(run("inspect --help").out.find("usage: autotimm inspect FILE"), std::string::npos);
}

TEST(Cli, RunsOpenBlasKernelsThisCpuRunsUnlessTheUserChose) {
  // The tests set OPENBLAS_CORETYPE; without it, an OpenBLAS that does not know this CPU would run its generic
  // Prescott kernels (inaccurate float GEMM), and the tool starts itself again with the Haswell kernels when the CPU
  // runs them.
  const auto kernels_of = [](const Result& result) {
    return std::string(boost::json::parse(result.out).as_object().at("blas_kernels").as_string());
  };
  const auto plain = run("version --json", "env -u OPENBLAS_CORETYPE");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const std::string kernels = kernels_of(plain);
  if (kernels.empty()) GTEST_SKIP() << "the BLAS in this process is not OpenBLAS";
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    EXPECT_NE(kernels, "Prescott");
  }
#endif
  EXPECT_EQ(plain.err.find("OpenBLAS did not recognise"), std::string::npos) << plain.err;
  // A kernel set the user chose is kept, even the generic one.
  const auto chosen = run("version --json", "env OPENBLAS_CORETYPE=Prescott");
  ASSERT_EQ(chosen.exit_code, 0) << chosen.err;
  EXPECT_EQ(kernels_of(chosen), "Prescott");
}

TEST(Cli, BadUsageExitsWithTwoAndSuggests) {
  auto unknown = run("plugns");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown command 'plugns'; did you mean 'plugins'?"), std::string::npos) << unknown.err;
  auto option = run("plugins --jsno");
  EXPECT_EQ(option.exit_code, 2);
  EXPECT_NE(option.err.find("unknown option '--jsno'; did you mean '--json'?"), std::string::npos) << option.err;
  EXPECT_EQ(run("").exit_code, 2);
  EXPECT_EQ(run("inspect").exit_code, 2);
}

TEST(Cli, MakeDatasetWritesTheShapesFolder) {
  autotimm::testing::TempDir dir;
  const auto out = dir.path() / "shapes";
  auto made = run("make-dataset shapes --out '" + out.string() + "' --train 3 --val 1 --size 48 --task instance");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_NE(made.out.find("wrote 3 train and 1 val images"), std::string::npos);
  EXPECT_TRUE(fs::exists(out / "images" / "train" / "000002.png"));
  EXPECT_FALSE(fs::exists(out / "masks"));  // instance: boxes and polygons, no class masks
  std::ifstream in(out / "annotations" / "instances_val.json");
  const auto coco = boost::json::parse(std::string(std::istreambuf_iterator<char>(in), {})).as_object();
  EXPECT_EQ(coco.at("images").as_array().size(), 1u);
  ASSERT_FALSE(coco.at("annotations").as_array().empty());
  EXPECT_TRUE(coco.at("annotations").as_array().front().as_object().contains("segmentation"));
  auto bad = run("make-dataset shapes --out '" + out.string() + "' --task boxes");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--task must be detection, instance, segmentation or all, got 'boxes'"), std::string::npos);
}

TEST(Cli, PluginsListsWhatLoadedAndWhatWasRefused) {
  autotimm::testing::TempDir dir;
  for (const char* name : {"good", "wrongtorch"}) {
    fs::copy_file(fs::path(AUTOTIMM_TEST_PLUGIN_FIXTURES) / ("libautotimm_logger_" + std::string(name) + ".so"),
                  dir / ("libautotimm_logger_" + std::string(name) + ".so"));
  }
  auto text = run("plugins", "AUTOTIMM_PLUGIN_PATH='" + dir.path().string() + "'");
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("good 1.2.3"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("logger: memory, memory_extra"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("refused"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("built against libtorch 2.1.0"), std::string::npos) << text.out;
  EXPECT_EQ(text.err, "") << "refusals belong to the listing, not to warnings";

  auto json = run("plugins --json", "AUTOTIMM_PLUGIN_PATH='" + dir.path().string() + "'");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto document = boost::json::parse(json.out).as_object();
  // Only the staged folder's plugins: the build tree's own plugins are listed too.
  boost::json::array plugins;
  for (const auto& plugin : document.at("plugins").as_array()) {
    if (std::string_view(plugin.at("library").as_string()).starts_with(dir.path().string())) plugins.push_back(plugin);
  }
  ASSERT_EQ(plugins.size(), 2u);
  EXPECT_EQ(plugins[0].at("name").as_string(), "good");
  EXPECT_TRUE(plugins[0].at("loaded").as_bool());
  EXPECT_EQ(plugins[0].at("entries").as_array().size(), 2u);
  EXPECT_FALSE(plugins[1].at("loaded").as_bool());
  EXPECT_EQ(document.at("search_path").as_array().front().as_string(), dir.path().string());

  auto list = run("plugins --list 'memory_*'", "AUTOTIMM_PLUGIN_PATH='" + dir.path().string() + "'");
  EXPECT_EQ(list.out, "memory_extra  (logger, good)\n");
}

TEST(Cli, InspectShowsTensorsOfARealFile) {
  const fs::path file = fs::path(AUTOTIMM_SHARED_DIR) / "fixtures/timm/resnet18.fixture/model.safetensors";
  if (!fs::exists(file)) GTEST_SKIP() << "shared fixtures not present";
  auto text = run("inspect '" + file.string() + "'");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("conv1.weight"), std::string::npos);
  EXPECT_NE(text.out.find("F16"), std::string::npos);
  EXPECT_NE(text.out.find("[64, 3, 7, 7]"), std::string::npos);
  auto json = run("inspect --json '" + file.string() + "'");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto document = boost::json::parse(json.out).as_object();
  bool found = false;
  for (const auto& tensor : document.at("tensors").as_array()) {
    if (tensor.at("name").as_string() == "fc.weight") {
      found = true;
      EXPECT_EQ(tensor.at("shape").as_array().size(), 2u);
      EXPECT_EQ(tensor.at("shape").as_array()[0].as_int64(), 10);  // the fixture has 10 classes
    }
  }
  EXPECT_TRUE(found);
}

TEST(Cli, InspectOfABadFileIsAMessageAndExitTwo) {
  autotimm::testing::TempDir dir;
  std::ofstream(dir / "bad.safetensors") << "not safetensors at all";
  auto bad = run("inspect '" + (dir / "bad.safetensors").string() + "'");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find((dir / "bad.safetensors").string()), std::string::npos) << bad.err;
  auto missing = run("inspect '" + (dir / "absent.safetensors").string() + "'");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("absent.safetensors"), std::string::npos) << missing.err;
}

}  // namespace
