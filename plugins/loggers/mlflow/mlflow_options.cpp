#include "mlflow_options.hpp"

#include <cctype>
#include <string_view>

#include <boost/json/serialize.hpp>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "env/environment.hpp"
#include "http/http_client.hpp"

namespace autotimm::mlflow {

namespace {

/// "http" of "http://x", "file" of "file:/x"; empty for a plain path. One-letter schemes are Windows drive letters.
std::string scheme_of(std::string_view uri) {
  const auto colon = uri.find(':');
  if (colon == std::string_view::npos || colon < 2) return {};
  for (std::size_t i = 0; i < colon; ++i) {
    const auto c = static_cast<unsigned char>(uri[i]);
    if (!(std::isalnum(c) || c == '+' || c == '-' || c == '.') || (i == 0 && !std::isalpha(c))) return {};
  }
  std::string scheme(uri.substr(0, colon));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return scheme;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

MlflowLoggerOptions MlflowLoggerOptions::from(const Config& config) {
  MlflowLoggerOptions o;
  read_arg(config, "experiment_name", o.experiment_name);
  read_arg(config, "run_name", o.run_name);
  read_arg(config, "tracking_uri", o.tracking_uri);
  if (const auto& tags = config.raw("tags"); !tags.is_null()) {
    if (!tags.is_object()) {
      throw ConfigError(config.where("tags") + ": expected an object of tag names to values, got " +
                        boost::json::serialize(tags));
    }
    o.tags = tags.as_object();
  }
  if (auto dir = config.get_optional<std::string>("save_dir")) o.save_dir = *dir;
  read_arg(config, "prefix", o.prefix);
  read_arg(config, "log_model", o.log_model);
  read_arg(config, "run_id", o.run_id);
  read_arg(config, "artifact_location", o.artifact_location);
  o.request_timeout_s = env::non_negative("MLFLOW_HTTP_REQUEST_TIMEOUT", o.request_timeout_s);
  o.max_retries = env::non_negative("MLFLOW_HTTP_REQUEST_MAX_RETRIES", o.max_retries);
  read_arg(config, "request_timeout_s", o.request_timeout_s);
  read_arg(config, "max_retries", o.max_retries);
  read_arg(config, "retry_backoff_ms", o.retry_backoff_ms);
  read_arg(config, "max_buffered_metrics", o.max_buffered_metrics);
  read_arg(config, "max_buffered_artifact_bytes", o.max_buffered_artifact_bytes);
  return o;
}

std::filesystem::path path_of_file_uri(const std::string& uri) {
  std::string_view rest = std::string_view(uri).substr(uri.find(':') + 1);
  if (rest.starts_with("//")) {
    rest.remove_prefix(2);
    const auto slash = rest.find('/');
    const std::string_view host = rest.substr(0, slash);
    if (!host.empty() && host != "localhost") {
      throw ConfigError("mlflow: tracking_uri '" + uri + "': expected a local file: URI, got host '" +
                        std::string(host) + "'; use file:///<absolute path>");
    }
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  if (rest.empty()) throw ConfigError("mlflow: tracking_uri '" + uri + "': names no folder; use file:///<path>");
  return percent_decode(rest);
}

ResolvedOptions resolve(MlflowLoggerOptions options) {
  ResolvedOptions r;
  auto& o = options;
  if (o.log_model) {
    throw ConfigError("mlflow: option 'log_model': expected false, got true; uploading checkpoints as MLflow "
                      "models is not supported yet (the trainer keeps checkpoints in its run folder)");
  }
  if (o.experiment_name.empty()) o.experiment_name = env::text("MLFLOW_EXPERIMENT_NAME");
  if (o.experiment_name.empty()) o.experiment_name = "lightning_logs";
  if (o.experiment_name.size() > 500) {
    throw ConfigError("mlflow: option 'experiment_name': expected at most 500 characters, got " +
                      std::to_string(o.experiment_name.size()));
  }
  if (o.run_id.empty()) o.run_id = env::text("MLFLOW_RUN_ID");
  if (!o.run_id.empty()) {
    for (const char c : o.run_id) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
        throw ConfigError("mlflow: option 'run_id' '" + o.run_id + "': expected letters, digits, '-' or '_'");
      }
    }
  }
  if (o.request_timeout_s < 1) throw ConfigError("mlflow: option 'request_timeout_s': expected >= 1");
  if (o.max_retries < 0) throw ConfigError("mlflow: option 'max_retries': expected >= 0");
  if (o.retry_backoff_ms < 0) throw ConfigError("mlflow: option 'retry_backoff_ms': expected >= 0");
  if (o.max_buffered_metrics < 1) throw ConfigError("mlflow: option 'max_buffered_metrics': expected >= 1");
  if (o.max_buffered_artifact_bytes < 0) {
    throw ConfigError("mlflow: option 'max_buffered_artifact_bytes': expected >= 0");
  }

  std::string uri = o.tracking_uri.empty() ? env::text("MLFLOW_TRACKING_URI") : o.tracking_uri;
  const std::string scheme = scheme_of(uri);
  if (uri.empty()) {
    r.store = StoreKind::file;
    r.file_root = o.save_dir;
  } else if (scheme == "http" || scheme == "https") {
    r.store = StoreKind::rest;
    while (uri.ends_with('/')) uri.pop_back();
    r.server_uri = uri;
  } else if (scheme == "file") {
    r.store = StoreKind::file;
    r.file_root = path_of_file_uri(uri);
  } else if (scheme.empty()) {
    r.store = StoreKind::file;
    r.file_root = uri;
  } else {
    throw ConfigError("mlflow: tracking_uri '" + uri + "': expected http(s)://host:port, file:<path> or a folder, got "
                      "scheme '" + scheme + "'; database stores cannot be written by this client: run `mlflow server "
                      "--backend-store-uri " + uri + "` and point tracking_uri at it");
  }
  if (r.store == StoreKind::file) {
    if (r.file_root.empty()) throw ConfigError("mlflow: option 'save_dir' is empty; name the mlruns folder");
    r.file_root = std::filesystem::absolute(r.file_root).lexically_normal();
    if (!r.file_root.has_filename() && r.file_root.has_parent_path()) r.file_root = r.file_root.parent_path();
  }
  if (r.store == StoreKind::rest) {
    const std::string user = env::text("MLFLOW_TRACKING_USERNAME");
    const std::string password = env::text("MLFLOW_TRACKING_PASSWORD");
    const std::string token = env::text("MLFLOW_TRACKING_TOKEN");
    if (!user.empty() || !password.empty()) {
      r.authorization = "Basic " + http::base64_encode(user + ":" + password);
    } else if (!token.empty()) {
      r.authorization = "Bearer " + token;
    }
    r.insecure_tls = env::flag("MLFLOW_TRACKING_INSECURE_TLS");
    r.ca_cert_path = env::text("MLFLOW_TRACKING_SERVER_CERT_PATH");
    r.client_cert_path = env::text("MLFLOW_TRACKING_CLIENT_CERT_PATH");
  }
  r.options = std::move(options);
  return r;
}

}  // namespace autotimm::mlflow
