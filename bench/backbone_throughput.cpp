// Images per second of a backbone: eval forward (InferenceMode) and a full training step (forward, cross-entropy,
// backward, SGD), with warm-up runs and the median of timed runs.
//
//   build/bin/bench_backbone --model resnet50 --batch 16 --size 224 [--channels-last] [--runs 5] [--warmup 2]
//                            [--mode eval|train|both] [--threads N] [--bf16-autocast]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "autotimm/backbones.hpp"
#include "autotimm/runtime.hpp"
#include "autotimm/trainer/precision.hpp"
#include "flags.hpp"
#include "median_time.hpp"

namespace {

struct Args {
  std::string model = "resnet50";
  std::int64_t batch = 16;
  std::int64_t size = 224;
  bool channels_last = false;
  int runs = 5;
  int warmup = 2;
  std::string mode = "both";
  int threads = 0;
  bool bf16_autocast = false;  ///< the forward (and loss) under CPU autocast to bfloat16, as precision bf16-mixed
};


Args parse(int argc, char** argv) {
  Args args;
  autotimm::bench::Flags()
      .value("--model", args.model)
      .value("--batch", args.batch)
      .value("--size", args.size)
      .on("--channels-last", args.channels_last)
      .value("--runs", args.runs)
      .value("--warmup", args.warmup)
      .value("--mode", args.mode)
      .value("--threads", args.threads)
      .on("--bf16-autocast", args.bf16_autocast)
      .parse(argc, argv);
  if (args.runs < 1 || args.batch < 1 || args.size < 1) throw std::invalid_argument("runs, batch and size must be > 0");
  return args;
}

template <class Step>
double median_images_per_second(const Args& args, Step&& step) {
  return static_cast<double>(args.batch) / autotimm::bench::median_seconds(args.warmup, args.runs, step);
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  try {
    args = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_backbone: " << e.what() << "\n";
    return 2;
  }
  const auto runtime = autotimm::configure_runtime();
  if (args.threads > 0) at::set_num_threads(args.threads);
  auto net = autotimm::create_backbone(args.model, {.num_classes = 1000});
  const auto format = args.channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  net->to(torch::kFloat32);
  if (args.channels_last) {
    // Convolution weights in NHWC as well, so no layout conversion happens inside the step.
    for (auto& p : net->parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
  const auto precision = args.bf16_autocast ? autotimm::Precision::bf16_mixed : autotimm::Precision::fp32;
  const auto images = torch::randn({args.batch, 3, args.size, args.size}).contiguous(format);
  const auto targets = torch::randint(0, 1000, {args.batch}, torch::kLong);

  std::cout << "model " << args.model << ", batch " << args.batch << ", " << args.size << "x" << args.size << ", "
            << (args.channels_last ? "channels_last" : "contiguous") << ", threads " << at::get_num_threads()
            << ", malloc tuned " << (runtime.malloc_tuned ? "yes" : "no") << ", median of " << args.runs
            << " after " << args.warmup << " warm-up" << (args.bf16_autocast ? ", bf16 autocast" : "") << "\n";
  if (args.mode == "eval" || args.mode == "both") {
    net->eval();
    const double rate = median_images_per_second(args, [&] {
      torch::InferenceMode inference;
      autotimm::AutocastScope autocast(precision, torch::kCPU);
      auto logits = net->forward(images);
      (void)logits.sum().item<float>();
    });
    std::cout << "eval   " << rate << " img/s\n";
  }
  if (args.mode == "train" || args.mode == "both") {
    net->train();
    torch::optim::SGD optimizer(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    const double rate = median_images_per_second(args, [&] {
      optimizer.zero_grad();
      torch::Tensor loss;
      {
        autotimm::AutocastScope autocast(precision, torch::kCPU);
        loss = torch::nn::functional::cross_entropy(net->forward(images), targets);
      }
      loss.backward();
      optimizer.step();
    });
    std::cout << "train  " << rate << " img/s\n";
  }
  return 0;
}
