#pragma once
// Settings of the hf plugin, read from the same environment variables as Python's huggingface_hub.
#include <chrono>
#include <filesystem>
#include <string>

#include "autotimm/config.hpp"

namespace autotimm::hf {

struct HubOptions {
  std::string endpoint = "https://huggingface.co";  ///< HF_ENDPOINT, no trailing '/'
  std::filesystem::path cache_dir = {};             ///< HF_HUB_CACHE > HUGGINGFACE_HUB_CACHE > $HF_HOME/hub
  std::string token = {};                           ///< HF_TOKEN > HUGGING_FACE_HUB_TOKEN > $HF_HOME/token
  bool symlinks = true;          ///< false with HF_HUB_DISABLE_SYMLINKS: files live in snapshots/ itself
  bool offline = false;          ///< HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE
  long metadata_timeout_s = 10;  ///< HF_HUB_ETAG_TIMEOUT
  long download_timeout_s = 10;  ///< HF_HUB_DOWNLOAD_TIMEOUT (a stall, not the whole transfer)
  int max_retries = 5;           ///< for 429, 5xx and dropped connections
  std::chrono::milliseconds first_backoff{1000};  ///< doubled after each retry, at most 8 s
};

/// The options the environment asks for, with huggingface_hub's defaults.
HubOptions hub_options_from_environment();

/// The environment's options with the application's settings on top (`autotimm::set_hub_options`): keys endpoint,
/// cache_dir, token, offline, symlinks, metadata_timeout_s, download_timeout_s, max_retries. ConfigError names an
/// unknown key or a bad value.
HubOptions hub_options_from(const Config& settings);

/// True for 1, ON, YES, TRUE in any case, as huggingface_hub reads its boolean variables.
bool is_truthy(const char* value);

}  // namespace autotimm::hf
