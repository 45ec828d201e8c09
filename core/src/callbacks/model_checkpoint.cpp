#include <cmath>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "autotimm/error.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/names.hpp"
#include "autotimm/trainer/callbacks.hpp"
#include "autotimm/trainer/checkpoint.hpp"
#include "monitor.hpp"

namespace autotimm {

namespace fs = std::filesystem;

namespace {

/// `target` made to hold the same bytes as `source`: a hard link renamed into place (instant, atomic, no extra
/// space); a full write when the file system has no hard links.
bool link_atomically(const fs::path& source, const fs::path& target) {
  const fs::path temporary = target.string() + ".link.tmp";
  std::error_code ec;
  fs::remove(temporary, ec);
  fs::create_hard_link(source, temporary, ec);
  if (ec) return false;
  fs::rename(temporary, target, ec);
  if (ec) {
    fs::remove(temporary, ec);
    return false;
  }
  return true;
}

}  // namespace

ModelCheckpointOptions ModelCheckpointOptions::from(const Config& config) {
  ModelCheckpointOptions o;
  if (auto dir = config.get_optional<std::string>("dirpath")) o.dirpath = *dir;
  read_arg(config, "monitor", o.monitor);
  read_arg(config, "mode", o.mode);
  read_arg(config, "save_top_k", o.save_top_k);
  read_arg(config, "save_last", o.save_last);
  read_arg(config, "filename_prefix", o.filename_prefix);
  return o;
}

ModelCheckpoint::ModelCheckpoint(ModelCheckpointOptions options) : options_(std::move(options)) {
  check_monitor_mode(options_.mode, "ModelCheckpoint");
  if (options_.save_top_k < -1) throw ConfigError("ModelCheckpoint: save_top_k must be -1, 0 or a count");
}

bool ModelCheckpoint::better(double a, double b) const { return options_.mode == "min" ? a < b : a > b; }

std::optional<double> ModelCheckpoint::best_model_score() const {
  if (best_path_.empty()) return std::nullopt;
  return best_k_.at(best_path_);
}

void ModelCheckpoint::on_fit_start(TrainingState& state) {
  const fs::path dir = options_.dirpath.empty() ? state.trainer->log_dir() / "checkpoints" : options_.dirpath;
  if (!dir_.empty() && dir_ != dir) {
    // Restored from a run that saved elsewhere: its files are not ours to rotate.
    best_k_.clear();
    best_path_.clear();
  }
  dir_ = dir;
}

void ModelCheckpoint::on_train_epoch_start(TrainingState&) { validated_this_epoch_ = false; }

void ModelCheckpoint::on_validation_end(TrainingState& state) {
  if (state.stage != "fit" || state.sanity_checking) return;
  validated_this_epoch_ = true;
  save(state, /*rank=*/true);
}

void ModelCheckpoint::on_train_epoch_end(TrainingState& state) {
  if (validated_this_epoch_) return;
  // An epoch without validation (check_val_every_n_epoch > 1): a val/ metric would be stale, so only last.ckpt.
  save(state, /*rank=*/!options_.monitor.starts_with("val/"));
}

void ModelCheckpoint::save(TrainingState& state, bool rank) {
  // Every rank keeps the same books (best paths for test("best")); only rank 0 touches files.
  const bool writer = state.is_global_zero;
  if (writer) fs::create_directories(dir_);
  fs::path written;
  if (rank && options_.save_top_k != 0 && !options_.monitor.empty()) {
    const auto it = state.metrics.find(options_.monitor);
    if (it == state.metrics.end()) {
      throw ConfigError("ModelCheckpoint: the monitored metric '" + options_.monitor + "' was never logged" +
                        (options_.monitor.starts_with("val/") ? " (is there validation data?)" : "") +
                        "; logged: " + logged_metric_names(state.metrics) + "; set checkpoint_monitor to one of them");
    }
    const double value = it->second;
    if (!std::isfinite(value)) {
      spdlog::warn("ModelCheckpoint: {} is {} at epoch {}; no best checkpoint saved", options_.monitor, value,
                   state.epoch);
    } else {
      const fs::path* worst = nullptr;
      for (const auto& [path, score] : best_k_) {
        if (worst == nullptr || better(best_k_.at(*worst), score)) worst = &path;
      }
      const bool keep_all = options_.save_top_k == -1;
      if (keep_all || static_cast<int>(best_k_.size()) < options_.save_top_k || better(value, best_k_.at(*worst))) {
        const fs::path path = dir_ / checkpoint_file_name(options_.filename_prefix, state.epoch, options_.monitor, value);
        if (writer) state.trainer->save_checkpoint(path);
        written = path;
        best_k_[path] = value;
        if (!keep_all && static_cast<int>(best_k_.size()) > options_.save_top_k) {
          fs::path drop;
          for (const auto& [candidate, score] : best_k_) {
            if (drop.empty() || better(best_k_.at(drop), score)) drop = candidate;
          }
          best_k_.erase(drop);
          std::error_code ec;
          if (writer && drop != path) fs::remove(drop, ec);
        }
        best_path_.clear();
        for (const auto& [candidate, score] : best_k_) {
          if (best_path_.empty() || better(score, best_k_.at(best_path_))) best_path_ = candidate;
        }
      }
    }
  }
  if (options_.save_last) {
    const fs::path last = dir_ / "last.ckpt";
    if (writer && (written.empty() || !link_atomically(written, last))) state.trainer->save_checkpoint(last);
    last_path_ = last;
  }
}

boost::json::object ModelCheckpoint::state_dict() const {
  boost::json::object best_k;
  for (const auto& [path, score] : best_k_) best_k[path.string()] = score;
  return {{"dirpath", dir_.string()},
          {"monitor", options_.monitor},
          {"mode", options_.mode},
          {"best_model_path", best_path_.string()},
          {"last_model_path", last_path_.string()},
          {"best_k_models", std::move(best_k)}};
}

void ModelCheckpoint::load_state_dict(const boost::json::object& state) {
  const auto text = [&](const char* key) {
    const auto* value = state.if_contains(key);
    return value && value->is_string() ? std::string(value->as_string()) : std::string();
  };
  if (text("monitor") != options_.monitor || text("mode") != options_.mode) return;  // other criteria: start afresh
  best_k_.clear();
  if (const auto* best_k = state.if_contains("best_k_models"); best_k && best_k->is_object()) {
    for (const auto& [path, score] : best_k->as_object()) {
      if (fs::exists(std::string(path))) best_k_[std::string(path)] = score.to_number<double>();
    }
  }
  best_path_ = text("best_model_path");
  if (!best_k_.contains(best_path_)) best_path_.clear();
  last_path_ = text("last_model_path");
  dir_ = text("dirpath");
}

}  // namespace autotimm
