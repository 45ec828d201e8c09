// Multi-label metrics: per-label tp/fp/tn/fn counts for the thresholded scores, plus the probabilities themselves
// for mAP, which needs the full ranking per label.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "autotimm/metrics/classification_metrics.hpp"
#include "metrics_common.hpp"

namespace autotimm {

using metrics_detail::safe_divide;
using metrics_detail::shape_string;
using metrics_detail::weighted_mean;
using metrics_detail::where;

namespace {

constexpr std::string_view kName = "multilabel metrics";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// AP over one ranking given as plain arrays; positives counted where target == 1, entries < 0 skipped.
double average_precision_of(const float* scores, const std::int8_t* targets, std::int64_t n, std::int64_t stride) {
  std::vector<std::int64_t> order;
  order.reserve(static_cast<std::size_t>(n));
  std::int64_t positives = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto t = targets[i * stride];
    if (t < 0) continue;
    order.push_back(i);
    positives += t == 1;
  }
  if (positives == 0) return kNaN;  // recall undefined: torchmetrics leaves the label out of the macro mean
  std::sort(order.begin(), order.end(),
            [&](std::int64_t a, std::int64_t b) { return scores[a * stride] > scores[b * stride]; });
  double ap = 0.0;
  double previous_recall = 0.0;
  std::int64_t tp = 0;
  std::int64_t seen = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    tp += targets[order[i] * stride] == 1;
    ++seen;
    // One threshold per distinct score: tied entries enter together.
    const bool last_of_tie =
        i + 1 == order.size() || scores[order[i + 1] * stride] != scores[order[i] * stride];
    if (!last_of_tie) continue;
    const double recall = static_cast<double>(tp) / static_cast<double>(positives);
    ap += (recall - previous_recall) * static_cast<double>(tp) / static_cast<double>(seen);
    previous_recall = recall;
  }
  return ap;
}

}  // namespace

double average_precision(const torch::Tensor& scores, const torch::Tensor& targets) {
  if (scores.dim() != 1 || targets.dim() != 1 || scores.size(0) != targets.size(0)) {
    throw ConfigError("average_precision: scores has shape " + shape_string(scores) + " and targets " +
                      shape_string(targets) + ": expected two 1-d tensors of the same length");
  }
  const auto s = scores.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  const auto t = targets.detach().to(torch::kCPU, torch::kInt8).contiguous();
  return average_precision_of(s.data_ptr<float>(), t.data_ptr<std::int8_t>(), s.size(0), 1);
}

MultilabelMetrics::MultilabelMetrics(MultilabelMetricsOptions options) : options_(options) {
  if (options_.num_labels < 1) {
    throw ConfigError("multilabel metrics: 'num_labels': expected >= 1, got " + std::to_string(options_.num_labels));
  }
  if (!(options_.threshold >= 0.0 && options_.threshold <= 1.0)) {
    throw ConfigError("multilabel metrics: 'threshold': expected a probability in [0, 1], got " +
                      std::to_string(options_.threshold));
  }
  if (options_.ignore_index && (*options_.ignore_index == 0 || *options_.ignore_index == 1)) {
    throw ConfigError("multilabel metrics: 'ignore_index': expected a value other than the labels 0 and 1, got " +
                      std::to_string(*options_.ignore_index));
  }
  reset();
}

void MultilabelMetrics::reset() {
  counts_ = torch::zeros({4, options_.num_labels}, torch::kInt64);
  score_chunks_.clear();
  target_chunks_.clear();
  samples_ = 0;
  updates_ = 0;
}

void MultilabelMetrics::update(const torch::Tensor& preds_in, const torch::Tensor& target_in) {
  ++updates_;
  const auto c = options_.num_labels;
  if (!preds_in.defined() || !target_in.defined()) {
    throw ConfigError(where(kName, updates_) + ": preds and target must both be defined tensors");
  }
  if (preds_in.dim() != 2 || preds_in.size(1) != c || target_in.sizes() != preds_in.sizes()) {
    throw ConfigError(where(kName, updates_) + ": preds has shape " + shape_string(preds_in) + " and target " +
                      shape_string(target_in) + ": expected both [B, " + std::to_string(c) + "]");
  }
  if (!preds_in.is_floating_point()) {
    throw ConfigError(where(kName, updates_) + ": preds has dtype " + std::string(c10::toString(preds_in.scalar_type())) +
                      ": expected float logits or probabilities");
  }
  metrics_detail::check_no_nan(preds_in, kName, updates_);
  torch::NoGradGuard no_grad;

  // Targets: 0/1 (BCE targets are often float) or ignore_index.
  auto target = target_in.detach();
  if (target.scalar_type() == torch::kBool) target = target.to(torch::kInt64);
  const auto ignored = options_.ignore_index ? target == static_cast<double>(*options_.ignore_index)
                                             : torch::zeros_like(target, torch::kBool);
  const auto bad = ~ignored & (target != 0) & (target != 1);
  if (bad.any().item<bool>()) {
    const auto at = bad.nonzero()[0];
    const auto i = at[0].item<std::int64_t>();
    const auto j = at[1].item<std::int64_t>();
    throw ConfigError(where(kName, updates_) + ": target[" + std::to_string(i) + ", " + std::to_string(j) + "] is " +
                      std::to_string(target[i][j].item<double>()) + ": expected 0 or 1" +
                      (options_.ignore_index ? " or ignore_index " + std::to_string(*options_.ignore_index)
                                             : std::string()));
  }
  const auto positive = (target == 1) & ~ignored;
  const auto negative = (target == 0) & ~ignored;

  auto probs = preds_in.detach().to(torch::kFloat32);
  bool logits = options_.inputs == MultilabelInputs::logits;
  if (options_.inputs != MultilabelInputs::logits) {
    const bool outside = ((probs < 0) | (probs > 1)).any().item<bool>();
    if (outside && options_.inputs == MultilabelInputs::probabilities) {
      throw ConfigError(where(kName, updates_) + ": preds has values outside [0, 1] (min " +
                        std::to_string(probs.min().item<double>()) + ", max " + std::to_string(probs.max().item<double>()) +
                        ") but inputs = probabilities: expected probabilities, or set inputs = logits");
    }
    logits = outside;
  }
  if (logits) probs = probs.sigmoid();
  const auto predicted = probs > options_.threshold;

  const auto sum = [](const torch::Tensor& mask) { return mask.sum(0).to(torch::kCPU, torch::kInt64); };
  counts_[0] += sum(predicted & positive);
  counts_[1] += sum(predicted & negative);
  counts_[2] += sum(~predicted & negative);
  counts_[3] += sum(~predicted & positive);
  samples_ += preds_in.size(0);
  if (options_.average_precision) {
    score_chunks_.push_back(probs.to(torch::kCPU).contiguous());
    target_chunks_.push_back(
        torch::where(ignored, torch::full_like(target, -1), target).to(torch::kCPU, torch::kInt8).contiguous());
  }
}

void MultilabelMetrics::merge(const ClassificationMetric& other_metric) {
  const auto* other = dynamic_cast<const MultilabelMetrics*>(&other_metric);
  if (!other) throw ConfigError("multilabel metrics: merge: expected another MultilabelMetrics, got a different metric");
  const auto& o = other->options_;
  if (o.num_labels != options_.num_labels || o.threshold != options_.threshold || o.ignore_index != options_.ignore_index ||
      o.average_precision != options_.average_precision || o.inputs != options_.inputs) {
    throw ConfigError("multilabel metrics: merge: options differ (num_labels " + std::to_string(options_.num_labels) +
                      " vs " + std::to_string(o.num_labels) +
                      ", or threshold / ignore_index / average_precision / inputs): expected the same options");
  }
  counts_ += other->counts_;
  score_chunks_.insert(score_chunks_.end(), other->score_chunks_.begin(), other->score_chunks_.end());
  target_chunks_.insert(target_chunks_.end(), other->target_chunks_.begin(), other->target_chunks_.end());
  samples_ += other->samples_;
}

std::vector<torch::Tensor> MultilabelMetrics::state_tensors() const { return {counts_}; }

void MultilabelMetrics::sync(Collective& ranks) {
  std::vector<torch::Tensor> state{counts_, torch::full({1}, samples_, torch::kInt64)};
  ranks.all_reduce_sum(state);
  samples_ = state[1].item<std::int64_t>();
  if (!options_.average_precision) return;
  auto scores_all = ranks.all_gather_rows(scores());
  auto targets_all = ranks.all_gather_rows(targets());
  score_chunks_ = {scores_all};
  target_chunks_ = {targets_all};
}

torch::Tensor MultilabelMetrics::scores() const {
  if (score_chunks_.empty()) return torch::zeros({0, options_.num_labels}, torch::kFloat32);
  return torch::cat(score_chunks_);
}

torch::Tensor MultilabelMetrics::targets() const {
  if (target_chunks_.empty()) return torch::zeros({0, options_.num_labels}, torch::kInt8);
  return torch::cat(target_chunks_);
}

namespace {
struct LabelCounts {
  torch::Tensor tp, fp, tn, fn;  // float64 [C]
};
LabelCounts label_counts(const torch::Tensor& counts) {
  const auto c = counts.to(torch::kFloat64);
  return {c[0], c[1], c[2], c[3]};
}
double reduce(const torch::Tensor& score, const LabelCounts& c, Average average) {
  // Multi-label macro keeps every label (torchmetrics excludes absent classes for single-label only).
  return average == Average::weighted ? weighted_mean(score, c.tp + c.fn) : score.mean().item<double>();
}
}  // namespace

double MultilabelMetrics::accuracy(Average average) const {
  const auto c = label_counts(counts_);
  if (average == Average::micro) {
    return safe_divide((c.tp + c.tn).sum().item<double>(), (c.tp + c.tn + c.fp + c.fn).sum().item<double>());
  }
  return reduce(safe_divide(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn), c, average);
}

double MultilabelMetrics::precision(Average average) const {
  const auto c = label_counts(counts_);
  if (average == Average::micro) return safe_divide(c.tp.sum().item<double>(), (c.tp + c.fp).sum().item<double>());
  return reduce(safe_divide(c.tp, c.tp + c.fp), c, average);
}

double MultilabelMetrics::recall(Average average) const {
  const auto c = label_counts(counts_);
  if (average == Average::micro) return safe_divide(c.tp.sum().item<double>(), (c.tp + c.fn).sum().item<double>());
  return reduce(safe_divide(c.tp, c.tp + c.fn), c, average);
}

double MultilabelMetrics::f1(Average average) const {
  const auto c = label_counts(counts_);
  if (average == Average::micro) {
    return safe_divide(2 * c.tp.sum().item<double>(), (2 * c.tp + c.fp + c.fn).sum().item<double>());
  }
  return reduce(safe_divide(2 * c.tp, 2 * c.tp + c.fp + c.fn), c, average);
}

torch::Tensor MultilabelMetrics::f1_per_label() const {
  const auto c = label_counts(counts_);
  return safe_divide(2 * c.tp, 2 * c.tp + c.fp + c.fn);
}

torch::Tensor MultilabelMetrics::confusion_matrix() const {
  // [[tn, fp], [fn, tp]] per label.
  return torch::stack({counts_[2], counts_[1], counts_[3], counts_[0]}, 1).view({options_.num_labels, 2, 2});
}

torch::Tensor MultilabelMetrics::average_precision_per_label() const {
  if (!options_.average_precision) {
    throw ConfigError("multilabel metrics: average precision needs the scores, but 'average_precision' is off: "
                      "expected average_precision = true");
  }
  const auto s = scores();
  const auto t = targets();
  auto out = torch::empty({options_.num_labels}, torch::kFloat64);
  for (std::int64_t j = 0; j < options_.num_labels; ++j) {
    out[j] = average_precision_of(s.data_ptr<float>() + j, t.data_ptr<std::int8_t>() + j, s.size(0), options_.num_labels);
  }
  return out;
}

double MultilabelMetrics::mean_average_precision(Average average) const {
  if (average == Average::micro) {
    if (!options_.average_precision) average_precision_per_label();  // throws the explanation
    const auto s = scores().flatten().contiguous();
    const auto t = targets().flatten().contiguous();
    return average_precision_of(s.data_ptr<float>(), t.data_ptr<std::int8_t>(), s.size(0), 1);
  }
  const auto per_label = average_precision_per_label();
  const auto valid = ~torch::isnan(per_label);
  if (!valid.any().item<bool>()) return kNaN;
  if (average == Average::weighted) {
    const auto c = label_counts(counts_);
    return weighted_mean(per_label.index({valid}), (c.tp + c.fn).index({valid}));
  }
  return per_label.index({valid}).mean().item<double>();
}

std::map<std::string, double> MultilabelMetrics::compute() const {
  std::map<std::string, double> out;
  out["accuracy"] = accuracy(Average::macro);
  out["accuracy_micro"] = accuracy(Average::micro);
  for (const auto average : {Average::micro, Average::macro, Average::weighted}) {
    const auto suffix = "_" + std::string(to_string(average));
    out["precision" + suffix] = precision(average);
    out["recall" + suffix] = recall(average);
    out["f1" + suffix] = f1(average);
  }
  if (options_.average_precision) {
    out["map"] = mean_average_precision(Average::macro);
    out["map_micro"] = mean_average_precision(Average::micro);
  }
  return out;
}

}  // namespace autotimm
