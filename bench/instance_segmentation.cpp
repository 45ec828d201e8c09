// The instance segmentor's costs on this machine, in milliseconds: RoIAlign forward and backward on a pyramid,
// mask targets, pasting masks back at full resolution, COCO RLE encoding and mask IoU, and the InstanceSegmentor's
// predict and training step on random images next to the plain detector's.
//
//   build/bin/bench_instance_segmentation [--backbone resnet50] [--size 512] [--batch 2] [--classes 80]
//                                         [--objects 20] [--fpn-channels 256] [--head-convs 4] [--mask-channels 256]
//                                         [--mask-convs 4] [--runs 5] [--warmup 1]
#include <torch/torch.h>

#include <iostream>
#include <stdexcept>
#include <string>

#include "autotimm/data/rle.hpp"
#include "autotimm/ops/paste_masks.hpp"
#include "autotimm/ops/roi_align.hpp"
#include "autotimm/runtime.hpp"
#include "autotimm/tasks/instance_segmentor.hpp"
#include "flags.hpp"
#include "median_time.hpp"

namespace {

/// Random boxes inside a size × size image: [n, 4].
torch::Tensor random_boxes(std::int64_t n, std::int64_t size) {
  const auto corner = torch::rand({n, 2}) * (size * 0.7);
  const auto extent = torch::rand({n, 2}) * (size * 0.3) + 8;
  return torch::cat({corner, corner + extent}, 1).clamp(0, static_cast<double>(size));
}

/// Each box filled in its own mask: [n, size, size] uint8.
torch::Tensor box_masks(const torch::Tensor& boxes, std::int64_t size) {
  auto masks = torch::zeros({boxes.size(0), size, size}, torch::kUInt8);
  for (std::int64_t k = 0; k < boxes.size(0); ++k) {
    const auto b = boxes[k].to(torch::kInt64);
    masks[k].narrow(0, b[1].item<std::int64_t>(), (b[3] - b[1]).item<std::int64_t>())
        .narrow(1, b[0].item<std::int64_t>(), (b[2] - b[0]).item<std::int64_t>())
        .fill_(1);
  }
  return masks;
}

}  // namespace

int main(int argc, char** argv) try {
  std::string backbone = "resnet50";
  std::int64_t size = 512, batch = 2, classes = 80, objects = 20, fpn_channels = 256, head_convs = 4;
  std::int64_t mask_channels = 256, mask_convs = 4;
  int runs = 5, warmup = 1;
  autotimm::bench::Flags()
      .value("--backbone", backbone)
      .value("--size", size)
      .value("--batch", batch)
      .value("--classes", classes)
      .value("--objects", objects)
      .value("--fpn-channels", fpn_channels)
      .value("--head-convs", head_convs)
      .value("--mask-channels", mask_channels)
      .value("--mask-convs", mask_convs)
      .value("--runs", runs)
      .value("--warmup", warmup)
      .parse(argc, argv);
  autotimm::configure_runtime();
  torch::manual_seed(0);
  const auto time = [&](auto&& step) { return autotimm::bench::median_seconds(warmup, runs, step) * 1e3; };

  // The ops on a pyramid like the model's (strides 8, 16, 32) with 512 boxes.
  std::vector<torch::Tensor> pyramid;
  for (const std::int64_t stride : {8, 16, 32}) {
    pyramid.push_back(torch::randn({batch, fpn_channels, size / stride, size / stride}, torch::requires_grad()));
  }
  const std::int64_t num_rois = 512;
  const auto rois = torch::cat({torch::randint(0, batch, {num_rois, 1}).to(torch::kFloat32),
                                random_boxes(num_rois, size)}, 1);
  const double align_forward_ms = time([&] {
    torch::NoGradGuard no_grad;
    (void)autotimm::ops::multi_scale_roi_align(pyramid, {8, 16, 32}, rois, 14, 2, true);
  });
  const double align_backward_ms = time([&] {
    autotimm::ops::multi_scale_roi_align(pyramid, {8, 16, 32}, rois, 14, 2, true).sum().backward();
  });
  const auto object_boxes = random_boxes(64, size);
  const auto object_masks = box_masks(object_boxes, size);
  const double targets_ms = time([&] { (void)autotimm::ops::mask_targets(object_masks, object_boxes, 28); });
  const auto probs = torch::rand({100, 28, 28});
  const auto paste_boxes = random_boxes(100, size);
  torch::Tensor pasted;
  const double paste_ms = time([&] { pasted = autotimm::ops::paste_masks(probs, paste_boxes, size, size, 0.5); });
  std::vector<autotimm::Rle> detections, truths;
  const double encode_ms = time([&] {
    const auto bytes = pasted.to(torch::kUInt8).contiguous();
    detections.clear();
    for (std::int64_t k = 0; k < bytes.size(0); ++k) {
      detections.push_back(autotimm::rle_encode(bytes.data_ptr<std::uint8_t>() + k * size * size,
                                                static_cast<int>(size), static_cast<int>(size)));
    }
  });
  truths.assign(detections.begin(), detections.begin() + 20);
  const double iou_ms = time([&] { (void)autotimm::coco_mask_iou(detections, truths, std::vector<std::uint8_t>(20)); });

  autotimm::InstanceSegmentorOptions options{.detector = {.backbone = backbone,
                                                          .num_classes = classes,
                                                          .fpn_channels = fpn_channels,
                                                          .head_num_convs = head_convs,
                                                          .pretrained = false},
                                             .mask_head_channels = mask_channels,
                                             .mask_head_num_convs = mask_convs};
  autotimm::InstanceSegmentor model(options);
  autotimm::ObjectDetector detector(options.detector);
  autotimm::Batch data;
  data.images = torch::randn({batch, 3, size, size});
  for (std::int64_t i = 0; i < batch; ++i) {
    const auto boxes = random_boxes(objects, size).floor();
    data.boxes.push_back(boxes);
    data.labels.push_back(torch::randint(0, classes, {objects}));
    data.iscrowd.push_back(torch::zeros({objects}, torch::kBool));
    data.masks.push_back(box_masks(boxes, size));
  }
  data.image_ids = torch::arange(batch);
  const double predict_ms = time([&] { (void)model.predict(data.images); });
  const double detector_predict_ms = time([&] { (void)detector.predict(data.images); });
  model.train();
  detector.train();
  const double step_ms = time([&] {
    model.zero_grad();
    model.training_step(data, {}).loss.backward();
  });
  const double detector_step_ms = time([&] {
    detector.zero_grad();
    detector.training_step(data, {}).loss.backward();
  });
  std::cout << backbone << " FCOS + mask head, " << batch << " x " << size << "x" << size << ", " << classes
            << " classes, " << objects << " objects per image, median of " << runs << " after " << warmup
            << " warm-up, " << at::get_num_threads() << " threads\n"
            << "roi_align forward    " << align_forward_ms << " ms (" << num_rois << " boxes, 3 levels, "
            << fpn_channels << " channels, 14x14)\n"
            << "roi_align backward   " << align_backward_ms << " ms (forward + backward)\n"
            << "mask targets         " << targets_ms << " ms (64 objects, 28x28)\n"
            << "paste masks          " << paste_ms << " ms (100 masks at " << size << "x" << size << ")\n"
            << "RLE encode           " << encode_ms << " ms (100 masks)\n"
            << "mask IoU             " << iou_ms << " ms (100 x 20)\n"
            << "predict              " << predict_ms << " ms per batch (" << batch * 1e3 / predict_ms << " img/s)\n"
            << "detector alone       " << detector_predict_ms << " ms per batch\n"
            << "training step        " << step_ms << " ms per batch (" << batch * 1e3 / step_ms << " img/s)\n"
            << "detector alone step  " << detector_step_ms << " ms per batch\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "bench_instance_segmentation: " << e.what() << "\n";
  return 2;
}
