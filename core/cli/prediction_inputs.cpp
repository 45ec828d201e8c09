// The images a prediction-style command (predict, explain) runs on, and the loader that preprocesses them as the
// checkpoint says.
#include "prediction_inputs.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "autotimm/data/decode.hpp"
#include "autotimm/data/image_data_module.hpp"
#include "autotimm/error.hpp"

namespace autotimm::cli {

namespace fs = std::filesystem;

/// The images named on the command line: files as given, folders searched for image files (sorted).
std::shared_ptr<ImageDataset> images_to_predict(const CommandLine& line) {
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
  return dataset;
}

std::int64_t count_option(const CommandLine& line, const char* name, std::int64_t fallback) {
  const auto text = line.option(name);
  if (!text) return fallback;
  try {
    std::size_t used = 0;
    const auto value = std::stoll(*text, &used);
    if (used == text->size() && value > 0) return static_cast<std::int64_t>(value);
  } catch (const std::exception&) {
  }
  throw UsageError(std::string(name) + " expects a positive integer, got '" + *text + "'");
}

/// The value of a number option in [low, high], or `fallback` when absent; UsageError otherwise.
double number_option(const CommandLine& line, const char* name, double fallback, double low, double high) {
  const auto text = line.option(name);
  if (!text) return fallback;
  try {
    std::size_t used = 0;
    const double value = std::stod(*text, &used);
    if (used == text->size() && value >= low && value <= high) return value;
  } catch (const std::exception&) {
  }
  std::ostringstream range;
  range << "[" << low << ", " << high << "]";
  throw UsageError(std::string(name) + " expects a number in " + range.str() + ", got '" + *text + "'");
}

std::function<std::string(std::int64_t)> namer(const std::vector<std::string>& names) {
  return [&names](std::int64_t index) {
    return index >= 0 && index < static_cast<std::int64_t>(names.size()) ? names[static_cast<std::size_t>(index)]
                                                                          : std::to_string(index);
  };
}

DataLoader predict_loader(std::shared_ptr<ImageDataset> dataset, const DataConfig& config, const CommandLine& line) {
  return DataLoader(std::move(dataset), eval_transform(config),
                    {.batch_size = count_option(line, "--batch-size", 32), .num_workers = 2, .strict_data = true,
                     .mean = config.mean, .std = config.std});
}

}  // namespace autotimm::cli
