// The TensorBoard logger plugin: registers "tensorboard" (Lightning's TensorBoardLogger options).
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "tensorboard_logger.hpp"

namespace autotimm::tensorboard {

void register_tensorboard_logger(Registrar& registrar) {
  registrar.add(LoggerEntry{
      .name = "tensorboard",
      .factory = [](const Config& options) -> std::shared_ptr<Logger> {
        return std::make_shared<TensorBoardLogger>(TensorBoardLoggerOptions::from(options));
      },
      .description = "TensorBoard event files and hparams in save_dir/name/version_<n> (save_dir, name, version, "
                     "prefix, flush_secs, max_queue, default_hp_metric)"});
}

}  // namespace autotimm::tensorboard

AUTOTIMM_PLUGIN(tensorboard, {.version = "0.1.0", .license = "Apache-2.0",
                              .description = "TensorBoard event files: scalars, images, histograms, text, hparams",
                              .origin = "https://example.org/autotimm-loggers",
                              .register_fn = &autotimm::tensorboard::register_tensorboard_logger})
