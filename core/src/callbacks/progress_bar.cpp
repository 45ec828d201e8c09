#include <unistd.h>

#include <cstdio>
#include <sstream>

#include <spdlog/spdlog.h>

#include "autotimm/trainer/callbacks.hpp"

namespace autotimm {

namespace {

std::string clock_text(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%02ld:%02ld", s / 60, s % 60);
  }
  return text;
}

/// "val/loss 0.4211, val/accuracy 0.9100" of the metrics of `stage` (and the epoch's training loss).
std::string metrics_text(const TrainingState& state, const std::string& stage) {
  std::ostringstream out;
  out.precision(4);
  out << std::fixed;
  bool first = true;
  for (const auto& [name, value] : state.metrics) {
    if (!name.starts_with(stage + "/") || name == "train/loss") continue;
    out << (first ? "" : ", ") << name << " " << value;
    first = false;
  }
  return out.str();
}

}  // namespace

ProgressBar::ProgressBar(int refresh_rate)
    : refresh_rate_(refresh_rate < 1 ? 1 : refresh_rate), terminal_(isatty(STDERR_FILENO) == 1) {}

void ProgressBar::show(const TrainingState& state, const std::string& label, bool final) {
  if (!state.is_global_zero) return;
  const std::int64_t done = state.batch_idx + 1, total = state.num_batches;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - loop_start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
  std::ostringstream info;
  info.precision(2);
  info << std::fixed << rate << " it/s, " << clock_text(elapsed) << "<" << clock_text(eta);
  if (const auto loss = state.metrics.find("train/loss"); label.starts_with("Epoch") && loss != state.metrics.end()) {
    info.precision(4);
    info << ", loss " << loss->second;
  }
  if (terminal_) {
    constexpr int kWidth = 25;
    const int filled = total > 0 ? static_cast<int>(kWidth * done / total) : 0;
    std::string bar(static_cast<std::size_t>(filled), '=');
    if (filled < kWidth) bar += '>';
    bar.resize(kWidth, ' ');
    std::fprintf(stderr, "\r%s [%s] %lld/%lld %s\033[K%s", label.c_str(), bar.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total), info.str().c_str(), final ? "\n" : "");
    std::fflush(stderr);
    return;
  }
  // Not a terminal (a log file, CI): a plain line about every tenth of the loop.
  const std::int64_t decile = total > 0 ? done * 10 / total : 0;
  if (decile == last_plain_decile_ && !final) return;
  last_plain_decile_ = decile;
  spdlog::info("{} {}/{} batches, {}", label, done, total, info.str());
}

void ProgressBar::on_train_epoch_start(TrainingState& state) {
  loop_start_ = std::chrono::steady_clock::now();
  last_plain_decile_ = -1;
}

void ProgressBar::on_train_batch_end(TrainingState& state) {
  const bool last = state.batch_idx + 1 == state.num_batches;
  if (!last && (state.batch_idx + 1) % refresh_rate_ != 0) return;
  show(state, "Epoch " + std::to_string(state.epoch + 1) + "/" + std::to_string(state.max_epochs), last);
}

void ProgressBar::on_train_epoch_end(TrainingState& state) {
  if (!state.is_global_zero) return;
  spdlog::info("epoch {}: {}{}{}", state.epoch, metrics_text(state, "train"),
               metrics_text(state, "val").empty() ? "" : ", ", metrics_text(state, "val"));
}

void ProgressBar::on_validation_start(TrainingState& state) {
  loop_start_ = std::chrono::steady_clock::now();
  last_plain_decile_ = -1;
}

void ProgressBar::on_validation_batch_end(TrainingState& state) {
  if (!terminal_ || state.sanity_checking) return;  // plain logs get the result line only
  show(state, "Validation", false);
}

void ProgressBar::on_validation_end(TrainingState& state) {
  if (terminal_ && !state.sanity_checking) std::fprintf(stderr, "\r\033[K");
  if (state.stage == "validate" && state.is_global_zero) spdlog::info("validation: {}", metrics_text(state, "val"));
}

void ProgressBar::on_test_start(TrainingState& state) {
  loop_start_ = std::chrono::steady_clock::now();
  last_plain_decile_ = -1;
}

void ProgressBar::on_test_batch_end(TrainingState& state) {
  const bool last = state.batch_idx + 1 == state.num_batches;
  show(state, "Testing", last);
}

void ProgressBar::on_test_end(TrainingState& state) {
  if (state.is_global_zero) spdlog::info("test: {}", metrics_text(state, "test"));
}

}  // namespace autotimm
