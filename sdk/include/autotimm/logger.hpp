#pragma once
// Logger: an experiment-tracking backend (tensorboard, mlflow, wandb, csv). Several run side by side; the trainer
// calls each from rank 0 only. Torch-free apart from the tensor arguments, which are declared, not included.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "autotimm/export.hpp"

namespace at {
class Tensor;
}

namespace autotimm {

enum class RunStatus { success, failed, killed };
AUTOTIMM_API std::string_view to_string(RunStatus status);

class AUTOTIMM_API Logger {
 public:
  virtual ~Logger();
  virtual void log_hyperparams(const boost::json::object& params) = 0;
  virtual void log_metrics(const std::map<std::string, double>& metrics, std::int64_t step) = 0;
  /// `image`: uint8 or float [3, H, W] / [H, W, 3] RGB.
  virtual void log_image(std::string_view tag, const at::Tensor& image, std::int64_t step) = 0;
  virtual void log_histogram(std::string_view tag, const at::Tensor& values, std::int64_t step) = 0;
  virtual void log_text(std::string_view tag, std::string_view text, std::int64_t step) = 0;
  /// Makes everything logged so far durable.
  virtual void save() = 0;
  /// Ends the run; no call may follow.
  virtual void finalize(RunStatus status) = 0;
  /// The folder holding this run's files (`<save_dir>/<name>/version_<n>` for TensorBoard and CSV), or empty for a
  /// backend without local files. The trainer keeps checkpoints under the first logger's.
  virtual std::filesystem::path log_dir() const { return {}; }
  /// The run's name and version as the backend shows them ("logs" and "version_3"; an MLflow experiment and run id).
  virtual std::string name() const { return {}; }
  virtual std::string version() const { return {}; }
};

}  // namespace autotimm
