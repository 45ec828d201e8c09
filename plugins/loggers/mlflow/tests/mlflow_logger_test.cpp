// The MLflow logger against a fake tracking server started by each test (every request's method, path, body, auth
// header and order), against failing servers, and against the documented mlruns/ file-store layout.
#include <gtest/gtest.h>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <boost/json.hpp>
#include <fstream>
#include <iterator>
#include <mutex>
#include <regex>
#include <set>

#include "autotimm/config.hpp"
#include "autotimm/error.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "fakes/fake_mlflow_server.hpp"
#include "file_store.hpp"
#include "mlflow_logger.hpp"
#include "mlflow_names.hpp"
#include "support/scoped_env.hpp"
#include "support/temp_dir.hpp"
#include "support/warning_capture.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace autotimm::mlflow {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::FakeMlflowServer;
using testing::LocalHttpRequest;
using testing::ScopedEnv;
using testing::TempDir;
using testing::WarningCapture;

/// Environment of a clean test: no MLflow variable from the developer's shell leaks in.
struct CleanEnv {
  ScopedEnv uri{"MLFLOW_TRACKING_URI", nullptr};
  ScopedEnv name{"MLFLOW_EXPERIMENT_NAME", nullptr};
  ScopedEnv run{"MLFLOW_RUN_ID", nullptr};
  ScopedEnv user{"MLFLOW_TRACKING_USERNAME", nullptr};
  ScopedEnv password{"MLFLOW_TRACKING_PASSWORD", nullptr};
  ScopedEnv token{"MLFLOW_TRACKING_TOKEN", nullptr};
  ScopedEnv timeout{"MLFLOW_HTTP_REQUEST_TIMEOUT", nullptr};
  ScopedEnv retries{"MLFLOW_HTTP_REQUEST_MAX_RETRIES", nullptr};
};

/// The logger as an application gets it: through the plugin's registry entry, every option key consumed.
std::shared_ptr<Logger> make_logger(const json::object& params) {
  auto& registry = autotimm::testing::registry_of(autotimm_plugin_descriptor());
  Config config(params, "mlflow params");
  auto logger = registry.loggers().get("mlflow").factory(config);
  config.expect_all_used();
  return logger;
}

MlflowLogger& as_mlflow(const std::shared_ptr<Logger>& logger) { return dynamic_cast<MlflowLogger&>(*logger); }

json::object body_of(const LocalHttpRequest& request) { return json::parse(request.body).as_object(); }

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Every regular file under `root`, relative, sorted.
std::set<std::string> files_under(const fs::path& root) {
  std::set<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    out.insert(fs::relative(entry.path(), root).string() + (entry.is_directory() ? "/" : ""));
  }
  return out;
}

std::vector<std::string> api_calls(const FakeMlflowServer& server) {
  std::vector<std::string> out;
  for (const auto& r : const_cast<FakeMlflowServer&>(server).http().requests()) out.push_back(r.method + " " + r.path);
  return out;
}

constexpr const char* kApi = "/api/2.0/mlflow/";
constexpr std::string_view kLogBatchPath = "/api/2.0/mlflow/runs/log-batch";

TEST(MlflowRestTest, CreatesExperimentAndRunLogsAndFinishesWithEveryRequestChecked) {
  CleanEnv env;
  ScopedEnv user("MLFLOW_TRACKING_USERNAME", "alice");
  ScopedEnv password("MLFLOW_TRACKING_PASSWORD", "s3cret");
  FakeMlflowServer server;
  const std::string auth = "Basic YWxpY2U6czNjcmV0";  // base64("alice:s3cret")
  server.require_authorization(auth);

  const auto before = now_ms();
  auto logger = make_logger({{"experiment_name", "cifar 10"}, {"run_name", "baseline"},
                             {"tracking_uri", server.endpoint() + "/"}, {"tags", json::object{{"team", "vision"}}}});
  const auto after = now_ms();
  logger->log_hyperparams({{"lr", 0.1}, {"optimizer", json::object{{"name", "sgd"}, {"nesterov", true}}},
                           {"epochs", 3}, {"note", nullptr}});
  logger->log_metrics({{"train/loss", 0.5}, {"val/acc", 0.25}}, 7);
  logger->log_metrics({{"train/loss", std::nan("")}}, 8);
  logger->save();
  logger->finalize(RunStatus::success);

  const auto requests = server.http().requests();
  ASSERT_EQ(api_calls(server), (std::vector<std::string>{
                                   "GET /api/2.0/mlflow/experiments/get-by-name",
                                   "POST /api/2.0/mlflow/experiments/create",
                                   "POST /api/2.0/mlflow/runs/create",
                                   "POST /api/2.0/mlflow/runs/log-batch",
                                   "POST /api/2.0/mlflow/runs/update"}));
  for (const auto& r : requests) {
    EXPECT_EQ(r.authorization, auth) << r.path;
    if (r.method == "POST") {
      EXPECT_EQ(r.header("content-type"), "application/json") << r.path;
    }
  }
  EXPECT_EQ(requests[0].query, "experiment_name=cifar%2010");
  EXPECT_EQ(body_of(requests[1]), (json::object{{"name", "cifar 10"}}));

  const json::object create = body_of(requests[2]);
  const std::string experiment_id = server.experiments().back().experiment_id;
  EXPECT_EQ(create.at("experiment_id").as_string(), experiment_id);
  EXPECT_EQ(create.at("run_name"), "baseline");
  EXPECT_GE(create.at("start_time").as_int64(), before);
  EXPECT_LE(create.at("start_time").as_int64(), after);
  std::map<std::string, std::string> tags;
  for (const auto& tag : create.at("tags").as_array()) {
    tags[std::string(tag.at("key").as_string())] = std::string(tag.at("value").as_string());
  }
  EXPECT_EQ(tags.at("mlflow.runName"), "baseline");
  EXPECT_EQ(tags.at("mlflow.source.type"), "LOCAL");
  EXPECT_EQ(tags.at("team"), "vision");
  EXPECT_FALSE(tags.at("mlflow.user").empty());
  EXPECT_NE(tags.at("mlflow.source.name").find("mlflow_logger_test"), std::string::npos);
  EXPECT_EQ(tags.size(), 5u);

  const auto run = server.runs().at(0);
  const json::object batch = body_of(requests[3]);
  EXPECT_EQ(batch.at("run_id").as_string(), run.run_id);
  EXPECT_EQ(batch.at("params"),
            (json::array{json::object{{"key", "lr"}, {"value", "0.1"}},
                         json::object{{"key", "optimizer/name"}, {"value", "sgd"}},
                         json::object{{"key", "optimizer/nesterov"}, {"value", "True"}},
                         json::object{{"key", "epochs"}, {"value", "3"}},
                         json::object{{"key", "note"}, {"value", "None"}}}));
  EXPECT_TRUE(batch.at("tags").as_array().empty());
  const json::array& metrics = batch.at("metrics").as_array();
  ASSERT_EQ(metrics.size(), 3u);
  EXPECT_EQ(metrics[0].at("key"), "train/loss");
  EXPECT_EQ(metrics[0].at("value").to_number<double>(), 0.5);
  EXPECT_EQ(metrics[0].at("step"), 7);
  EXPECT_EQ(metrics[1].at("key"), "val/acc");
  EXPECT_EQ(metrics[0].at("timestamp"), metrics[1].at("timestamp")) << "one timestamp per log_metrics call";
  EXPECT_EQ(metrics[2].at("value"), "NaN");
  EXPECT_EQ(metrics[2].at("step"), 8);

  const json::object update = body_of(requests[4]);
  EXPECT_EQ(update.at("run_id").as_string(), run.run_id);
  EXPECT_EQ(update.at("status"), "FINISHED");
  EXPECT_GE(update.at("end_time").as_int64(), after);
  EXPECT_EQ(update.size(), 3u);

  EXPECT_EQ(run.status, "FINISHED");
  EXPECT_EQ(run.params.at("optimizer/name"), "sgd");
  EXPECT_EQ(logger->version(), run.run_id);
  EXPECT_EQ(logger->name(), "cifar 10");
  EXPECT_TRUE(logger->log_dir().empty());
}

TEST(MlflowRestTest, ExistingExperimentIsReusedAndBearerTokenSent) {
  CleanEnv env;
  ScopedEnv token("MLFLOW_TRACKING_TOKEN", "tok-123");
  FakeMlflowServer server;
  server.require_authorization("Bearer tok-123");
  const std::string id = server.add_experiment("shared");
  ScopedEnv uri("MLFLOW_TRACKING_URI", server.endpoint());
  ScopedEnv name("MLFLOW_EXPERIMENT_NAME", "shared");
  auto logger = make_logger({});
  logger->finalize(RunStatus::failed);
  EXPECT_EQ(api_calls(server), (std::vector<std::string>{"GET /api/2.0/mlflow/experiments/get-by-name",
                                                         "POST /api/2.0/mlflow/runs/create",
                                                         "POST /api/2.0/mlflow/runs/update"}));
  const auto run = server.runs().at(0);
  EXPECT_EQ(run.experiment_id, id);
  EXPECT_EQ(run.status, "FAILED");
  EXPECT_EQ(body_of(server.http().requests()[2]).at("status"), "FAILED");
  EXPECT_FALSE(body_of(server.http().requests()[1]).contains("run_name")) << "the server names an unnamed run";
}

TEST(MlflowRestTest, DeletedExperimentCountsAsMissingAndARefusedRecreateSaysWhatToDo) {
  CleanEnv env;
  FakeMlflowServer server;
  server.add_experiment("gone", "deleted");
  try {
    make_logger({{"experiment_name", "gone"}, {"tracking_uri", server.endpoint()}});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("is deleted"), std::string::npos) << error.what();
  }
  EXPECT_EQ(api_calls(server), (std::vector<std::string>{"GET /api/2.0/mlflow/experiments/get-by-name",
                                                         "POST /api/2.0/mlflow/experiments/create",
                                                         "GET /api/2.0/mlflow/experiments/get-by-name"}));
}

TEST(MlflowRestTest, DestroyedWithoutFinalizeEndsTheRunKilled) {
  CleanEnv env;
  FakeMlflowServer server;
  { auto logger = make_logger({{"tracking_uri", server.endpoint()}}); }
  EXPECT_EQ(server.runs().at(0).status, "KILLED");
  EXPECT_EQ(server.experiments().back().name, "lightning_logs");
}

TEST(MlflowRestTest, LogBatchIsChunkedAtTheServerLimitsInOrder) {
  CleanEnv env;
  FakeMlflowServer server;
  auto logger = make_logger({{"tracking_uri", server.endpoint()}});
  json::object params;
  for (int i = 0; i < 250; ++i) params["p" + std::to_string(1000 + i)] = std::string(6100, 'x');  // cut to 6000
  logger->log_hyperparams(params);
  for (int step = 0; step < 25; ++step) {
    std::map<std::string, double> metrics;
    for (int k = 0; k < 100; ++k) metrics["m" + std::to_string(100 + k)] = step * 1000 + k;
    logger->log_metrics(metrics, step);
  }
  logger->save();
  std::vector<std::array<std::size_t, 3>> sizes;  // metrics, params, tags per log-batch
  for (const auto& r : server.http().requests()) {
    if (r.path != kLogBatchPath) continue;
    const auto body = body_of(r);
    EXPECT_LE(r.body.size(), 1000000u);
    sizes.push_back({body.at("metrics").as_array().size(), body.at("params").as_array().size(),
                     body.at("tags").as_array().size()});
  }
  // 100 params, 100 params, then 50 params + 950 metrics (1000 entities), 1000 metrics, 550 metrics.
  EXPECT_EQ(sizes, (std::vector<std::array<std::size_t, 3>>{
                       {0, 100, 0}, {0, 100, 0}, {950, 50, 0}, {1000, 0, 0}, {550, 0, 0}}));
  const auto run = server.runs().at(0);
  ASSERT_EQ(run.metrics.size(), 2500u);
  for (std::size_t i = 0; i < run.metrics.size(); ++i) {
    ASSERT_EQ(run.metrics[i].value, static_cast<double>(i / 100 * 1000 + i % 100)) << "order kept at " << i;
    ASSERT_EQ(run.metrics[i].step, static_cast<std::int64_t>(i / 100));
  }
  ASSERT_EQ(run.params.size(), 250u);
  EXPECT_EQ(run.params.at("p1249"), std::string(6000, 'x'));
  EXPECT_EQ(as_mlflow(logger).pending().metrics, 0u);
  logger->finalize(RunStatus::success);
}

TEST(MlflowRestTest, ParamsThatWouldChangeAreNotSentTwice) {
  CleanEnv env;
  FakeMlflowServer server;
  WarningCapture warnings;
  auto logger = make_logger({{"tracking_uri", server.endpoint()}});
  logger->log_hyperparams({{"lr", 0.1}});
  logger->log_hyperparams({{"lr", 0.1}, {"wd", 0.0}});
  logger->log_hyperparams({{"lr", 0.2}});
  logger->finalize(RunStatus::success);
  const auto run = server.runs().at(0);
  EXPECT_EQ(run.params, (std::map<std::string, std::string>{{"lr", "0.1"}, {"wd", "0.0"}}));
  ASSERT_EQ(warnings.messages().size(), 1u);
  EXPECT_NE(warnings.messages()[0].find("param 'lr'"), std::string::npos);
}

TEST(MlflowRestTest, ServerThatFailsAndRecoversLosesNothingKeepsOrderAndWarnsOnce) {
  CleanEnv env;
  FakeMlflowServer server;
  auto logger = make_logger({{"tracking_uri", server.endpoint()}, {"max_retries", 0}, {"retry_backoff_ms", 0}});
  WarningCapture warnings;
  server.http().inject({.path_part = "runs/log-batch", .times = 2, .status = 500,
                        .body = R"({"error_code":"INTERNAL_ERROR","message":"boom"})"});
  server.http().inject({.path_part = "runs/log-batch", .times = 1, .status = 0});  // dropped connection
  server.http().inject({.path_part = "runs/log-batch", .times = 1, .status = 503});
  for (int step = 0; step < 8; ++step) {
    EXPECT_NO_THROW(logger->log_metrics({{"loss", 1.0 / (step + 1)}}, step));
    EXPECT_NO_THROW(logger->save());
  }
  logger->finalize(RunStatus::success);
  const auto run = server.runs().at(0);
  ASSERT_EQ(run.metrics.size(), 8u);
  for (int step = 0; step < 8; ++step) {
    EXPECT_EQ(run.metrics[step].step, step);
    EXPECT_EQ(run.metrics[step].value, 1.0 / (step + 1));
  }
  EXPECT_EQ(run.status, "FINISHED");
  ASSERT_EQ(warnings.messages().size(), 1u) << "one warning for the outage";
  EXPECT_NE(warnings.messages()[0].find("cannot reach " + server.endpoint()), std::string::npos);
  // Four failed saves, then the fifth sends steps 0-4 in one batch.
  std::size_t batches = 0;
  for (const auto& r : server.http().requests()) batches += r.path == kLogBatchPath;
  EXPECT_EQ(batches, 4u + 4u);
}

TEST(MlflowRestTest, QuickRetriesHideATransientErrorWithoutAWarning) {
  CleanEnv env;
  FakeMlflowServer server;
  auto logger = make_logger({{"tracking_uri", server.endpoint()}, {"max_retries", 2}, {"retry_backoff_ms", 1}});
  WarningCapture warnings;
  server.http().inject({.path_part = "runs/log-batch", .times = 2, .status = 429});
  logger->log_metrics({{"a", 1}}, 0);
  logger->save();
  EXPECT_EQ(server.runs().at(0).metrics.size(), 1u);
  EXPECT_TRUE(warnings.messages().empty());
  logger->finalize(RunStatus::success);
}

TEST(MlflowRestTest, ServerThatNeverRecoversDoesNotStopTrainingAndFinalizeCountsWhatWasLost) {
  CleanEnv env;
  FakeMlflowServer server;
  auto logger = make_logger({{"tracking_uri", server.endpoint()}, {"max_retries", 0}, {"retry_backoff_ms", 0},
                             {"max_buffered_metrics", 5}});
  WarningCapture warnings;
  server.http().inject({.path_part = "/api/", .times = 1000000, .status = 503});
  EXPECT_NO_THROW(logger->log_hyperparams({{"lr", 0.1}}));
  for (int step = 0; step < 8; ++step) {
    EXPECT_NO_THROW(logger->log_metrics({{"loss", step}}, step));
    EXPECT_NO_THROW(logger->save());
  }
  EXPECT_NO_THROW(logger->log_text("notes", "hello", 0));
  const auto pending = as_mlflow(logger).pending();
  EXPECT_EQ(pending.metrics, 5u);
  EXPECT_EQ(pending.dropped_metrics, 3u);
  EXPECT_EQ(pending.params, 1u);
  EXPECT_EQ(pending.artifacts, 1u);
  EXPECT_NO_THROW(logger->finalize(RunStatus::success));
  const auto messages = warnings.messages();
  ASSERT_FALSE(messages.empty());
  const std::string& last = messages.back();
  EXPECT_NE(last.find("5 metric points, 1 params, 0 tags and 1 artifacts could not be sent"), std::string::npos)
      << last;
  EXPECT_NE(last.find("3 metric points and 0 artifacts were dropped"), std::string::npos) << last;
  EXPECT_NE(last.find("could not be marked ended"), std::string::npos) << last;
  EXPECT_EQ(server.runs().at(0).metrics.size(), 0u);
}

TEST(MlflowRestTest, ServerDownAtStartCreatesTheRunOnALaterSave) {
  CleanEnv env;
  FakeMlflowServer server;
  server.http().inject({.path_part = "experiments/get-by-name", .times = 1, .status = 0});
  WarningCapture warnings;
  auto logger = make_logger({{"tracking_uri", server.endpoint()}, {"max_retries", 0}, {"retry_backoff_ms", 0}});
  EXPECT_EQ(logger->version(), "") << "no run yet";
  logger->log_metrics({{"a", 1}}, 0);
  logger->save();
  logger->finalize(RunStatus::success);
  ASSERT_EQ(server.runs().size(), 1u);
  EXPECT_EQ(server.runs()[0].metrics.size(), 1u);
  EXPECT_EQ(logger->version(), server.runs()[0].run_id);
  EXPECT_EQ(warnings.messages().size(), 1u);
}

TEST(MlflowRestTest, NothingListeningDoesNotThrow) {
  CleanEnv env;
  std::string endpoint;
  { FakeMlflowServer gone; endpoint = gone.endpoint(); }  // a port that was just closed
  WarningCapture warnings;
  std::shared_ptr<Logger> logger;
  ASSERT_NO_THROW(logger = make_logger({{"tracking_uri", endpoint}, {"max_retries", 0}, {"request_timeout_s", 2}}));
  EXPECT_NO_THROW(logger->log_metrics({{"a", 1}}, 0));
  EXPECT_NO_THROW(logger->save());
  EXPECT_NO_THROW(logger->finalize(RunStatus::failed));
  ASSERT_GE(warnings.messages().size(), 2u);
  EXPECT_NE(warnings.messages().back().find("1 metric points"), std::string::npos) << warnings.messages().back();
  EXPECT_NE(warnings.messages().back().find("(never created)"), std::string::npos);
}

TEST(MlflowRestTest, RefusedCredentialsAreAConfigError) {
  CleanEnv env;
  FakeMlflowServer server;
  server.require_authorization("Bearer right");
  ScopedEnv token("MLFLOW_TRACKING_TOKEN", "wrong");
  EXPECT_THROW(make_logger({{"tracking_uri", server.endpoint()}}), ConfigError);
}

TEST(MlflowRestTest, ImagesAndTextsAreUploadedAsArtifacts) {
  CleanEnv env;
  FakeMlflowServer server;
  auto logger = make_logger({{"tracking_uri", server.endpoint()}, {"prefix", "fold1"}});
  logger->log_image("samples/batch", torch::rand({3, 4, 5}), 3);
  logger->log_text("notes", "héllo", 2);
  logger->log_histogram("weights", torch::tensor({1.0, 2.0, 3.0}), 1);
  logger->finalize(RunStatus::success);
  const auto run = server.runs().at(0);
  const auto artifacts = server.artifacts();
  ASSERT_EQ(artifacts.size(), 2u);
  const auto& png = artifacts.at(run.experiment_id + "/" + run.run_id + "/artifacts/images/samples/batch/step_3.png");
  EXPECT_EQ(png.content_type, "image/png");
  EXPECT_EQ(png.bytes.substr(0, 4), "\x89PNG");
  const auto& text = artifacts.at(run.experiment_id + "/" + run.run_id + "/artifacts/texts/notes/step_2.txt");
  EXPECT_EQ(text.bytes, "héllo");
  EXPECT_EQ(text.content_type, "text/plain; charset=utf-8");
  std::map<std::string, double> stats;
  for (const auto& m : run.metrics) stats[m.key] = m.value;
  EXPECT_EQ(stats, (std::map<std::string, double>{{"fold1-weights/max", 3.0}, {"fold1-weights/mean", 2.0},
                                                  {"fold1-weights/min", 1.0}, {"fold1-weights/std", 1.0}}));
}

TEST(MlflowRestTest, UnsupportedArtifactStoreIsCountedNotThrown) {
  CleanEnv env;
  FakeMlflowServer server;
  server.set_artifact_root("s3://bucket");
  auto logger = make_logger({{"tracking_uri", server.endpoint()}});
  logger->log_text("notes", "x", 0);
  EXPECT_NO_THROW(logger->save());
  EXPECT_EQ(as_mlflow(logger).pending().rejected, 1u);
  logger->finalize(RunStatus::success);
}

TEST(MlflowRestTest, ResumesAnExistingRun) {
  CleanEnv env;
  FakeMlflowServer server;
  std::string run_id;
  {
    auto first = make_logger({{"experiment_name", "e"}, {"tracking_uri", server.endpoint()}});
    first->log_metrics({{"a", 1}}, 0);
    first->finalize(RunStatus::killed);
    run_id = first->version();
  }
  server.http().clear_requests();
  auto second = make_logger({{"tracking_uri", server.endpoint()}, {"run_id", run_id}});
  second->log_metrics({{"a", 2}}, 1);
  second->finalize(RunStatus::success);
  EXPECT_EQ(api_calls(server), (std::vector<std::string>{"GET /api/2.0/mlflow/runs/get",
                                                         "GET /api/2.0/mlflow/experiments/get",
                                                         "POST /api/2.0/mlflow/runs/update",
                                                         "POST /api/2.0/mlflow/runs/log-batch",
                                                         "POST /api/2.0/mlflow/runs/update"}));
  EXPECT_EQ(second->name(), "e");
  EXPECT_EQ(server.runs().size(), 1u);
  EXPECT_EQ(server.runs()[0].metrics.size(), 2u);
  EXPECT_EQ(server.runs()[0].status, "FINISHED");
  EXPECT_THROW(make_logger({{"tracking_uri", server.endpoint()}, {"run_id", "0123abc"}}), ConfigError);
}

TEST(MlflowNamesTest, KeysAreSanitisedTheWayMlflowAcceptsThem) {
  EXPECT_EQ(sanitize_key("val/acc"), "val/acc");
  EXPECT_EQ(sanitize_key("a:b"), "ab");
  EXPECT_EQ(sanitize_key("loss (x)"), "loss x");
  EXPECT_EQ(sanitize_key("top-1 acc.v2"), "top-1 acc.v2");
  EXPECT_EQ(sanitize_key("/train//loss/"), "train/loss");
  EXPECT_EQ(sanitize_key("a/../b/./c"), "a/b/c");
  EXPECT_EQ(sanitize_key("ünï"), "n");
  EXPECT_EQ(sanitize_key("@#!"), "");
  EXPECT_EQ(sanitize_key(std::string(300, 'k')).size(), 250u);
  EXPECT_EQ(param_text(json::value(1e-5)), "1e-05");
  EXPECT_EQ(param_text(json::value(3.0)), "3.0");
  EXPECT_EQ(param_text(json::value(false)), "False");
  EXPECT_EQ(param_text(json::array{1, 2}), "[1,2]");
  EXPECT_EQ(truncate_utf8("aé", 2), "a");
}

TEST(MlflowNamesTest, SanitisedNamesReachTheServerAndWarnOncePerName) {
  CleanEnv env;
  FakeMlflowServer server;
  auto logger = make_logger({{"tracking_uri", server.endpoint()}});
  WarningCapture warnings;
  logger->log_metrics({{"val/top:1", 1}, {"??", 2}}, 0);
  logger->log_metrics({{"val/top:1", 3}}, 1);
  logger->finalize(RunStatus::success);
  const auto run = server.runs().at(0);
  ASSERT_EQ(run.metrics.size(), 2u);
  EXPECT_EQ(run.metrics[0].key, "val/top1");
  EXPECT_EQ(warnings.messages().size(), 2u);  // one per bad name, not per call
}

TEST(MlflowOptionsTest, BadOptionsAreConfigErrors) {
  CleanEnv env;
  TempDir dir;
  const std::string save_dir = (dir / "mlruns").string();
  EXPECT_THROW(make_logger({{"save_dir", save_dir}, {"log_model", true}}), ConfigError);
  EXPECT_THROW(make_logger({{"tracking_uri", "sqlite:///mlflow.db"}}), ConfigError);
  EXPECT_THROW(make_logger({{"tracking_uri", "databricks"}, {"save_dir", save_dir}, {"max_retries", -1}}),
               ConfigError);
  EXPECT_THROW(make_logger({{"save_dir", save_dir}, {"tags", json::array{"a"}}}), ConfigError);
  EXPECT_THROW(make_logger({{"save_dir", save_dir}, {"experiment_nme", "x"}}), ConfigError);
  EXPECT_THROW(make_logger({{"save_dir", save_dir}, {"run_name", 3}}), ConfigError);
  EXPECT_THROW(make_logger({{"save_dir", save_dir}, {"run_id", "../x"}}), ConfigError);
  EXPECT_THROW(make_logger({{"tracking_uri", "file://otherhost/x"}}), ConfigError);
  try {
    make_logger({{"tracking_uri", "postgresql://db/mlflow"}});
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("mlflow server --backend-store-uri"), std::string::npos);
  }
  ScopedEnv retries("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "many");
  EXPECT_THROW(make_logger({{"save_dir", save_dir}}), ConfigError);
}

TEST(MlflowFileStoreTest, WritesTheDocumentedLayoutFileByFile) {
  CleanEnv env;
  TempDir dir;
  const fs::path root = dir / "mlruns";
  const auto before = now_ms();
  auto logger = make_logger({{"experiment_name", "it's"}, {"run_name", "r1"}, {"tracking_uri", "file:" + root.string()},
                             {"tags", json::object{{"team", "vision"}}}});
  logger->log_hyperparams({{"model", json::object{{"name", "resnet18"}}}, {"lr", 0.01}});
  logger->log_metrics({{"train/loss", 0.5}, {"acc", 1.0}}, 0);
  logger->save();
  logger->log_metrics({{"train/loss", 0.25}}, 1);
  logger->log_text("notes", "hi", 1);
  logger->finalize(RunStatus::success);
  const auto after = now_ms();

  auto& m = as_mlflow(logger);
  const std::string exp = m.experiment_id(), run = m.version();
  EXPECT_TRUE(std::regex_match(exp, std::regex("[1-9][0-9]{17}"))) << exp;
  EXPECT_TRUE(std::regex_match(run, std::regex("[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}"))) << run;
  EXPECT_EQ(logger->log_dir(), root / exp / run);
  const std::string r = exp + "/" + run + "/";
  EXPECT_EQ(files_under(root),
            (std::set<std::string>{".trash/", "0/", "0/meta.yaml", exp + "/", exp + "/meta.yaml", exp + "/" + run + "/",
                                   r + "meta.yaml", r + "metrics/", r + "metrics/train/", r + "metrics/train/loss",
                                   r + "metrics/acc", r + "params/", r + "params/model/", r + "params/model/name",
                                   r + "params/lr", r + "tags/", r + "tags/mlflow.runName", r + "tags/mlflow.user",
                                   r + "tags/mlflow.source.name", r + "tags/mlflow.source.type", r + "tags/team",
                                   r + "artifacts/", r + "artifacts/texts/", r + "artifacts/texts/notes/",
                                   r + "artifacts/texts/notes/step_1.txt"}));

  const auto default_meta = read_text(root / "0" / "meta.yaml");
  EXPECT_TRUE(std::regex_match(default_meta, std::regex("artifact_location: 'file://" + root.string() + "/0'\n"
                                                        "creation_time: [0-9]{13}\n"
                                                        "experiment_id: '0'\n"
                                                        "last_update_time: [0-9]{13}\n"
                                                        "lifecycle_stage: 'active'\n"
                                                        "name: 'Default'\n")))
      << default_meta;
  const auto exp_meta = read_text(root / exp / "meta.yaml");
  EXPECT_TRUE(std::regex_match(exp_meta, std::regex("artifact_location: 'file://" + root.string() + "/" + exp + "'\n"
                                                    "creation_time: [0-9]{13}\n"
                                                    "experiment_id: '" + exp + "'\n"
                                                    "last_update_time: [0-9]{13}\n"
                                                    "lifecycle_stage: 'active'\n"
                                                    "name: 'it''s'\n")))
      << exp_meta;
  const auto run_meta = read_text(root / exp / run / "meta.yaml");
  std::smatch times;
  ASSERT_TRUE(std::regex_match(run_meta, times, std::regex("artifact_uri: 'file://" + root.string() + "/" + exp + "/" +
                                                           run + "/artifacts'\n"
                                                           "deleted_time: null\n"
                                                           "end_time: ([0-9]{13})\n"
                                                           "entry_point_name: ''\n"
                                                           "experiment_id: '" + exp + "'\n"
                                                           "lifecycle_stage: 'active'\n"
                                                           "run_id: '" + run + "'\n"
                                                           "run_name: 'r1'\n"
                                                           "run_uuid: '" + run + "'\n"
                                                           "source_name: ''\n"
                                                           "source_type: 4\n"
                                                           "source_version: ''\n"
                                                           "start_time: ([0-9]{13})\n"
                                                           "status: 3\n"
                                                           "tags: \\[\\]\n"
                                                           "user_id: '[^']+'\n")))
      << run_meta;
  EXPECT_GE(std::stoll(times[2]), before);
  EXPECT_LE(std::stoll(times[1]), after);

  const auto loss = read_text(root / exp / run / "metrics/train/loss");
  EXPECT_TRUE(std::regex_match(loss, std::regex("[0-9]{13} 0.5 0\n[0-9]{13} 0.25 1\n"))) << loss;
  EXPECT_TRUE(std::regex_match(read_text(root / exp / run / "metrics/acc"), std::regex("[0-9]{13} 1 0\n")));
  EXPECT_EQ(read_text(root / exp / run / "params/model/name"), "resnet18");
  EXPECT_EQ(read_text(root / exp / run / "params/lr"), "0.01");
  EXPECT_EQ(read_text(root / exp / run / "tags/mlflow.runName"), "r1");
  EXPECT_EQ(read_text(root / exp / run / "tags/mlflow.source.type"), "LOCAL");
  EXPECT_EQ(read_text(root / exp / run / "tags/team"), "vision");
  EXPECT_EQ(read_text(root / exp / run / "artifacts/texts/notes/step_1.txt"), "hi");
}

TEST(MlflowFileStoreTest, SecondRunReusesTheExperimentAndFailedStatusIsFour) {
  CleanEnv env;
  TempDir dir;
  ScopedEnv name("MLFLOW_EXPERIMENT_NAME", "shared");
  auto first = make_logger({{"save_dir", (dir / "store").string()}});
  first->finalize(RunStatus::success);
  ScopedEnv uri("MLFLOW_TRACKING_URI", (dir / "store").string());  // a plain path is the file store too
  auto second = make_logger({});
  second->log_metrics({{"x", std::numeric_limits<double>::infinity()}}, 5);
  second->finalize(RunStatus::failed);
  auto& a = as_mlflow(first);
  auto& b = as_mlflow(second);
  EXPECT_EQ(a.experiment_id(), b.experiment_id());
  EXPECT_NE(a.version(), b.version());
  EXPECT_EQ(b.name(), "shared");
  const auto meta = read_meta_yaml(second->log_dir() / "meta.yaml");
  EXPECT_EQ(meta.at("status"), "4");
  EXPECT_EQ(meta.at("run_name"), "run-" + b.version().substr(0, 8));
  EXPECT_TRUE(std::regex_match(read_text(second->log_dir() / "metrics/x"), std::regex("[0-9]{13} inf 5\n")));
  // Resuming appends to the same run and sets it running, then finished again.
  auto resumed = make_logger({{"run_id", b.version()}});
  EXPECT_EQ(read_meta_yaml(resumed->log_dir() / "meta.yaml").at("status"), "1");
  resumed->log_metrics({{"x", 2.5}}, 6);
  resumed->finalize(RunStatus::success);
  EXPECT_TRUE(std::regex_match(read_text(second->log_dir() / "metrics/x"),
                               std::regex("[0-9]{13} inf 5\n[0-9]{13} 2.5 6\n")));
  EXPECT_EQ(read_meta_yaml(resumed->log_dir() / "meta.yaml").at("status"), "3");
  EXPECT_EQ(read_meta_yaml(resumed->log_dir() / "meta.yaml").at("run_name"), meta.at("run_name"));
}

TEST(MlflowFileStoreTest, ImagesArePngArtifacts) {
  CleanEnv env;
  TempDir dir;
  auto logger = make_logger({{"save_dir", dir.path().string()}});
  logger->log_image("pred", torch::zeros({8, 6, 3}, torch::kUInt8), 4);
  logger->finalize(RunStatus::success);
  const auto png = read_text(logger->log_dir() / "artifacts/images/pred/step_4.png");
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

TEST(MlflowPluginTest, RegistersMlflowLogger) {
  auto& registry = autotimm::testing::registry_of(autotimm_plugin_descriptor());
  EXPECT_NE(registry.loggers().get("mlflow").description.find("MLflow"), std::string::npos);
}

}  // namespace
}  // namespace autotimm::mlflow
