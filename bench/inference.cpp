// Inference speed of a backbone as predict runs it: latency at batch 1 and throughput at a larger batch, for the
// model as built, with batch norm folded into the convolutions, in channels-last memory, and both. Each variant's
// outputs are compared with the plain model's (folding and layout must not change them). In InferenceMode: warm-up
// rounds, then timed rounds that run each variant once in turn (a busy moment of a shared machine then slows all
// variants alike), the median per variant; the batch of `--batch` runs half as many rounds.
//
//   OMP_NUM_THREADS=2 build/bin/bench_inference --backbone resnet50 --size 224 [--batch 32] [--runs 10]
//                                                [--warmup 3] [--threads N]
#include <torch/torch.h>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include "autotimm/backbones.hpp"
#include "autotimm/inference/inference_optimization.hpp"
#include "autotimm/layers/batch_norm.hpp"
#include "autotimm/runtime.hpp"
#include "flags.hpp"
#include "median_time.hpp"

namespace {

struct Args {
  std::string backbone = "resnet50";
  std::int64_t size = 224;
  std::int64_t batch = 32;  ///< the throughput batch; latency is always batch 1
  int runs = 10;
  int warmup = 3;
  int threads = 0;
};

Args parse(int argc, char** argv) {
  Args args;
  autotimm::bench::Flags()
      .value("--backbone", args.backbone)
      .value("--size", args.size)
      .value("--batch", args.batch)
      .value("--runs", args.runs)
      .value("--warmup", args.warmup)
      .value("--threads", args.threads)
      .parse(argc, argv);
  if (args.runs < 1 || args.batch < 1 || args.size < 1 || args.warmup < 0) {
    throw std::invalid_argument("runs, batch and size must be > 0, warmup >= 0");
  }
  return args;
}

/// Running statistics and affine parameters away from their initial 0 / 1, as a trained model has them: folding
/// then has real work to do, and the output comparison means something.
void randomise_batch_norms(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (const auto& module : model.modules(/*include_self=*/false)) {
    if (auto* norm = dynamic_cast<autotimm::layers::BatchNorm2dImpl*>(module.get())) {
      norm->running_mean.uniform_(-0.2, 0.2);
      norm->running_var.uniform_(0.5, 1.5);
      if (norm->weight.defined()) norm->weight.uniform_(0.5, 1.2);
      if (norm->bias.defined()) norm->bias.uniform_(-0.2, 0.2);
    }
  }
}

void copy_state(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto source = from.named_parameters();
  for (auto& item : to.named_parameters()) item.value().copy_(source[item.key()]);
  auto buffers = from.named_buffers();
  for (auto& item : to.named_buffers()) item.value().copy_(buffers[item.key()]);
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  try {
    args = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_inference: " << e.what() << "\n";
    return 2;
  }
  autotimm::configure_runtime();
  if (args.threads > 0) at::set_num_threads(args.threads);
  torch::manual_seed(0);
  const auto one = torch::randn({1, 3, args.size, args.size});
  const auto many = torch::randn({args.batch, 3, args.size, args.size});

  std::cout << "backbone " << args.backbone << ", " << args.size << "x" << args.size << ", threads "
            << at::get_num_threads() << ", median of " << args.runs << " after " << args.warmup << " warm-up\n";
  auto reference_model = autotimm::create_backbone(args.backbone, {.num_classes = 1000});
  randomise_batch_norms(*reference_model);
  reference_model->eval();
  torch::Tensor reference;
  {
    torch::InferenceMode inference;
    reference = reference_model->forward(many);
  }
  struct Variant {
    std::string name;
    bool fold = false;
    bool channels_last = false;
    std::shared_ptr<autotimm::Backbone> model = {};
    torch::Tensor one = {}, many = {};
    std::vector<double> latency = {}, batch_seconds = {};
    double difference = 0.0;
  };
  std::vector<Variant> variants = {{.name = "plain"},
                                   {.name = "bn folded", .fold = true},
                                   {.name = "channels_last", .channels_last = true},
                                   {.name = "bn folded + channels_last", .fold = true, .channels_last = true}};
  for (auto& variant : variants) {
    variant.model = autotimm::create_backbone(args.backbone, {.num_classes = 1000});
    copy_state(*reference_model, *variant.model);
    variant.model->eval();
    if (variant.fold) {
      const auto report = autotimm::fold_batch_norm(*variant.model, {.probe_shape = {1, 3, args.size, args.size}});
      variant.name += " (" + std::to_string(report.folded) + "/" + std::to_string(report.batch_norms) + ")";
    }
    const auto format = variant.channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    if (variant.channels_last) autotimm::to_channels_last(*variant.model);
    variant.one = one.contiguous(format);
    variant.many = many.contiguous(format);
    torch::InferenceMode inference;
    variant.difference = (variant.model->forward(variant.many) - reference).abs().max().item<double>();
  }
  // Rounds that time every variant once each, so a busy moment of the machine hits all of them alike; the median
  // per variant over the rounds.
  torch::InferenceMode inference;
  for (int round = 0; round < args.warmup + args.runs; ++round) {
    for (auto& variant : variants) {
      const double latency = autotimm::bench::median_seconds(0, 1, [&] {
        (void)variant.model->forward(variant.one).sum().item<float>();
      });
      if (round >= args.warmup) variant.latency.push_back(latency);
    }
  }
  const int batch_rounds = std::max(args.runs / 2, 1);
  for (int round = 0; round < 1 + batch_rounds; ++round) {
    for (auto& variant : variants) {
      const double seconds = autotimm::bench::median_seconds(0, 1, [&] {
        (void)variant.model->forward(variant.many).sum().item<float>();
      });
      if (round >= 1) variant.batch_seconds.push_back(seconds);
    }
  }
  auto median = [](std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
  };
  const std::string throughput = "b=" + std::to_string(args.batch) + " (img/s)";
  std::cout << std::left << std::setw(32) << "variant (BN folded)" << std::right << std::setw(16) << "b=1 (ms)"
            << std::setw(18) << throughput << std::setw(12) << "max |diff|" << "\n";
  for (const auto& variant : variants) {
    std::cout << std::left << std::setw(32) << variant.name << std::right << std::fixed << std::setprecision(2)
              << std::setw(16) << median(variant.latency) * 1e3 << std::setw(18)
              << static_cast<double>(args.batch) / median(variant.batch_seconds) << std::setw(12) << std::scientific
              << std::setprecision(1) << variant.difference << std::defaultfloat << "\n";
  }
  return 0;
}
