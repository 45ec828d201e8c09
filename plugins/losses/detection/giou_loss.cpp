#include "giou_loss.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <utility>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/ops/boxes.hpp"
#include "inputs.hpp"

namespace autotimm::detection_losses {
namespace {

constexpr std::string_view kLoss = "giou";

constexpr std::array<std::pair<std::string_view, ops::Reduction>, 2> kReductions = {{
    {"mean", ops::Reduction::mean},
    {"sum", ops::Reduction::sum},
}};

}  // namespace

GiouLossOptions GiouLossOptions::from(const Config& config) {
  GiouLossOptions options;
  if (auto name = config.get_optional<std::string>("reduction")) {
    // "none" is read so that the constructor can say why it is refused, rather than call it unknown.
    options.reduction = *name == "none" ? ops::Reduction::none
                                        : parse_choice(kReductions, *name, config.where("reduction"), "a reduction");
  }
  return options;
}

GiouLoss::GiouLoss(GiouLossOptions options) : options_(options) {
  if (options_.reduction == ops::Reduction::none) {
    fail_option("loss 'giou'", "reduction", "'mean' or 'sum'", "'none'",
                "a loss returns one number to call backward() on; use 'sum' and divide by your own normaliser");
  }
}

LossOutput GiouLoss::forward(const TensorMap& predictions, const TensorMap& targets) {
  const auto& predicted = require_input(predictions, "boxes", Side::predictions, kLoss, "boxes [N, 4] (xyxy)");
  const auto& target = require_input(targets, "boxes", Side::targets, kLoss,
                                     "boxes [N, 4] (xyxy) and optionally weights [N]");
  if (!predicted.defined() || predicted.dim() != 2 || predicted.size(1) != 4 || !predicted.is_floating_point()) {
    throw ConfigError("loss 'giou': predictions 'boxes' must be floating [N, 4] (xyxy), got " + described(predicted));
  }
  if (!target.defined() || !target.is_floating_point() || target.sizes() != predicted.sizes()) {
    throw ConfigError("loss 'giou': targets 'boxes' must be floating " + c10::str(predicted.sizes()) +
                      " like predictions 'boxes', got " + described(target));
  }
  auto loss = 1 - ops::matched_generalized_box_iou(predicted, target.to(predicted.scalar_type()));
  if (const auto it = targets.find("weights"); it != targets.end()) {
    const auto& weights = it->second;
    if (!weights.defined() || !weights.is_floating_point() || weights.dim() != 1 ||
        weights.size(0) != predicted.size(0)) {
      throw ConfigError("loss 'giou': targets 'weights' must be floating [" + std::to_string(predicted.size(0)) +
                        "], one per box of predictions 'boxes' " + c10::str(predicted.sizes()) + ", got " +
                        described(weights));
    }
    loss = loss * weights.to(loss.scalar_type());
  }
  auto total = loss.sum();
  // No pair at all: 0 rather than the NaN of an empty mean.
  if (options_.reduction == ops::Reduction::mean) {
    total = total / static_cast<double>(std::max<std::int64_t>(loss.size(0), 1));
  }
  return {.total = total, .terms = {}};
}

}  // namespace autotimm::detection_losses
