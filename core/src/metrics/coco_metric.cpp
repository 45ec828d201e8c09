#include "autotimm/metrics/coco_metric.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <unordered_map>

namespace autotimm {

namespace {

constexpr std::int64_t kGroundTruthWidth = 8;
constexpr std::int64_t kDetectionWidth = 7;

torch::Tensor rows_tensor(const std::vector<double>& rows, std::int64_t width) {
  return torch::tensor(rows, torch::kFloat64).view({-1, width});
}

std::vector<double> tensor_rows(const torch::Tensor& tensor) {
  const auto contiguous = tensor.contiguous();
  return {contiguous.data_ptr<double>(), contiguous.data_ptr<double>() + contiguous.numel()};
}

}  // namespace

CocoMetric::CocoMetric(std::vector<std::string> class_names) : class_names_(std::move(class_names)) {}

void CocoMetric::update(std::int64_t image_id, const std::vector<DetectionGroundTruth>& ground_truths,
                        const std::vector<Detection>& detections) {
  if (std::find(image_ids_.begin(), image_ids_.end(), image_id) != image_ids_.end()) return;
  image_ids_.push_back(image_id);
  const auto id = static_cast<double>(image_id);
  for (const auto& g : ground_truths) {
    ground_truth_rows_.insert(ground_truth_rows_.end(), {id, static_cast<double>(g.category), g.box[0], g.box[1],
                                                         g.box[2], g.box[3], g.area, g.iscrowd ? 1.0 : 0.0});
  }
  for (const auto& d : detections) {
    detection_rows_.insert(detection_rows_.end(),
                           {id, static_cast<double>(d.category), d.box[0], d.box[1], d.box[2], d.box[3], d.score});
  }
}

void CocoMetric::sync(Collective& ranks) {
  if (ranks.world_size() == 1) return;
  // Every row travels with its rank: an image a distributed sampler repeated on two ranks is kept from one only.
  const auto with_rank = [&](const std::vector<double>& rows, std::int64_t width) {
    const auto table = rows_tensor(rows, width);
    return torch::cat({torch::full({table.size(0), 1}, static_cast<double>(ranks.rank()), torch::kFloat64), table}, 1);
  };
  std::vector<double> id_rows(image_ids_.begin(), image_ids_.end());
  const auto ids = tensor_rows(ranks.all_gather_rows(with_rank(id_rows, 1)));
  const auto gts = tensor_rows(ranks.all_gather_rows(with_rank(ground_truth_rows_, kGroundTruthWidth)));
  const auto dets = tensor_rows(ranks.all_gather_rows(with_rank(detection_rows_, kDetectionWidth)));
  std::map<double, double> owner;  // image id → the first rank that evaluated it
  image_ids_.clear();
  for (std::size_t r = 0; r < ids.size(); r += 2) {
    if (owner.emplace(ids[r + 1], ids[r]).second) image_ids_.push_back(static_cast<std::int64_t>(ids[r + 1]));
  }
  const auto owned = [&](const std::vector<double>& rows, std::int64_t width) {
    std::vector<double> out;
    const auto stride = static_cast<std::size_t>(width + 1);
    for (std::size_t r = 0; r < rows.size(); r += stride) {
      if (owner.at(rows[r + 1]) != rows[r]) continue;
      out.insert(out.end(), rows.begin() + static_cast<std::ptrdiff_t>(r + 1),
                 rows.begin() + static_cast<std::ptrdiff_t>(r + stride));
    }
    return out;
  };
  ground_truth_rows_ = owned(gts, kGroundTruthWidth);
  detection_rows_ = owned(dets, kDetectionWidth);
}

CocoSummary CocoMetric::summary() const {
  std::vector<std::int64_t> categories(class_names_.size());
  for (std::size_t c = 0; c < categories.size(); ++c) categories[c] = static_cast<std::int64_t>(c);
  CocoEvaluator evaluator({.category_ids = categories});
  std::unordered_map<std::int64_t, std::pair<std::vector<DetectionGroundTruth>, std::vector<Detection>>> images;
  for (const auto id : image_ids_) images[id];
  for (std::size_t r = 0; r < ground_truth_rows_.size(); r += kGroundTruthWidth) {
    const double* row = &ground_truth_rows_[r];
    images[static_cast<std::int64_t>(row[0])].first.push_back(
        {static_cast<std::int64_t>(row[1]), {row[2], row[3], row[4], row[5]}, row[6], row[7] != 0.0});
  }
  for (std::size_t r = 0; r < detection_rows_.size(); r += kDetectionWidth) {
    const double* row = &detection_rows_[r];
    images[static_cast<std::int64_t>(row[0])].second.push_back(
        {static_cast<std::int64_t>(row[1]), {row[2], row[3], row[4], row[5]}, row[6]});
  }
  for (const auto id : image_ids_) evaluator.add(id, images[id].first, images[id].second);
  return evaluator.summary();
}

std::map<std::string, double> CocoMetric::compute(std::string_view stage) const {
  std::map<std::string, double> out;
  if (image_ids_.empty()) return out;
  const CocoSummary result = summary();
  const std::string prefix = std::string(stage) + "/";
  for (const auto& [name, value] : result.values()) out[prefix + name] = value;
  for (const auto& [category, ap] : result.per_class_ap) {
    const auto index = static_cast<std::size_t>(category);
    const std::string name = index < class_names_.size() ? class_names_[index] : std::to_string(category);
    out[prefix + "ap/" + name] = ap;
  }
  return out;
}

void CocoMetric::reset() {
  image_ids_.clear();
  ground_truth_rows_.clear();
  detection_rows_.clear();
}

}  // namespace autotimm
