// autotimm fit | validate | test | predict: runs described by a JSON config (model, data, trainer sections), and
// predictions from a checkpoint alone.
#include <torch/torch.h>

#include <algorithm>
#include <iomanip>
#include <iostream>

#include <boost/json.hpp>

#include "autotimm/data/dataset.hpp"
#include "autotimm/data/image_data_module.hpp"
#include "autotimm/data/loader.hpp"
#include "autotimm/error.hpp"
#include "autotimm/tasks/image_classifier.hpp"
#include "autotimm/trainer/auto_trainer.hpp"
#include "autotimm/trainer/run_config.hpp"
#include "command_line.hpp"
#include "commands.hpp"

namespace autotimm::cli {
namespace {

namespace fs = std::filesystem;

RunConfig load_run(const CommandLine& line) {
  const auto config = line.option("--config");
  if (!config) throw UsageError("--config RUN.json is required");
  if (!line.positional().empty()) throw UsageError("unexpected argument '" + line.positional().front() + "'");
  return RunConfig::load(*config, line.values("--set"));
}

void print_metrics(const std::map<std::string, double>& metrics, bool json) {
  if (json) {
    boost::json::object out;
    for (const auto& [name, value] : metrics) out[name] = value;
    std::cout << boost::json::serialize(out) << "\n";
    return;
  }
  std::size_t width = 0;
  for (const auto& [name, value] : metrics) width = std::max(width, name.size());
  for (const auto& [name, value] : metrics) {
    std::cout << std::left << std::setw(static_cast<int>(width + 2)) << name << std::fixed << std::setprecision(4)
              << value << "\n";
  }
}

/// The model of a validate/test run: the checkpoint's when one is given (the config's model section is then not
/// needed), else the config's.
std::shared_ptr<Task> model_for(const RunConfig& run, const std::string& ckpt) {
  if (ckpt.empty()) return run.make_model();
  run.skip_model();
  return ImageClassifier::load_from_checkpoint(ckpt);
}

std::string ckpt_of(const CommandLine& line, const RunConfig& run) {
  if (auto ckpt = line.option("--ckpt-path")) return *ckpt;
  return run.ckpt_path();
}

}  // namespace

int run_fit(const std::vector<std::string>& args) {
  CommandLine line(args, {"--test", "--json"}, {"--config", "--set", "--ckpt-path"});
  const RunConfig run = load_run(line);
  auto model = run.make_model();
  auto data = run.make_data();
  AutoTrainer trainer(run.trainer_options());
  const std::string ckpt = ckpt_of(line, run);
  run.expect_all_used();
  trainer.fit(*model, *data, ckpt);
  std::map<std::string, double> test_metrics;
  if (line.flag("--test")) test_metrics = trainer.test(*model, *data, "best");
  if (!trainer.state().is_global_zero) return kExitOk;  // one report per run, from rank 0
  if (line.flag("--json")) {
    boost::json::object out{{"log_dir", trainer.log_dir().string()},
                            {"best_model_path", trainer.best_model_path().string()},
                            {"last_model_path", trainer.last_model_path().string()}};
    if (auto score = trainer.best_model_score()) out["best_model_score"] = *score;
    boost::json::object metrics;
    for (const auto& [name, value] : test_metrics) metrics[name] = value;
    out["test"] = std::move(metrics);
    std::cout << boost::json::serialize(out) << "\n";
    return kExitOk;
  }
  print_metrics(test_metrics, false);
  if (!trainer.best_model_path().empty()) {
    std::cout << "best checkpoint: " << trainer.best_model_path().string() << "\n";
  }
  if (!trainer.last_model_path().empty()) {
    std::cout << "last checkpoint: " << trainer.last_model_path().string() << "\n";
  }
  if (!trainer.log_dir().empty()) std::cout << "logs: " << trainer.log_dir().string() << "\n";
  return kExitOk;
}

namespace {

/// validate or test: one evaluation loop over the config's data.
int run_evaluation(const std::vector<std::string>& args, bool test) {
  CommandLine line(args, {"--json"}, {"--config", "--set", "--ckpt-path"});
  const RunConfig run = load_run(line);
  const std::string ckpt = ckpt_of(line, run);
  auto model = model_for(run, ckpt);
  auto data = run.make_data();
  AutoTrainer trainer(run.trainer_options());
  run.expect_all_used();
  const auto metrics = test ? trainer.test(*model, *data, "") : trainer.validate(*model, *data);
  if (trainer.state().is_global_zero) print_metrics(metrics, line.flag("--json"));
  return kExitOk;
}

}  // namespace

int run_validate(const std::vector<std::string>& args) { return run_evaluation(args, false); }

int run_test(const std::vector<std::string>& args) { return run_evaluation(args, true); }

int run_predict(const std::vector<std::string>& args) {
  CommandLine line(args, {"--json"}, {"--ckpt-path", "--top-k", "--batch-size"});
  const auto ckpt = line.option("--ckpt-path");
  if (!ckpt) throw UsageError("--ckpt-path CHECKPOINT is required");
  if (line.positional().empty()) throw UsageError("expected images or folders of images to predict");
  const auto parse_count = [&](const char* name, std::int64_t fallback) {
    const auto text = line.option(name);
    if (!text) return fallback;
    try {
      std::size_t used = 0;
      const auto value = std::stoll(*text, &used);
      if (used == text->size() && value > 0) return static_cast<std::int64_t>(value);
    } catch (const std::exception&) {
    }
    throw UsageError(std::string(name) + " expects a positive integer, got '" + *text + "'");
  };
  auto model = ImageClassifier::load_from_checkpoint(*ckpt);
  const std::int64_t top_k = std::min(parse_count("--top-k", 3), model->num_classes());

  auto dataset = std::make_shared<ImageDataset>();
  dataset->source = "the images to predict";
  for (const auto& input : line.positional()) {
    if (fs::is_directory(input)) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::recursive_directory_iterator(input)) {
        std::string ext = entry.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
        const auto& known = image_extensions();
        if (entry.is_regular_file() && std::find(known.begin(), known.end(), ext) != known.end()) {
          files.push_back(entry.path());
        }
      }
      std::sort(files.begin(), files.end());
      for (auto& file : files) dataset->items.push_back({.path = std::move(file)});
    } else if (fs::is_regular_file(input)) {
      dataset->items.push_back({.path = input});
    } else {
      throw NotFoundError("no image or folder '" + input + "'");
    }
  }
  const DataConfig config = model->data_config().value_or(DataConfig{});
  DataLoader loader(dataset, eval_transform(config),
                    {.batch_size = parse_count("--batch-size", 32), .num_workers = 2, .strict_data = true,
                     .mean = config.mean, .std = config.std});
  const auto& names = model->class_names();
  const auto name_of = [&](std::int64_t index) {
    return index < static_cast<std::int64_t>(names.size()) ? names[static_cast<std::size_t>(index)]
                                                            : std::to_string(index);
  };
  auto pass = loader.epoch(0);
  while (auto batch = pass.next()) {
    const auto out = model->predict(batch->images);
    const auto [scores, indices] = out.probabilities.topk(top_k, 1);
    for (std::int64_t row = 0; row < batch->size(); ++row) {
      const auto& path = dataset->items[batch->indices[static_cast<std::size_t>(row)]].path;
      boost::json::array top;
      std::ostringstream text;
      text << path.string() << ":";
      for (std::int64_t k = 0; k < top_k; ++k) {
        const auto index = indices[row][k].item<std::int64_t>();
        const double p = scores[row][k].item<double>();
        top.push_back({{"label", name_of(index)}, {"index", index}, {"probability", p}});
        text << " " << name_of(index) << " " << std::fixed << std::setprecision(4) << p;
      }
      if (line.flag("--json")) {
        std::cout << boost::json::serialize(boost::json::object{{"image", path.string()}, {"top", std::move(top)}})
                  << "\n";
      } else {
        std::cout << text.str() << "\n";
      }
    }
  }
  return kExitOk;
}

}  // namespace autotimm::cli
