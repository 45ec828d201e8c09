// The W&B logger against a fake W&B server started by each test (every request's auth header, operation, variables,
// offsets and order), against servers that fail, recover or never answer, offline with `sync` afterwards, and the
// run folder's files.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <iterator>
#include <regex>
#include <thread>

#include "autotimm/config.hpp"
#include "autotimm/error.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "fakes/fake_wandb_server.hpp"
#include "json_text.hpp"
#include "run_folder.hpp"
#include "support/scoped_env.hpp"
#include "support/temp_dir.hpp"
#include "support/warning_capture.hpp"
#include "wandb_logger.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace autotimm::wandb {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::FakeWandbServer;
using testing::LocalHttpRequest;
using testing::parse_wandb_line;
using testing::ScopedEnv;
using testing::TempDir;
using testing::WarningCapture;

constexpr const char* kAuthorization = "Basic YXBpOnRlc3QtYXBpLWtleQ==";  // api:test-api-key

/// No W&B variable from the developer's shell leaks in; the API key and server are the fake's.
struct Env {
  explicit Env(const std::string& base_url)
      : base{"WANDB_BASE_URL", base_url}, key{"WANDB_API_KEY", "test-api-key"} {}
  ScopedEnv base;
  ScopedEnv key;
  ScopedEnv mode{"WANDB_MODE", nullptr};
  ScopedEnv project{"WANDB_PROJECT", nullptr};
  ScopedEnv entity{"WANDB_ENTITY", nullptr};
  ScopedEnv run_id{"WANDB_RUN_ID", nullptr};
  ScopedEnv name{"WANDB_NAME", nullptr};
  ScopedEnv notes{"WANDB_NOTES", nullptr};
  ScopedEnv tags{"WANDB_TAGS", nullptr};
  ScopedEnv group{"WANDB_RUN_GROUP", nullptr};
  ScopedEnv job{"WANDB_JOB_TYPE", nullptr};
  ScopedEnv dir{"WANDB_DIR", nullptr};
  ScopedEnv netrc{"NETRC", "/nonexistent/netrc"};
};

const LoggerEntry& entry() {
  return autotimm::testing::registry_of(autotimm_plugin_descriptor()).loggers().get("wandb");
}

/// The logger as an application gets it: through the plugin's registry entry, every option key consumed.
std::shared_ptr<Logger> make_logger(const json::object& params) {
  Config config(params, "wandb params");
  auto logger = entry().factory(config);
  config.expect_all_used();
  return logger;
}

WandbLogger& as_wandb(const std::shared_ptr<Logger>& logger) { return dynamic_cast<WandbLogger&>(*logger); }

std::string sync(const fs::path& dir, const json::object& params = {}) {
  Config config(params, "wandb sync");
  return entry().sync(dir, config);
}

json::object body_of(const LocalHttpRequest& request) { return json::parse(request.body).as_object(); }

std::string operation_of(const LocalHttpRequest& request) {
  if (request.path != "/graphql") return request.method + " " + request.path;
  return std::string(body_of(request).at("operationName").as_string());
}

std::vector<std::string> calls(FakeWandbServer& server) {
  std::vector<std::string> out;
  for (const auto& r : server.http().requests()) out.push_back(operation_of(r));
  return out;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

json::object row_of(const std::string& line) { return parse_wandb_line(line).as_object(); }

/// Polls `done` for up to 20 s (tests share two cores with the build): timing never decides a result, only order.
template <class Done>
bool eventually(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

bool contains(const std::vector<std::string>& messages, const std::string& part) {
  return std::any_of(messages.begin(), messages.end(), [&](const std::string& m) { return m.find(part) != m.npos; });
}

TEST(WandbOnlineTest, CreatesStreamsAndCompletesTheRunWithEveryRequestChecked) {
  FakeWandbServer server;
  Env env(server.endpoint());
  TempDir dir;
  auto logger = make_logger({{"project", "cifar"}, {"name", "baseline"}, {"id", "abc123xy"}, {"notes", "first try"},
                             {"tags", json::array{"resnet", "tiny"}}, {"group", "sweep1"}, {"job_type", "train"},
                             {"save_dir", dir.path().string()}, {"flush_interval_ms", 600000}});
  ASSERT_EQ(calls(server), (std::vector<std::string>{"Viewer", "UpsertBucket"})) << "the run exists at once";
  logger->log_hyperparams({{"lr", 0.1}, {"optimizer", json::object{{"name", "sgd"}}}});
  logger->log_metrics({{"train/loss", 0.5}, {"val/acc", 0.25}}, 7);
  logger->log_metrics({{"train/loss", std::nan("")}}, 8);
  logger->log_text("notes", "hello \"world\"", 8);
  logger->save();
  EXPECT_EQ(server.http().request_count(), 2u) << "nothing is sent before flush_interval_ms";
  logger->finalize(RunStatus::success);

  const auto requests = server.http().requests();
  ASSERT_EQ(calls(server), (std::vector<std::string>{"Viewer", "UpsertBucket", "UpsertBucket",
                                                     "POST /files/alice/cifar/abc123xy/file_stream"}));
  for (const auto& r : requests) {
    EXPECT_EQ(r.authorization, kAuthorization) << r.path;
    EXPECT_EQ(r.header("content-type"), "application/json") << r.path;
  }
  const json::object create = body_of(requests[1]).at("variables").as_object();
  EXPECT_EQ(create.at("name"), "abc123xy");
  EXPECT_EQ(create.at("project"), "cifar");
  EXPECT_EQ(create.at("entity"), "alice") << "the Viewer's entity";
  EXPECT_EQ(create.at("displayName"), "baseline");
  EXPECT_EQ(create.at("notes"), "first try");
  EXPECT_EQ(create.at("groupName"), "sweep1");
  EXPECT_EQ(create.at("jobType"), "train");
  EXPECT_EQ(create.at("tags"), (json::array{"resnet", "tiny"}));
  EXPECT_EQ(create.at("config"), "{}") << "config is a JSON string";
  EXPECT_FALSE(create.contains("id"));
  const json::object update = body_of(requests[2]).at("variables").as_object();
  const auto run = server.run("abc123xy").value();
  EXPECT_EQ(update.at("id").as_string(), run.storage_id);
  EXPECT_EQ(json::parse(update.at("config").as_string()),
            (json::object{{"lr", json::object{{"value", 0.1}}},
                          {"optimizer", json::object{{"value", json::object{{"name", "sgd"}}}}}}));

  const json::object stream = body_of(requests[3]);
  const auto& history = stream.at("files").at("wandb-history.jsonl").as_object();
  EXPECT_EQ(history.at("offset"), 0);
  ASSERT_EQ(history.at("content").as_array().size(), 3u);
  const json::object first = row_of(std::string(history.at("content").as_array()[0].as_string()));
  EXPECT_EQ(first.at("train/loss"), 0.5);
  EXPECT_EQ(first.at("val/acc"), 0.25);
  EXPECT_EQ(first.at("trainer/global_step"), 7);
  EXPECT_EQ(first.at("_step"), 0);
  EXPECT_GE(first.at("_runtime").to_number<double>(), 0.0);
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(first.at("_timestamp").to_number<double>(), now, 60.0);
  const std::string second(history.at("content").as_array()[1].as_string());
  EXPECT_NE(second.find("\"train/loss\":NaN"), std::string::npos) << "NaN as the wandb client writes it: " << second;
  EXPECT_EQ(row_of(second).at("_step"), 1);
  EXPECT_EQ(row_of(std::string(history.at("content").as_array()[2].as_string())).at("notes"), "hello \"world\"");
  EXPECT_EQ(stream.at("complete"), true);
  EXPECT_EQ(stream.at("exitcode"), 0);
  const json::object summary = parse_wandb_line(std::string(
      stream.at("files").at("wandb-summary.json").at("content").as_array()[0].as_string())).as_object();
  EXPECT_EQ(summary.at("train/loss"), "NaN") << "the last value";
  EXPECT_EQ(summary.at("val/acc"), 0.25);
  EXPECT_EQ(summary.at("notes"), "hello \"world\"");
  EXPECT_EQ(summary.at("_step"), 2);

  EXPECT_TRUE(run.complete);
  EXPECT_EQ(run.exitcode, 0);
  EXPECT_EQ(run.history.size(), 3u);
  EXPECT_EQ(run.tags, (std::vector<std::string>{"resnet", "tiny"}));
  EXPECT_FALSE(run.host.empty());
  EXPECT_EQ(logger->name(), "cifar");
  EXPECT_EQ(logger->version(), "abc123xy");

  // The run folder: wandb's layout, our spool, latest-run.
  const fs::path folder = logger->log_dir();
  EXPECT_EQ(folder.parent_path(), dir.path() / "wandb");
  EXPECT_TRUE(std::regex_match(folder.filename().string(), std::regex("run-[0-9]{8}_[0-9]{6}-abc123xy")))
      << folder.filename();
  EXPECT_EQ(fs::read_symlink(dir.path() / "wandb" / "latest-run"), folder.filename());
  EXPECT_EQ(read_text(folder / "files" / "config.yaml"),
            "wandb_version: 1\n\nlr:\n  value: 0.1\noptimizer:\n  value:\n    name: sgd\n");
  EXPECT_EQ(parse_wandb_line(read_text(folder / "files" / "wandb-summary.json")).at("val/acc"), 0.25);
  const SpoolContents spool = read_spool(folder);
  EXPECT_EQ(spool.history, run.history);
  EXPECT_EQ(spool.exitcode, 0);
  EXPECT_EQ(spool.run.config.at("lr"), 0.1);
  EXPECT_EQ(spool.run.run_id, "abc123xy");
  EXPECT_EQ(spool.run.entity, "") << "the spool keeps what was asked; the server resolved the entity";
}

TEST(WandbOnlineTest, EntityFromTheEnvironmentSkipsTheViewerAndAFailedRunExitsWithOne) {
  FakeWandbServer server;
  Env env(server.endpoint());
  ScopedEnv entity("WANDB_ENTITY", "team-x");
  ScopedEnv project("WANDB_PROJECT", "envproj");
  ScopedEnv id("WANDB_RUN_ID", "fromenv1");
  TempDir dir;
  auto logger = make_logger({{"save_dir", dir.path().string()}, {"prefix", "fold0"}});
  logger->log_metrics({{"loss", 1.0}}, 0);
  logger->finalize(RunStatus::failed);
  EXPECT_EQ(calls(server), (std::vector<std::string>{"UpsertBucket", "POST /files/team-x/envproj/fromenv1/file_stream"}));
  const auto run = server.run("fromenv1").value();
  EXPECT_EQ(run.entity, "team-x");
  EXPECT_EQ(run.exitcode, 1);
  EXPECT_TRUE(row_of(run.history.at(0)).contains("fold0-loss")) << run.history.at(0);
}

TEST(WandbOnlineTest, DestroyedWithoutFinalizeEndsTheRunKilled) {
  FakeWandbServer server;
  Env env(server.endpoint());
  TempDir dir;
  { auto logger = make_logger({{"save_dir", dir.path().string()}, {"id", "killed01"}}); }
  const auto run = server.run("killed01").value();
  EXPECT_TRUE(run.complete);
  EXPECT_EQ(run.exitcode, 255);
  EXPECT_EQ(run.project, "lightning_logs") << "Lightning's default project";
}

TEST(WandbOnlineTest, ServerThatFailsAndRecoversLosesNothingAndKeepsLineNumbers) {
  FakeWandbServer server;
  Env env(server.endpoint());
  TempDir dir;
  WarningCapture warnings;
  auto logger = make_logger({{"save_dir", dir.path().string()}, {"id", "flaky001"}, {"flush_interval_ms", 5},
                             {"max_retries", 0}, {"retry_backoff_ms", 5}});
  server.http().inject({.path_part = "/file_stream", .times = 3, .status = 503});
  server.http().inject({.path_part = "/file_stream", .times = 1, .status = 0});  // connection dropped
  for (int step = 0; step < 60; ++step) {
    logger->log_metrics({{"loss", 100.0 - step}}, step);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // The background sender meets all four failures before the end, and recovers from them.
  ASSERT_TRUE(eventually([&] { return as_wandb(logger).counts().failed_attempts >= 4; }));
  logger->finalize(RunStatus::success);
  const auto run = server.run("flaky001").value();
  ASSERT_EQ(run.history.size(), 60u);
  for (int i = 0; i < 60; ++i) {
    const auto row = row_of(run.history[static_cast<std::size_t>(i)]);
    ASSERT_EQ(row.at("_step"), i);
    ASSERT_EQ(row.at("loss").to_number<double>(), 100.0 - i);
  }
  EXPECT_TRUE(run.complete);
  // Each request starts where the acknowledged lines end: offsets never skip and never go back past them.
  std::int64_t acknowledged = 0;
  for (const auto& r : server.http().requests()) {
    if (r.path.find("file_stream") == std::string::npos) continue;
    const auto body = body_of(r);
    if (!body.contains("files") || !body.at("files").as_object().contains("wandb-history.jsonl")) continue;
    const auto& history = body.at("files").at("wandb-history.jsonl");
    EXPECT_LE(history.at("offset").as_int64(), acknowledged);
    acknowledged = std::max(acknowledged, history.at("offset").as_int64() +
                                              static_cast<std::int64_t>(history.at("content").as_array().size()));
  }
  EXPECT_EQ(acknowledged, 60);
  const auto counts = as_wandb(logger).counts();
  EXPECT_GE(counts.failed_attempts, 1u);
  EXPECT_EQ(counts.sent_lines, 60u);
  const auto messages = warnings.messages();
  EXPECT_EQ(std::count_if(messages.begin(), messages.end(),
                          [](const std::string& m) { return m.find("training goes on") != m.npos; }),
            1) << "one warning per outage";
}

TEST(WandbOnlineTest, HeartbeatsKeepAnIdleRunAlive) {
  FakeWandbServer server;
  Env env(server.endpoint());
  TempDir dir;
  auto logger = make_logger({{"save_dir", dir.path().string()}, {"id", "idle0001"}, {"heartbeat_interval_ms", 20}});
  EXPECT_TRUE(eventually([&] { return server.run("idle0001")->heartbeats >= 3; }));
  EXPECT_EQ(server.run("idle0001")->history.size(), 0u);
  logger->finalize(RunStatus::success);
}

TEST(WandbOnlineTest, ServerThatNeverAnswersDoesNotStopTrainingAndSyncFinishesTheRunLater) {
  FakeWandbServer server;
  Env env(server.endpoint());
  TempDir dir;
  WarningCapture warnings;
  auto logger = make_logger({{"save_dir", dir.path().string()}, {"id", "outage01"}, {"flush_interval_ms", 5},
                             {"max_retries", 0}, {"retry_backoff_ms", 1}});
  server.http().inject({.path_part = "/file_stream", .times = 100000, .status = 502});
  for (int step = 0; step < 5; ++step) logger->log_metrics({{"loss", 1.0 / (step + 1)}}, step);
  logger->log_image("samples", torch::rand({3, 8, 8}), 4);
  EXPECT_NO_THROW(logger->finalize(RunStatus::success));
  EXPECT_TRUE(contains(warnings.messages(), "autotimm wandb sync " + logger->log_dir().string()))
      << "the closing warning says how to send the rest";
  EXPECT_FALSE(server.run("outage01")->complete);

  server.http().clear_failures();
  const std::string report = sync(logger->log_dir());
  EXPECT_NE(report.find("6 history rows, 1 files, exit code 0"), std::string::npos) << report;
  const auto run = server.run("outage01").value();
  EXPECT_TRUE(run.complete);
  EXPECT_EQ(run.exitcode, 0);
  ASSERT_EQ(run.history.size(), 6u);
  const auto image = row_of(run.history[5]).at("samples").as_object();
  EXPECT_EQ(image.at("_type"), "image-file");
  const std::string name(image.at("path").as_string());
  EXPECT_EQ(server.uploads().at("alice/lightning_logs/outage01/" + name),
            read_text(logger->log_dir() / "files" / name));
  EXPECT_TRUE(fs::exists(logger->log_dir() / kSyncedMarkerName));
  EXPECT_NE(sync(logger->log_dir()).find("skipped"), std::string::npos) << "a sent folder is not sent twice";
}

TEST(WandbOfflineTest, SpoolsWithoutTheNetworkAndSyncSendsEverything) {
  FakeWandbServer server;
  Env env(server.endpoint());
  ScopedEnv mode("WANDB_MODE", "offline");
  ScopedEnv no_key("WANDB_API_KEY", nullptr);
  ScopedEnv wandb_dir("WANDB_DIR", nullptr);
  TempDir dir;
  fs::path folder;
  std::string image_name;
  {
    ScopedEnv where("WANDB_DIR", dir.path().string());
    auto logger = make_logger({{"project", "offproj"}, {"id", "offline1"}});
    logger->log_hyperparams({{"epochs", 3}});
    logger->log_metrics({{"loss", 0.75}}, 10);
    logger->log_histogram("weights", torch::arange(0, 64, torch::kFloat32), 10);
    logger->log_image("pic", torch::zeros({4, 4, 3}, torch::kUInt8), 10);
    logger->finalize(RunStatus::success);
    folder = logger->log_dir();
    EXPECT_EQ(as_wandb(logger).mode(), Mode::offline);
  }
  EXPECT_EQ(server.http().request_count(), 0u) << "offline sends nothing";
  EXPECT_TRUE(std::regex_match(folder.filename().string(), std::regex("offline-run-[0-9]{8}_[0-9]{6}-offline1")));
  EXPECT_EQ(folder.parent_path(), dir.path() / "wandb");
  const SpoolContents spool = read_spool(folder);
  ASSERT_EQ(spool.history.size(), 3u);
  const auto histogram = row_of(spool.history[1]).at("weights").as_object();
  EXPECT_EQ(histogram.at("_type"), "histogram");
  ASSERT_EQ(histogram.at("values").as_array().size(), 64u);
  ASSERT_EQ(histogram.at("bins").as_array().size(), 65u);
  for (const auto& count : histogram.at("values").as_array()) EXPECT_EQ(count, 1) << "0..63 over 64 bins";
  EXPECT_EQ(histogram.at("bins").as_array().front().to_number<double>(), 0.0);
  EXPECT_EQ(histogram.at("bins").as_array().back().to_number<double>(), 63.0);
  ASSERT_EQ(spool.files.size(), 1u);
  EXPECT_TRUE(std::regex_match(spool.files[0], std::regex("media/images/pic_10_[0-9a-f]{20}\\.png"))) << spool.files[0];

  EXPECT_THROW(sync(folder), ConfigError) << "sending needs an API key";
  ScopedEnv key("WANDB_API_KEY", "test-api-key");
  const std::string report = sync(dir.path() / "wandb");  // the folder of runs works too
  EXPECT_NE(report.find("sent " + folder.string() + " to alice/offproj/offline1: 3 history rows, 1 files, exit code 0"),
            std::string::npos) << report;
  EXPECT_EQ(calls(server), (std::vector<std::string>{"Viewer", "UpsertBucket", "CreateRunFiles",
                                                     "PUT /storage/alice/offproj/offline1/" + spool.files[0],
                                                     "POST /files/alice/offproj/offline1/file_stream"}));
  const auto run = server.run("offline1").value();
  EXPECT_EQ(run.history, spool.history);
  EXPECT_EQ(run.config.at("epochs"), 3);
  EXPECT_EQ(run.uploaded, spool.files);
  EXPECT_TRUE(run.complete);
  EXPECT_EQ(parse_wandb_line(run.summary).at("loss"), 0.75);
}

TEST(WandbOfflineTest, SyncOfACrashedRunSendsItAsFailedAndToleratesACutLastLine) {
  FakeWandbServer server;
  Env env(server.endpoint());
  TempDir dir;
  const fs::path folder = dir / "offline-run-20260101_000000-crash001";
  fs::create_directories(folder / "files");
  {
    std::ofstream spool(folder / kSpoolName);
    spool << R"({"run":{"entity":"","project":"p","id":"crash001","name":"","notes":"","group":"","job_type":"","tags":[],"host":"h"}})"
          << "\n" << R"({"history":"{\"loss\":1,\"_step\":0}"})" << "\n" << R"({"history":"{\"lo)";
  }
  const std::string report = sync(folder, {{"project", "override"}});
  EXPECT_NE(report.find("to alice/override/crash001: 1 history rows, 0 files, exit code 1 (the run never ended"),
            std::string::npos) << report;
  EXPECT_NE(report.find("cut short"), std::string::npos) << report;
  EXPECT_EQ(server.run("crash001")->exitcode, 1);

  std::ofstream(folder / kSpoolName, std::ios::app) << "\n{\"nonsense\": 1}\n";
  try {
    sync(folder, {{"force", true}});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find(kSpoolName + std::string(" line 3")), std::string::npos) << error.what();
  }
  EXPECT_THROW(sync(dir / "nothing-here"), ConfigError);
}

TEST(WandbModeTest, DisabledWritesAndSendsNothing) {
  FakeWandbServer server;
  Env env(server.endpoint());
  TempDir dir;
  auto logger = make_logger({{"save_dir", dir.path().string()}, {"mode", "disabled"}});
  logger->log_hyperparams({{"a", 1}});
  logger->log_metrics({{"loss", 1.0}}, 0);
  logger->log_image("x", torch::zeros({3, 2, 2}), 0);
  logger->finalize(RunStatus::success);
  EXPECT_TRUE(logger->log_dir().empty());
  EXPECT_FALSE(fs::exists(dir / "wandb"));
  EXPECT_EQ(server.http().request_count(), 0u);
}

TEST(WandbOnlineTest, MissingOrRefusedKeysAreConfigErrorsThatSayWhatToDo) {
  FakeWandbServer server;
  Env env(server.endpoint());
  TempDir dir;
  {
    ScopedEnv no_key("WANDB_API_KEY", nullptr);
    try {
      make_logger({{"save_dir", dir.path().string()}});
      FAIL() << "expected ConfigError";
    } catch (const ConfigError& error) {
      EXPECT_NE(std::string(error.what()).find("WANDB_API_KEY"), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find("WANDB_MODE=offline"), std::string::npos) << error.what();
    }
  }
  ScopedEnv wrong("WANDB_API_KEY", "wrong-key");
  try {
    make_logger({{"save_dir", dir.path().string()}});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("refused the API key (401)"), std::string::npos) << error.what();
  }
  EXPECT_TRUE(fs::is_empty(dir / "wandb")) << "a run that could not start leaves no folder";
}

TEST(WandbOnlineTest, ApiKeyFromNetrcForTheServersHost) {
  FakeWandbServer server;
  Env env(server.endpoint());
  TempDir dir;
  std::ofstream(dir / "netrc") << "machine example.org login x password nope\n"
                               << "machine 127.0.0.1\n  login user\n  password test-api-key\n";
  ScopedEnv no_key("WANDB_API_KEY", nullptr);
  ScopedEnv netrc("NETRC", (dir / "netrc").string());
  EXPECT_EQ(api_key_for(server.endpoint()), "test-api-key");
  EXPECT_EQ(api_key_for("https://example.org"), "nope");
  EXPECT_EQ(api_key_for("https://api.wandb.ai"), "");
  auto logger = make_logger({{"save_dir", dir.path().string()}, {"id", "netrc001"}});
  logger->finalize(RunStatus::success);
  EXPECT_TRUE(server.run("netrc001")->complete);
}

TEST(WandbOnlineTest, ResumedRunContinuesAfterItsExistingLines) {
  FakeWandbServer server;
  Env env(server.endpoint());
  TempDir dir;
  server.add_run("alice", "lightning_logs", "resume01", 3);
  auto logger = make_logger({{"save_dir", dir.path().string()}, {"version", "resume01"}});
  logger->log_metrics({{"loss", 0.5}}, 30);
  logger->finalize(RunStatus::success);
  const auto run = server.run("resume01").value();
  ASSERT_EQ(run.history.size(), 4u);
  EXPECT_EQ(row_of(run.history[3]).at("_step"), 3);
  EXPECT_EQ(read_spool(logger->log_dir()).history_base, 3);
}

TEST(WandbOnlineTest, StoppedFromThePageWarnsOnceAndTrainingGoesOn) {
  FakeWandbServer server;
  Env env(server.endpoint());
  TempDir dir;
  WarningCapture warnings;
  auto logger = make_logger({{"save_dir", dir.path().string()}, {"id", "stopme01"}, {"flush_interval_ms", 1}});
  server.stop_run("stopme01");
  for (int step = 0; step < 20; ++step) {
    logger->log_metrics({{"loss", 1.0}}, step);
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
  logger->finalize(RunStatus::success);
  const auto messages = warnings.messages();
  EXPECT_EQ(std::count_if(messages.begin(), messages.end(),
                          [](const std::string& m) { return m.find("was stopped from the W&B page") != m.npos; }),
            1);
  EXPECT_EQ(server.run("stopme01")->history.size(), 20u);
}

TEST(WandbOptionsTest, EnvironmentDefaultsAndBadOptions) {
  FakeWandbServer server;
  Env env(server.endpoint());
  ScopedEnv tags("WANDB_TAGS", " a, b ,,c ");
  ScopedEnv mode("WANDB_MODE", "dryrun");
  const ResolvedOptions resolved = resolve({});
  EXPECT_EQ(resolved.mode, Mode::offline);
  EXPECT_EQ(resolved.options.tags, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(std::regex_match(resolved.options.id, std::regex("[a-z0-9]{8}")));
  EXPECT_EQ(resolved.wandb_dir, fs::current_path() / "wandb");
  EXPECT_EQ(resolve({.mode = "run"}).mode, Mode::online);
  EXPECT_EQ(resolved.authorization, "") << "offline needs no key";
  EXPECT_EQ(resolve({}, /*for_sync=*/true).authorization, kAuthorization);
  EXPECT_THROW(resolve({.mode = "sometimes"}), ConfigError);
  EXPECT_THROW(resolve({.id = "Has Spaces"}), ConfigError);
  EXPECT_THROW(resolve({.project = "a/b"}), ConfigError);
  EXPECT_THROW(resolve({.base_url = "ftp://x"}), ConfigError);
  EXPECT_THROW(resolve({.log_model = true}), ConfigError);
  EXPECT_THROW(resolve({.flush_interval_ms = 0}), ConfigError);
  EXPECT_THROW(make_logger({{"mode", "offline"}, {"unknown_option", 1}}), ConfigError);
  const WandbLoggerOptions lightning = WandbLoggerOptions::from(Config(json::object{{"offline", true}}, "p"));
  EXPECT_EQ(lightning.mode, "offline");
}

TEST(WandbJsonTest, MembersOfKeepValuesAsText) {
  EXPECT_EQ(members_of(R"({"a":1,"b":NaN,"c":{"x":[1,{"y":"}"}]},"d":"q\"}"})"),
            (JsonMembers{{"a", "1"}, {"b", "NaN"}, {"c", R"({"x":[1,{"y":"}"}]})"}, {"d", R"("q\"}")"}}));
  EXPECT_EQ(members_of("{}"), JsonMembers{});
  EXPECT_THROW(members_of("[1]"), FormatError);
  EXPECT_THROW(members_of(R"({"a":1)"), FormatError);
  EXPECT_EQ(number_json(0.1), "0.1");
  EXPECT_EQ(number_json(-INFINITY), "-Infinity");
  EXPECT_EQ(number_json(3), "3");
}

TEST(WandbPluginTest, RegistersTheLoggerWithSync) {
  EXPECT_TRUE(static_cast<bool>(entry().factory));
  EXPECT_TRUE(static_cast<bool>(entry().sync));
}

}  // namespace
}  // namespace autotimm::wandb
