// autotimm make-dataset shapes: writes the generated shapes dataset (COCO boxes and polygons, class masks) for the
// dense tasks' demos and tests.
#include <algorithm>
#include <array>
#include <iostream>
#include <utility>

#include "autotimm/data/synthetic_shapes.hpp"
#include "autotimm/error.hpp"
#include "command_line.hpp"
#include "commands.hpp"

namespace autotimm::cli {
namespace {

std::int64_t integer_option(const CommandLine& line, const std::string& name, std::int64_t fallback) {
  const auto text = line.option(name);
  if (!text) return fallback;
  try {
    std::size_t used = 0;
    const auto value = std::stoll(*text, &used);
    if (used == text->size()) return value;
  } catch (const std::exception&) {
  }
  throw UsageError(name + " expects an integer, got '" + *text + "'");
}

ShapesTask task_option(const CommandLine& line) {
  constexpr std::array<std::pair<const char*, ShapesTask>, 4> kTasks = {{{"detection", ShapesTask::detection},
                                                                        {"instance", ShapesTask::instance},
                                                                        {"segmentation", ShapesTask::segmentation},
                                                                        {"all", ShapesTask::all}}};
  const auto text = line.option("--task").value_or("all");
  for (const auto& [name, task] : kTasks) {
    if (text == name) return task;
  }
  throw UsageError("--task must be detection, instance, segmentation or all, got '" + text + "'");
}

int run_shapes(const std::vector<std::string>& args) {
  CommandLine line(args, {}, {"--out", "--task", "--train", "--val", "--size", "--min-objects", "--max-objects",
                              "--seed"});
  if (!line.positional().empty()) throw UsageError("unexpected argument '" + line.positional().front() + "'");
  const auto out = line.option("--out");
  if (!out) throw UsageError("--out DIR is required");
  ShapesDatasetOptions options{.out = *out, .task = task_option(line)};
  options.train_images = integer_option(line, "--train", options.train_images);
  options.val_images = integer_option(line, "--val", options.val_images);
  options.image_size = static_cast<int>(integer_option(line, "--size", options.image_size));
  options.min_objects = static_cast<int>(integer_option(line, "--min-objects", options.min_objects));
  options.max_objects = static_cast<int>(integer_option(line, "--max-objects", options.max_objects));
  options.seed = static_cast<std::uint64_t>(integer_option(line, "--seed", 0));
  // Objects scale with the image: at most 3/8 of its side (48 px at the default 128).
  options.max_object_size = std::max(4, std::min(options.max_object_size, options.image_size * 3 / 8));
  options.min_object_size = std::min(options.min_object_size, options.max_object_size);
  write_shapes_dataset(options);
  std::cout << "wrote " << options.train_images << " train and " << options.val_images << " val images to " << *out
            << "\n";
  return kExitOk;
}

}  // namespace

int run_make_dataset(const std::vector<std::string>& args) { return run_subcommand(args, {{"shapes", &run_shapes}}); }

}  // namespace autotimm::cli
