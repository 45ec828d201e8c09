#include "fcos_loss.hpp"

#include <torch/torch.h>

#include <cmath>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/ops/boxes.hpp"
#include "autotimm/ops/focal_loss.hpp"
#include "inputs.hpp"

namespace autotimm::detection_losses {
namespace {

constexpr std::string_view kLoss = "fcos";
constexpr std::string_view kExpectedPredictions =
    "cls_logits [B, N, C], box_ltrb [B, N, 4] and centerness [B, N] (the fcos head's outputs, flattened by the task)";
constexpr std::string_view kExpectedTargets =
    "labels int64 [B, N], box_ltrb [B, N, 4], centerness [B, N] and num_positives (a single number)";

// The tensors of one call, checked against the shape of cls_logits.
struct FcosInputs {
  torch::Tensor cls_logits, box_ltrb, centerness;                                 // predictions
  torch::Tensor labels, target_box_ltrb, target_centerness, num_positives;        // targets
};

std::string shape_text(std::vector<std::int64_t> sizes) { return c10::str(c10::IntArrayRef(sizes)); }

// ConfigError unless `tensor` is `want_floating` (else int64) with exactly `sizes`.
void check_shape(const torch::Tensor& tensor, Side side, std::string_view key, std::vector<std::int64_t> sizes,
                 bool want_floating, const torch::Tensor& cls_logits) {
  const bool type_ok = tensor.defined() &&
                       (want_floating ? tensor.is_floating_point() : tensor.scalar_type() == torch::kLong);
  if (type_ok && tensor.sizes() == c10::IntArrayRef(sizes)) return;
  throw ConfigError("loss 'fcos': " + std::string(side == Side::predictions ? "predictions" : "targets") + " '" +
                    std::string(key) + "' must be " + (want_floating ? "floating " : "int64 ") + shape_text(sizes) +
                    " to match cls_logits " + c10::str(cls_logits.sizes()) + ", got " + described(tensor));
}

FcosInputs fcos_inputs(const TensorMap& predictions, const TensorMap& targets) {
  FcosInputs in;
  in.cls_logits = require_input(predictions, "cls_logits", Side::predictions, kLoss, kExpectedPredictions);
  in.box_ltrb = require_input(predictions, "box_ltrb", Side::predictions, kLoss, kExpectedPredictions);
  in.centerness = require_input(predictions, "centerness", Side::predictions, kLoss, kExpectedPredictions);
  in.labels = require_input(targets, "labels", Side::targets, kLoss, kExpectedTargets);
  in.target_box_ltrb = require_input(targets, "box_ltrb", Side::targets, kLoss, kExpectedTargets);
  in.target_centerness = require_input(targets, "centerness", Side::targets, kLoss, kExpectedTargets);
  const auto& num_positives = require_input(targets, "num_positives", Side::targets, kLoss, kExpectedTargets);

  if (!in.cls_logits.defined() || in.cls_logits.dim() != 3 || !in.cls_logits.is_floating_point() ||
      in.cls_logits.size(2) < 1) {
    throw ConfigError("loss 'fcos': predictions 'cls_logits' must be floating [B, N, C] with C >= 1, got " +
                      described(in.cls_logits));
  }
  const auto b = in.cls_logits.size(0), n = in.cls_logits.size(1), c = in.cls_logits.size(2);
  check_shape(in.box_ltrb, Side::predictions, "box_ltrb", {b, n, 4}, true, in.cls_logits);
  check_shape(in.centerness, Side::predictions, "centerness", {b, n}, true, in.cls_logits);
  check_shape(in.labels, Side::targets, "labels", {b, n}, false, in.cls_logits);
  check_shape(in.target_box_ltrb, Side::targets, "box_ltrb", {b, n, 4}, true, in.cls_logits);
  check_shape(in.target_centerness, Side::targets, "centerness", {b, n}, true, in.cls_logits);
  check_labels(in.labels, c, kLoss, "cls_logits");
  in.num_positives = positive_normaliser(num_positives, "num_positives", kLoss, in.cls_logits.scalar_type(),
                                         "the task clamps the number of positive locations to at least 1");
  return in;
}

// (l, t, r, b) distances as an xyxy box around the origin: GIoU does not depend on where the shared point is.
torch::Tensor ltrb_to_box(const torch::Tensor& ltrb) {
  return torch::cat({-ltrb.slice(1, 0, 2), ltrb.slice(1, 2, 4)}, 1);
}

void check_weight(double value, const std::string& field) {
  if (!(value >= 0.0) || !std::isfinite(value)) fail_option("loss 'fcos'", field, "a finite number >= 0", shown(value));
}

}  // namespace

FcosLossOptions FcosLossOptions::from(const Config& config) {
  FcosLossOptions options;
  read_arg(config, "focal_alpha", options.focal_alpha);
  read_arg(config, "focal_gamma", options.focal_gamma);
  read_arg(config, "cls_weight", options.cls_weight);
  read_arg(config, "box_weight", options.box_weight);
  read_arg(config, "centerness_weight", options.centerness_weight);
  return options;
}

FcosLoss::FcosLoss(FcosLossOptions options) : options_(options) {
  if (!std::isfinite(options_.focal_alpha) || options_.focal_alpha > 1.0) {
    fail_option("loss 'fcos'", "focal_alpha", "a weight in [0, 1], or a negative number to disable the weighting",
                shown(options_.focal_alpha));
  }
  check_weight(options_.focal_gamma, "focal_gamma");
  check_weight(options_.cls_weight, "cls_weight");
  check_weight(options_.box_weight, "box_weight");
  check_weight(options_.centerness_weight, "centerness_weight");
}

LossOutput FcosLoss::forward(const TensorMap& predictions, const TensorMap& targets) {
  const FcosInputs in = fcos_inputs(predictions, targets);
  const auto dtype = in.cls_logits.scalar_type();
  const auto num_classes = in.cls_logits.size(2);
  const auto positive = in.labels >= 0;

  // Classification: one-hot rows at positives, all-zero rows elsewhere; ignored locations are masked out with where()
  // so that neither their value nor their gradient counts.
  const auto one_hot =
      torch::one_hot(in.labels.clamp_min(0), num_classes).to(dtype) * positive.unsqueeze(-1).to(dtype);
  const auto focal = ops::sigmoid_focal_loss(in.cls_logits, one_hot,
                                             {.alpha = options_.focal_alpha, .gamma = options_.focal_gamma});
  const auto counted = (in.labels != kIgnoredLabel).unsqueeze(-1);
  const auto loss_cls = torch::where(counted, focal, torch::zeros({}, focal.options())).sum() / in.num_positives;

  // Box and centerness only at positives, selected (not masked) so that whatever the targets hold elsewhere never
  // reaches the values or the gradients. With no positive the sums run over empty selections: 0, still in the graph.
  const auto predicted_boxes = ltrb_to_box(in.box_ltrb.index({positive}));
  const auto target_boxes = ltrb_to_box(in.target_box_ltrb.index({positive}).to(in.box_ltrb.scalar_type()));
  const auto loss_box =
      (1 - ops::matched_generalized_box_iou(predicted_boxes, target_boxes)).sum().to(dtype) / in.num_positives;

  const auto centerness = in.centerness.index({positive});
  const auto loss_centerness =
      torch::binary_cross_entropy_with_logits(centerness, in.target_centerness.index({positive}).to(centerness.dtype()),
                                              {}, {}, at::Reduction::Sum)
          .to(dtype) /
      in.num_positives;

  const auto total = options_.cls_weight * loss_cls + options_.box_weight * loss_box +
                     options_.centerness_weight * loss_centerness;
  return {.total = total,
          .terms = {{"loss_cls", loss_cls}, {"loss_box", loss_box}, {"loss_centerness", loss_centerness}}};
}

}  // namespace autotimm::detection_losses
