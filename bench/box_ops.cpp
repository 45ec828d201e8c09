// Milliseconds of the detector's post-processing pieces: class-aware NMS over the candidates one image leaves after
// the per-level top-k (FCOS keeps up to 1000 per level over five levels), and the pairwise IoU a matcher computes.
//
//   build/bin/bench_box_ops [--boxes 5000] [--classes 80] [--threshold 0.6] [--runs 9] [--warmup 2]
#include <torch/torch.h>

#include <iostream>
#include <stdexcept>
#include <string>

#include "autotimm/ops/boxes.hpp"
#include "autotimm/runtime.hpp"
#include "flags.hpp"
#include "median_time.hpp"

int main(int argc, char** argv) try {
  std::int64_t boxes = 5000, classes = 80;
  double threshold = 0.6;
  int runs = 9, warmup = 2;
  autotimm::bench::Flags()
      .value("--boxes", boxes)
      .value("--classes", classes)
      .value("--threshold", threshold)
      .value("--runs", runs)
      .value("--warmup", warmup)
      .parse(argc, argv);
  autotimm::configure_runtime();
  torch::manual_seed(0);
  // Boxes clustered the way a detector's candidates are: many near-duplicates around fewer objects.
  const auto centres = torch::rand({boxes / 20 + 1, 2}) * 600;
  const auto picks = torch::randint(0, centres.size(0), {boxes});
  const auto centre = centres.index_select(0, picks) + torch::randn({boxes, 2}) * 4;
  const auto size = torch::rand({boxes, 2}) * 80 + 16;
  const auto xyxy = torch::cat({centre - size / 2, centre + size / 2}, 1);
  const auto scores = torch::rand({boxes});
  const auto labels = torch::randint(0, classes, {boxes});

  std::int64_t kept = 0;
  const double nms_s = autotimm::bench::median_seconds(warmup, runs, [&] {
    kept = autotimm::ops::batched_nms(xyxy, scores, labels, threshold).numel();
  });
  const auto targets = xyxy.slice(0, 0, 100);
  const double iou_s = autotimm::bench::median_seconds(warmup, runs, [&] {
    (void)autotimm::ops::box_iou(xyxy, targets);
  });
  std::cout << "boxes " << boxes << ", classes " << classes << ", threshold " << threshold << ", median of " << runs
            << " after " << warmup << " warm-up\n"
            << "batched_nms   " << nms_s * 1e3 << " ms (" << kept << " kept)\n"
            << "box_iou       " << iou_s * 1e3 << " ms (" << boxes << " x 100)\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "bench_box_ops: " << e.what() << "\n";
  return 2;
}
