// The process group, metric syncing and the gradient reducer, with two ranks as two threads of this process talking
// through a real TCPStore and Gloo over loopback.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <functional>
#include <thread>

#include "autotimm/distributed/sync_batch_norm.hpp"
#include "autotimm/error.hpp"
#include "autotimm/layers/batch_norm.hpp"
#include "autotimm/metrics/classification_metrics.hpp"
#include "gradient_reducer.hpp"
#include "process_group.hpp"

namespace autotimm::distributed {
namespace {

using namespace std::chrono_literals;

/// Runs `body` on `world` ranks (threads), each with its own group; rethrows the first failure.
void run_ranks(int world, const std::function<void(ProcessGroup&)>& body, std::chrono::milliseconds timeout = 20s) {
  const auto port = free_port();
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(world));
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        Environment env{.rank = rank, .local_rank = rank, .world_size = world, .local_world_size = world,
                        .master_addr = "127.0.0.1", .master_port = port};
        ProcessGroup group(env, timeout);
        body(group);
        group.barrier("the end of the test");
      } catch (...) {
        errors[static_cast<std::size_t>(rank)] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

TEST(ProcessGroup, AllReduceSumsEveryTensorOfEveryDtype) {
  run_ranks(2, [](ProcessGroup& g) {
    const double r = g.rank();
    std::vector<torch::Tensor> tensors{torch::full({2, 3}, 1.0 + r), torch::full({4}, 10 + g.rank(), torch::kInt64),
                                       torch::full({1}, 0.5 * r, torch::kFloat64)};
    g.all_reduce_sum(tensors);
    EXPECT_TRUE(torch::equal(tensors[0], torch::full({2, 3}, 3.0)));
    EXPECT_TRUE(torch::equal(tensors[1], torch::full({4}, 21, torch::kInt64)));
    EXPECT_DOUBLE_EQ(tensors[2].item<double>(), 0.5);
  });
}

TEST(ProcessGroup, AllGatherRowsKeepsRankOrderWithUnevenCounts) {
  run_ranks(2, [](ProcessGroup& g) {
    const auto rows = g.rank() == 0 ? torch::tensor({{1.f, 2.f}, {3.f, 4.f}}) : torch::tensor({{5.f, 6.f}});
    const auto all = g.all_gather_rows(rows);
    EXPECT_TRUE(torch::equal(all, torch::tensor({{1.f, 2.f}, {3.f, 4.f}, {5.f, 6.f}}))) << all;
    const auto none = g.all_gather_rows(g.rank() == 0 ? torch::zeros({0, 2}) : torch::ones({2, 2}));
    EXPECT_TRUE(torch::equal(none, torch::ones({2, 2})));
  });
}

TEST(ProcessGroup, BroadcastGivesEveryRankRankZerosValuesAndShareItsText) {
  run_ranks(2, [](ProcessGroup& g) {
    auto weights = torch::full({3, 2}, static_cast<float>(g.rank() + 1)).contiguous(at::MemoryFormat::Contiguous);
    auto steps = torch::full({1}, 7 * (g.rank() + 1), torch::kInt64);
    g.broadcast({weights, steps});
    EXPECT_TRUE(torch::equal(weights, torch::ones({3, 2})));
    EXPECT_EQ(steps.item<std::int64_t>(), 7);
    EXPECT_EQ(g.share(g.rank() == 0 ? "runs/version_3" : "ignored"), "runs/version_3");
    EXPECT_EQ(g.share(g.rank() == 0 ? "second" : ""), "second");
    EXPECT_TRUE(g.any(g.rank() == 1));
    EXPECT_FALSE(g.any(false));
  });
}

TEST(ProcessGroup, ARankThatNeverComesFailsTheRendezvousWithAMessage) {
  Environment env{.rank = 1, .local_rank = 1, .world_size = 2, .local_world_size = 2, .master_addr = "127.0.0.1",
                  .master_port = free_port()};
  try {
    ProcessGroup group(env, 1500ms);
    FAIL() << "joined a run whose rank 0 never started";
  } catch (const TrainingError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("could not meet the other 1 rank(s) at 127.0.0.1:"), std::string::npos) << what;
    EXPECT_NE(what.find("MASTER_ADDR"), std::string::npos) << what;
  }
}

TEST(ProcessGroup, SyncedMetricsEqualOneAccumulatorThatSawEverything) {
  torch::manual_seed(3);
  const auto scores = torch::randn({10, 4});
  const auto labels = torch::randint(0, 4, {10});
  const auto multi_targets = torch::randint(0, 2, {10, 4});
  MulticlassMetrics whole({.num_classes = 4, .top_k = {2}});
  whole.update(scores, labels);
  MultilabelMetrics whole_multi({.num_labels = 4});
  whole_multi.update(scores, multi_targets);
  run_ranks(2, [&](ProcessGroup& g) {
    // Rank 0 sees 6 samples, rank 1 four: uneven shards still merge.
    const auto part = g.rank() == 0 ? torch::indexing::Slice(0, 6) : torch::indexing::Slice(6, 10);
    MulticlassMetrics mine({.num_classes = 4, .top_k = {2}});
    mine.update(scores.index({part}), labels.index({part}));
    mine.sync(g);
    EXPECT_EQ(mine.compute(), whole.compute());
    MultilabelMetrics mine_multi({.num_labels = 4});
    mine_multi.update(scores.index({part}), multi_targets.index({part}));
    mine_multi.sync(g);
    EXPECT_EQ(mine_multi.num_samples(), 10);
    const auto got = mine_multi.compute(), want = whole_multi.compute();
    for (const auto& [name, value] : want) {
      if (std::isnan(value)) continue;
      EXPECT_NEAR(got.at(name), value, 1e-12) << name;  // map too: the scores were gathered in order
    }
  });
}

/// Two linear layers; the second is used only when `use_second`.
struct TwoLayers : torch::nn::Module {
  TwoLayers() {
    first = register_module("first", torch::nn::Linear(4, 3));
    second = register_module("second", torch::nn::Linear(3, 2));
  }
  torch::Tensor forward(const torch::Tensor& x, bool use_second) {
    auto h = first->forward(x);
    return use_second ? second->forward(h).sum() : h.sum();
  }
  torch::nn::Linear first{nullptr}, second{nullptr};
};

std::vector<std::string> names_of(torch::nn::Module& m) {
  std::vector<std::string> names;
  for (const auto& item : m.named_parameters()) names.push_back(item.key());
  return names;
}

/// The model every rank starts from, and the input rank `r` trains on in pass `pass`.
std::shared_ptr<TwoLayers> seeded_model() {
  // The generator is process-wide and the ranks are threads: seeding and drawing must not interleave.
  static std::mutex generator;
  std::lock_guard<std::mutex> lock(generator);
  torch::manual_seed(5);
  return std::make_shared<TwoLayers>();
}
torch::Tensor input_of(int rank, int pass) { return torch::full({2, 4}, 0.25 * (rank + 1) + pass).cumsum(1); }

TEST(GradientReducer, AveragesTheGradientsOfEveryRankIncludingAccumulatedOnes) {
  // What a single process computes: per rank the gradient of pass 0 plus pass 1 (accumulated), averaged over ranks.
  std::vector<torch::Tensor> expected;
  for (int rank = 0; rank < 2; ++rank) {
    auto model = seeded_model();
    for (int pass = 0; pass < 2; ++pass) model->forward(input_of(rank, pass), true).backward();
    std::size_t i = 0;
    for (const auto& p : model->parameters()) {
      if (rank == 0) expected.push_back(p.grad().clone() / 2);
      else expected[i++] += p.grad() / 2;
    }
  }
  std::mutex lock;
  std::size_t buckets = 0;
  run_ranks(2, [&](ProcessGroup& g) {
    auto model = seeded_model();
    // 40-byte buckets: several of them, so ordering across buckets is exercised.
    GradientReducer reducer(g, model->parameters(), names_of(*model),
                            {.bucket_cap_bytes = 40, .first_bucket_cap_bytes = 20});
    model->forward(input_of(g.rank(), 0), true).backward();  // accumulation step: not synced
    reducer.arm();
    model->forward(input_of(g.rank(), 1), true).backward();
    reducer.finish();
    std::size_t i = 0;
    for (const auto& p : model->parameters()) {
      EXPECT_TRUE(torch::allclose(p.grad(), expected[i], 1e-6, 1e-6)) << "parameter " << i << " on rank " << g.rank();
      ++i;
    }
    std::lock_guard<std::mutex> guard(lock);
    buckets = reducer.num_buckets();
  });
  EXPECT_GE(buckets, 3u);
}

TEST(GradientReducer, Fp16CompressionAveragesWithinHalfPrecision) {
  std::vector<torch::Tensor> expected;
  for (int rank = 0; rank < 2; ++rank) {
    auto model = seeded_model();
    model->forward(input_of(rank, 0), true).backward();
    std::size_t i = 0;
    for (const auto& p : model->parameters()) {
      if (rank == 0) expected.push_back(p.grad().clone() / 2);
      else expected[i++] += p.grad() / 2;
    }
  }
  run_ranks(2, [&](ProcessGroup& g) {
    auto model = seeded_model();
    GradientReducer reducer(g, model->parameters(), names_of(*model), {.compression = "fp16"});
    reducer.arm();
    model->forward(input_of(g.rank(), 0), true).backward();
    reducer.finish();
    std::size_t i = 0;
    for (const auto& p : model->parameters()) {
      EXPECT_EQ(p.grad().scalar_type(), torch::kFloat32);
      EXPECT_TRUE(torch::allclose(p.grad(), expected[i], 2e-3, 1e-4)) << "parameter " << i;
      EXPECT_TRUE(torch::equal(p.grad(), p.grad().to(torch::kHalf).to(torch::kFloat32))) << "it went through float16";
      ++i;
    }
  });
}

TEST(GradientReducer, AParameterWithoutGradientIsAnErrorUnlessUnusedParametersAreExpected) {
  std::vector<std::string> errors(2);
  std::mutex lock;
  run_ranks(2, [&](ProcessGroup& g) {
    auto model = seeded_model();
    GradientReducer reducer(g, model->parameters(), names_of(*model));
    reducer.arm();
    model->forward(input_of(g.rank(), 0), g.rank() == 0).backward();  // rank 1 skips the second layer
    try {
      reducer.finish();
    } catch (const TrainingError& e) {
      std::lock_guard<std::mutex> guard(lock);
      errors[static_cast<std::size_t>(g.rank())] = e.what();
    }
  });
  EXPECT_TRUE(errors[0].empty()) << errors[0];
  EXPECT_NE(errors[1].find("2 trainable parameter(s) got no gradient"), std::string::npos) << errors[1];
  EXPECT_NE(errors[1].find("second.weight"), std::string::npos) << errors[1];
  EXPECT_NE(errors[1].find("find_unused_parameters"), std::string::npos) << errors[1];

  // Allowed: the second layer's gradient is rank 0's over two (rank 1 contributes zero), the same on both ranks.
  auto reference = seeded_model();
  reference->forward(input_of(0, 0), true).backward();
  const auto expected_second = reference->second->weight.grad() / 2;
  run_ranks(2, [&](ProcessGroup& g) {
    auto model = seeded_model();
    GradientReducer reducer(g, model->parameters(), names_of(*model), {.find_unused_parameters = true});
    reducer.arm();
    model->forward(input_of(g.rank(), 0), g.rank() == 0).backward();
    reducer.finish();
    EXPECT_TRUE(torch::allclose(model->second->weight.grad(), expected_second, 1e-6, 1e-6)) << "rank " << g.rank();
  });
}

TEST(GradientReducer, UnarmedPassesLeaveGradientsLocal) {
  run_ranks(2, [&](ProcessGroup& g) {
    auto model = seeded_model();
    GradientReducer reducer(g, model->parameters(), names_of(*model));
    model->forward(input_of(g.rank(), 0), true).backward();
    auto local = seeded_model();
    local->forward(input_of(g.rank(), 0), true).backward();
    EXPECT_TRUE(torch::equal(model->first->weight.grad(), local->first->weight.grad()));
  });
}

TEST(BatchNorm2d, OutsideASyncScopeItIsTorchsBatchNorm) {
  torch::manual_seed(2);
  layers::BatchNorm2d ours(layers::BatchNorm2dOptions{.num_features = 3});
  torch::nn::BatchNorm2d theirs(3);
  for (const auto& x : {torch::randn({4, 3, 5, 5}) * 3 + 1, torch::randn({2, 3, 4, 4})}) {
    EXPECT_TRUE(torch::allclose(ours(x), theirs(x), 1e-6, 1e-6));
  }
  EXPECT_TRUE(torch::allclose(ours->running_mean, theirs->running_mean));
  EXPECT_TRUE(torch::allclose(ours->running_var, theirs->running_var));
  EXPECT_EQ(ours->num_batches_tracked.item<std::int64_t>(), 2);
  ours->eval();
  theirs->eval();
  const auto x = torch::randn({2, 3, 4, 4});
  EXPECT_TRUE(torch::allclose(ours(x), theirs(x), 1e-6, 1e-6));
  // The state dict keys are torch's.
  std::vector<std::string> keys;
  for (const auto& item : ours->named_parameters()) keys.push_back(item.key());
  for (const auto& item : ours->named_buffers()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}));
}

TEST(BatchNorm2d, SynchronisedItNormalisesWithTheStatisticsOfTheWholeBatch) {
  // One process with the combined batch: outputs, input and parameter gradients, running statistics.
  torch::manual_seed(4);
  const auto x = torch::randn({6, 3, 4, 4}) * 2 + 5;  // a large mean: the variance must not cancel
  const auto upstream = torch::randn({6, 3, 4, 4});
  auto whole_x = x.clone().requires_grad_(true);
  layers::BatchNorm2d whole(layers::BatchNorm2dOptions{.num_features = 3});
  {
    torch::NoGradGuard no_grad;
    whole->weight.copy_(torch::tensor({0.5f, 1.5f, -1.0f}));
    whole->bias.copy_(torch::tensor({0.1f, 0.0f, 0.3f}));
  }
  const auto whole_y = whole(whole_x);
  (whole_y * upstream).sum().backward();
  std::mutex lock;
  std::vector<torch::Tensor> weight_grads, bias_grads;
  run_ranks(2, [&](ProcessGroup& g) {
    // Uneven shards: rank 0 four samples, rank 1 two.
    const auto part = g.rank() == 0 ? torch::indexing::Slice(0, 4) : torch::indexing::Slice(4, 6);
    auto mine_x = x.index({part}).clone().requires_grad_(true);
    layers::BatchNorm2d mine(layers::BatchNorm2dOptions{.num_features = 3});
    {
      torch::NoGradGuard no_grad;
      mine->weight.copy_(torch::tensor({0.5f, 1.5f, -1.0f}));
      mine->bias.copy_(torch::tensor({0.1f, 0.0f, 0.3f}));
    }
    SyncBatchNormScope sync(g);
    const auto y = mine(mine_x);
    EXPECT_TRUE(torch::allclose(y, whole_y.index({part}), 1e-5, 1e-5)) << "rank " << g.rank();
    (y * upstream.index({part})).sum().backward();
    EXPECT_TRUE(torch::allclose(mine_x.grad(), whole_x.grad().index({part}), 1e-5, 1e-5)) << "rank " << g.rank();
    EXPECT_TRUE(torch::allclose(mine->running_mean, whole->running_mean, 1e-6, 1e-6));
    EXPECT_TRUE(torch::allclose(mine->running_var, whole->running_var, 1e-5, 1e-5));
    std::lock_guard<std::mutex> guard(lock);
    weight_grads.push_back(mine->weight.grad().clone());
    bias_grads.push_back(mine->bias.grad().clone());
  });
  // The ranks' parameter gradients add up to the whole batch's (DDP then averages them).
  EXPECT_TRUE(torch::allclose(weight_grads[0] + weight_grads[1], whole->weight.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(bias_grads[0] + bias_grads[1], whole->bias.grad(), 1e-4, 1e-5));
}

}  // namespace
}  // namespace autotimm::distributed
