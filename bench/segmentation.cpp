// The semantic segmentor's costs on this machine, in milliseconds per batch: forward (full-resolution logits),
// predict, a training step with the combined loss, and sliding-window inference on an image twice the window.
//
//   build/bin/bench_segmentation [--backbone resnet50] [--head deeplabv3plus] [--size 512] [--batch 2]
//                                [--classes 21] [--runs 5] [--warmup 1]
#include <torch/torch.h>

#include <iostream>
#include <stdexcept>
#include <string>

#include "autotimm/runtime.hpp"
#include "autotimm/tasks/semantic_segmentor.hpp"
#include "flags.hpp"
#include "median_time.hpp"

int main(int argc, char** argv) try {
  std::string backbone = "resnet50", head = "deeplabv3plus";
  std::int64_t size = 512, batch = 2, classes = 21;
  int runs = 5, warmup = 1;
  autotimm::bench::Flags()
      .value("--backbone", backbone)
      .value("--head", head)
      .value("--size", size)
      .value("--batch", batch)
      .value("--classes", classes)
      .value("--runs", runs)
      .value("--warmup", warmup)
      .parse(argc, argv);
  autotimm::configure_runtime();
  torch::manual_seed(0);
  autotimm::SemanticSegmentor model(
      {.backbone = backbone, .num_classes = classes, .head_type = head, .pretrained = false});
  autotimm::Batch data;
  data.images = torch::randn({batch, 3, size, size});
  data.targets = torch::randint(0, classes, {batch, size, size}, torch::kInt64);
  const double predict_s = autotimm::bench::median_seconds(warmup, runs, [&] { (void)model.predict(data.images); });
  model.train();
  const double step_s = autotimm::bench::median_seconds(warmup, runs, [&] {
    model.zero_grad();
    model.training_step(data, {}).loss.backward();
  });
  const auto large = torch::randn({1, 3, 2 * size, 2 * size});
  const double sliding_s = autotimm::bench::median_seconds(warmup, runs, [&] {
    (void)model.predict_sliding(large, {.window = size, .stride = size * 2 / 3});
  });
  std::cout << backbone << " " << head << ", " << batch << " x " << size << "x" << size << ", " << classes
            << " classes, median of " << runs << " after " << warmup << " warm-up, " << at::get_num_threads()
            << " threads\n"
            << "predict             " << predict_s * 1e3 << " ms per batch (" << batch / predict_s << " img/s)\n"
            << "training step       " << step_s * 1e3 << " ms per batch (" << batch / step_s << " img/s)\n"
            << "sliding window      " << sliding_s * 1e3 << " ms for one " << 2 * size << "x" << 2 * size
            << " image (windows of " << size << ", stride " << size * 2 / 3 << ")\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "bench_segmentation: " << e.what() << "\n";
  return 2;
}
