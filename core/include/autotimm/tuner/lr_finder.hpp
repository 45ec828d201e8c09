#pragma once
// The learning-rate range test (Lightning's lr_find): a short run whose learning rate grows from min_lr to max_lr,
// the loss recorded at each step; the suggestion is where the smoothed loss falls fastest. The model and data are
// left as they were.
//
//   autotimm::AutoTrainer trainer({.default_root_dir = "runs"});
//   const auto found = trainer.lr_find(model, data, {.plot_path = "runs/lr_find.png"});
//   if (found.suggestion) model_options.lr = *found.suggestion;
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "autotimm/export.hpp"

namespace autotimm {

struct LrFinderOptions {
  double min_lr = 1e-7;
  double max_lr = 1.0;
  int num_training = 100;               ///< optimizer steps at most
  std::string mode = "exponential";     ///< exponential or linear growth from min_lr to max_lr
  double early_stop_threshold = 4.0;    ///< stop once the smoothed loss exceeds this times its best; <= 0: never
  double smoothing = 0.98;              ///< exponential moving average of the loss (bias corrected)
  std::filesystem::path plot_path = {}; ///< a PNG of loss against learning rate; empty: none
};

struct LrFinderResult {
  std::vector<double> lrs = {};
  std::vector<double> losses = {};       ///< smoothed, one per step taken
  std::optional<double> suggestion = {}; ///< empty when the run was too short to judge
  bool stopped_early = false;
};

/// The steepest descent of `losses` (central differences over the steps, leaving out the first 10 and the last
/// one, as Lightning does), or nothing with fewer than 13 points or no finite descent.
AUTOTIMM_API std::optional<double> suggest_lr(const std::vector<double>& lrs, const std::vector<double>& losses);

/// Draws loss against learning rate (logarithmic axis for an exponential sweep) as a PNG, the suggestion marked.
AUTOTIMM_API void write_lr_plot(const std::filesystem::path& path, const LrFinderResult& result, bool log_x);

}  // namespace autotimm
