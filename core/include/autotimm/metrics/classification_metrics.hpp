#pragma once
// Classification metrics computed in-process, streaming over batches: the numbers the trainer logs as
// `train/…`, `val/…`, `test/…`. Facts follow torchmetrics (MulticlassAccuracy/Precision/Recall/F1Score,
// MulticlassConfusionMatrix, MultilabelAccuracy/F1Score/AveragePrecision); the code is ours.
//
//   autotimm::MulticlassMetrics metrics({.num_classes = 10, .top_k = {5}});
//   for (...) metrics.update(logits, targets);          // logits [B, 10] float, targets [B] int64
//   auto values = metrics.compute();                      // {"accuracy": …, "f1_macro": …, "top5_accuracy": …}
//
// Single-label conventions (torchmetrics 1.x):
// - Per-class scores divide by zero as 0 (zero_division = 0).
// - macro averages over classes, but leaves out classes with tp + fp + fn == 0 (absent from both targets and
//   predictions). A class that is predicted but never a target stays in, with recall 0. For top-k accuracy
//   (k > 1) the classes left out are those with no targets (tp + fn == 0).
// - weighted averages with the support (tp + fn) as weights; micro sums the counts first. With one prediction
//   per sample, micro precision = micro recall = micro F1 = accuracy.
// - "accuracy" is micro (fraction correct), as torchmetrics' Accuracy(task="multiclass") defaults to;
//   "accuracy_macro" is MulticlassAccuracy's own default (mean per-class recall, "balanced accuracy").
// - ignore_index drops the samples whose target equals it; it may lie outside [0, C) (e.g. -100).
// - Argmax and top-k run on the raw scores: logits and probabilities give the same answer.
// Multi-label conventions (torchmetrics 1.x):
// - Scores outside [0, 1] in an update are taken as logits and passed through a sigmoid (auto_detect, per
//   update); a label is predicted when its probability > threshold (strictly).
// - "accuracy" is MultilabelAccuracy's default: macro, the mean over labels of (tp + tn) / all. macro averages
//   every label, with no exclusion (a label never predicted nor present scores F1 = 0).
// - "map": per-label average precision (sklearn's step definition, tied scores form one threshold:
//   AP = sum over distinct thresholds of (R_n - R_{n-1}) * P_n), macro mean over the labels that have at least one
//   positive target; labels without positives are NaN per label and left out. No positives at all: NaN.
//   "map_micro" pools every (sample, label) pair into one ranking.
// - ignore_index drops single (sample, label) entries whose target equals it.
// With no samples seen, every score is 0 (map: NaN).
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "autotimm/distributed/collective.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

/// How per-class scores become one number.
enum class Average { micro, macro, weighted };
AUTOTIMM_API std::string_view to_string(Average average);

/// A streaming metric: update per batch, compute at the end of the epoch, reset for the next. Two accumulators
/// with the same options merge (DDP ranks, dataloader shards). Not thread-safe.
class AUTOTIMM_API ClassificationMetric {
 public:
  virtual ~ClassificationMetric();
  /// `preds`: scores (logits or probabilities) of one batch; `target`: its labels. Any device; counts are kept
  /// on the CPU. Throws ConfigError on wrong shapes, dtypes, labels out of range or NaN scores, naming the update.
  virtual void update(const torch::Tensor& preds, const torch::Tensor& target) = 0;
  /// Every scalar this metric knows, by name (the names MetricCollection accepts).
  virtual std::map<std::string, double> compute() const = 0;
  virtual void reset() = 0;
  /// Adds the other accumulator's state; ConfigError when its kind or options differ.
  virtual void merge(const ClassificationMetric& other) = 0;
  /// The count tensors (int64, CPU), aliasing the accumulators: an all-reduce (sum) over them in place, or a
  /// copy_ of reduced values into them, merges ranks. Stored scores (mAP) are not in here: gather those.
  virtual std::vector<torch::Tensor> state_tensors() const = 0;
  /// Makes this accumulator the union of every rank's (counts summed, stored scores gathered in rank order). Call on
  /// every rank at the same point, before compute(); TrainingError when a rank fails.
  virtual void sync(Collective& ranks) = 0;
  /// Samples seen (after ignore_index).
  virtual std::int64_t num_samples() const = 0;
};

struct MulticlassMetricsOptions {
  std::int64_t num_classes = 0;
  /// Extra k (each in [2, num_classes]) for "top<k>_accuracy"; top-1 is always there.
  std::vector<std::int64_t> top_k = {};
  /// Samples whose target equals this are skipped.
  std::optional<std::int64_t> ignore_index = std::nullopt;
};

/// Single-label metrics. State: the C×C confusion matrix and, per extra k, the per-class count of samples whose
/// target is among the k highest scores.
class AUTOTIMM_API MulticlassMetrics final : public ClassificationMetric {
 public:
  explicit MulticlassMetrics(MulticlassMetricsOptions options);

  /// `preds`: float [B, C] scores, or integer [B] predicted labels (then no top-k); `target`: integer [B].
  void update(const torch::Tensor& preds, const torch::Tensor& target) override;
  /// accuracy, accuracy_macro, top<k>_accuracy, top<k>_accuracy_macro, precision_/recall_/f1_ + micro|macro|weighted.
  std::map<std::string, double> compute() const override;
  void reset() override;
  void merge(const ClassificationMetric& other) override;
  std::vector<torch::Tensor> state_tensors() const override;
  void sync(Collective& ranks) override;
  std::int64_t num_samples() const override;

  double accuracy(Average average = Average::micro) const;
  /// k must be 1 or one of options.top_k.
  double top_k_accuracy(std::int64_t k, Average average = Average::micro) const;
  double precision(Average average) const;
  double recall(Average average) const;
  double f1(Average average) const;
  /// Per-class values, float64 [C].
  torch::Tensor precision_per_class() const;
  torch::Tensor recall_per_class() const;
  torch::Tensor f1_per_class() const;
  /// int64 [C, C]: rows are targets, columns predictions (torchmetrics' layout).
  const torch::Tensor& confusion_matrix() const { return confusion_; }
  const MulticlassMetricsOptions& options() const { return options_; }

 private:
  MulticlassMetricsOptions options_;
  torch::Tensor confusion_;    // [C, C] int64
  torch::Tensor top_k_hits_;   // [K, C] int64, row j for options_.top_k[j]
  std::int64_t updates_ = 0;   // names the update in error messages
};

/// How multi-label scores are read.
enum class MultilabelInputs {
  auto_detect,    ///< torchmetrics: an update with any score outside [0, 1] is logits (sigmoid), else probabilities
  logits,         ///< always sigmoid
  probabilities,  ///< never sigmoid; scores outside [0, 1] are an error
};

struct MultilabelMetricsOptions {
  std::int64_t num_labels = 0;
  /// A label is predicted when its probability is > threshold.
  double threshold = 0.5;
  /// Single (sample, label) entries whose target equals this are skipped.
  std::optional<std::int64_t> ignore_index = std::nullopt;
  /// Keep the scores (float32 + int8 target per entry) for "map"; off saves the memory.
  bool average_precision = true;
  MultilabelInputs inputs = MultilabelInputs::auto_detect;
};

/// Multi-label metrics. State: per-label tp, fp, tn, fn, and (for mAP) the probabilities and targets.
class AUTOTIMM_API MultilabelMetrics final : public ClassificationMetric {
 public:
  explicit MultilabelMetrics(MultilabelMetricsOptions options);

  /// `preds`: float [B, C] logits or probabilities; `target`: [B, C] of 0/1 (integer, bool or float) or ignore_index.
  void update(const torch::Tensor& preds, const torch::Tensor& target) override;
  /// accuracy (macro), accuracy_micro, precision_/recall_/f1_ + micro|macro|weighted, map, map_micro.
  std::map<std::string, double> compute() const override;
  void reset() override;
  void merge(const ClassificationMetric& other) override;
  std::vector<torch::Tensor> state_tensors() const override;
  void sync(Collective& ranks) override;
  std::int64_t num_samples() const override { return samples_; }

  double accuracy(Average average = Average::macro) const;
  double precision(Average average) const;
  double recall(Average average) const;
  double f1(Average average) const;
  /// Macro mAP over labels with a positive, or micro (pooled); ConfigError when average_precision is off.
  double mean_average_precision(Average average = Average::macro) const;
  /// float64 [C]; NaN for labels without a positive target.
  torch::Tensor average_precision_per_label() const;
  torch::Tensor f1_per_label() const;
  /// int64 [C, 2, 2] per label: [[tn, fp], [fn, tp]] (torchmetrics' MultilabelConfusionMatrix layout).
  torch::Tensor confusion_matrix() const;
  /// The stored probabilities float32 [N, C] and targets int8 [N, C] (-1 = ignored), for gathering across ranks.
  torch::Tensor scores() const;
  torch::Tensor targets() const;
  const MultilabelMetricsOptions& options() const { return options_; }

 private:
  MultilabelMetricsOptions options_;
  torch::Tensor counts_;  // [4, C] int64: tp, fp, tn, fn
  std::vector<torch::Tensor> score_chunks_;   // float32 [b, C] each
  std::vector<torch::Tensor> target_chunks_;  // int8 [b, C] each
  std::int64_t samples_ = 0;
  std::int64_t updates_ = 0;
};

/// The average precision of one ranking (torchmetrics/sklearn definition, ties grouped into one threshold).
/// `scores` float [N], `targets` [N] of 0/1. NaN when there is no positive.
AUTOTIMM_API double average_precision(const torch::Tensor& scores, const torch::Tensor& targets);

}  // namespace autotimm
