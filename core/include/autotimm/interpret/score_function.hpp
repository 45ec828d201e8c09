#pragma once
// ScoreFunction: what an explanation explains. A model's output reduced to one differentiable number per image: a
// class's logit or probability for a classifier, one box's score for a detector, a class's pixels for a segmentor.
//
//   autotimm::interpret::ScoreFunction score = [&](const torch::Tensor& x) { return model.forward(x).select(1, 3); };
#include <functional>

#include <ATen/core/Tensor.h>

namespace autotimm::interpret {

/// images [N, 3, H, W], the model's normalised input → [N], differentiable with respect to the images and to the
/// activations inside the model.
using ScoreFunction = std::function<at::Tensor(const at::Tensor& images)>;

}  // namespace autotimm::interpret
