// The hf plugin against the in-process fake Hub: cache layout, warm cache, token handling, retries, resume, offline
// mode, search pagination and the error messages. No network, no user cache.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <thread>

#include "autotimm/error.hpp"
#include "file_lock.hpp"
#include "fakes/fake_hub_server.hpp"
#include "hf_resolver.hpp"
#include "hub_cache.hpp"
#include "digest/sha256.hpp"
#include "support/scoped_env.hpp"
#include "support/temp_dir.hpp"

namespace autotimm::hf {
namespace {

namespace fs = std::filesystem;
using testing::FakeHubFailure;
using testing::FakeHubRepo;
using testing::FakeHubServer;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string big_weights(char seed) { return std::string(5000, seed) + "weights"; }

class HfHubTest : public ::testing::Test {
 protected:
  HfHubTest() {
    hub.add_repo("timm/tiny.a1_in1k", FakeHubRepo{.files = {{"config.json", R"({"architecture":"tiny"})"},
                                                            {"model.safetensors", big_weights('a')}},
                                                  .tags = {"timm", "image-classification"},
                                                  .downloads = 10});
  }

  HubOptions options() const {
    HubOptions o;
    o.endpoint = hub.endpoint();
    o.cache_dir = temp / "hub";
    o.first_backoff = std::chrono::milliseconds(1);
    o.max_retries = 3;
    o.metadata_timeout_s = 5;
    o.download_timeout_s = 5;
    return o;
  }

  std::string commit_of(const std::string& repo_id) const { return testing::fake_hub_sha256(repo_id).substr(0, 40); }

  autotimm::testing::TempDir temp;
  FakeHubServer hub;
};

TEST_F(HfHubTest, ResolveWritesTheHuggingfaceHubCacheLayout) {
  HfHubResolver resolver(options());
  const fs::path folder = resolver.resolve({.repo_id = "timm/tiny.a1_in1k"});
  const fs::path repo = temp / "hub" / "models--timm--tiny.a1_in1k";
  const std::string commit = commit_of("timm/tiny.a1_in1k");
  EXPECT_EQ(folder, repo / "snapshots" / commit);
  EXPECT_EQ(read_text(repo / "refs" / "main"), commit);  // no newline, as Python writes it
  const std::string weights_sha = testing::fake_hub_sha256(big_weights('a'));
  EXPECT_EQ(fs::read_symlink(folder / "model.safetensors"), fs::path("../../blobs") / weights_sha);
  EXPECT_EQ(read_text(folder / "model.safetensors"), big_weights('a'));
  EXPECT_EQ(read_text(folder / "config.json"), R"({"architecture":"tiny"})");
  EXPECT_TRUE(fs::is_symlink(folder / "config.json"));
  EXPECT_TRUE(fs::exists(temp / "hub" / "CACHEDIR.TAG"));
  EXPECT_TRUE(fs::exists(temp / "hub" / ".locks" / "models--timm--tiny.a1_in1k" / (weights_sha + ".lock")));
  for (const auto& entry : fs::directory_iterator(repo / "blobs")) {
    EXPECT_EQ(entry.path().extension(), "") << "left over: " << entry.path();
  }
}

TEST_F(HfHubTest, WithoutSymlinksFilesLiveInTheSnapshot) {
  HubOptions no_links = options();
  no_links.symlinks = false;
  const fs::path folder = HfHubResolver(no_links).resolve({.repo_id = "timm/tiny.a1_in1k"});
  EXPECT_FALSE(fs::is_symlink(folder / "model.safetensors"));
  EXPECT_EQ(read_text(folder / "model.safetensors"), big_weights('a'));
  EXPECT_EQ(read_text(folder / "config.json"), R"({"architecture":"tiny"})");
  EXPECT_FALSE(
      fs::exists(temp / "hub" / "models--timm--tiny.a1_in1k" / "blobs" / testing::fake_hub_sha256(big_weights('a'))));
  hub.clear_requests();
  HfHubResolver(no_links).resolve({.repo_id = "timm/tiny.a1_in1k"});
  EXPECT_EQ(hub.request_count(), 0u);
}

TEST_F(HfHubTest, WarmResolveMakesNoRequests) {
  HfHubResolver(options()).resolve({.repo_id = "timm/tiny.a1_in1k"});
  hub.clear_requests();
  HfHubResolver(options()).resolve({.repo_id = "timm/tiny.a1_in1k"});
  EXPECT_EQ(hub.request_count(), 0u);
}

TEST_F(HfHubTest, TokenGoesToTheEndpointOnlyNeverToTheCdn) {
  hub.add_repo("org/gated",
               FakeHubRepo{.files = {{"config.json", "{}"}, {"model.safetensors", big_weights('g')}}, .gated = true});
  HubOptions with_token = options();
  with_token.token = "hf_test_token";
  HfHubResolver(with_token).resolve({.repo_id = "org/gated"});
  bool saw_cdn = false;
  for (const auto& request : hub.requests()) {
    if (request.host.starts_with("localhost")) {
      saw_cdn = true;
      EXPECT_EQ(request.authorization, "") << request.target;
    } else {
      EXPECT_EQ(request.authorization, "Bearer hf_test_token") << request.target;
    }
  }
  EXPECT_TRUE(saw_cdn);
}

TEST_F(HfHubTest, GatedRepoWithoutTokenSaysSetHfToken) {
  hub.add_repo("org/gated", FakeHubRepo{.files = {{"config.json", "{}"}}, .gated = true});
  try {
    HfHubResolver(options()).resolve({.repo_id = "org/gated"});
    FAIL() << "resolved a gated repo without a token";
  } catch (const HubError& error) {
    EXPECT_NE(std::string(error.what()).find("HF_TOKEN"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("org/gated"), std::string::npos) << error.what();
  }
}

TEST_F(HfHubTest, MissingRepoListsCloseNames) {
  hub.add_repo("timm/tiny.b2_in1k", FakeHubRepo{.files = {{"config.json", "{}"}}});
  try {
    HfHubResolver(options()).resolve({.repo_id = "timm/tiny.c3_in1k"});
    FAIL();
  } catch (const NotFoundError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("no model 'timm/tiny.c3_in1k'"), std::string::npos) << message;
    EXPECT_NE(message.find("close names on the Hub: timm/tiny.a1_in1k, timm/tiny.b2_in1k"), std::string::npos)
        << message;
  }
  EXPECT_FALSE(fs::exists(temp / "hub" / "models--timm--tiny.c3_in1k" / "snapshots"));
}

TEST_F(HfHubTest, MissingRevisionIsNotFound) {
  try {
    HfHubResolver(options()).resolve({.repo_id = "timm/tiny.a1_in1k", .revision = "v9"});
    FAIL();
  } catch (const NotFoundError& error) {
    EXPECT_NE(std::string(error.what()).find("revision does not exist"), std::string::npos) << error.what();
  }
}

TEST_F(HfHubTest, CommitRevisionResolvesWithoutWritingARef) {
  const std::string commit = commit_of("timm/tiny.a1_in1k");
  const fs::path folder = HfHubResolver(options()).resolve({.repo_id = "timm/tiny.a1_in1k", .revision = commit});
  EXPECT_EQ(folder.filename(), commit);
  EXPECT_FALSE(fs::exists(temp / "hub" / "models--timm--tiny.a1_in1k" / "refs" / commit));
}

TEST_F(HfHubTest, ServerErrorsAreRetried) {
  hub.inject({.path_part = "/resolve/main/config.json", .times = 2, .status = 503});
  hub.inject({.path_part = "/api/models", .times = 1, .status = 429, .headers = {{"Retry-After", "0"}}});
  HfHubResolver resolver(options());
  EXPECT_NO_THROW(resolver.resolve({.repo_id = "timm/tiny.a1_in1k"}));
  EXPECT_EQ(resolver.search({.author = "timm"}).size(), 1u);
}

TEST_F(HfHubTest, ServerErrorsThatPersistFailWithAMessage) {
  hub.inject({.path_part = "/resolve/main/config.json", .times = 100, .status = 500});
  try {
    HfHubResolver(options()).resolve({.repo_id = "timm/tiny.a1_in1k"});
    FAIL();
  } catch (const HubError& error) {
    EXPECT_NE(std::string(error.what()).find("HTTP 500"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("after retries"), std::string::npos) << error.what();
  }
}

TEST_F(HfHubTest, DroppedConnectionsAreRetried) {
  hub.inject({.path_part = "/resolve/main/config.json", .times = 2, .status = 0});
  EXPECT_NO_THROW(HfHubResolver(options()).resolve({.repo_id = "timm/tiny.a1_in1k"}));
}

TEST_F(HfHubTest, RejectedTokenSaysCheckHfToken) {
  hub.inject({.path_part = "/resolve/",
              .times = 1,
              .status = 401,
              .headers = {{"X-Error-Message", "Invalid credentials in Authorization header"}}});
  try {
    HfHubResolver(options()).resolve({.repo_id = "timm/tiny.a1_in1k"});
    FAIL();
  } catch (const HubError& error) {
    EXPECT_NE(std::string(error.what()).find("refused the token"), std::string::npos) << error.what();
  }
}

TEST_F(HfHubTest, PartialFileLeftByAKilledProcessIsResumed) {
  const std::string weights = big_weights('a');
  const fs::path blobs = temp / "hub" / "models--timm--tiny.a1_in1k" / "blobs";
  fs::create_directories(blobs);
  std::ofstream(blobs / (testing::fake_hub_sha256(weights) + ".incomplete"), std::ios::binary)
      << weights.substr(0, 3000);
  const fs::path folder = HfHubResolver(options()).resolve({.repo_id = "timm/tiny.a1_in1k"});
  EXPECT_EQ(read_text(folder / "model.safetensors"), weights);
  bool resumed = false;
  for (const auto& request : hub.requests()) resumed = resumed || request.range == "bytes=3000-";
  EXPECT_TRUE(resumed);
}

TEST_F(HfHubTest, StalledServerTimesOutAfterRetries) {
  hub.inject({.path_part = "/resolve/main/config.json", .times = 2, .stall_ms = 3000});
  HubOptions impatient = options();
  impatient.metadata_timeout_s = 1;
  impatient.max_retries = 1;
  try {
    HfHubResolver(impatient).resolve({.repo_id = "timm/tiny.a1_in1k"});
    FAIL();
  } catch (const HubError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("imeout"), std::string::npos) << message;
    EXPECT_NE(message.find("HF_HUB_OFFLINE=1"), std::string::npos) << message;
  }
}

TEST_F(HfHubTest, CutDownloadResumesWithRange) {
  hub.inject({.path_part = "/cdn/", .times = 1, .truncate_to = 1000});
  const fs::path folder = HfHubResolver(options()).resolve({.repo_id = "timm/tiny.a1_in1k"});
  EXPECT_EQ(read_text(folder / "model.safetensors"), big_weights('a'));
  bool resumed = false;
  for (const auto& request : hub.requests()) resumed = resumed || request.range == "bytes=1000-";
  EXPECT_TRUE(resumed);
}

TEST_F(HfHubTest, DownloadThatKeepsBreakingIsNeverCachedAsComplete) {
  hub.inject({.path_part = "/cdn/", .times = 100, .truncate_to = 0});
  EXPECT_THROW(HfHubResolver(options()).resolve({.repo_id = "timm/tiny.a1_in1k"}), HubError);
  const fs::path repo = temp / "hub" / "models--timm--tiny.a1_in1k";
  EXPECT_FALSE(fs::exists(repo / "blobs" / testing::fake_hub_sha256(big_weights('a'))));
  EXPECT_FALSE(fs::exists(repo / "snapshots" / commit_of("timm/tiny.a1_in1k") / "model.safetensors"));
}

TEST_F(HfHubTest, CorruptContentFailsTheSha256Check) {
  // Same length, other bytes: only the sha256 can tell.
  hub.add_repo("org/corrupt", FakeHubRepo{.files = {{"config.json", "{}"}, {"model.safetensors", big_weights('c')}}});
  const std::string good = big_weights('c');
  const std::string sha = testing::fake_hub_sha256(good);
  hub.inject({.path_part = "/cdn/" + sha, .times = 1, .status = 200, .body = big_weights('d')});
  try {
    HfHubResolver(options()).resolve({.repo_id = "org/corrupt"});
    FAIL();
  } catch (const HubError& error) {
    EXPECT_NE(std::string(error.what()).find("sha256"), std::string::npos) << error.what();
  }
  EXPECT_FALSE(fs::exists(temp / "hub" / "models--org--corrupt" / "blobs" / sha));
}

TEST_F(HfHubTest, OfflineModeUsesTheCacheOnly) {
  HfHubResolver(options()).resolve({.repo_id = "timm/tiny.a1_in1k"});
  hub.clear_requests();
  HubOptions offline = options();
  offline.offline = true;
  HfHubResolver resolver(offline);
  EXPECT_TRUE(resolver.download_file({.repo_id = "timm/tiny.a1_in1k"}, "config.json").has_value());
  EXPECT_EQ(hub.request_count(), 0u);
  try {
    resolver.resolve({.repo_id = "timm/other"});
    FAIL();
  } catch (const NotFoundError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("'config.json' of 'timm/other@main'"), std::string::npos) << message;
    EXPECT_NE(message.find("HF_HUB_OFFLINE"), std::string::npos) << message;
  }
  EXPECT_EQ(hub.request_count(), 0u);
}

TEST_F(HfHubTest, PytorchBinIsTheFallbackAndTheMissFileIsMarked) {
  hub.add_repo("org/legacy", FakeHubRepo{.files = {{"config.json", "{}"}, {"pytorch_model.bin", big_weights('p')}}});
  const fs::path folder = HfHubResolver(options()).resolve({.repo_id = "org/legacy"});
  EXPECT_EQ(read_text(folder / "pytorch_model.bin"), big_weights('p'));
  EXPECT_TRUE(
      fs::exists(temp / "hub" / "models--org--legacy" / ".no_exist" / commit_of("org/legacy") / "model.safetensors"));
}

TEST_F(HfHubTest, RepoWithoutWeightsIsNotFound) {
  hub.add_repo("org/empty", FakeHubRepo{.files = {{"config.json", "{}"}}});
  EXPECT_THROW(HfHubResolver(options()).resolve({.repo_id = "org/empty"}), NotFoundError);
}

TEST_F(HfHubTest, FileNamesThatLeaveTheRepoAreRefused) {
  HfHubResolver resolver(options());
  for (const char* name : {"../evil", "/etc/passwd", "a/../../evil", "", "a//b", "..\\evil"}) {
    EXPECT_THROW(resolver.download_file({.repo_id = "timm/tiny.a1_in1k"}, name), HubError) << name;
  }
  EXPECT_THROW(resolver.download_file({.repo_id = "timm/tiny.a1_in1k", .revision = "../x"}, "config.json"), HubError);
  EXPECT_THROW(resolver.download_file({.repo_id = "../x"}, "config.json"), ConfigError);
  EXPECT_THROW(resolver.resolve({.repo_id = "timm/tiny.a1_in1k", .revision = "../../../etc"}), HubError);
  EXPECT_THROW(resolver.resolve({.repo_id = "a/b/c"}), ConfigError);
  EXPECT_EQ(hub.request_count(), 0u);
  EXPECT_FALSE(fs::exists(temp / "evil"));
}

TEST_F(HfHubTest, RenamedRepoFollowsTheRelativeRedirect) {
  hub.add_rename("timm/old-name", "timm/tiny.a1_in1k");
  const fs::path folder = HfHubResolver(options()).resolve({.repo_id = "timm/old-name"});
  EXPECT_EQ(read_text(folder / "config.json"), R"({"architecture":"tiny"})");
}

TEST_F(HfHubTest, SearchFollowsLinkPagesAndHonoursLimit) {
  for (int i = 0; i < 4; ++i) {
    hub.add_repo("timm/net" + std::to_string(i), FakeHubRepo{.tags = {"timm"}, .downloads = 100 + i});
  }
  hub.add_repo("other/net9", FakeHubRepo{.tags = {"timm"}, .downloads = 1000});
  HfHubResolver resolver(options());
  const auto all = resolver.search({.author = "timm"});
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0].id, "timm/net3");  // most downloads first
  EXPECT_EQ(all[0].downloads, 103);
  EXPECT_EQ(all[0].tags, std::vector<std::string>{"timm"});
  EXPECT_EQ(hub.request_count(), 3u);  // pages of 2
  hub.clear_requests();
  EXPECT_EQ(resolver.search({.author = "timm", .limit = 3}).size(), 3u);
  EXPECT_EQ(hub.request_count(), 2u);
  EXPECT_EQ(resolver.search({.model_name = "net", .library = "timm"}).size(), 5u);
  EXPECT_EQ(
      resolver.search_url({.model_name = "res net", .author = "timm", .tag = "image-classification", .limit = 5}),
      hub.endpoint() + "/api/models?search=res%20net&author=timm&filter=image-classification&sort=downloads&limit=5");
  EXPECT_EQ(resolver.search_url({.sort = "last_modified", .limit = 0}),
            hub.endpoint() + "/api/models?sort=lastModified");
}

TEST_F(HfHubTest, MalformedJsonIsAFormatError) {
  hub.inject({.path_part = "/api/models", .times = 2, .status = 200, .body = "{not json"});
  HfHubResolver resolver(options());
  EXPECT_THROW(resolver.search({.author = "timm"}), FormatError);
  EXPECT_THROW(resolver.model_info({.repo_id = "timm/tiny.a1_in1k"}), FormatError);
}

TEST_F(HfHubTest, ModelInfoListsFiles) {
  hub.add_repo("org/odd", FakeHubRepo{.files = {{"config.json", "{}"}}, .extra_siblings = {"../../evil"}});
  HfHubResolver resolver(options());
  const HubModelInfo info = resolver.model_info({.repo_id = "timm/tiny.a1_in1k"});
  EXPECT_EQ(info.id, "timm/tiny.a1_in1k");
  EXPECT_EQ(info.files, (std::vector<std::string>{"config.json", "model.safetensors"}));
  EXPECT_EQ(info.pipeline_tag, "image-classification");
  EXPECT_THROW(resolver.model_info({.repo_id = "timm/tiny.a1_in1k", .revision = "nope"}), NotFoundError);
  EXPECT_THROW(resolver.model_info({.repo_id = "org/missing"}), NotFoundError);
  // A listed name is only a name: downloading it is refused before any request.
  const auto odd = resolver.model_info({.repo_id = "org/odd"});
  ASSERT_EQ(odd.files.size(), 2u);
  EXPECT_EQ(odd.files.back(), "../../evil");
  EXPECT_THROW(resolver.download_file({.repo_id = "org/odd"}, odd.files.back()), HubError);
}

TEST_F(HfHubTest, ConcurrentResolversEndWithOneGoodCopy) {
  std::vector<std::thread> threads;
  std::vector<fs::path> folders(4);
  for (std::size_t i = 0; i < folders.size(); ++i) {
    threads.emplace_back([&, i] { folders[i] = HfHubResolver(options()).resolve({.repo_id = "timm/tiny.a1_in1k"}); });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& folder : folders) EXPECT_EQ(read_text(folder / "model.safetensors"), big_weights('a'));
  std::size_t blobs = 0;
  for (const auto& entry : fs::directory_iterator(temp / "hub" / "models--timm--tiny.a1_in1k" / "blobs")) {
    ++blobs;
    EXPECT_EQ(entry.path().extension(), "");
  }
  EXPECT_EQ(blobs, 2u);
}

TEST_F(HfHubTest, ModelInfoCarriesTheModelCardFrontMatter) {
  hub.add_repo("timm/carded", FakeHubRepo{.files = {{"config.json", "{}"},
                                                   {"README.md", "---\nlicense: apache-2.0\nlibrary_name: timm\n"
                                                                 "datasets:\n- imagenet-1k\n- imagenet-22k\n"
                                                                 "metrics:\n- accuracy\ntags:\n- image-classification\n"
                                                                 "- timm\n---\n# Model card\n"}}});
  HfHubResolver resolver(options());
  const HubModelInfo info = resolver.model_info({.repo_id = "timm/carded"});
  ASSERT_TRUE(info.card.has_value());
  EXPECT_EQ(info.card->license, (std::vector<std::string>{"apache-2.0"}));
  EXPECT_EQ(info.card->library_name, "timm");
  EXPECT_EQ(info.card->datasets, (std::vector<std::string>{"imagenet-1k", "imagenet-22k"}));
  EXPECT_EQ(info.card->metrics, (std::vector<std::string>{"accuracy"}));
  EXPECT_EQ(info.card->tags, (std::vector<std::string>{"image-classification", "timm"}));
  EXPECT_EQ(info.author, "timm");
  EXPECT_EQ(info.sha, commit_of("timm/carded"));
  EXPECT_FALSE(resolver.model_info({.repo_id = "timm/tiny.a1_in1k"}).card.has_value()) << "no README, no card";
}

TEST(HfHubJsonTest, CardFieldsTakeAStringOrAList) {
  const auto info = parse_model_info(R"({"id": "a/b", "gated": "manual", "cardData": {"license": ["mit", "other"],
      "datasets": "imagenet-1k", "base_model": "timm/x", "metrics": 3}})",
                                     "test");
  ASSERT_TRUE(info.card.has_value());
  EXPECT_EQ(info.card->license, (std::vector<std::string>{"mit", "other"}));
  EXPECT_EQ(info.card->datasets, (std::vector<std::string>{"imagenet-1k"}));
  EXPECT_EQ(info.card->base_model, (std::vector<std::string>{"timm/x"}));
  EXPECT_TRUE(info.card->metrics.empty()) << "a number is not a metric name";
  EXPECT_EQ(info.gated, "manual");
}

TEST_F(HfHubTest, DownloadHostRefusalIsNotBlamedOnTheToken) {
  hub.inject({.path_part = "/cdn/", .times = 1, .status = 403, .body = "AccessDenied"});
  try {
    HfHubResolver(options()).resolve({.repo_id = "timm/tiny.a1_in1k"});
    FAIL();
  } catch (const HubError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("download host refused"), std::string::npos) << message;
    EXPECT_NE(message.find("localhost"), std::string::npos) << message;
    EXPECT_EQ(message.find("gated"), std::string::npos) << message;
  }
}

TEST(HfHttpClientTest, RetryAfterTakesSecondsOrAnHttpDate) {
  const std::time_t now = 1'700'000'000;  // Tue, 14 Nov 2023 22:13:20 GMT
  EXPECT_EQ(retry_after_wait("3", now), std::chrono::seconds(3));
  EXPECT_EQ(retry_after_wait("Tue, 14 Nov 2023 22:13:25 GMT", now), std::chrono::seconds(5));
  EXPECT_EQ(retry_after_wait("Tuesday, 14-Nov-23 22:13:30 GMT", now), std::chrono::seconds(10));  // RFC 850
  EXPECT_EQ(retry_after_wait("Tue Nov 14 22:13:22 2023", now), std::chrono::seconds(2));          // asctime
  EXPECT_EQ(retry_after_wait("Tue, 14 Nov 2023 22:13:00 GMT", now), std::chrono::seconds(0)) << "in the past";
  EXPECT_EQ(retry_after_wait("soon", now), std::chrono::seconds(0));
  EXPECT_EQ(retry_after_wait("", now), std::chrono::seconds(0));
}

TEST_F(HfHubTest, RetryAfterDateIsHonoured) {
  char date[64];
  const std::time_t in_two = std::time(nullptr) + 2;
  std::tm tm{};
  gmtime_r(&in_two, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  hub.inject({.path_part = "/api/models", .times = 1, .status = 503, .headers = {{"Retry-After", date}}});
  HfHubResolver resolver(options());  // first_backoff is 1 ms: only the date can make it wait
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(resolver.search({.author = "timm"}).size(), 1u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
}

// The cache after a branch moved: the old snapshot is detached (no ref), plus an orphan blob and a partial
// download nobody is writing.
class HfHubCacheCleanupTest : public HfHubTest {
 protected:
  void SetUp() override {
    HfHubResolver(options()).resolve({.repo_id = "timm/tiny.a1_in1k"});
    old_commit = commit_of("timm/tiny.a1_in1k");
    hub.add_repo("timm/tiny.a1_in1k", FakeHubRepo{.commit = std::string(40, 'b'),
                                                  .files = {{"config.json", R"({"architecture":"tiny"})"},
                                                            {"model.safetensors", big_weights('n')}}});
    HfHubResolver resolver(options());
    for (const char* file : {"config.json", "model.safetensors"}) {
      ASSERT_TRUE(resolver.download_file({.repo_id = "timm/tiny.a1_in1k"}, file));
    }
    std::ofstream(repo / "blobs" / "0123orphan", std::ios::binary) << std::string(100, 'o');
    std::ofstream(repo / "blobs" / "4567stale.incomplete", std::ios::binary) << std::string(50, 's');
  }

  std::size_t blob_count() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(repo / "blobs"), fs::directory_iterator()));
  }

  const fs::path repo = temp / "hub" / "models--timm--tiny.a1_in1k";
  std::string old_commit;
};

TEST_F(HfHubCacheCleanupTest, PruneTakesUnusedBlobsAndAbandonedDownloadsOnly) {
  ASSERT_EQ(blob_count(), 5u);  // the old weights, the new weights, one config (same bytes), orphan, partial
  HfHubResolver resolver(options());
  const HubCacheRemoval removal = resolver.prune_cache({});
  EXPECT_EQ(removal.removed, (std::vector<fs::path>{repo / "blobs" / "0123orphan", repo / "blobs" / "4567stale.incomplete"}));
  EXPECT_EQ(removal.freed_bytes, 150u);
  EXPECT_EQ(blob_count(), 3u);
  EXPECT_TRUE(fs::exists(repo / "snapshots" / old_commit / "model.safetensors")) << "detached snapshots stay by default";
}

TEST_F(HfHubCacheCleanupTest, PruneDetachedDryRunReportsAndKeepsEverything) {
  HfHubResolver resolver(options());
  const HubCacheRemoval removal = resolver.prune_cache({.detached_snapshots = true, .dry_run = true});
  EXPECT_EQ(removal.freed_bytes, 150u + big_weights('a').size());
  EXPECT_EQ(removal.removed.size(), 4u);  // orphan, partial, the old weights blob, the old snapshot
  EXPECT_EQ(blob_count(), 5u);
  EXPECT_TRUE(fs::exists(repo / "snapshots" / old_commit));
}

TEST_F(HfHubCacheCleanupTest, PruneDetachedLeavesTheCurrentRevisionWhole) {
  HfHubResolver resolver(options());
  const HubCacheRemoval removal = resolver.prune_cache({.repo_id = "timm/tiny.a1_in1k", .detached_snapshots = true});
  EXPECT_EQ(removal.freed_bytes, 150u + big_weights('a').size());
  EXPECT_FALSE(fs::exists(repo / "snapshots" / old_commit));
  EXPECT_FALSE(fs::exists(repo / "blobs" / testing::fake_hub_sha256(big_weights('a'))));
  EXPECT_EQ(blob_count(), 2u);
  hub.clear_requests();
  HubOptions offline = options();
  offline.offline = true;
  const fs::path folder = HfHubResolver(offline).resolve({.repo_id = "timm/tiny.a1_in1k"});
  EXPECT_EQ(read_text(folder / "model.safetensors"), big_weights('n'));
  EXPECT_EQ(hub.request_count(), 0u);
  EXPECT_THROW(resolver.prune_cache({.repo_id = "org/absent"}), NotFoundError);
}

TEST_F(HfHubCacheCleanupTest, PruneNeverTouchesADownloadInProgress) {
  HfHubResolver resolver(options());
  const auto held = FileLock::try_acquire(HubCache(temp / "hub").lock_path("timm/tiny.a1_in1k", "4567stale"));
  ASSERT_NE(held, nullptr);
  const HubCacheRemoval removal = resolver.prune_cache({});
  EXPECT_EQ(removal.in_use, (std::vector<fs::path>{repo / "blobs" / "4567stale.incomplete"}));
  EXPECT_TRUE(fs::exists(repo / "blobs" / "4567stale.incomplete"));
  EXPECT_FALSE(fs::exists(repo / "blobs" / "0123orphan"));
}

TEST_F(HfHubCacheCleanupTest, RemoveARevisionOrTheWholeRepo) {
  HfHubResolver resolver(options());
  EXPECT_THROW(resolver.remove_cached({.repo_id = "timm/tiny.a1_in1k", .revision = "v2"}, false), NotFoundError);
  const std::string new_commit(40, 'b');
  const HubCacheRemoval main = resolver.remove_cached({.repo_id = "timm/tiny.a1_in1k", .revision = "main"}, false);
  EXPECT_FALSE(fs::exists(repo / "refs" / "main"));
  EXPECT_FALSE(fs::exists(repo / "snapshots" / new_commit));
  EXPECT_FALSE(fs::exists(repo / "blobs" / testing::fake_hub_sha256(big_weights('n'))));
  EXPECT_TRUE(fs::exists(repo / "snapshots" / old_commit / "model.safetensors")) << "the other snapshot stays whole";
  EXPECT_TRUE(fs::exists(repo / "snapshots" / old_commit / "config.json")) << "a blob both used stays";
  EXPECT_EQ(main.freed_bytes, 150u + big_weights('n').size() + 40u);  // + the 40-byte ref

  const HubCacheRemoval pinned = resolver.remove_cached({.repo_id = "timm/tiny.a1_in1k", .revision = old_commit}, true);
  EXPECT_TRUE(fs::exists(repo / "snapshots" / old_commit)) << "dry run";
  EXPECT_FALSE(pinned.removed.empty());
  resolver.remove_cached({.repo_id = "timm/tiny.a1_in1k"}, false);
  EXPECT_FALSE(fs::exists(repo));
  EXPECT_THROW(resolver.remove_cached({.repo_id = "timm/tiny.a1_in1k"}, false), NotFoundError);
}

using testing::ScopedEnv;

TEST(HfHubOptionsTest, ApplicationSettingsOverrideTheEnvironment) {
  const ScopedEnv endpoint("HF_ENDPOINT", "http://127.0.0.1:9");
  const ScopedEnv online("HF_HUB_OFFLINE", "0");
  const HubOptions options = hub_options_from(Config::parse(
      R"({"endpoint": "http://mirror:8/", "offline": true, "cache_dir": "/tmp/c", "max_retries": 0,
          "download_timeout_s": 30})"));
  EXPECT_EQ(options.endpoint, "http://mirror:8");
  EXPECT_TRUE(options.offline);
  EXPECT_EQ(options.cache_dir, fs::path("/tmp/c"));
  EXPECT_EQ(options.max_retries, 0);
  EXPECT_EQ(options.download_timeout_s, 30);
  EXPECT_EQ(hub_options_from(Config()).endpoint, "http://127.0.0.1:9");
  try {
    hub_options_from(Config::parse(R"({"ofline": true})", "app.json"));
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("offline"), std::string::npos) << error.what();
  }
  EXPECT_THROW(hub_options_from(Config::parse(R"({"max_retries": 99})")), ConfigError);
  EXPECT_THROW(hub_options_from(Config::parse(R"({"metadata_timeout_s": 0})")), ConfigError);
}

TEST(HfHubOptionsTest, EnvironmentFollowsHuggingfaceHubPrecedence) {
  autotimm::testing::TempDir home;
  std::ofstream(home / "token") << "  hf_file_token\r\n";
  const ScopedEnv hf_home("HF_HOME", home.path().c_str());
  const ScopedEnv endpoint("HF_ENDPOINT", "http://127.0.0.1:9/");
  const ScopedEnv no_token("HF_TOKEN", nullptr);
  const ScopedEnv no_legacy_token("HUGGING_FACE_HUB_TOKEN", nullptr);
  const ScopedEnv no_token_path("HF_TOKEN_PATH", nullptr);
  const ScopedEnv no_cache("HF_HUB_CACHE", nullptr);
  const ScopedEnv no_legacy_cache("HUGGINGFACE_HUB_CACHE", nullptr);
  const ScopedEnv offline("HF_HUB_OFFLINE", "yes");
  const ScopedEnv no_symlinks("HF_HUB_DISABLE_SYMLINKS", "1");
  HubOptions options = hub_options_from_environment();
  EXPECT_FALSE(options.symlinks);
  EXPECT_EQ(options.endpoint, "http://127.0.0.1:9");
  EXPECT_EQ(options.cache_dir, home.path() / "hub");
  EXPECT_EQ(options.token, "hf_file_token");
  EXPECT_TRUE(options.offline);
  const ScopedEnv cache("HF_HUB_CACHE", (home / "elsewhere").c_str());
  const ScopedEnv token("HF_TOKEN", "hf_env_token");
  const ScopedEnv online("HF_HUB_OFFLINE", "0");
  options = hub_options_from_environment();
  EXPECT_EQ(options.cache_dir, home / "elsewhere");
  EXPECT_EQ(options.token, "hf_env_token");
  EXPECT_FALSE(options.offline);
}

TEST(HfHubCacheTest, RefsNestAndSnapshotLinksAreRelative) {
  autotimm::testing::TempDir root;
  HubCache cache(root.path());
  const std::string commit(40, 'a');
  cache.write_ref("org/name", "refs/pr/1", commit);
  EXPECT_EQ(read_text(root / "models--org--name/refs/refs/pr/1"), commit);
  EXPECT_EQ(cache.commit_for("org/name", "refs/pr/1"), commit);
  EXPECT_EQ(cache.commit_for("org/name", "main"), std::nullopt);
  fs::create_directories(root / "models--org--name/blobs");
  std::ofstream(root / "models--org--name/blobs/e1") << "x";
  cache.link_snapshot("org/name", commit, "sub/dir/file.bin", "e1");
  EXPECT_EQ(fs::read_symlink(root / "models--org--name/snapshots" / commit / "sub/dir/file.bin"),
            fs::path("../../../../blobs/e1"));
  EXPECT_EQ(cache.lock_path("org/name", "e1"), root / ".locks/models--org--name/e1.lock");
  EXPECT_EQ(cache.repo_folder("solo"), root / "models--solo");
}

}  // namespace
}  // namespace autotimm::hf

namespace autotimm::hf {
namespace {

TEST(HfHttpClientTest, UrlHelpers) {
  EXPECT_EQ(origin_of("HTTPS://Example.org:8080/a/b?c"), "https://example.org:8080");
  EXPECT_EQ(origin_of("/relative"), "");
  EXPECT_EQ(resolve_location("http://h:1/a/resolve/main/x", "/b/resolve/main/x"), "http://h:1/b/resolve/main/x");
  EXPECT_EQ(resolve_location("http://h:1/a/b?q", "c"), "http://h:1/a/c");
  EXPECT_EQ(resolve_location("http://h:1/a", "https://cdn.example/x"), "https://cdn.example/x");
  EXPECT_EQ(url_encode("refs/pr/1"), "refs%2Fpr%2F1");
  EXPECT_EQ(url_encode("sub dir/file.bin", "/"), "sub%20dir/file.bin");
  EXPECT_EQ(next_page_url(R"(<http://h/api/models?cursor=2>; rel="next", <http://h/last>; rel="last")"),
            "http://h/api/models?cursor=2");
  EXPECT_EQ(next_page_url(R"(<http://h/first>; rel="prev")"), "");
}

TEST(HfHttpClientTest, CustomEndpointRewritesHubUrls) {
  const HttpClient mirror({.endpoint = "http://mirror:1"});
  EXPECT_EQ(mirror.to_endpoint("https://huggingface.co/api/models?cursor=x"), "http://mirror:1/api/models?cursor=x");
  EXPECT_EQ(mirror.to_endpoint("https://huggingface.company/x"), "https://huggingface.company/x");
  const HttpClient hub({.endpoint = "https://huggingface.co"});
  EXPECT_EQ(hub.to_endpoint("https://huggingface.co/x"), "https://huggingface.co/x");
}

}  // namespace
}  // namespace autotimm::hf

namespace autotimm::hf {
namespace {

TEST(HfSha256Test, KnownVectorsAndStreaming) {
  EXPECT_EQ(digest::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(digest::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(digest::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(digest::sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  digest::Sha256 pieces;
  pieces.update("ab");
  pieces.update("c");
  EXPECT_EQ(pieces.hex_digest(), digest::sha256_hex("abc"));
}

}  // namespace
}  // namespace autotimm::hf
