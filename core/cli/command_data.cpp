// autotimm data sample: writes a few images of a run config's data as PNG files, named by index and class, to look
// at what a model sees or to have files to predict.
#include <iostream>

#include "autotimm/data/decode.hpp"
#include "autotimm/data/image_data_module.hpp"
#include "autotimm/error.hpp"
#include "autotimm/trainer/run_config.hpp"
#include "command_line.hpp"
#include "commands.hpp"

namespace autotimm::cli {
namespace {

namespace fs = std::filesystem;

int run_sample(const std::vector<std::string>& args) {
  CommandLine line(args, {}, {"--config", "--set", "--split", "--count", "--out"});
  const auto config = line.option("--config");
  const auto out = line.option("--out");
  if (!config || !out) throw UsageError("--config RUN.json and --out DIR are required");
  if (!line.positional().empty()) throw UsageError("unexpected argument '" + line.positional().front() + "'");
  const std::string split = line.option("--split").value_or("test");
  long count = 8;
  if (auto text = line.option("--count")) {
    try {
      count = std::stol(*text);
    } catch (const std::exception&) {
      count = 0;
    }
    if (count < 1) throw UsageError("--count expects a positive integer, got '" + *text + "'");
  }
  const RunConfig run = RunConfig::load(*config, line.values("--set"));
  run.root().accept("model");
  run.root().accept("trainer");
  run.root().accept("ckpt_path");
  auto data = std::dynamic_pointer_cast<ImageDataModule>(run.make_data());
  run.expect_all_used();
  std::shared_ptr<const ImageDataset> dataset;
  if (split == "train") {
    dataset = data->train_dataset();
  } else if (split == "val") {
    dataset = data->val_dataset();
  } else if (split == "test") {
    dataset = data->test_dataset();
    if (!dataset) throw ConfigError("the data of " + *config + " has no test set");
  } else {
    throw UsageError("--split must be train, val or test, got '" + split + "'");
  }
  fs::create_directories(*out);
  const auto n = std::min<std::size_t>(static_cast<std::size_t>(count), dataset->size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto& item = dataset->items[i];
    std::string label = item.label >= 0 && item.label < dataset->num_classes()
                            ? dataset->class_names[static_cast<std::size_t>(item.label)]
                            : "unlabelled";
    for (char& c : label) {
      if (c == '/' || c == ' ') c = '_';
    }
    const fs::path file = fs::path(*out) / (std::to_string(i) + "-" + label + ".png");
    write_image(file, dataset->load(i));
    std::cout << file.string() << "\n";
  }
  return kExitOk;
}

}  // namespace

int run_data(const std::vector<std::string>& args) {
  return run_subcommand(args, {{"sample", &run_sample}});
}

}  // namespace autotimm::cli
