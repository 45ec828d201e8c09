// What data parallelism costs and gives on this machine: the training step of a backbone (forward, cross-entropy,
// backward, SGD) on every rank, with gradients averaged by the bucketed all-reduce and without it (each rank alone),
// the medians after warm-up. With --ranks N > 1 the program starts itself N times through the launcher (each rank gets
// cores / N threads); run it with --ranks 1 for the single-process baseline on all cores.
//
//   build/bin/bench_ddp --model resnet50 --batch 16 --size 64 --ranks 2 [--runs 5] [--warmup 2] [--compression fp16]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "autotimm/backbones.hpp"
#include "autotimm/distributed/launch.hpp"
#include "autotimm/runtime.hpp"
#include "gradient_reducer.hpp"
#include "flags.hpp"
#include "median_time.hpp"
#include "process_group.hpp"

namespace {

struct Args {
  std::string model = "resnet50";
  std::int64_t batch = 16;  ///< per rank
  std::int64_t size = 64;
  int ranks = 2;
  int runs = 5;
  int warmup = 2;
  std::string compression = "none";
};

Args parse(int argc, char** argv) {
  Args args;
  autotimm::bench::Flags()
      .value("--model", args.model)
      .value("--batch", args.batch)
      .value("--size", args.size)
      .value("--ranks", args.ranks)
      .value("--runs", args.runs)
      .value("--warmup", args.warmup)
      .value("--compression", args.compression)
      .parse(argc, argv);
  if (args.runs < 1 || args.batch < 1 || args.size < 1 || args.ranks < 1) {
    throw std::invalid_argument("runs, batch, size and ranks must be > 0");
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace autotimm;
  const Args args = parse(argc, argv);
  auto env = distributed::Environment::from_env();
  if (!env && args.ranks > 1) {
    return launch({.nproc_per_node = args.ranks, .command = std::vector<std::string>(argv, argv + argc)});
  }
  const auto runtime = configure_runtime();
  torch::manual_seed(0);
  auto net = create_backbone(args.model, {.num_classes = 10});
  net->train();
  const auto images = torch::randn({args.batch, 3, args.size, args.size});
  const auto targets = torch::randint(0, 10, {args.batch});
  torch::optim::SGD optimizer(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));

  std::optional<distributed::ProcessGroup> group;
  std::optional<distributed::GradientReducer> reducer;
  std::vector<std::string> names;
  std::int64_t gradient_bytes = 0;
  for (const auto& item : net->named_parameters()) {
    names.push_back(item.key());
    gradient_bytes += item.value().numel() * item.value().element_size();
  }
  if (env) {
    group.emplace(*env, std::chrono::minutes(5));
    std::vector<torch::Tensor> params = net->parameters();
    group->broadcast(params);
    reducer.emplace(*group, net->parameters(), names,
                    distributed::GradientReducerOptions{.compression = args.compression});
  }
  auto step = [&](bool sync) {
    optimizer.zero_grad();
    if (sync && reducer) reducer->arm();
    torch::nn::functional::cross_entropy(net->forward(images), targets).backward();
    if (sync && reducer) reducer->finish();
    optimizer.step();
  };
  const double synced = bench::median_seconds(args.warmup, args.runs, [&] { step(true); });
  if (group) group->barrier("between the timings");
  const double alone = bench::median_seconds(args.warmup, args.runs, [&] { step(false); });
  if (group) group->barrier("the end");
  const int world = env ? env->world_size : 1;
  if (!env || env->rank == 0) {
    std::cout << args.model << " batch " << args.batch << "/rank at " << args.size << "px, " << world << " rank(s) x "
              << runtime.threads << " thread(s), " << gradient_bytes / (1 << 20) << " MB of gradients"
              << (reducer ? " in " + std::to_string(reducer->num_buckets()) + " buckets, compression " + args.compression
                          : std::string())
              << "\n"
              << "  step with gradient sync: " << synced * 1e3 << " ms (" << world * args.batch / synced
              << " img/s over all ranks)\n";
    if (reducer) {
      std::cout << "  step without sync:       " << alone * 1e3 << " ms; sync costs " << (synced - alone) * 1e3
                << " ms per step\n";
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "bench_ddp: " << e.what() << "\n";
  return 1;
}
