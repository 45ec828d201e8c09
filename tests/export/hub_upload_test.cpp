// `autotimm hub upload` / hub_upload_folder against the fake Hub's commit API: an exported folder goes up as one
// commit (config.json and README.md inline, model.safetensors through LFS with its sha256 checked by the server),
// then resolves through the normal hf-hub: path into a temporary cache and gives the classifier's logits. Errors
// (no token, a refused token, a missing repo, no write access) say what to do.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "autotimm/backbones.hpp"
#include "autotimm/error.hpp"
#include "autotimm/export/timm_export.hpp"
#include "autotimm/hub.hpp"
#include "fakes/fake_hub_server.hpp"
#include "support/run_command.hpp"
#include "support/scoped_env.hpp"
#include "support/temp_dir.hpp"
#include "tiny_classifier.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::ScopedEnv;
using testing::TempDir;
using namespace export_testing;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class HubUploadTest : public ::testing::Test {
 protected:
  HubUploadTest() {
    model->set_data_config(small_input(32));
    export_timm_folder(*model, folder);
  }

  std::vector<testing::FakeHubRequest> requests_to(const std::string& path_part) const {
    std::vector<testing::FakeHubRequest> found;
    for (const auto& request : hub.requests()) {
      if (request.path.find(path_part) != std::string::npos) found.push_back(request);
    }
    return found;
  }

  testing::FakeHubServer hub;
  TempDir home;
  const ScopedEnv endpoint{"HF_ENDPOINT", hub.endpoint()};
  const ScopedEnv cache{"HF_HUB_CACHE", (home / "hub").string()};
  const ScopedEnv hf_home{"HF_HOME", home.path().string()};
  const ScopedEnv token{"HF_TOKEN", "hf_test_token"};
  const ScopedEnv online{"HF_HUB_OFFLINE", nullptr};
  // MobileNet-V3 small: a few MB of weights keep the uploads and downloads quick.
  std::unique_ptr<ImageClassifier> model = tiny_classifier("mobilenetv3_small_100", 3);
  fs::path folder = home / "export";
};

TEST_F(HubUploadTest, ExportedFolderGoesUpAsOneCommitAndLoadsBackFromTheHub) {
  const auto result = hub_upload_folder(folder, "me/tiny-resnet", {.message = "first model", .create_repo = true});
  EXPECT_TRUE(result.created_repo);
  EXPECT_EQ(result.lfs_files, (std::vector<std::string>{"model.safetensors"}));
  EXPECT_EQ(result.regular_files, (std::vector<std::string>{"README.md", "config.json"}));
  EXPECT_TRUE(result.lfs_skipped.empty());
  const auto repo = hub.repo("me/tiny-resnet");
  ASSERT_TRUE(repo.has_value());
  EXPECT_EQ(repo->commits, 1);
  EXPECT_EQ(result.commit_oid, repo->commit);
  EXPECT_EQ(result.commit_url, hub.endpoint() + "/me/tiny-resnet/commit/" + repo->commit);
  ASSERT_EQ(repo->files.size(), 3u);
  for (const char* file : {"config.json", "model.safetensors", "README.md"}) {
    EXPECT_EQ(repo->files.at(file), slurp(folder / file)) << file;
  }
  EXPECT_TRUE(hub.has_lfs_object(testing::fake_hub_sha256(slurp(folder / "model.safetensors"))));

  // The protocol as huggingface_hub speaks it: token on the Hub's own routes, never on the storage host.
  const auto preupload = requests_to("/api/models/me/tiny-resnet/preupload/main");
  ASSERT_EQ(preupload.size(), 1u);
  EXPECT_EQ(preupload[0].authorization, "Bearer hf_test_token");
  const auto listing = boost::json::parse(preupload[0].body).as_object().at("files").as_array();
  ASSERT_EQ(listing.size(), 3u);
  for (const auto& file : listing) {
    for (const char* field : {"path", "sample", "size", "sha"}) EXPECT_TRUE(file.as_object().contains(field)) << field;
  }
  const auto uploads = requests_to("/lfs-upload/");
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0].method, "PUT");
  EXPECT_TRUE(uploads[0].authorization.empty());
  const auto commits = requests_to("/api/models/me/tiny-resnet/commit/main");
  ASSERT_EQ(commits.size(), 1u);
  EXPECT_EQ(commits[0].header("content-type"), "application/x-ndjson");
  const std::string first_line = commits[0].body.substr(0, commits[0].body.find('\n'));
  const auto header = boost::json::parse(first_line).as_object();
  EXPECT_EQ(header.at("key").as_string(), "header");
  EXPECT_EQ(header.at("value").at("summary").as_string(), "first model");

  // Read back through the normal resolver: same logits as the classifier.
  auto from_hub = create_backbone("hf-hub:me/tiny-resnet");
  from_hub->eval();
  torch::manual_seed(5);
  const torch::Tensor images = torch::randn({2, 3, 32, 32});
  torch::NoGradGuard no_grad;
  EXPECT_LE((from_hub->forward(images) - model->forward(images)).abs().max().item<double>(), 1e-5);
  const auto info = hub_model_info("me/tiny-resnet");
  ASSERT_TRUE(info.card.has_value());
  EXPECT_EQ(info.card->library_name, "timm");
}

TEST_F(HubUploadTest, SecondUploadReusesTheStoredWeights) {
  hub_upload_folder(folder, "me/again", {.create_repo = true});
  hub.clear_requests();
  const auto second = hub_upload_folder(folder, "hf-hub:me/again", {.message = "same again", .create_repo = true});
  EXPECT_FALSE(second.created_repo);  // 409 from /api/repos/create: it exists, which is fine
  EXPECT_EQ(second.lfs_skipped, (std::vector<std::string>{"model.safetensors"}));
  EXPECT_TRUE(requests_to("/lfs-upload/").empty());
  EXPECT_EQ(hub.repo("me/again")->commits, 2);
}

// A 503 on preupload is retried; a failed commit is not (a lost answer must not make two commits).
TEST_F(HubUploadTest, RetriesReadsButNeverTheCommit) {
  hub.inject({.path_part = "/preupload/", .times = 1, .status = 503});
  const auto ok = hub_upload_folder(folder, "me/flaky", {.create_repo = true});
  EXPECT_EQ(hub.repo("me/flaky")->commit, ok.commit_oid);
  EXPECT_EQ(requests_to("/preupload/").size(), 2u);

  hub.clear_requests();
  hub.inject({.path_part = "/commit/", .times = 1, .status = 500});
  EXPECT_THROW(hub_upload_folder(folder, "me/flaky"), HubError);
  EXPECT_EQ(requests_to("/commit/").size(), 1u);
  EXPECT_EQ(hub.repo("me/flaky")->commits, 1);
}

TEST_F(HubUploadTest, ErrorsSayWhatToDo) {
  auto message_of = [](auto&& call) {
    try {
      call();
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  {
    const ScopedEnv no_token{"HF_TOKEN", nullptr};
    hub.clear_requests();
    EXPECT_THROW(hub_upload_folder(folder, "me/x", {.create_repo = true}), HubError);
    EXPECT_NE(message_of([&] { hub_upload_folder(folder, "me/x"); }).find("HF_TOKEN"), std::string::npos);
    EXPECT_EQ(hub.request_count(), 0u);
  }
  {
    const ScopedEnv wrong{"HF_TOKEN", "hf_wrong"};
    const std::string message = message_of([&] { hub_upload_folder(folder, "me/x", {.create_repo = true}); });
    EXPECT_NE(message.find("refused the token"), std::string::npos) << message;
  }
  const std::string missing = message_of([&] { hub_upload_folder(folder, "me/not-there"); });
  EXPECT_NE(missing.find("--create"), std::string::npos) << missing;
  EXPECT_THROW(hub_upload_folder(folder, "me/not-there"), HubError);

  hub.add_repo("someone/else", testing::FakeHubRepo{.read_only = true});
  const std::string forbidden = message_of([&] { hub_upload_folder(folder, "someone/else"); });
  EXPECT_NE(forbidden.find("write access"), std::string::npos) << forbidden;
  EXPECT_EQ(hub.repo("someone/else")->commits, 0);

  EXPECT_THROW(hub_upload_folder(home / "no-such-folder", "me/x"), NotFoundError);
  EXPECT_THROW(hub_upload_folder(folder, "me/x@v1"), ConfigError);
}

TEST_F(HubUploadTest, CommandLineUploadsAndPrintsTheCommit) {
  const std::string cli = std::string("'") + AUTOTIMM_CLI + "' hub upload ";
  auto ok = testing::run_command(cli + "'" + folder.string() + "' me/cli-model --create --private --json");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const auto summary = boost::json::parse(ok.out).as_object();
  const auto repo = hub.repo("me/cli-model");
  ASSERT_TRUE(repo.has_value());
  EXPECT_TRUE(repo->private_repo);
  EXPECT_EQ(summary.at("commit_oid").as_string(), repo->commit);
  EXPECT_EQ(summary.at("lfs_files").as_array().size(), 1u);

  auto text = testing::run_command(cli + "'" + folder.string() + "' me/cli-model --message 'second'");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("commit " + hub.repo("me/cli-model")->commit), std::string::npos) << text.out;

  auto usage = testing::run_command(cli + "'" + folder.string() + "'");
  EXPECT_EQ(usage.exit_code, 2);
  auto private_without_create = testing::run_command(cli + "'" + folder.string() + "' me/cli-model --private");
  EXPECT_EQ(private_without_create.exit_code, 2);
}

}  // namespace
}  // namespace autotimm
