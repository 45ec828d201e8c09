// COCO detection evaluation (pycocotools' COCOeval, bbox): each image and category is matched once when added, for
// every area range and IoU threshold; summary() sorts each category's detections once and sweeps them per setting.
#include <algorithm>
#include <charconv>
#include <functional>
#include <cmath>
#include <numeric>
#include <set>
#include <string>
#include <utility>

#include "autotimm/error.hpp"
#include "autotimm/metrics/detection_metrics.hpp"

namespace autotimm {
namespace {

constexpr std::string_view kWhat = "coco evaluation";
constexpr int kNumThresholds = 10;
constexpr int kNumRecall = 101;
constexpr int kNumAreas = 4;
constexpr std::array<std::int64_t, 3> kMaxDets = {1, 10, 100};
constexpr std::int64_t kMaxDet = 100;

// numpy.linspace(start, stop, num): i * ((stop - start) / (num - 1)) + start, the last value set to stop. Evaluated
// at compile time, so no fused multiply-add can change a bit.
template <int N>
constexpr std::array<double, N> linspace(double start, double stop) {
  std::array<double, N> values{};
  const double step = (stop - start) / (N - 1);
  for (int i = 0; i < N; ++i) values[i] = static_cast<double>(i) * step + start;
  values[N - 1] = stop;
  return values;
}
constexpr auto kIouThresholds = linspace<kNumThresholds>(0.5, 0.95);
constexpr auto kRecallThresholds = linspace<kNumRecall>(0.0, 1.0);
// all, small, medium, large; bounds inclusive on both sides (pycocotools tests area < lo or area > hi).
constexpr std::array<std::array<double, 2>, kNumAreas> kAreaRanges = {
    {{0.0, 1e10}, {0.0, 32.0 * 32.0}, {32.0 * 32.0, 96.0 * 96.0}, {96.0 * 96.0, 1e10}}};
constexpr double kEps = 2.220446049250313e-16;  // numpy.spacing(1)

enum Outcome : std::uint8_t { kFalsePositive = 0, kTruePositive = 1, kIgnored = 2 };

std::string number(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::string box_string(const std::array<double, 4>& b) {
  return "[" + number(b[0]) + ", " + number(b[1]) + ", " + number(b[2]) + ", " + number(b[3]) + "]";
}

void check_box(std::int64_t image_id, std::string_view kind, std::size_t index, const std::array<double, 4>& b) {
  const bool finite = std::all_of(b.begin(), b.end(), [](double v) { return std::isfinite(v); });
  if (!finite || b[2] < b[0] || b[3] < b[1]) {
    throw ConfigError(std::string(kWhat) + ": image " + std::to_string(image_id) + ", " + std::string(kind) + " " +
                      std::to_string(index) + ": 'box': expected finite x1, y1, x2, y2 with x1 <= x2 and y1 <= y2 " +
                      "(pixels), got " + box_string(b) + "; pass corner coordinates, not x, y, w, h");
  }
}

// numpy's pairwise summation of a contiguous float64 run (numpy/core/src/umath/loops_utils.h pairwise_sum).
double pairwise_sum(const double* a, std::size_t n) {
  if (n < 8) {
    double res = 0.0;
    for (std::size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    std::size_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

// numpy.mean of a 1-D float64 array: the reduction visits blocks of 8192 (the ufunc buffer size), each summed
// pairwise, and adds the block sums in order. -1 for an empty array (COCOeval.summarize's convention).
double numpy_mean(const std::vector<double>& values) {
  if (values.empty()) return -1.0;
  constexpr std::size_t kBlock = 8192;
  double sum = 0.0;
  for (std::size_t i = 0; i < values.size(); i += kBlock) {
    sum += pairwise_sum(values.data() + i, std::min(kBlock, values.size() - i));
  }
  return sum / static_cast<double>(values.size());
}

}  // namespace

std::vector<double> coco_box_iou(const std::vector<std::array<double, 4>>& detection_boxes,
                                 const std::vector<std::array<double, 4>>& gt_boxes,
                                 const std::vector<std::uint8_t>& gt_crowd) {
  const std::size_t d_count = detection_boxes.size(), g_count = gt_boxes.size();
  std::vector<double> iou(d_count * g_count, 0.0);
  for (std::size_t g = 0; g < g_count; ++g) {
    const auto& gb = gt_boxes[g];
    const double gx = gb[0], gy = gb[1], gw = gb[2] - gb[0], gh = gb[3] - gb[1];
    const double g_area = gw * gh;
    const bool crowd = g < gt_crowd.size() && gt_crowd[g] != 0;
    for (std::size_t d = 0; d < d_count; ++d) {
      const auto& db = detection_boxes[d];
      const double dx = db[0], dy = db[1], dw = db[2] - db[0], dh = db[3] - db[1];
      const double d_area = dw * dh;
      const double w = std::fmin(dw + dx, gw + gx) - std::fmax(dx, gx);
      if (w <= 0) continue;
      const double h = std::fmin(dh + dy, gh + gy) - std::fmax(dy, gy);
      if (h <= 0) continue;
      const double inter = w * h;
      const double uni = crowd ? d_area : d_area + g_area - inter;
      iou[d * g_count + g] = inter / uni;
    }
  }
  return iou;
}

const std::array<std::string_view, 12>& coco_metric_names() {
  static constexpr std::array<std::string_view, 12> kNames = {
      "map", "map_50", "map_75", "map_small", "map_medium", "map_large",
      "mar_1", "mar_10", "mar_100", "mar_small", "mar_medium", "mar_large"};
  return kNames;
}

std::array<double, 12> CocoSummary::stats() const {
  return {map, map_50, map_75, map_small, map_medium, map_large,
          mar_1, mar_10, mar_100, mar_small, mar_medium, mar_large};
}

std::map<std::string, double> CocoSummary::values() const {
  std::map<std::string, double> out;
  const auto s = stats();
  for (std::size_t i = 0; i < s.size(); ++i) out.emplace(std::string(coco_metric_names()[i]), s[i]);
  return out;
}

CocoEvaluator::CocoEvaluator(CocoEvaluatorOptions options) : options_(std::move(options)) {
  std::sort(options_.category_ids.begin(), options_.category_ids.end());
  const auto dup = std::adjacent_find(options_.category_ids.begin(), options_.category_ids.end());
  if (dup != options_.category_ids.end()) {
    throw ConfigError(std::string(kWhat) + ": 'category_ids': expected distinct ids, got " + std::to_string(*dup) +
                      " twice; list each category once");
  }
}

void CocoEvaluator::reset() { images_.clear(); }

void CocoEvaluator::check_new_image(std::int64_t image_id) const {
  if (images_.count(image_id) != 0) {
    throw ConfigError(std::string(kWhat) + ": image " + std::to_string(image_id) +
                      ": 'image_id': expected an image not yet added, got one added before; add each image once " +
                      "per evaluation (reset() between epochs), and give every image its own id");
  }
}

void CocoEvaluator::add(std::int64_t image_id, const std::vector<DetectionGroundTruth>& ground_truths,
                        const std::vector<Detection>& detections) {
  check_new_image(image_id);
  for (std::size_t i = 0; i < ground_truths.size(); ++i) {
    const auto& gt = ground_truths[i];
    check_box(image_id, "ground truth", i, gt.box);
    if (!std::isfinite(gt.area) || gt.area < 0) {
      throw ConfigError(std::string(kWhat) + ": image " + std::to_string(image_id) + ", ground truth " +
                        std::to_string(i) + ": 'area': expected a finite value >= 0 (pixels²), got " +
                        number(gt.area) + "; pass the annotation's area, or the box area (w * h)");
    }
  }
  for (std::size_t i = 0; i < detections.size(); ++i) {
    const auto& det = detections[i];
    check_box(image_id, "detection", i, det.box);
    if (!std::isfinite(det.score)) {
      throw ConfigError(std::string(kWhat) + ": image " + std::to_string(image_id) + ", detection " +
                        std::to_string(i) + ": 'score': expected a finite number, got " + number(det.score) +
                        "; check the model's outputs for NaN / Inf");
    }
  }
  const auto& wanted = options_.category_ids;
  const auto evaluated = [&](std::int64_t c) {
    return wanted.empty() || std::binary_search(wanted.begin(), wanted.end(), c);
  };
  // Group by category, keeping input order (COCO keeps annotation order within an image and category).
  std::map<std::int64_t, std::pair<std::vector<std::size_t>, std::vector<std::size_t>>> groups;
  for (std::size_t i = 0; i < ground_truths.size(); ++i) {
    if (evaluated(ground_truths[i].category)) groups[ground_truths[i].category].first.push_back(i);
  }
  for (std::size_t i = 0; i < detections.size(); ++i) {
    if (evaluated(detections[i].category)) groups[detections[i].category].second.push_back(i);
  }
  std::vector<Matched> matched;
  matched.reserve(groups.size());
  for (auto& [category, indices] : groups) {
    auto& [gt_idx, det_idx] = indices;
    std::stable_sort(det_idx.begin(), det_idx.end(),
                     [&](std::size_t a, std::size_t b) { return detections[a].score > detections[b].score; });
    if (static_cast<std::int64_t>(det_idx.size()) > kMaxDet) det_idx.resize(kMaxDet);
    CocoImageCategory input;
    input.category = category;
    std::vector<std::array<double, 4>> gt_boxes, det_boxes;
    for (const auto i : gt_idx) {
      input.gt_area.push_back(ground_truths[i].area);
      input.gt_crowd.push_back(ground_truths[i].iscrowd ? 1 : 0);
      gt_boxes.push_back(ground_truths[i].box);
    }
    for (const auto i : det_idx) {
      const auto& b = detections[i].box;
      input.detection_score.push_back(detections[i].score);
      input.detection_area.push_back((b[2] - b[0]) * (b[3] - b[1]));
      det_boxes.push_back(b);
    }
    input.iou = coco_box_iou(det_boxes, gt_boxes, input.gt_crowd);
    matched.push_back(match(input));
  }
  images_.emplace(image_id, std::move(matched));
}

void CocoEvaluator::add_prepared(std::int64_t image_id, const std::vector<CocoImageCategory>& categories) {
  check_new_image(image_id);
  std::set<std::int64_t> seen;
  for (const auto& c : categories) {
    // Appended piece by piece: GCC 12 at -O2 warns (array-bounds) on one long chain of temporaries here.
    std::string where(kWhat);
    where.append(": image ").append(std::to_string(image_id)).append(", category ");
    where.append(std::to_string(c.category)).append(": ");
    if (!seen.insert(c.category).second) {
      throw ConfigError(where + "'category': expected one entry per category, got it twice; merge its objects");
    }
    const std::size_t g = c.gt_area.size(), d = c.detection_score.size();
    if (c.gt_crowd.size() != g || c.detection_area.size() != d || c.iou.size() != d * g) {
      throw ConfigError(where + "expected gt_crowd of " + std::to_string(g) + ", detection_area of " +
                        std::to_string(d) + " and iou of " + std::to_string(d * g) + " (D × G) entries, got " +
                        std::to_string(c.gt_crowd.size()) + ", " + std::to_string(c.detection_area.size()) + " and " +
                        std::to_string(c.iou.size()) + "; fill every field for the same objects");
    }
    if (static_cast<std::int64_t>(d) > kMaxDet ||
        !std::is_sorted(c.detection_score.begin(), c.detection_score.end(), std::greater<>()) ||
        !std::all_of(c.detection_score.begin(), c.detection_score.end(), [](double v) { return std::isfinite(v); })) {
      throw ConfigError(where + "'detection_score': expected at most 100 finite scores sorted descending, got " +
                        std::to_string(d) + " scores; sort (stable) and keep the first 100 before add_prepared");
    }
    const auto valid_area = [](double v) { return std::isfinite(v) && v >= 0; };
    if (!std::all_of(c.gt_area.begin(), c.gt_area.end(), valid_area) ||
        !std::all_of(c.detection_area.begin(), c.detection_area.end(), valid_area)) {
      throw ConfigError(where + "'gt_area' / 'detection_area': expected finite values >= 0 (pixels²), got a " +
                        "negative or non-finite one; pass object areas");
    }
  }
  std::vector<Matched> matched;
  const auto& wanted = options_.category_ids;
  for (const auto& c : categories) {
    if (!wanted.empty() && !std::binary_search(wanted.begin(), wanted.end(), c.category)) continue;
    if (c.gt_area.empty() && c.detection_score.empty()) continue;  // COCOeval's evaluateImg returns None
    matched.push_back(match(c));
  }
  std::sort(matched.begin(), matched.end(), [](const Matched& a, const Matched& b) { return a.category < b.category; });
  images_.emplace(image_id, std::move(matched));
}

// COCOeval.evaluateImg for every area range, at every IoU threshold, with the largest max-detections.
CocoEvaluator::Matched CocoEvaluator::match(const CocoImageCategory& input) {
  const std::size_t g_count = input.gt_area.size(), d_count = input.detection_score.size();
  Matched out;
  out.category = input.category;
  out.scores = input.detection_score;
  out.outcome.assign(static_cast<std::size_t>(kNumAreas * kNumThresholds) * d_count, kFalsePositive);
  std::vector<std::size_t> order(g_count);      // ground truths, non-ignored first (stable)
  std::vector<std::uint8_t> ignored(g_count);   // per position in `order`
  std::vector<std::uint8_t> taken(g_count);
  std::vector<std::uint8_t> crowd(g_count);
  for (int a = 0; a < kNumAreas; ++a) {
    const double lo = kAreaRanges[a][0], hi = kAreaRanges[a][1];
    const auto is_ignored = [&](std::size_t g) {
      return input.gt_crowd[g] != 0 || input.gt_area[g] < lo || input.gt_area[g] > hi;
    };
    std::size_t pos = 0;
    for (int pass = 0; pass < 2; ++pass) {
      for (std::size_t g = 0; g < g_count; ++g) {
        if (is_ignored(g) == (pass == 1)) {
          order[pos] = g;
          ignored[pos] = pass == 1 ? 1 : 0;
          crowd[pos] = input.gt_crowd[g] != 0 ? 1 : 0;
          ++pos;
        }
      }
    }
    out.num_gt[a] = static_cast<std::int64_t>(std::count(ignored.begin(), ignored.end(), 0));
    for (int t = 0; t < kNumThresholds; ++t) {
      std::uint8_t* result = out.outcome.data() + static_cast<std::size_t>(a * kNumThresholds + t) * d_count;
      std::fill(taken.begin(), taken.end(), 0);
      for (std::size_t d = 0; d < d_count; ++d) {
        const double* row = input.iou.data() + d * g_count;
        double best = std::min(kIouThresholds[t], 1 - 1e-10);
        std::ptrdiff_t m = -1;
        for (std::size_t p = 0; p < g_count; ++p) {
          if (taken[p] && !crowd[p]) continue;
          if (m > -1 && !ignored[m] && ignored[p]) break;  // holds a regular match; the rest are ignored
          const double v = row[order[p]];
          if (v < best) continue;
          best = v;
          m = static_cast<std::ptrdiff_t>(p);
        }
        if (m > -1) {
          taken[m] = 1;
          result[d] = ignored[m] ? kIgnored : kTruePositive;
        } else {
          const double area = input.detection_area[d];
          result[d] = (area < lo || area > hi) ? kIgnored : kFalsePositive;
        }
      }
    }
  }
  return out;
}

void CocoEvaluator::merge(const CocoEvaluator& other) {
  if (other.options_.category_ids != options_.category_ids) {
    throw ConfigError(std::string(kWhat) + ": merge: 'category_ids': expected the same options on both " +
                      "evaluators, got " + std::to_string(options_.category_ids.size()) + " and " +
                      std::to_string(other.options_.category_ids.size()) +
                      " categories; build every rank's evaluator with the same options");
  }
  for (const auto& [id, cells] : other.images_) {
    if (images_.count(id) != 0) {
      throw ConfigError(std::string(kWhat) + ": merge: image " + std::to_string(id) +
                        ": 'image_id': expected each image in one evaluator only, got it in both; give each rank " +
                        "a disjoint shard of the images (no padding duplicates)");
    }
  }
  for (const auto& [id, cells] : other.images_) images_.emplace(id, cells);
}

// COCOeval.accumulate + summarize. precision[t][r][k] and recall[t][k] per (area, max-detections) setting are
// laid out as COCOeval's arrays so that the means visit the same values in the same order.
CocoSummary CocoEvaluator::summary() const {
  // Categories (ascending) and, per category, its matched cells in ascending image order.
  std::map<std::int64_t, std::vector<const Matched*>> by_category;
  for (const auto c : options_.category_ids) by_category[c];
  for (const auto& [id, cells] : images_) {
    for (const auto& cell : cells) by_category[cell.category].push_back(&cell);
  }
  const std::size_t k_count = by_category.size();
  constexpr int kNumMaxDets = static_cast<int>(kMaxDets.size());
  // [area][maxdet] → precision [T][R][K] and recall [T][K], -1 where undefined.
  std::vector<std::vector<double>> precision(kNumAreas * kNumMaxDets,
                                             std::vector<double>(kNumThresholds * kNumRecall * k_count, -1.0));
  std::vector<std::vector<double>> recall(kNumAreas * kNumMaxDets, std::vector<double>(kNumThresholds * k_count, -1.0));

  struct Entry {
    double score;
    const Matched* cell;
    std::size_t rank;  // position within its image's sorted detections
  };
  std::vector<Entry> entries;
  std::vector<double> pr, rc;
  std::size_t k = 0;
  for (const auto& [category, cells] : by_category) {
    // One stable sort per category serves every setting: the list for max-detections m is the subsequence with
    // rank < m, and a stable sort's subsequence is the stable sort of the subsequence.
    entries.clear();
    for (const auto* cell : cells) {
      for (std::size_t i = 0; i < cell->scores.size(); ++i) entries.push_back({cell->scores[i], cell, i});
    }
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.score > b.score; });
    for (int a = 0; a < kNumAreas; ++a) {
      std::int64_t npig = 0;
      for (const auto* cell : cells) npig += cell->num_gt[a];
      if (cells.empty() || npig == 0) continue;
      for (int m = 0; m < kNumMaxDets; ++m) {
        const auto max_det = static_cast<std::size_t>(kMaxDets[m]);
        auto& prec = precision[a * kNumMaxDets + m];
        auto& rec = recall[a * kNumMaxDets + m];
        for (int t = 0; t < kNumThresholds; ++t) {
          pr.clear();
          rc.clear();
          double tp = 0, fp = 0;
          for (const auto& e : entries) {
            if (e.rank >= max_det) continue;
            const std::size_t d_count = e.cell->scores.size();
            const auto o = e.cell->outcome[static_cast<std::size_t>(a * kNumThresholds + t) * d_count + e.rank];
            if (o == kTruePositive) tp += 1;
            if (o == kFalsePositive) fp += 1;
            rc.push_back(tp / static_cast<double>(npig));
            pr.push_back(tp / (fp + tp + kEps));
          }
          const std::size_t nd = pr.size();
          rec[t * k_count + k] = nd ? rc.back() : 0.0;
          for (std::size_t i = nd; i-- > 1;) {
            if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          }
          // searchsorted(rc, recThrs, side='left'): recall thresholds and rc both ascend, so one sweep.
          std::size_t i = 0;
          for (int r = 0; r < kNumRecall; ++r) {
            while (i < nd && rc[i] < kRecallThresholds[r]) ++i;
            prec[(t * kNumRecall + r) * k_count + k] = i < nd ? pr[i] : 0.0;
          }
        }
      }
    }
    ++k;
  }

  // COCOeval.summarize's _summarize: the mean of the values > -1 of a slice, in C order.
  const auto mean_ap = [&](int a, int m, int only_t) {
    std::vector<double> values;
    const auto& prec = precision[a * kNumMaxDets + m];
    for (int t = 0; t < kNumThresholds; ++t) {
      if (only_t >= 0 && t != only_t) continue;
      for (std::size_t i = static_cast<std::size_t>(t) * kNumRecall * k_count;
           i < static_cast<std::size_t>(t + 1) * kNumRecall * k_count; ++i) {
        if (prec[i] > -1) values.push_back(prec[i]);
      }
    }
    return numpy_mean(values);
  };
  const auto mean_ar = [&](int a, int m) {
    std::vector<double> values;
    for (const double v : recall[a * kNumMaxDets + m]) {
      if (v > -1) values.push_back(v);
    }
    return numpy_mean(values);
  };
  CocoSummary s;
  s.num_images = num_images();
  s.map = mean_ap(0, 2, -1);
  s.map_50 = mean_ap(0, 2, 0);  // kIouThresholds[0] == .5
  s.map_75 = mean_ap(0, 2, 5);  // kIouThresholds[5] == .75 exactly, as numpy.where finds it
  s.map_small = mean_ap(1, 2, -1);
  s.map_medium = mean_ap(2, 2, -1);
  s.map_large = mean_ap(3, 2, -1);
  s.mar_1 = mean_ar(0, 0);
  s.mar_10 = mean_ar(0, 1);
  s.mar_100 = mean_ar(0, 2);
  s.mar_small = mean_ar(1, 2);
  s.mar_medium = mean_ar(2, 2);
  s.mar_large = mean_ar(3, 2);
  // Per class: mean over precision[:, :, k, all, 100] > -1 (detectron2's per-category AP).
  k = 0;
  const auto& prec = precision[0 * kNumMaxDets + 2];
  for (const auto& [category, cells] : by_category) {
    std::vector<double> values;
    for (std::size_t tr = 0; tr < static_cast<std::size_t>(kNumThresholds * kNumRecall); ++tr) {
      const double v = prec[tr * k_count + k];
      if (v > -1) values.push_back(v);
    }
    s.per_class_ap[category] = numpy_mean(values);
    ++k;
  }
  return s;
}

static_assert(kIouThresholds[0] == 0.5 && kIouThresholds[5] == 0.75 && kIouThresholds[9] == 0.95);

}  // namespace autotimm
