#pragma once
// RestStore: the MLflow REST API 2.0 over the shared HTTP client. Each request is retried a few times on 408, 429,
// 5xx and dropped connections (with exponential backoff); what still fails becomes StoreUnavailable, and a
// definite refusal (another 4xx) becomes StoreRejected carrying the server's error_code and message.
#include <chrono>
#include <string>

#include <boost/json/value.hpp>

#include "http/http_client.hpp"
#include "run_store.hpp"

namespace autotimm::mlflow {

struct RestStoreOptions {
  std::string server_uri = {};     ///< http(s)://host:port[/prefix], no trailing '/'
  std::string authorization = {};  ///< the whole header value, or empty
  long timeout_s = 120;
  int max_retries = 2;
  std::chrono::milliseconds first_backoff{500};
  bool insecure_tls = false;
  std::string ca_cert_path = {};
  std::string client_cert_path = {};
};

class RestStore : public RunStore {
 public:
  explicit RestStore(RestStoreOptions options);
  RunInfo start(const StartRequest& request) override;
  void log_batch(const RunInfo& run, std::span<const Record> batch) override;
  void put_artifact(const RunInfo& run, const std::string& path, const std::string& bytes,
                    const std::string& content_type) override;
  void end(const RunInfo& run, RunStatus status, std::int64_t end_time) override;
  std::string location() const override { return options_.server_uri; }

  /// Quick retries per request; the logger sets 0 while the server is known to be away, so a save() does not block.
  void set_max_retries(int retries) noexcept { retries_ = retries; }

 private:
  /// GET or POST `api/2.0/mlflow/<endpoint>`; the parsed JSON answer of a 2xx, StoreUnavailable / StoreRejected else.
  boost::json::value call(const std::string& method, const std::string& endpoint, const std::string& body = {});
  http::Response send(http::Request request);
  std::string artifact_url(const RunInfo& run, const std::string& path) const;

  RestStoreOptions options_;
  http::Client client_;
  int retries_;
};

/// The JSON body of a log-batch request for `batch`: {"run_id", "metrics", "params", "tags"}.
std::string log_batch_body(const std::string& run_id, std::span<const Record> batch);
/// A record's size inside a log-batch body, for keeping batches under BatchLimits::kBodyBytes.
std::size_t serialized_size(const Record& record);

}  // namespace autotimm::mlflow
