// Single-label metrics: a confusion matrix (plus per-k hit counts) is the whole state, so streaming, merging and
// all-reducing are sums, and every score is derived at compute time.
#include <algorithm>

#include "autotimm/metrics/classification_metrics.hpp"
#include "metrics_common.hpp"

namespace autotimm {

using metrics_detail::safe_divide;
using metrics_detail::shape_string;
using metrics_detail::weighted_mean;
using metrics_detail::where;

std::string_view to_string(Average average) {
  switch (average) {
    case Average::micro: return "micro";
    case Average::macro: return "macro";
    case Average::weighted: return "weighted";
  }
  return "?";
}

ClassificationMetric::~ClassificationMetric() = default;

namespace {

constexpr std::string_view kName = "multiclass metrics";

struct Counts {
  torch::Tensor tp, fp, fn, support;  // float64 [C]
};

Counts counts_of(const torch::Tensor& confusion) {
  const auto cm = confusion.to(torch::kFloat64);
  Counts c;
  c.tp = cm.diagonal();
  c.support = cm.sum(1);
  c.fp = cm.sum(0) - c.tp;
  c.fn = c.support - c.tp;
  return c;
}

// torchmetrics' _adjust_weights_safe_divide for single-label scores.
double reduce(const torch::Tensor& score, const Counts& c, Average average, bool top1 = true) {
  switch (average) {
    case Average::weighted: return weighted_mean(score, c.support);
    case Average::macro: {
      // Classes absent from targets and predictions do not dilute the mean; for top-k only support counts.
      const auto present = top1 ? (c.tp + c.fp + c.fn) > 0 : c.support > 0;
      return weighted_mean(score, present);
    }
    case Average::micro: break;
  }
  return 0.0;  // micro is reduced by the callers, from summed counts
}

}  // namespace

MulticlassMetrics::MulticlassMetrics(MulticlassMetricsOptions options) : options_(std::move(options)) {
  if (options_.num_classes < 1) {
    throw ConfigError("multiclass metrics: 'num_classes': expected >= 1, got " + std::to_string(options_.num_classes));
  }
  for (const auto k : options_.top_k) {
    if (k < 2 || k > options_.num_classes) {
      throw ConfigError("multiclass metrics: 'top_k': expected each k in [2, num_classes = " +
                        std::to_string(options_.num_classes) + "], got " + std::to_string(k) +
                        "; top-1 is always computed, and top-k needs at least k classes");
    }
  }
  reset();
}

void MulticlassMetrics::reset() {
  const auto c = options_.num_classes;
  confusion_ = torch::zeros({c, c}, torch::kInt64);
  top_k_hits_ = torch::zeros({static_cast<std::int64_t>(options_.top_k.size()), c}, torch::kInt64);
  updates_ = 0;
}

void MulticlassMetrics::update(const torch::Tensor& preds_in, const torch::Tensor& target_in) {
  ++updates_;
  const auto c = options_.num_classes;
  const bool scores = preds_in.defined() && preds_in.is_floating_point();
  if (!preds_in.defined() || !target_in.defined()) {
    throw ConfigError(where(kName, updates_) + ": preds and target must both be defined tensors");
  }
  const bool shapes_ok = target_in.dim() == 1 &&
                         (scores ? preds_in.dim() == 2 && preds_in.size(1) == c : preds_in.dim() == 1) &&
                         preds_in.size(0) == target_in.size(0);
  if (!shapes_ok) {
    throw ConfigError(where(kName, updates_) + ": preds has shape " + shape_string(preds_in) + " and target " +
                      shape_string(target_in) + ": expected float scores [B, " + std::to_string(c) +
                      "] (or integer labels [B]) and integer targets [B] with the same B");
  }
  if (target_in.is_floating_point() || target_in.scalar_type() == torch::kBool) {
    throw ConfigError(where(kName, updates_) + ": target has dtype " + std::string(c10::toString(target_in.scalar_type())) +
                      ": expected integer class indices");
  }
  if (!scores && preds_in.scalar_type() == torch::kBool) {
    throw ConfigError(where(kName, updates_) + ": preds has dtype Bool: expected float scores or integer labels");
  }
  if (!scores && !options_.top_k.empty()) {
    throw ConfigError(where(kName, updates_) + ": preds are labels " + shape_string(preds_in) +
                      ", but top-k accuracy is configured: expected float scores [B, " + std::to_string(c) + "]");
  }
  if (scores) metrics_detail::check_no_nan(preds_in, kName, updates_);

  torch::NoGradGuard no_grad;
  auto target = target_in.to(torch::kInt64);
  auto preds = preds_in.detach();
  if (options_.ignore_index) {
    const auto keep = target != *options_.ignore_index;
    target = target.index({keep});
    preds = preds.index({keep});
  }
  if (target.numel() == 0) return;
  const auto bad = (target < 0) | (target >= c);
  if (bad.any().item<bool>()) {
    const auto i = bad.nonzero()[0][0].item<std::int64_t>();
    throw ConfigError(where(kName, updates_) + ": target " + std::to_string(target[i].item<std::int64_t>()) +
                      " (row " + std::to_string(i) + " after ignore_index) is out of range: expected a class in [0, " +
                      std::to_string(c) + ")" +
                      (options_.ignore_index ? " or ignore_index " + std::to_string(*options_.ignore_index)
                                             : std::string()));
  }
  const auto predicted = scores ? preds.argmax(1) : preds.to(torch::kInt64);
  if (!scores) {
    const auto bad_pred = (predicted < 0) | (predicted >= c);
    if (bad_pred.any().item<bool>()) {
      const auto i = bad_pred.nonzero()[0][0].item<std::int64_t>();
      throw ConfigError(where(kName, updates_) + ": predicted label " + std::to_string(predicted[i].item<std::int64_t>()) +
                        " (row " + std::to_string(i) + ") is out of range: expected a class in [0, " + std::to_string(c) + ")");
    }
  }
  // Counting on the input's device moves only the [C, C] result to the CPU.
  confusion_ += torch::bincount(target * c + predicted, {}, c * c).view({c, c}).to(torch::kCPU, torch::kInt64);
  for (std::size_t j = 0; j < options_.top_k.size(); ++j) {
    const auto top = std::get<1>(preds.topk(options_.top_k[j], 1));
    const auto hit = (top == target.unsqueeze(1)).any(1);
    top_k_hits_[static_cast<std::int64_t>(j)] += torch::bincount(target.index({hit}), {}, c).to(torch::kCPU, torch::kInt64);
  }
}

void MulticlassMetrics::merge(const ClassificationMetric& other_metric) {
  const auto* other = dynamic_cast<const MulticlassMetrics*>(&other_metric);
  if (!other) throw ConfigError("multiclass metrics: merge: expected another MulticlassMetrics, got a different metric");
  if (other->options_.num_classes != options_.num_classes || other->options_.top_k != options_.top_k ||
      other->options_.ignore_index != options_.ignore_index) {
    throw ConfigError("multiclass metrics: merge: options differ (num_classes " + std::to_string(options_.num_classes) +
                      " vs " + std::to_string(other->options_.num_classes) +
                      ", or top_k / ignore_index): expected accumulators built with the same options");
  }
  confusion_ += other->confusion_;
  top_k_hits_ += other->top_k_hits_;
}

std::vector<torch::Tensor> MulticlassMetrics::state_tensors() const { return {confusion_, top_k_hits_}; }

void MulticlassMetrics::sync(Collective& ranks) {
  auto state = state_tensors();  // aliases: reduced in place
  ranks.all_reduce_sum(state);
}

std::int64_t MulticlassMetrics::num_samples() const { return confusion_.sum().item<std::int64_t>(); }

double MulticlassMetrics::accuracy(Average average) const { return top_k_accuracy(1, average); }

double MulticlassMetrics::top_k_accuracy(std::int64_t k, Average average) const {
  const auto counts = counts_of(confusion_);
  torch::Tensor hits;
  if (k == 1) {
    hits = counts.tp;
  } else {
    const auto it = std::find(options_.top_k.begin(), options_.top_k.end(), k);
    if (it == options_.top_k.end()) {
      throw ConfigError("multiclass metrics: top-" + std::to_string(k) +
                        " accuracy was not configured: expected k = 1 or one of options.top_k");
    }
    hits = top_k_hits_[it - options_.top_k.begin()].to(torch::kFloat64);
  }
  if (average == Average::micro) return safe_divide(hits.sum().item<double>(), counts.support.sum().item<double>());
  return reduce(safe_divide(hits, counts.support), counts, average, k == 1);
}

double MulticlassMetrics::precision(Average average) const {
  const auto c = counts_of(confusion_);
  if (average == Average::micro) return safe_divide(c.tp.sum().item<double>(), (c.tp + c.fp).sum().item<double>());
  return reduce(safe_divide(c.tp, c.tp + c.fp), c, average);
}

double MulticlassMetrics::recall(Average average) const {
  const auto c = counts_of(confusion_);
  if (average == Average::micro) return safe_divide(c.tp.sum().item<double>(), (c.tp + c.fn).sum().item<double>());
  return reduce(safe_divide(c.tp, c.tp + c.fn), c, average);
}

double MulticlassMetrics::f1(Average average) const {
  const auto c = counts_of(confusion_);
  if (average == Average::micro) {
    return safe_divide(2 * c.tp.sum().item<double>(), (2 * c.tp + c.fp + c.fn).sum().item<double>());
  }
  return reduce(safe_divide(2 * c.tp, 2 * c.tp + c.fp + c.fn), c, average);
}

torch::Tensor MulticlassMetrics::precision_per_class() const {
  const auto c = counts_of(confusion_);
  return safe_divide(c.tp, c.tp + c.fp);
}

torch::Tensor MulticlassMetrics::recall_per_class() const {
  const auto c = counts_of(confusion_);
  return safe_divide(c.tp, c.tp + c.fn);
}

torch::Tensor MulticlassMetrics::f1_per_class() const {
  const auto c = counts_of(confusion_);
  return safe_divide(2 * c.tp, 2 * c.tp + c.fp + c.fn);
}

std::map<std::string, double> MulticlassMetrics::compute() const {
  std::map<std::string, double> out;
  out["accuracy"] = accuracy(Average::micro);
  out["accuracy_macro"] = accuracy(Average::macro);
  for (const auto k : options_.top_k) {
    out["top" + std::to_string(k) + "_accuracy"] = top_k_accuracy(k, Average::micro);
    out["top" + std::to_string(k) + "_accuracy_macro"] = top_k_accuracy(k, Average::macro);
  }
  for (const auto average : {Average::micro, Average::macro, Average::weighted}) {
    const auto suffix = "_" + std::string(to_string(average));
    out["precision" + suffix] = precision(average);
    out["recall" + suffix] = recall(average);
    out["f1" + suffix] = f1(average);
  }
  return out;
}

}  // namespace autotimm
