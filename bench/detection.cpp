// The detector's costs on this machine, in milliseconds per batch: FCOS target assignment for a batch of images,
// decoding (scores, per-level top-k, class-aware NMS) of random head outputs, and the ObjectDetector's forward and
// training step on random images.
//
//   build/bin/bench_detection [--backbone resnet50] [--size 512] [--batch 2] [--classes 80] [--objects 20]
//                             [--fpn-channels 256] [--head-convs 4] [--runs 5] [--warmup 1]
#include <torch/torch.h>

#include <iostream>
#include <stdexcept>
#include <string>

#include "autotimm/runtime.hpp"
#include "autotimm/tasks/fcos.hpp"
#include "autotimm/tasks/object_detector.hpp"
#include "flags.hpp"
#include "median_time.hpp"

int main(int argc, char** argv) try {
  std::string backbone = "resnet50";
  std::int64_t size = 512, batch = 2, classes = 80, objects = 20, fpn_channels = 256, head_convs = 4;
  int runs = 5, warmup = 1;
  autotimm::bench::Flags()
      .value("--backbone", backbone)
      .value("--size", size)
      .value("--batch", batch)
      .value("--classes", classes)
      .value("--objects", objects)
      .value("--fpn-channels", fpn_channels)
      .value("--head-convs", head_convs)
      .value("--runs", runs)
      .value("--warmup", warmup)
      .parse(argc, argv);
  autotimm::configure_runtime();
  torch::manual_seed(0);
  autotimm::ObjectDetector model({.backbone = backbone,
                                  .num_classes = classes,
                                  .fpn_channels = fpn_channels,
                                  .head_num_convs = head_convs,
                                  .pretrained = false});
  const auto images = torch::randn({batch, 3, size, size});
  autotimm::Batch data;
  data.images = images;
  for (std::int64_t i = 0; i < batch; ++i) {
    const auto corner = torch::rand({objects, 2}) * (size * 0.7);
    const auto extent = torch::rand({objects, 2}) * (size * 0.3) + 8;
    data.boxes.push_back(torch::cat({corner, corner + extent}, 1));
    data.labels.push_back(torch::randint(0, classes, {objects}));
    data.iscrowd.push_back(torch::zeros({objects}, torch::kBool));
  }
  data.image_ids = torch::arange(batch);

  model.eval();
  std::vector<torch::Tensor> outputs;
  {
    torch::NoGradGuard no_grad;
    outputs = model.forward(images);
  }
  const auto levels = model.levels_for(outputs);
  const auto points = autotimm::fcos::locations(levels);
  const double assign_s = autotimm::bench::median_seconds(warmup, runs, [&] {
    for (std::int64_t i = 0; i < batch; ++i) {
      (void)autotimm::fcos::assign(levels, points, data.boxes[static_cast<std::size_t>(i)],
                                   data.labels[static_cast<std::size_t>(i)], data.iscrowd[static_cast<std::size_t>(i)]);
    }
  });
  // Random logits around the prior leave many candidates: the decoder's busy case.
  std::vector<torch::Tensor> busy = outputs;
  for (std::size_t l = 0; l < levels.size(); ++l) busy[3 * l] = torch::randn_like(outputs[3 * l]) - 1.0;
  std::int64_t kept = 0;
  const double decode_s = autotimm::bench::median_seconds(warmup, runs, [&] {
    const auto found = autotimm::fcos::decode(busy, levels, size, size);
    kept = found.front().boxes.size(0);
  });
  const double predict_s = autotimm::bench::median_seconds(warmup, runs, [&] { (void)model.predict(images); });
  model.train();
  const double step_s = autotimm::bench::median_seconds(warmup, runs, [&] {
    model.zero_grad();
    model.training_step(data, {}).loss.backward();
  });
  std::cout << backbone << " FCOS, " << batch << " x " << size << "x" << size << ", " << classes << " classes, "
            << objects << " objects per image, median of " << runs << " after " << warmup << " warm-up, "
            << at::get_num_threads() << " threads\n"
            << "assign targets      " << assign_s * 1e3 << " ms per batch (" << points.size(0) << " locations)\n"
            << "decode + NMS        " << decode_s * 1e3 << " ms per batch (busy outputs; " << kept
            << " kept in image 0)\n"
            << "predict             " << predict_s * 1e3 << " ms per batch (" << batch / predict_s << " img/s)\n"
            << "training step       " << step_s * 1e3 << " ms per batch (" << batch / step_s << " img/s)\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "bench_detection: " << e.what() << "\n";
  return 2;
}
