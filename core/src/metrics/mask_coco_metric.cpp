// COCO box and mask metrics of an instance segmentor: boxes go to a CocoMetric, masks are kept as RLE per image,
// exchanged between ranks as one int64 stream, and evaluated through CocoEvaluator::add_prepared with mask IoU.
#include "autotimm/metrics/mask_coco_metric.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "autotimm/error.hpp"

namespace autotimm {
namespace {

constexpr std::string_view kWhat = "mask coco metric";
constexpr std::size_t kMaxDetections = 100;  // COCOeval's maxDets[-1]

// The exchange stream is a run of records, each a header then `n` run lengths:
//   rank, kind, image, category, value (a double's bits), crowd, height, width, n, counts...
// An image record (kind 0, every other field 0) comes before the objects of its image from the same rank.
enum RecordKind : std::int64_t { kImageRecord = 0, kGroundTruthRecord = 1, kDetectionRecord = 2 };
constexpr std::size_t kHeaderSize = 9;

std::string size_string(const Rle& rle) { return std::to_string(rle.height) + " × " + std::to_string(rle.width); }

std::uint64_t run_sum(const Rle& rle) {
  return std::accumulate(rle.counts.begin(), rle.counts.end(), std::uint64_t{0});
}

// Rows from other ranks are checked before use: a malformed stream means the ranks disagree on the format.
[[noreturn]] void bad_rows(std::size_t at, const std::string& problem) {
  throw TrainingError(std::string(kWhat) + ": sync: the gathered mask rows at position " + std::to_string(at) + ": " +
                      problem + "; every rank must run the same build and call sync at the same point");
}

}  // namespace

MaskCocoMetric::MaskCocoMetric(std::vector<std::string> class_names)
    : class_names_(class_names), boxes_(std::move(class_names)) {}

void MaskCocoMetric::update(std::int64_t image_id, const std::vector<DetectionGroundTruth>& ground_truths,
                            const std::vector<Rle>& gt_masks, const std::vector<Detection>& detections,
                            const std::vector<Rle>& detection_masks) {
  const auto seen = [&](const MaskImage& image) { return image.id == image_id; };
  if (std::any_of(images_.begin(), images_.end(), seen)) return;
  const std::string where = std::string(kWhat) + ": image " + std::to_string(image_id);
  if (gt_masks.size() != ground_truths.size() || detection_masks.size() != detections.size()) {
    const bool gt = gt_masks.size() != ground_truths.size();
    throw ConfigError(where + ": '" + (gt ? "gt_masks" : "detection_masks") + "': expected one mask per " +
                      (gt ? "ground truth" : "detection") + " (" +
                      std::to_string(gt ? ground_truths.size() : detections.size()) + "), got " +
                      std::to_string(gt ? gt_masks.size() : detection_masks.size()) + "; pass " +
                      (gt ? "gt_masks[i] for ground_truths[i]" : "detection_masks[i] for detections[i]"));
  }
  // Every mask of the image has the size of the first one; its runs cover exactly that many pixels.
  const Rle* first = nullptr;
  std::string first_name;
  const auto check_mask = [&](const Rle& mask, const std::string& name) {
    if (mask.height < 0 || mask.width < 0 ||
        run_sum(mask) != static_cast<std::uint64_t>(mask.height) * static_cast<std::uint64_t>(mask.width)) {
      throw ConfigError(where + ", " + name + ": mask: expected runs summing to height × width (" + size_string(mask) +
                        " = " + std::to_string(std::int64_t{mask.height} * mask.width) + "), got " +
                        std::to_string(run_sum(mask)) + "; build masks with rle_encode, rle_from_string or " +
                        "rle_from_polygons");
    }
    if (first == nullptr) {
      first = &mask;
      first_name = name;
    } else if (mask.height != first->height || mask.width != first->width) {
      throw ConfigError(where + ", " + name + ": mask: expected the image's size " + size_string(*first) +
                        " (height × width, as " + first_name + "'s mask), got " + size_string(mask) +
                        "; paste every mask back onto the original image before update");
    }
  };
  for (std::size_t i = 0; i < ground_truths.size(); ++i) {
    const std::string name = "ground truth " + std::to_string(i);
    check_mask(gt_masks[i], name);
    if (!std::isfinite(ground_truths[i].area) || ground_truths[i].area < 0) {
      throw ConfigError(where + ", " + name + ": 'area': expected a finite value >= 0 (pixels²), got " +
                        std::to_string(ground_truths[i].area) + "; pass the annotation's area");
    }
  }
  for (std::size_t i = 0; i < detections.size(); ++i) {
    const std::string name = "detection " + std::to_string(i);
    check_mask(detection_masks[i], name);
    if (!std::isfinite(detections[i].score)) {
      throw ConfigError(where + ", " + name + ": 'score': expected a finite number, got " +
                        std::to_string(detections[i].score) + "; check the model's outputs for NaN / Inf");
    }
  }

  boxes_.update(image_id, ground_truths, detections);
  const auto evaluated = [&](std::int64_t category) {
    return category >= 0 && category < static_cast<std::int64_t>(class_names_.size());
  };
  MaskImage image;
  image.id = image_id;
  for (std::size_t i = 0; i < ground_truths.size(); ++i) {
    const auto& g = ground_truths[i];
    if (evaluated(g.category)) image.ground_truths.push_back({g.category, g.area, g.iscrowd, gt_masks[i]});
  }
  // Only the 100 best detections per category can ever be matched: keep those (in input order).
  std::map<std::int64_t, std::vector<std::size_t>> by_category;
  for (std::size_t i = 0; i < detections.size(); ++i) {
    if (evaluated(detections[i].category)) by_category[detections[i].category].push_back(i);
  }
  std::vector<std::uint8_t> keep(detections.size(), 0);
  for (auto& [category, indices] : by_category) {
    std::stable_sort(indices.begin(), indices.end(),
                     [&](std::size_t a, std::size_t b) { return detections[a].score > detections[b].score; });
    for (std::size_t k = 0; k < std::min(indices.size(), kMaxDetections); ++k) keep[indices[k]] = 1;
  }
  for (std::size_t i = 0; i < detections.size(); ++i) {
    const auto& d = detections[i];
    if (keep[i]) image.detections.push_back({d.category, d.score, false, detection_masks[i]});
  }
  images_.push_back(std::move(image));
}

void MaskCocoMetric::sync(Collective& ranks) {
  boxes_.sync(ranks);
  if (ranks.world_size() == 1) return;
  const std::int64_t rank = ranks.rank();
  std::vector<std::int64_t> stream;
  const auto write = [&](RecordKind kind, std::int64_t image, const MaskObject* object) {
    if (object == nullptr) {
      stream.insert(stream.end(), {rank, kind, image, 0, 0, 0, 0, 0, 0});
      return;
    }
    const auto& m = object->mask;
    stream.insert(stream.end(), {rank, kind, image, object->category, std::bit_cast<std::int64_t>(object->value),
                                 object->crowd ? 1 : 0, m.height, m.width, static_cast<std::int64_t>(m.counts.size())});
    stream.insert(stream.end(), m.counts.begin(), m.counts.end());
  };
  for (const auto& image : images_) {
    write(kImageRecord, image.id, nullptr);
    for (const auto& g : image.ground_truths) write(kGroundTruthRecord, image.id, &g);
    for (const auto& d : image.detections) write(kDetectionRecord, image.id, &d);
  }
  const auto sent = torch::tensor(stream, torch::kInt64).view({-1, 1});
  const auto gathered = ranks.all_gather_rows(sent).contiguous();

  if (gathered.scalar_type() != torch::kInt64 || gathered.dim() != 2 || gathered.size(1) != 1) {
    bad_rows(0, "expected an int64 [N, 1] tensor, got " + std::string(c10::toString(gathered.scalar_type())) + " " +
                    c10::str(gathered.sizes()));
  }
  const std::int64_t* rows = gathered.data_ptr<std::int64_t>();
  const auto total = static_cast<std::size_t>(gathered.size(0));
  std::unordered_map<std::int64_t, std::int64_t> owner;  // image id → the first rank that evaluated it
  std::unordered_map<std::int64_t, std::size_t> slot;    // image id → its position in `images`
  std::vector<MaskImage> images;
  std::int64_t last_rank = 0;
  for (std::size_t at = 0; at < total;) {
    if (total - at < kHeaderSize) {
      bad_rows(at, "expected a record header of 9 values, got " + std::to_string(total - at));
    }
    const std::int64_t* h = rows + at;
    const std::int64_t from = h[0], kind = h[1], image = h[2], category = h[3], crowd = h[5];
    const std::int64_t height = h[6], width = h[7], n = h[8];
    const double value = std::bit_cast<double>(h[4]);
    if (from < last_rank || from >= ranks.world_size()) {
      bad_rows(at, "expected a rank from " + std::to_string(last_rank) + " to " +
                       std::to_string(ranks.world_size() - 1) + " (rank order), got " + std::to_string(from));
    }
    last_rank = from;
    if (kind < kImageRecord || kind > kDetectionRecord) {
      bad_rows(at, "expected a kind 0..2, got " + std::to_string(kind));
    }
    if (height < 0 || height > INT_MAX || width < 0 || width > INT_MAX || n < 0 ||
        n > static_cast<std::int64_t>(total - at - kHeaderSize) || (crowd != 0 && crowd != 1)) {
      bad_rows(at, "expected height, width in 0..2^31-1, crowd 0 / 1 and at most " +
                       std::to_string(total - at - kHeaderSize) + " runs, got " + std::to_string(height) + ", " +
                       std::to_string(width) + ", " + std::to_string(crowd) + " and " + std::to_string(n));
    }
    at += kHeaderSize;
    if (kind == kImageRecord) {
      if (owner.emplace(image, from).second) {
        slot.emplace(image, images.size());
        images.push_back({image, {}, {}});
      } else if (owner.at(image) == from) {
        bad_rows(at - kHeaderSize, "expected image " + std::to_string(image) + " once per rank, got it twice");
      }
      at += static_cast<std::size_t>(n);
      continue;
    }
    const auto it = owner.find(image);
    if (it == owner.end()) {
      bad_rows(at - kHeaderSize, "expected image " + std::to_string(image) + " before its objects");
    }
    if (category < 0 || category >= static_cast<std::int64_t>(class_names_.size())) {
      bad_rows(at - kHeaderSize, "expected a category 0.." + std::to_string(class_names_.size() - 1) + ", got " +
                                     std::to_string(category));
    }
    Rle mask{static_cast<int>(height), static_cast<int>(width), {}};
    mask.counts.reserve(static_cast<std::size_t>(n));
    std::uint64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t run = rows[at + static_cast<std::size_t>(i)];
      if (run < 0 || run > UINT32_MAX) bad_rows(at, "expected runs in 0..2^32-1, got " + std::to_string(run));
      mask.counts.push_back(static_cast<std::uint32_t>(run));
      sum += static_cast<std::uint64_t>(run);
    }
    at += static_cast<std::size_t>(n);
    if (sum != static_cast<std::uint64_t>(height) * static_cast<std::uint64_t>(width)) {
      bad_rows(at - kHeaderSize - static_cast<std::size_t>(n),
               "expected runs summing to height × width, got " + std::to_string(sum) + " for " + size_string(mask));
    }
    if (!std::isfinite(value) || (kind == kGroundTruthRecord && value < 0)) {
      bad_rows(at, "expected a finite " + std::string(kind == kGroundTruthRecord ? "area >= 0" : "score"));
    }
    if (it->second != from) continue;  // a repeat of an image another rank owns
    auto& target = images[slot.at(image)];
    auto& objects = kind == kGroundTruthRecord ? target.ground_truths : target.detections;
    objects.push_back({category, value, crowd != 0, std::move(mask)});
  }
  images_ = std::move(images);
}

CocoSummary MaskCocoMetric::box_summary() const { return boxes_.summary(); }

CocoSummary MaskCocoMetric::mask_summary() const {
  std::vector<std::int64_t> categories(class_names_.size());
  std::iota(categories.begin(), categories.end(), std::int64_t{0});
  CocoEvaluator evaluator({.category_ids = categories});
  for (const auto& image : images_) {
    // Per category, objects in input order (COCO keeps annotation order); detections best first (stable), 100 at most.
    std::map<std::int64_t, std::pair<std::vector<const MaskObject*>, std::vector<const MaskObject*>>> groups;
    for (const auto& g : image.ground_truths) groups[g.category].first.push_back(&g);
    for (const auto& d : image.detections) groups[d.category].second.push_back(&d);
    std::vector<CocoImageCategory> cells;
    cells.reserve(groups.size());
    for (auto& [category, objects] : groups) {
      auto& [gts, dets] = objects;
      std::stable_sort(dets.begin(), dets.end(),
                       [](const MaskObject* a, const MaskObject* b) { return a->value > b->value; });
      if (dets.size() > kMaxDetections) dets.resize(kMaxDetections);
      CocoImageCategory cell;
      cell.category = category;
      std::vector<Rle> gt_masks, det_masks;
      for (const auto* g : gts) {
        cell.gt_area.push_back(g->value);
        cell.gt_crowd.push_back(g->crowd ? 1 : 0);
        gt_masks.push_back(g->mask);
      }
      for (const auto* d : dets) {
        cell.detection_score.push_back(d->value);
        cell.detection_area.push_back(static_cast<double>(d->mask.area()));
        det_masks.push_back(d->mask);
      }
      if (!gts.empty() && !dets.empty()) cell.iou = coco_mask_iou(det_masks, gt_masks, cell.gt_crowd);
      cells.push_back(std::move(cell));
    }
    evaluator.add_prepared(image.id, cells);
  }
  return evaluator.summary();
}

std::map<std::string, double> MaskCocoMetric::compute(std::string_view stage) const {
  std::map<std::string, double> out = boxes_.compute(stage);
  if (images_.empty()) return out;
  const CocoSummary masks = mask_summary();
  const std::string prefix = std::string(stage) + "/mask_";
  for (const auto& [name, value] : masks.values()) out[prefix + name] = value;
  for (const auto& [category, ap] : masks.per_class_ap) {
    out[prefix + "ap/" + class_names_.at(static_cast<std::size_t>(category))] = ap;
  }
  return out;
}

void MaskCocoMetric::reset() {
  boxes_.reset();
  images_.clear();
}

}  // namespace autotimm
