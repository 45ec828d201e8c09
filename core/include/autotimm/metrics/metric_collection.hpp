#pragma once
// The named front the classifier and trainer use: metrics chosen by name (from config files), logged with a stage
// prefix. One accumulator serves every name, so asking for ten metrics costs one pass.
//
//   autotimm::MetricCollection metrics({"accuracy", "top5_accuracy", "f1_macro", "confusion_matrix"},
//                                      {.num_classes = 10});
//   metrics.update(logits, targets);
//   logger.log_metrics(metrics.compute("val"), step);   // {"val/accuracy": …, "val/f1_macro": …, "val/top5_accuracy": …}
//   auto matrices = metrics.compute_tensors("val");      // {"val/confusion_matrix": int64 [10, 10]}
//
// Single-label names: accuracy, accuracy_macro, top<k>_accuracy, top<k>_accuracy_macro (2 <= k <= num_classes),
// precision_|recall_|f1_ + micro|macro|weighted, and the tensors confusion_matrix, precision_per_class,
// recall_per_class, f1_per_class.
// Multi-label names: accuracy (macro), accuracy_micro, precision_|recall_|f1_ + micro|macro|weighted, map, map_micro,
// and the tensors confusion_matrix ([C, 2, 2]), f1_per_label, average_precision_per_label.
// Conventions: see classification_metrics.hpp.
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "autotimm/export.hpp"
#include "autotimm/metrics/classification_metrics.hpp"

namespace autotimm {

struct MetricCollectionOptions {
  std::int64_t num_classes = 0;
  bool multi_label = false;
  /// Multi-label only: a label is predicted when its probability is > threshold.
  double threshold = 0.5;
  std::optional<std::int64_t> ignore_index = std::nullopt;
};

class AUTOTIMM_API MetricCollection {
 public:
  /// ConfigError for an unknown name (with a suggestion and the valid names), a name of the other task, a top-k
  /// above num_classes, a duplicate, or num_classes < 1.
  MetricCollection(std::vector<std::string> names, MetricCollectionOptions options);

  /// What the classifier logs by default: accuracy, top5_accuracy (only when num_classes >= 5), precision, recall
  /// and F1 macro, f1_weighted; multi-label: accuracy, f1_macro, f1_micro, map.
  static std::vector<std::string> default_names(std::int64_t num_classes, bool multi_label);
  /// Every accepted name (top-k as "top<k>_accuracy").
  static std::vector<std::string> valid_names(bool multi_label);

  void update(const torch::Tensor& preds, const torch::Tensor& target);
  void reset();
  /// ConfigError unless the other collection has the same names and options.
  void merge(const MetricCollection& other);
  /// Every rank's updates in this collection (see ClassificationMetric::sync).
  void sync(Collective& ranks) { metric_->sync(ranks); }

  /// The scalar metrics, keyed "<prefix>/<name>" ("val" and "val/" both give "val/accuracy"; "" gives "accuracy").
  std::map<std::string, double> compute(std::string_view prefix = "") const;
  /// The tensor metrics asked for (confusion matrix, per-class values), keyed like compute.
  std::map<std::string, torch::Tensor> compute_tensors(std::string_view prefix = "") const;

  const std::vector<std::string>& names() const { return names_; }
  const MetricCollectionOptions& options() const { return options_; }
  /// The accumulator: MulticlassMetrics or MultilabelMetrics. Its state_tensors() are what DDP reduces.
  ClassificationMetric& metric() { return *metric_; }
  const ClassificationMetric& metric() const { return *metric_; }

 private:
  std::vector<std::string> names_;
  MetricCollectionOptions options_;
  std::unique_ptr<ClassificationMetric> metric_;
};

}  // namespace autotimm
