#pragma once
// The images a prediction-style command (predict, explain) runs on, and the loader that preprocesses them as the
// checkpoint says.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autotimm/data/dataset.hpp"
#include "autotimm/data/loader.hpp"
#include "autotimm/data/transform.hpp"
#include "command_line.hpp"

namespace autotimm::cli {

/// The images named by the command line's positional arguments: files as given, folders searched for image files
/// (sorted). NotFoundError for a name that is neither.
std::shared_ptr<ImageDataset> images_to_predict(const CommandLine& line);

/// The value of a positive integer option, or `fallback` when absent; UsageError otherwise.
std::int64_t count_option(const CommandLine& line, const char* name, std::int64_t fallback);

/// The value of a number option in [low, high], or `fallback` when absent; UsageError naming the range otherwise.
double number_option(const CommandLine& line, const char* name, double fallback, double low, double high);

/// Class index → its name (the index itself past the end of `names`, which must outlive the function).
std::function<std::string(std::int64_t)> namer(const std::vector<std::string>& names);

/// Batches of `dataset` (--batch-size, default 32) through `config`'s evaluation transform and normalisation.
DataLoader predict_loader(std::shared_ptr<ImageDataset> dataset, const DataConfig& config, const CommandLine& line);

}  // namespace autotimm::cli
