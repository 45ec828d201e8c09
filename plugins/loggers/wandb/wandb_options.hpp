#pragma once
// WandbLoggerOptions: Lightning's WandbLogger arguments, plus how the client streams and retries. WANDB_* environment
// variables fill what the options leave empty, as the wandb client does (resolve()).
//
//   autotimm::wandb::WandbLoggerOptions options{.project = "cifar", .mode = "offline"};
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "autotimm/config.hpp"

namespace autotimm::wandb {

enum class Mode { online, offline, disabled };

struct WandbLoggerOptions {
  std::string project = {};   ///< empty: WANDB_PROJECT, else "lightning_logs" (Lightning's default)
  std::string entity = {};    ///< team or user; empty: WANDB_ENTITY, else the API key's default entity
  std::string name = {};      ///< display name; empty: WANDB_NAME, else the server picks one
  std::string id = {};        ///< run id (8+ of [a-z0-9_-]); empty: WANDB_RUN_ID, else random. Reusing one resumes
  std::string notes = {};     ///< empty: WANDB_NOTES
  std::vector<std::string> tags = {};  ///< empty: WANDB_TAGS (comma-separated)
  std::string group = {};     ///< empty: WANDB_RUN_GROUP
  std::string job_type = {};  ///< empty: WANDB_JOB_TYPE
  /// online | offline | disabled ("dryrun" means offline, "run" online); empty: WANDB_MODE, else online.
  std::string mode = {};
  /// Runs go in <save_dir>/wandb/<run folder>; empty: WANDB_DIR, else the working folder.
  std::filesystem::path save_dir = {};
  std::string prefix = {};    ///< prepended to metric names with '-'
  std::string base_url = {};  ///< empty: WANDB_BASE_URL, else https://api.wandb.ai
  bool log_model = false;     ///< checkpoints as artifacts: not supported yet (ConfigError if true)
  // How the online client streams.
  std::int64_t flush_interval_ms = 15000;      ///< history is sent at most this often (and on finalize)
  std::int64_t heartbeat_interval_ms = 30000;  ///< an empty file_stream request when nothing else was sent
  int request_timeout_s = 60;
  int max_retries = 2;                   ///< quick retries of one request (429, 5xx, dropped)
  std::int64_t retry_backoff_ms = 500;   ///< the first wait; doubles per retry and per failed flush (at most a minute)
  std::int64_t max_request_bytes = 8 << 20;  ///< history lines per file_stream request (the server takes ~10 MiB)

  /// Reads every key above from a logger config ({"backend": "wandb", "params": {...}}'s params).
  static WandbLoggerOptions from(const Config& config);
};

/// The options with environment defaults applied and checked; ConfigError naming the option otherwise.
struct ResolvedOptions {
  WandbLoggerOptions options;
  Mode mode = Mode::online;
  std::string base_url = {};       ///< without a trailing '/'
  std::string authorization = {};  ///< "Basic base64(api:<key>)"; empty when no key was found
  std::filesystem::path wandb_dir = {};  ///< absolute <save_dir>/wandb
};

/// Applies the environment. Online (or `for_sync`, sending an offline run) a missing API key is a ConfigError saying
/// where to set it.
ResolvedOptions resolve(WandbLoggerOptions options, bool for_sync = false);

/// The API key for `base_url`: WANDB_API_KEY, else the password of the matching machine in ~/.netrc (NETRC names
/// another file), else empty.
std::string api_key_for(const std::string& base_url);

/// 8 random characters of [a-z0-9], as wandb generates run ids.
std::string random_run_id();

}  // namespace autotimm::wandb
