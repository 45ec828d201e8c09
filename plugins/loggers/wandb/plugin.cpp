// The Weights & Biases logger plugin: registers "wandb" (the client protocol online, a spooled run folder offline,
// sent later by `autotimm wandb sync`).
#include "autotimm/plugin.hpp"

#include "autotimm/registry.hpp"
#include "wandb_logger.hpp"
#include "wandb_sync.hpp"

namespace autotimm::wandb {

void register_wandb_logger(Registrar& registrar) {
  registrar.add(LoggerEntry{
      .name = "wandb",
      .factory = [](const Config& options) -> std::shared_ptr<Logger> {
        WandbLoggerOptions parsed = WandbLoggerOptions::from(options);
        options.expect_all_used();  // a misspelt option fails before a run is created on the server
        return std::make_shared<WandbLogger>(std::move(parsed));
      },
      .description = "Weights & Biases: online, offline (sent later with `autotimm wandb sync`) or disabled "
                     "(project, entity, name, id, notes, tags, group, job_type, mode, offline, save_dir, prefix, "
                     "base_url, flush_interval_ms, heartbeat_interval_ms, request_timeout_s, max_retries, "
                     "retry_backoff_ms, max_request_bytes)",
      .sync = [](const std::filesystem::path& run_dir, const Config& options) {
        return sync_run_folders(run_dir, options);
      }});
}

}  // namespace autotimm::wandb

AUTOTIMM_PLUGIN(wandb, {.version = "0.1.0", .license = "Apache-2.0",
                        .description = "Weights & Biases logger: the client protocol online, spooled run folders "
                                       "offline",
                        .origin = "https://example.org/autotimm-loggers",
                        .register_fn = &autotimm::wandb::register_wandb_logger})
