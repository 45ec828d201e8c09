// DDP as users run it, every rank a real process on loopback: `autotimm launch`, `fit` with devices = 2 starting its
// own peers, both ending with the weights a single process gets from the combined batch; a killed or stopped rank
// failing the run with a message; two "hosts" on network namespaces (as root).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <future>
#include <thread>

#include "autotimm/trainer/checkpoint.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"
#include "trainer/synthetic_images.hpp"

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::run_command;
using testing::TempDir;

const std::string kCli = AUTOTIMM_CLI;

/// A two-block ViT (LayerNorm: samples do not interact, so split batches give the combined batch's gradient) trained
/// with SGD and momentum on 48 colour images, 2 epochs of 6 steps of 8 images.
class DdpCli : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_color_folder(dir_ / "colors", 16, 4, 2);
    std::ofstream(config_) << R"({
  "model": {"class": "ImageClassifier", "backbone": "vit_tiny_patch16_224",
            "backbone_args": {"img_size": 32, "patch_size": 8, "depth": 2}, "pretrained": false,
            "head": "classification", "loss": "ce", "lr": 0.05, "optimizer": "sgd",
            "optimizer_options": {"momentum": 0.9}, "weight_decay": 0.0, "scheduler": "none"},
  "data": {"class": "ImageDataModule", "data_dir": ")" + (dir_ / "colors").string() + R"(", "image_size": 32,
           "batch_size": 8, "train_transforms": "light", "seed": 5},
  "trainer": {"max_epochs": 2, "enable_progress_bar": false, "enable_model_summary": false, "seed": 11}
})";
  }

  /// `autotimm fit` of the config into `root` with extra --set arguments.
  std::string fit(const fs::path& root, const std::string& sets = "") const {
    return "fit --config " + config_.string() + " --set trainer.default_root_dir=" + root.string() + " " + sets;
  }

  static std::map<std::string, torch::Tensor> weights(const fs::path& root) {
    return read_checkpoint(root / "logs" / "version_0" / "checkpoints" / "last.ckpt").with_prefix("model.");
  }

  /// The parameters of the two runs agree within `tolerance`, and the run moved them.
  static void expect_same_training(const fs::path& single, const fs::path& distributed, const fs::path& untrained,
                                   double tolerance = 1e-5) {
    const auto a = weights(single), b = weights(distributed), start = weights(untrained);
    ASSERT_EQ(a.size(), b.size());
    double moved = 0;
    for (const auto& [name, tensor] : a) {
      ASSERT_TRUE(b.contains(name)) << name;
      EXPECT_TRUE(torch::allclose(tensor, b.at(name), tolerance, tolerance))
          << name << ": largest difference " << (tensor - b.at(name)).abs().max().item<double>();
      moved = std::max(moved, (tensor - start.at(name)).abs().max().item<double>());
    }
    EXPECT_GT(moved, 1e-3) << "training changed the weights";
  }

  TempDir dir_;
  fs::path config_ = dir_ / "vit.json";
};

/// The lines of a CSV file's column `name`, as numbers, skipping empty cells.
std::vector<double> csv_column(const fs::path& path, const std::string& name) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  for (std::size_t start = 0; start <= line.size();) {
    const auto end = std::min(line.find(',', start), line.size());
    header.push_back(line.substr(start, end - start));
    start = end + 1;
  }
  const auto column = std::find(header.begin(), header.end(), name) - header.begin();
  std::vector<double> values;
  while (std::getline(in, line)) {
    std::size_t start = 0;
    for (long i = 0; i < column; ++i) start = line.find(',', start) + 1;
    const auto cell = line.substr(start, line.find(',', start) - start);
    if (!cell.empty()) values.push_back(std::stod(cell));
  }
  return values;
}

TEST_F(DdpCli, TwoProcessesTrainLikeOneProcessWithTheCombinedBatch) {
  const auto single = run_command(kCli + " " + fit(dir_ / "single"));
  ASSERT_EQ(single.exit_code, 0) << single.err;
  const auto untrained = run_command(kCli + " " + fit(dir_ / "untrained", "--set model.lr=1e-12 --set trainer.max_epochs=1"));
  ASSERT_EQ(untrained.exit_code, 0) << untrained.err;

  // Through the launcher: two ranks of 4 images each per step.
  const auto launched = run_command(kCli + " launch --nproc-per-node 2 -- " +
                                    fit(dir_ / "launched", "--set data.batch_size=4"));
  ASSERT_EQ(launched.exit_code, 0) << launched.err;
  expect_same_training(dir_ / "single", dir_ / "launched", dir_ / "untrained");
  EXPECT_NE(launched.err.find("rank 1 of 2"), std::string::npos) << launched.err;

  // fit with devices = 2 and no launcher starts its own second rank.
  const auto spawned = run_command(kCli + " " + fit(dir_ / "spawned", "--set data.batch_size=4 --set trainer.devices=2"));
  ASSERT_EQ(spawned.exit_code, 0) << spawned.err;
  expect_same_training(dir_ / "single", dir_ / "spawned", dir_ / "untrained");

  // One run folder, logged by rank 0 alone; one report on stdout.
  EXPECT_FALSE(fs::exists(dir_ / "spawned" / "logs" / "version_1"));
  EXPECT_EQ(std::count(spawned.out.begin(), spawned.out.end(), '\n'), 3) << spawned.out;
  // Validation metrics are reduced over both ranks' shards: the same as one process's.
  const auto val_single = csv_column(dir_ / "single" / "logs" / "version_0" / "metrics.csv", "val/loss");
  const auto val_spawned = csv_column(dir_ / "spawned" / "logs" / "version_0" / "metrics.csv", "val/loss");
  ASSERT_EQ(val_single.size(), 2u);
  ASSERT_EQ(val_spawned.size(), 2u) << "one row per validation, not one per rank";
  for (std::size_t i = 0; i < 2; ++i) EXPECT_NEAR(val_single[i], val_spawned[i], 1e-4);
  const auto train_single = csv_column(dir_ / "single" / "logs" / "version_0" / "metrics.csv", "train/loss_epoch");
  const auto train_spawned = csv_column(dir_ / "spawned" / "logs" / "version_0" / "metrics.csv", "train/loss_epoch");
  ASSERT_EQ(train_spawned.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) EXPECT_NEAR(train_single[i], train_spawned[i], 1e-4);
}

// Detection under DDP. Training: the loss divides by the positives averaged over the ranks, so two ranks of 4 images
// train like one process with the batch of 8 (BatchNorm synchronised). Evaluation: the ranks exchange their images,
// so two ranks report one process's COCO numbers, the image the sampler repeats to even out 7 counted once.
TEST_F(DdpCli, TwoProcessesTrainAndEvaluateADetectorLikeOneProcess) {
  const auto shapes = dir_ / "shapes";
  // 16 training images for two epochs of two steps: few enough steps that float noise stays under the tolerance.
  const auto made = run_command(kCli + " make-dataset shapes --task detection --size 64 --train 16 --val 7 --out " +
                                shapes.string());
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const auto config = dir_ / "detector.json";
  std::ofstream(config) << R"({
  "model": {"class": "ObjectDetector", "backbone": "resnet10t", "pretrained": false, "fpn_channels": 32,
            "head_num_convs": 1, "strides": [8, 16, 32], "lr": 0.01, "optimizer": "sgd",
            "optimizer_options": {"momentum": 0.9}, "weight_decay": 0.0, "scheduler": "none"},
  "data": {"class": "DetectionDataModule", "data_dir": ")" + shapes.string() + R"(", "image_size": 64,
           "batch_size": 8, "seed": 5},
  "trainer": {"max_epochs": 2, "enable_progress_bar": false, "enable_model_summary": false, "seed": 11,
              "sync_batchnorm": true}
})";
  const auto run = [&](const std::string& command, const fs::path& root, const std::string& sets) {
    return run_command(kCli + " " + command + " --config " + config.string() + " --set trainer.default_root_dir=" +
                       root.string() + " " + sets);
  };
  const auto single = run("fit", dir_ / "single", "");
  ASSERT_EQ(single.exit_code, 0) << single.err;
  const auto untrained = run("fit", dir_ / "untrained", "--set model.lr=1e-12 --set trainer.max_epochs=1");
  ASSERT_EQ(untrained.exit_code, 0) << untrained.err;
  const auto spawned = run("fit", dir_ / "spawned", "--set data.batch_size=4 --set trainer.devices=2");
  ASSERT_EQ(spawned.exit_code, 0) << spawned.err;
  expect_same_training(dir_ / "single", dir_ / "spawned", dir_ / "untrained", 1e-4);

  // A detector trained far enough to find objects (96 images, 16 epochs), evaluated by one process and by two.
  const auto more = run_command(kCli + " make-dataset shapes --task detection --size 64 --train 96 --val 7 --out " +
                                (dir_ / "more").string());
  ASSERT_EQ(more.exit_code, 0) << more.err;
  const auto trained = run("fit", dir_ / "trained",
                           "--set data.data_dir=" + (dir_ / "more").string() + " --set model.optimizer=adamw "
                           "--set model.lr=0.002 --set trainer.max_epochs=16 --set trainer.sync_batchnorm=false");
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto checkpoint = (dir_ / "trained" / "logs" / "version_0" / "checkpoints" / "last.ckpt").string();
  const std::string evaluate = "--set data.data_dir=" + (dir_ / "more").string() + " --set data.batch_size=2 --json " +
                               "--ckpt-path " + checkpoint;
  const auto one = run("validate", dir_ / "one", evaluate);
  const auto two = run("validate", dir_ / "two", evaluate + " --set trainer.devices=2");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(two.exit_code, 0) << two.err;
  const auto by_one = boost::json::parse(one.out).as_object(), by_two = boost::json::parse(two.out).as_object();
  EXPECT_GT(by_one.at("val/map").as_double(), 0.2) << one.out;
  for (const auto& [name, value] : by_one) {
    if (std::string_view(name).starts_with("val/loss")) continue;  // per-batch normalisers differ with the split
    ASSERT_TRUE(by_two.contains(name)) << name;
    EXPECT_DOUBLE_EQ(value.as_double(), by_two.at(name).as_double()) << name;
  }
}

// An instance segmentor trains on two ranks (the mask branch joins the gradient exchange), and two ranks evaluate a
// trained one to exactly the box and mask numbers of one process: masks cross ranks as runs, repeats count once.
TEST_F(DdpCli, TwoProcessesTrainAndEvaluateAnInstanceSegmentorLikeOneProcess) {
  const auto shapes = dir_ / "instances";
  const auto made = run_command(kCli + " make-dataset shapes --task instance --size 64 --train 64 --val 7 --out " +
                                shapes.string());
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const auto config = dir_ / "instance.json";
  std::ofstream(config) << R"({
  "model": {"class": "InstanceSegmentor", "backbone": "resnet10t", "pretrained": false, "fpn_channels": 32,
            "head_num_convs": 1, "strides": [8, 16, 32], "roi_pool_size": 7, "mask_size": 14,
            "mask_head_channels": 16, "mask_head_num_convs": 1, "lr": 0.002},
  "data": {"class": "InstanceSegmentationDataModule", "data_dir": ")" + shapes.string() + R"(", "image_size": 64,
           "batch_size": 8, "seed": 5},
  "trainer": {"max_epochs": 12, "enable_progress_bar": false, "enable_model_summary": false, "seed": 11}
})";
  const auto run = [&](const std::string& command, const fs::path& root, const std::string& sets) {
    return run_command(kCli + " " + command + " --config " + config.string() + " --set trainer.default_root_dir=" +
                       root.string() + " " + sets);
  };
  const auto spawned = run("fit", dir_ / "spawned", "--set data.batch_size=4 --set trainer.devices=2 "
                                                    "--set trainer.max_epochs=1");
  ASSERT_EQ(spawned.exit_code, 0) << spawned.err;
  const auto trained = run("fit", dir_ / "trained", "");
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto checkpoint = (dir_ / "trained" / "logs" / "version_0" / "checkpoints" / "last.ckpt").string();
  const std::string evaluate = "--set data.batch_size=2 --json --ckpt-path " + checkpoint;
  const auto one = run("validate", dir_ / "one", evaluate);
  const auto two = run("validate", dir_ / "two", evaluate + " --set trainer.devices=2");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(two.exit_code, 0) << two.err;
  const auto by_one = boost::json::parse(one.out).as_object(), by_two = boost::json::parse(two.out).as_object();
  EXPECT_GT(by_one.at("val/mask_map_50").as_double(), 0.05) << one.out;
  ASSERT_TRUE(by_one.contains("val/mask_map")) << one.out;
  for (const auto& [name, value] : by_one) {
    if (std::string_view(name).starts_with("val/loss")) continue;  // per-batch normalisers differ with the split
    ASSERT_TRUE(by_two.contains(name)) << name;
    EXPECT_DOUBLE_EQ(value.as_double(), by_two.at(name).as_double()) << name;
  }
}

TEST_F(DdpCli, GradientAccumulationUnderDdpStillEqualsTheCombinedBatch) {
  // Two ranks × 2 accumulated batches of 2 = one step of 8.
  const auto single = run_command(kCli + " " + fit(dir_ / "single", "--set trainer.max_epochs=1"));
  ASSERT_EQ(single.exit_code, 0) << single.err;
  const auto untrained = run_command(kCli + " " + fit(dir_ / "untrained", "--set model.lr=1e-12 --set trainer.max_epochs=1"));
  ASSERT_EQ(untrained.exit_code, 0) << untrained.err;
  const auto accumulated = run_command(kCli + " launch --nproc-per-node 2 -- " +
                                       fit(dir_ / "accumulated", "--set trainer.max_epochs=1 --set data.batch_size=2 "
                                                                 "--set trainer.accumulate_grad_batches=2"));
  ASSERT_EQ(accumulated.exit_code, 0) << accumulated.err;
  expect_same_training(dir_ / "single", dir_ / "accumulated", dir_ / "untrained");
}

TEST_F(DdpCli, SyncBatchNormTrainsAResNetLikeOneProcessWithTheCombinedBatch) {
  // BatchNorm couples the samples of a batch: only with synchronised statistics do two halves train like the whole.
  const std::string resnet = "--set model.backbone=resnet10t --set 'model.backbone_args={}' --set trainer.max_epochs=1";
  const auto single = run_command(kCli + " " + fit(dir_ / "single", resnet));
  ASSERT_EQ(single.exit_code, 0) << single.err;
  const auto untrained = run_command(kCli + " " + fit(dir_ / "untrained", resnet + " --set model.lr=1e-12"));
  ASSERT_EQ(untrained.exit_code, 0) << untrained.err;
  const auto synced = run_command(kCli + " " + fit(dir_ / "synced", resnet + " --set data.batch_size=4 "
                                                   "--set trainer.devices=2 --set trainer.sync_batchnorm=true"));
  ASSERT_EQ(synced.exit_code, 0) << synced.err;
  EXPECT_NE(synced.err.find("sync_batchnorm: 14 BatchNorm layer(s) synchronised"), std::string::npos) << synced.err;
  // BatchNorm's statistics come from another formula than torch's kernel: float rounding, amplified over 6 steps.
  expect_same_training(dir_ / "single", dir_ / "synced", dir_ / "untrained", 1e-4);
  // Without it each rank normalises its own four images: the runs part, by far more.
  const auto local = run_command(kCli + " " + fit(dir_ / "local", resnet + " --set data.batch_size=4 --set trainer.devices=2"));
  ASSERT_EQ(local.exit_code, 0) << local.err;
  const auto a = weights(dir_ / "single"), b = weights(dir_ / "local");
  double largest = 0;
  for (const auto& [name, tensor] : a) largest = std::max(largest, (tensor - b.at(name)).abs().max().item<double>());
  EXPECT_GT(largest, 1e-2);
}

/// A loopback port nobody listens on now (the kernel's pick).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0;
  if (fd >= 0) ::close(fd);
  return ok ? ntohs(addr.sin_port) : 29400;
}

/// Rank 0 and rank 1 as separate processes started by hand (as a user's own launcher would), rank 1's pid known.
struct TwoRanks {
  std::future<testing::CommandResult> rank0, rank1;
  fs::path pid_file;

  TwoRanks(const fs::path& dir, const std::string& command) : pid_file(dir / "rank1.pid") {
    const std::string common = "WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(free_port()) +
                               " OMP_NUM_THREADS=1 ";
    rank1 = std::async(std::launch::async, [=, this] {
      return run_command("sh -c 'echo $$ > " + pid_file.string() + "; exec env RANK=1 " + common + kCli + " " +
                         command + "'");
    });
    rank0 = std::async(std::launch::async, [=] { return run_command("env RANK=0 " + common + kCli + " " + command); });
  }
  pid_t rank1_pid() const {
    pid_t pid = 0;
    std::ifstream(pid_file) >> pid;
    return pid;
  }
};

bool wait_for(const fs::path& path, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!fs::exists(path)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

TEST_F(DdpCli, AKilledRankFailsTheOtherPromptlyWithAMessage) {
  TwoRanks ranks(dir_.path(), fit(dir_ / "run", "--set trainer.max_epochs=100000 --set trainer.distributed_timeout_s=120"));
  ASSERT_TRUE(wait_for(dir_ / "run" / "logs" / "version_0" / "hparams.yaml", 120s)) << "the ranks never started";
  const auto killed_at = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(ranks.rank1_pid(), SIGKILL), 0);
  const auto rank0 = ranks.rank0.get();
  const auto waited = std::chrono::steady_clock::now() - killed_at;
  EXPECT_EQ(ranks.rank1.get().exit_code, 128 + SIGKILL);
  EXPECT_EQ(rank0.exit_code, 1) << rank0.err;
  EXPECT_NE(rank0.err.find("failed on rank 0 of 2"), std::string::npos) << rank0.err;
  EXPECT_NE(rank0.err.find("another rank stopped, died or did not answer"), std::string::npos) << rank0.err;
  EXPECT_LT(waited, 60s) << "the loss of the peer is noticed, not waited out (timeout 120 s)";
}

TEST_F(DdpCli, AStoppedRankFailsTheOtherAfterTheTimeout) {
  TwoRanks ranks(dir_.path(), fit(dir_ / "run", "--set trainer.max_epochs=100000 --set trainer.distributed_timeout_s=20"));
  ASSERT_TRUE(wait_for(dir_ / "run" / "logs" / "version_0" / "hparams.yaml", 120s)) << "the ranks never started";
  const pid_t rank1 = ranks.rank1_pid();
  ASSERT_EQ(::kill(rank1, SIGSTOP), 0);
  const auto stopped_at = std::chrono::steady_clock::now();
  const auto rank0 = ranks.rank0.get();
  const auto waited = std::chrono::steady_clock::now() - stopped_at;
  ::kill(rank1, SIGKILL);
  ranks.rank1.get();
  EXPECT_EQ(rank0.exit_code, 1) << rank0.err;
  EXPECT_NE(rank0.err.find("did not answer within 20 s"), std::string::npos) << rank0.err;
  EXPECT_LT(waited, 90s);
}

TEST(Launch, GivesEachProcessItsRankAndStopsTheOthersWhenOneFails) {
  TempDir dir;
  const auto ok = run_command(kCli + " launch --nproc-per-node 3 -- sh -c 'echo $RANK $LOCAL_RANK $WORLD_SIZE "
                                     "$LOCAL_WORLD_SIZE $MASTER_ADDR >> " + (dir / "ranks").string() + "'");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  std::ifstream in(dir / "ranks");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"0 0 3 3 127.0.0.1", "1 1 3 3 127.0.0.1", "2 2 3 3 127.0.0.1"}));

  const auto started = std::chrono::steady_clock::now();
  const auto failed = run_command(kCli + " launch --nproc-per-node 2 -- sh -c 'if [ $RANK = 1 ]; then exit 3; fi; "
                                         "exec sleep 60'");
  EXPECT_EQ(failed.exit_code, 3);
  EXPECT_NE(failed.err.find("rank 1 exited with code 3; stopping the other 1"), std::string::npos) << failed.err;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s) << "rank 0 (sleeping a minute) was stopped";

  const auto usage = run_command(kCli + " launch --nproc-per-node 2");
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("give the command to run after --"), std::string::npos) << usage.err;
  const auto nodes = run_command(kCli + " launch --nnodes 2 --node-rank 2 -- true");
  EXPECT_EQ(nodes.exit_code, 2);
  EXPECT_NE(nodes.err.find("--node-rank 2 is not in [0, 2)"), std::string::npos) << nodes.err;
}

TEST_F(DdpCli, AWorldSizeThatContradictsDevicesIsRefused) {
  const auto run = run_command("env RANK=0 WORLD_SIZE=3 MASTER_PORT=1 " + kCli + " " +
                               fit(dir_ / "run", "--set trainer.devices=2"));
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("the launcher started 3 processes (WORLD_SIZE) but devices × num_nodes = 2 × 1"),
            std::string::npos) << run.err;
  const auto nodes = run_command(kCli + " " + fit(dir_ / "run", "--set trainer.num_nodes=2"));
  EXPECT_EQ(nodes.exit_code, 2) << nodes.err;
  EXPECT_NE(nodes.err.find("needs a launcher on each node"), std::string::npos) << nodes.err;
}

/// Two network namespaces joined by a veth pair: two hosts as far as TCP is concerned. Removed on destruction.
class TwoHosts {
 public:
  TwoHosts() {
    const std::string id = std::to_string(::getpid() % 100000);
    ns_ = {"autotimm_a" + id, "autotimm_b" + id};
    const std::string veth_a = "atva" + id, veth_b = "atvb" + id;
    const std::string setup =
        "ip netns add " + ns_[0] + " && ip netns add " + ns_[1] + " && ip link add " + veth_a + " type veth peer name " +
        veth_b + " && ip link set " + veth_a + " netns " + ns_[0] + " && ip link set " + veth_b + " netns " + ns_[1] +
        " && ip -n " + ns_[0] + " addr add 10.231.7.1/24 dev " + veth_a + " && ip -n " + ns_[1] +
        " addr add 10.231.7.2/24 dev " + veth_b + " && ip -n " + ns_[0] + " link set " + veth_a + " up && ip -n " +
        ns_[1] + " link set " + veth_b + " up && ip -n " + ns_[0] + " link set lo up && ip -n " + ns_[1] +
        " link set lo up";
    const auto result = run_command(setup);
    ready_ = result.exit_code == 0;
    error_ = result.err;
  }
  ~TwoHosts() { run_command("ip netns del " + ns_[0] + "; ip netns del " + ns_[1]); }
  bool ready() const { return ready_; }
  const std::string& error() const { return error_; }
  std::string on(int host, const std::string& command) const { return "ip netns exec " + ns_[host] + " " + command; }

 private:
  std::vector<std::string> ns_;
  bool ready_ = false;
  std::string error_;
};

TEST_F(DdpCli, TwoHostsOnNetworkNamespacesTrainLikeOneProcess) {
  if (::geteuid() != 0) GTEST_SKIP() << "creating network namespaces needs root; run the suite as root to cover two hosts";
  TwoHosts hosts;
  if (!hosts.ready()) GTEST_SKIP() << "network namespaces are not available here: " << hosts.error();
  const auto single = run_command(kCli + " " + fit(dir_ / "single"));
  ASSERT_EQ(single.exit_code, 0) << single.err;
  const auto untrained = run_command(kCli + " " + fit(dir_ / "untrained", "--set model.lr=1e-12 --set trainer.max_epochs=1"));
  ASSERT_EQ(untrained.exit_code, 0) << untrained.err;
  const auto node = [&](int rank) {
    return hosts.on(rank, kCli + " launch --nnodes 2 --node-rank " + std::to_string(rank) +
                              " --nproc-per-node 1 --master-addr 10.231.7.1 --master-port 29533 -- " +
                              fit(dir_ / "hosts", "--set data.batch_size=4 --set trainer.num_nodes=2"));
  };
  auto second = std::async(std::launch::async, [&] { return run_command(node(1)); });
  const auto first = run_command(node(0));
  const auto second_result = second.get();
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(second_result.exit_code, 0) << second_result.err;
  EXPECT_NE(second_result.err.find("rank 1 of 2 (local rank 0) joining at 10.231.7.1:29533"), std::string::npos)
      << second_result.err;
  expect_same_training(dir_ / "single", dir_ / "hosts", dir_ / "untrained");
}

}  // namespace
}  // namespace autotimm
