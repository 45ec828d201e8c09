#include "wandb_options.hpp"

#include <cctype>
#include <fstream>
#include <random>
#include <sstream>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "env/environment.hpp"
#include "http/http_client.hpp"

namespace autotimm::wandb {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::vector<std::string> split_tags(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string tag; std::getline(in, tag, ',');) {
    const auto first = tag.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    out.push_back(tag.substr(first, tag.find_last_not_of(" \t") - first + 1));
  }
  return out;
}

Mode parse_mode(const std::string& text, const std::string& where) {
  const std::string mode = lower(text);
  if (mode.empty() || mode == "online" || mode == "run" || mode == "shared") return Mode::online;
  if (mode == "offline" || mode == "dryrun") return Mode::offline;
  if (mode == "disabled") return Mode::disabled;
  throw ConfigError("wandb: " + where + " '" + text + "': expected online, offline or disabled");
}

/// The host of an http(s) URL, as ~/.netrc names machines.
std::string host_of(const std::string& url) {
  std::string origin = http::origin_of(url);
  origin = origin.substr(origin.find("://") + 3);
  return origin.substr(0, origin.find(':'));
}

void require_positive(std::int64_t value, const char* name) {
  if (value < 1) throw ConfigError("wandb: option '" + std::string(name) + "': expected >= 1, got " + std::to_string(value));
}

}  // namespace

WandbLoggerOptions WandbLoggerOptions::from(const Config& config) {
  WandbLoggerOptions o;
  read_arg(config, "project", o.project);
  read_arg(config, "entity", o.entity);
  read_arg(config, "name", o.name);
  read_arg(config, "id", o.id);
  if (auto version = config.get_optional<std::string>("version")) o.id = *version;  // Lightning's alias of id
  read_arg(config, "notes", o.notes);
  read_arg(config, "tags", o.tags);
  read_arg(config, "group", o.group);
  read_arg(config, "job_type", o.job_type);
  read_arg(config, "mode", o.mode);
  if (auto offline = config.get_optional<bool>("offline"); offline && *offline) o.mode = "offline";  // Lightning's flag
  if (auto dir = config.get_optional<std::string>("save_dir")) o.save_dir = *dir;
  read_arg(config, "prefix", o.prefix);
  read_arg(config, "base_url", o.base_url);
  read_arg(config, "log_model", o.log_model);
  read_arg(config, "flush_interval_ms", o.flush_interval_ms);
  read_arg(config, "heartbeat_interval_ms", o.heartbeat_interval_ms);
  read_arg(config, "request_timeout_s", o.request_timeout_s);
  read_arg(config, "max_retries", o.max_retries);
  read_arg(config, "retry_backoff_ms", o.retry_backoff_ms);
  read_arg(config, "max_request_bytes", o.max_request_bytes);
  return o;
}

std::string api_key_for(const std::string& base_url) {
  if (std::string key = env::text("WANDB_API_KEY"); !key.empty()) return key;
  fs::path netrc = env::text("NETRC");
  if (netrc.empty()) {
    const std::string home = env::text("HOME");
    if (home.empty()) return {};
    netrc = fs::path(home) / ".netrc";
  }
  std::ifstream in(netrc);
  if (!in) return {};
  // Tokens, not lines: "machine api.wandb.ai login user password KEY" may span lines.
  const std::string host = host_of(base_url);
  std::string token, machine, password;
  bool in_wanted = false;
  while (in >> token) {
    if (token == "machine" && in >> machine) {
      if (in_wanted && !password.empty()) break;
      in_wanted = machine == host;
      password.clear();
    } else if (token == "default") {
      if (in_wanted && !password.empty()) break;
      in_wanted = false;
    } else if (token == "password" && in >> token && in_wanted) {
      password = token;
    }
  }
  return in_wanted ? password : std::string();
}

std::string random_run_id() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device device;
  std::mt19937_64 engine((static_cast<std::uint64_t>(device()) << 32) ^ device());
  std::uniform_int_distribution<int> pick(0, 35);
  std::string id(8, 'a');
  for (char& c : id) c = kAlphabet[pick(engine)];
  return id;
}

ResolvedOptions resolve(WandbLoggerOptions options, bool for_sync) {
  ResolvedOptions r;
  auto& o = options;
  if (o.log_model) {
    throw ConfigError("wandb: option 'log_model': expected false, got true; uploading checkpoints as W&B artifacts is "
                      "not supported yet (the trainer keeps checkpoints in the run folder)");
  }
  r.mode = o.mode.empty() ? parse_mode(env::text("WANDB_MODE"), "WANDB_MODE") : parse_mode(o.mode, "option 'mode'");
  if (o.project.empty()) o.project = env::text("WANDB_PROJECT");
  if (o.project.empty()) o.project = "lightning_logs";
  if (o.entity.empty()) o.entity = env::text("WANDB_ENTITY");
  if (o.name.empty()) o.name = env::text("WANDB_NAME");
  if (o.notes.empty()) o.notes = env::text("WANDB_NOTES");
  if (o.tags.empty()) o.tags = split_tags(env::text("WANDB_TAGS"));
  if (o.group.empty()) o.group = env::text("WANDB_RUN_GROUP");
  if (o.job_type.empty()) o.job_type = env::text("WANDB_JOB_TYPE");
  if (o.id.empty()) o.id = env::text("WANDB_RUN_ID");
  if (o.id.empty()) o.id = random_run_id();
  for (const char c : o.id) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' ||
          c == '_')) {
      throw ConfigError("wandb: run id '" + o.id + "': expected lower-case letters, digits, '-' or '_' (W&B refuses "
                        "others); set option 'id' or WANDB_RUN_ID");
    }
  }
  if (o.id.size() > 64) throw ConfigError("wandb: run id '" + o.id + "': expected at most 64 characters");
  for (const char* name : {"project", "entity"}) {
    const std::string& value = std::string_view(name) == "project" ? o.project : o.entity;
    if (value.find_first_of("/\\#?%:") != std::string::npos) {
      throw ConfigError("wandb: " + std::string(name) + " '" + value + "': must not contain / \\ # ? % or :");
    }
  }
  require_positive(o.flush_interval_ms, "flush_interval_ms");
  require_positive(o.heartbeat_interval_ms, "heartbeat_interval_ms");
  require_positive(o.request_timeout_s, "request_timeout_s");
  require_positive(o.max_request_bytes, "max_request_bytes");
  if (o.max_retries < 0) throw ConfigError("wandb: option 'max_retries': expected >= 0");
  if (o.retry_backoff_ms < 0) throw ConfigError("wandb: option 'retry_backoff_ms': expected >= 0");

  std::string base = o.base_url.empty() ? env::text("WANDB_BASE_URL") : o.base_url;
  if (base.empty()) base = "https://api.wandb.ai";
  while (base.ends_with('/')) base.pop_back();
  if (!base.starts_with("http://") && !base.starts_with("https://")) {
    throw ConfigError("wandb: base_url '" + base + "': expected http(s)://host[:port] (option 'base_url' or "
                      "WANDB_BASE_URL)");
  }
  r.base_url = base;
  if (r.mode == Mode::online || for_sync) {
    const std::string key = api_key_for(base);
    if (!key.empty()) {
      r.authorization = "Basic " + http::base64_encode("api:" + key);
    } else {
      throw ConfigError("wandb: no API key for " + base + "; set WANDB_API_KEY (or a ~/.netrc entry for " +
                        host_of(base) + "), or log offline with WANDB_MODE=offline and send the run later with "
                        "`autotimm wandb sync <run folder>`");
    }
  }
  fs::path dir = o.save_dir.empty() ? fs::path(env::text("WANDB_DIR")) : o.save_dir;
  if (dir.empty()) dir = ".";
  r.wandb_dir = (fs::absolute(dir) / "wandb").lexically_normal();
  r.options = std::move(options);
  return r;
}

}  // namespace autotimm::wandb
