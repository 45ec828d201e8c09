// Environment lookup with huggingface_hub's precedence rules (docs/hub.md §4).
#include "hub_options.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "autotimm/error.hpp"

namespace autotimm::hf {

namespace {

std::string env_or(const char* name, const std::string& fallback = {}) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

std::string trimmed(std::string text) {
  const auto keep = [](unsigned char c) { return !std::isspace(c); };
  text.erase(text.begin(), std::find_if(text.begin(), text.end(), keep));
  text.erase(std::find_if(text.rbegin(), text.rend(), keep).base(), text.end());
  return text;
}

long seconds_from(const char* name, long fallback) {
  const std::string value = env_or(name);
  if (value.empty()) return fallback;
  char* end = nullptr;
  const long parsed = std::strtol(value.c_str(), &end, 10);
  return end != nullptr && *end == '\0' && parsed > 0 ? parsed : fallback;
}

std::filesystem::path hf_home() {
  if (const std::string home = env_or("HF_HOME"); !home.empty()) return home;
  if (const std::string xdg = env_or("XDG_CACHE_HOME"); !xdg.empty()) return std::filesystem::path(xdg) / "huggingface";
  return std::filesystem::path(env_or("HOME", "/tmp")) / ".cache" / "huggingface";
}

}  // namespace

bool is_truthy(const char* value) {
  if (value == nullptr) return false;
  std::string text(value);
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text == "1" || text == "ON" || text == "YES" || text == "TRUE";
}

HubOptions hub_options_from_environment() {
  HubOptions options;
  options.endpoint = env_or("HF_ENDPOINT", options.endpoint);
  while (options.endpoint.ends_with('/')) options.endpoint.pop_back();
  const std::filesystem::path home = hf_home();
  options.cache_dir = env_or("HF_HUB_CACHE", env_or("HUGGINGFACE_HUB_CACHE", (home / "hub").string()));
  options.token = env_or("HF_TOKEN", env_or("HUGGING_FACE_HUB_TOKEN"));
  if (options.token.empty()) {
    std::ifstream file(env_or("HF_TOKEN_PATH", (home / "token").string()));
    options.token = trimmed(std::string(std::istreambuf_iterator<char>(file), {}));
  }
  options.offline = is_truthy(std::getenv("HF_HUB_OFFLINE")) || is_truthy(std::getenv("TRANSFORMERS_OFFLINE"));
  options.symlinks = !is_truthy(std::getenv("HF_HUB_DISABLE_SYMLINKS"));
  options.metadata_timeout_s = seconds_from("HF_HUB_ETAG_TIMEOUT", options.metadata_timeout_s);
  options.download_timeout_s = seconds_from("HF_HUB_DOWNLOAD_TIMEOUT", options.download_timeout_s);
  return options;
}

HubOptions hub_options_from(const Config& settings) {
  HubOptions options = hub_options_from_environment();
  options.endpoint = settings.get("endpoint", options.endpoint);
  while (options.endpoint.ends_with('/')) options.endpoint.pop_back();
  options.cache_dir = settings.get("cache_dir", options.cache_dir.string());
  options.token = settings.get("token", options.token);
  options.offline = settings.get("offline", options.offline);
  options.symlinks = settings.get("symlinks", options.symlinks);
  const auto positive = [&](std::string_view key, auto current) {
    const auto value = settings.get<std::int64_t>(key, static_cast<std::int64_t>(current));
    if (value <= 0) {
      throw ConfigError("hub option '" + std::string(key) + "' in " + settings.source() + " must be > 0, got " +
                        std::to_string(value));
    }
    return static_cast<decltype(current)>(value);
  };
  options.metadata_timeout_s = positive("metadata_timeout_s", options.metadata_timeout_s);
  options.download_timeout_s = positive("download_timeout_s", options.download_timeout_s);
  if (const auto retries = settings.get_optional<std::int64_t>("max_retries")) {
    if (*retries < 0 || *retries > 20) {
      throw ConfigError("hub option 'max_retries' in " + settings.source() + " must be within 0..20, got " +
                        std::to_string(*retries));
    }
    options.max_retries = static_cast<int>(*retries);
  }
  settings.expect_all_used();
  return options;
}

}  // namespace autotimm::hf
