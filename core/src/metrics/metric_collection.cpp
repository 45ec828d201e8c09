// Metrics by name: validates the names once, builds the one accumulator they share, and prefixes the results.
#include "autotimm/metrics/metric_collection.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include "autotimm/error.hpp"
#include "autotimm/names.hpp"

namespace autotimm {

namespace {

std::vector<std::string> averaged(const std::vector<std::string>& stems) {
  std::vector<std::string> out;
  for (const auto& stem : stems) {
    for (const auto* average : {"micro", "macro", "weighted"}) out.push_back(stem + "_" + average);
  }
  return out;
}

const std::vector<std::string>& single_label_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n{"accuracy", "accuracy_macro"};
    for (auto& a : averaged({"precision", "recall", "f1"})) n.push_back(a);
    for (const auto* t : {"confusion_matrix", "precision_per_class", "recall_per_class", "f1_per_class"}) n.push_back(t);
    return n;
  }();
  return names;
}

const std::vector<std::string>& multi_label_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n{"accuracy", "accuracy_micro"};
    for (auto& a : averaged({"precision", "recall", "f1"})) n.push_back(a);
    for (const auto* t : {"map", "map_micro", "confusion_matrix", "f1_per_label", "average_precision_per_label"}) {
      n.push_back(t);
    }
    return n;
  }();
  return names;
}

bool is_tensor_name(std::string_view name) {
  return name == "confusion_matrix" || name.ends_with("_per_class") || name.ends_with("_per_label");
}

// "top5_accuracy" / "top5_accuracy_macro" → 5; nothing for other names.
std::optional<std::int64_t> top_k_of(std::string_view name) {
  if (!name.starts_with("top")) return std::nullopt;
  auto rest = name.substr(3);
  std::int64_t k = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), k);
  if (ec != std::errc() || end == rest.data()) return std::nullopt;
  const std::string_view tail(end, static_cast<std::size_t>(rest.data() + rest.size() - end));
  if (tail != "_accuracy" && tail != "_accuracy_macro") return std::nullopt;
  return k;
}

bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string key(std::string_view prefix, const std::string& name) {
  if (prefix.empty()) return name;
  std::string k(prefix);
  if (k.back() != '/') k += '/';
  return k + name;
}

}  // namespace

std::vector<std::string> MetricCollection::valid_names(bool multi_label) {
  auto names = multi_label ? multi_label_names() : single_label_names();
  if (!multi_label) {
    names.insert(names.begin() + 2, "top<k>_accuracy");
    names.insert(names.begin() + 3, "top<k>_accuracy_macro");
  }
  return names;
}

std::vector<std::string> MetricCollection::default_names(std::int64_t num_classes, bool multi_label) {
  if (multi_label) return {"accuracy", "f1_macro", "f1_micro", "map"};
  std::vector<std::string> names{"accuracy"};
  if (num_classes >= 5) names.emplace_back("top5_accuracy");
  for (const auto* n : {"precision_macro", "recall_macro", "f1_macro", "f1_weighted"}) names.emplace_back(n);
  return names;
}

MetricCollection::MetricCollection(std::vector<std::string> names, MetricCollectionOptions options)
    : names_(std::move(names)), options_(options) {
  const auto task = options_.multi_label ? "multi-label" : "single-label";
  if (options_.num_classes < 1) {
    throw ConfigError(std::string("metrics: 'num_classes': expected >= 1, got ") + std::to_string(options_.num_classes));
  }
  const auto& own = options_.multi_label ? multi_label_names() : single_label_names();
  const auto& other = options_.multi_label ? single_label_names() : multi_label_names();
  std::set<std::string> seen;
  std::vector<std::int64_t> top_k;
  bool needs_scores = false;
  for (const auto& name : names_) {
    if (!seen.insert(name).second) throw ConfigError("metrics: '" + name + "' is listed twice; list each metric once");
    if (const auto k = top_k_of(name)) {
      if (options_.multi_label) {
        throw ConfigError("metrics: '" + name + "' is a single-label metric, but multi_label = true; valid: " +
                          join_names(valid_names(true)));
      }
      if (*k < 1 || *k > options_.num_classes) {
        throw ConfigError("metrics: '" + name + "': expected k in [1, num_classes = " + std::to_string(options_.num_classes) +
                          "], got " + std::to_string(*k) + "; top-k needs at least k classes (default_names adds "
                          "top5_accuracy only when num_classes >= 5)");
      }
      if (*k > 1 && std::find(top_k.begin(), top_k.end(), *k) == top_k.end()) top_k.push_back(*k);
      continue;
    }
    if (contains(own, name)) {
      needs_scores = needs_scores || name == "map" || name == "map_micro" || name == "average_precision_per_label";
      continue;
    }
    if (contains(other, name)) {
      throw ConfigError("metrics: '" + name + "' is a " + (options_.multi_label ? "single-label" : "multi-label") +
                        " metric, but multi_label = " + (options_.multi_label ? "true" : "false") + "; valid " + task +
                        " metrics: " + join_names(valid_names(options_.multi_label)));
    }
    auto candidates = own;
    if (!options_.multi_label) candidates.emplace_back("top5_accuracy");
    const auto hint = did_you_mean(name, candidates);
    throw ConfigError("unknown metric '" + name + "' for " + task + " classification" +
                      (hint ? "; did you mean '" + *hint + "'?" : std::string()) +
                      " Valid: " + join_names(valid_names(options_.multi_label)));
  }
  if (options_.multi_label) {
    metric_ = std::make_unique<MultilabelMetrics>(MultilabelMetricsOptions{.num_labels = options_.num_classes,
                                                                           .threshold = options_.threshold,
                                                                           .ignore_index = options_.ignore_index,
                                                                           .average_precision = needs_scores});
  } else {
    std::sort(top_k.begin(), top_k.end());
    metric_ = std::make_unique<MulticlassMetrics>(MulticlassMetricsOptions{
        .num_classes = options_.num_classes, .top_k = top_k, .ignore_index = options_.ignore_index});
  }
}

void MetricCollection::update(const torch::Tensor& preds, const torch::Tensor& target) { metric_->update(preds, target); }

void MetricCollection::reset() { metric_->reset(); }

void MetricCollection::merge(const MetricCollection& other) {
  if (other.names_ != names_ || other.options_.multi_label != options_.multi_label) {
    throw ConfigError("metrics: merge: expected collections with the same names and task, got [" + join_names(names_) +
                      "] and [" + join_names(other.names_) + "]");
  }
  metric_->merge(*other.metric_);
}

std::map<std::string, double> MetricCollection::compute(std::string_view prefix) const {
  std::map<std::string, double> out;
  std::map<std::string, double> all;
  bool computed = false;
  for (const auto& name : names_) {
    if (is_tensor_name(name)) continue;
    if (!computed) {
      all = metric_->compute();
      computed = true;
    }
    // top1_accuracy is accuracy by another name.
    const auto k = top_k_of(name);
    const auto source = k && *k == 1 ? (name.ends_with("_macro") ? "accuracy_macro" : "accuracy") : name;
    out[key(prefix, name)] = all.at(source);
  }
  return out;
}

std::map<std::string, torch::Tensor> MetricCollection::compute_tensors(std::string_view prefix) const {
  std::map<std::string, torch::Tensor> out;
  for (const auto& name : names_) {
    if (!is_tensor_name(name)) continue;
    torch::Tensor value;
    if (const auto* m = dynamic_cast<const MulticlassMetrics*>(metric_.get())) {
      if (name == "confusion_matrix") value = m->confusion_matrix().clone();
      if (name == "precision_per_class") value = m->precision_per_class();
      if (name == "recall_per_class") value = m->recall_per_class();
      if (name == "f1_per_class") value = m->f1_per_class();
    } else if (const auto* l = dynamic_cast<const MultilabelMetrics*>(metric_.get())) {
      if (name == "confusion_matrix") value = l->confusion_matrix();
      if (name == "f1_per_label") value = l->f1_per_label();
      if (name == "average_precision_per_label") value = l->average_precision_per_label();
    }
    out[key(prefix, name)] = value;
  }
  return out;
}

}  // namespace autotimm
