// The built-in callbacks' registry entries, so config files can name them.
#include "autotimm/error.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/trainer/callbacks.hpp"
#include "autotimm/trainer/weight_averaging.hpp"

namespace autotimm {

void register_builtin_callbacks(Registrar& registrar) {
  registrar.add(CallbackEntry{
      .name = "model_checkpoint",
      .factory = [](const Config& c) -> std::shared_ptr<Callback> {
        return std::make_shared<ModelCheckpoint>(ModelCheckpointOptions::from(c));
      },
      .description = "best-k and last checkpoints (dirpath, monitor, mode, save_top_k, save_last, filename_prefix)"});
  registrar.add(CallbackEntry{
      .name = "early_stopping",
      .factory = [](const Config& c) -> std::shared_ptr<Callback> {
        return std::make_shared<EarlyStopping>(EarlyStoppingOptions::from(c));
      },
      .description = "stop when a metric stops improving (monitor, mode, patience, min_delta, thresholds)"});
  registrar.add(CallbackEntry{
      .name = "lr_monitor",
      .factory = [](const Config& c) -> std::shared_ptr<Callback> {
        return std::make_shared<LearningRateMonitor>(LearningRateMonitorOptions::from(c));
      },
      .description = "log the learning rate of every param group (logging_interval step or epoch)"});
  registrar.add(CallbackEntry{
      .name = "model_summary",
      .factory = [](const Config& c) -> std::shared_ptr<Callback> {
        return std::make_shared<ModelSummary>(c.get("max_depth", 1));
      },
      .description = "layer table with parameter counts at fit start (max_depth)"});
  registrar.add(CallbackEntry{
      .name = "timer",
      .factory = [](const Config& c) -> std::shared_ptr<Callback> {
        return std::make_shared<Timer>(TimerOptions::from(c));
      },
      .description = "stop fit after a wall-clock budget (duration_seconds, interval)"});
  registrar.add(CallbackEntry{
      .name = "progress_bar",
      .factory = [](const Config& c) -> std::shared_ptr<Callback> {
        return std::make_shared<ProgressBar>(c.get("refresh_rate", 1));
      },
      .description = "progress with rate and ETA on stderr (refresh_rate)"});
  registrar.add(CallbackEntry{
      .name = "ema",
      .factory = [](const Config& c) -> std::shared_ptr<Callback> {
        return std::make_shared<WeightAveraging>(WeightAveragingOptions::from(c, "ema"));
      },
      .description = "exponential moving average of the weights, used for validation and checkpoints (decay, "
                     "warmup, warmup_power, update_every_n_steps, start_step, average_buffers)"});
  registrar.add(CallbackEntry{
      .name = "swa",
      .factory = [](const Config& c) -> std::shared_ptr<Callback> {
        return std::make_shared<WeightAveraging>(WeightAveragingOptions::from(c, "swa"));
      },
      .description = "stochastic weight averaging: equal average of the weights at each epoch end from "
                     "swa_epoch_start (epoch index, or fraction of max_epochs), average_buffers"});
}

}  // namespace autotimm
