// Cost of logging for each logger backend: rows of 8 metrics (what a training step logs), save() every 50 rows as
// the trainer calls it, then finalize. The W&B logger runs offline and MLflow writes its file store, so only local
// work is timed. Median of timed runs after a warm-up run.
//
//   build/bin/bench_loggers [--rows 20000] [--runs 5]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "autotimm/config.hpp"
#include "autotimm/logger.hpp"
#include "autotimm/registry.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  int rows = 20000, runs = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--rows") rows = std::max(1, std::atoi(argv[i + 1]));
    if (flag == "--runs") runs = std::max(1, std::atoi(argv[i + 1]));
  }
  const fs::path root = fs::temp_directory_path() / ("autotimm-bench-loggers-" + std::to_string(::getpid()));
  ::setenv("WANDB_MODE", "offline", 1);
  const std::vector<std::pair<std::string, boost::json::object>> backends = {
      {"csv", {}},
      {"tensorboard", {}},
      {"mlflow", {{"tracking_uri", "file:" + (root / "mlruns").string()}}},
      {"wandb", {{"mode", "offline"}}}};
  std::cout << "logger      us/row (median of " << runs << " runs of " << rows << " rows x 8 metrics, save every 50)\n";
  for (const auto& [backend, params] : backends) {
    if (!autotimm::registry().loggers().contains(backend)) {
      std::cout << backend << ": not loaded, skipped\n";
      continue;
    }
    std::vector<double> per_row;
    for (int run = 0; run <= runs; ++run) {
      boost::json::object options = params;
      options["save_dir"] = (root / backend / std::to_string(run)).string();
      autotimm::Config config(options, backend);
      auto logger = autotimm::registry().loggers().get(backend).factory(config);
      logger->log_hyperparams({{"lr", 0.1}, {"model", boost::json::object{{"backbone", "resnet50"}}}});
      const auto start = std::chrono::steady_clock::now();
      for (int row = 0; row < rows; ++row) {
        const double x = 1.0 / (row + 1);
        logger->log_metrics({{"train/loss", x}, {"train/accuracy", 1 - x}, {"lr-adamw", 1e-3 * x},
                             {"train/top5", 1 - x / 2}, {"grad_norm", 3 * x}, {"epoch", row / 1000},
                             {"train/ce", x}, {"train/aux", x / 3}},
                            row);
        if (row % 50 == 49) logger->save();
      }
      logger->finalize(autotimm::RunStatus::success);
      const std::chrono::duration<double, std::micro> elapsed = std::chrono::steady_clock::now() - start;
      if (run > 0) per_row.push_back(elapsed.count() / rows);
    }
    std::sort(per_row.begin(), per_row.end());
    std::cout << backend << std::string(12 - backend.size(), ' ') << per_row[per_row.size() / 2] << "\n";
  }
  fs::remove_all(root);
  return 0;
}
