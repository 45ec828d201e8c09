#pragma once
// Serialized TensorBoard Events (tensorboard/compat/proto/event.proto, summary.proto) for each kind of data we log,
// and the hparams plugin's payloads (tensorboard/plugins/hparams/plugin_data.proto, api.proto), shaped as PyTorch's
// SummaryWriter writes them so TensorBoard and `wandb sync` read them as they read PyTorch's files.
//
//   writer.append(scalar_event(wall_time_now(), 100, "train/loss", 0.25f));
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "media/png_image.hpp"

namespace autotimm::tensorboard {

inline constexpr std::string_view kFileVersion = "brain.Event:2";
inline constexpr std::string_view kExperimentTag = "_hparams_/experiment";
inline constexpr std::string_view kSessionStartTag = "_hparams_/session_start_info";
inline constexpr std::string_view kSessionEndTag = "_hparams_/session_end_info";

/// Seconds since the Unix epoch with sub-second precision, as Event.wall_time holds them.
double wall_time_now();

/// Event{wall_time, file_version = "brain.Event:2"}: the first record of every event file.
std::string file_version_event(double wall_time);

/// Event{wall_time, step, summary{value{tag, simple_value}}}: what the scalars dashboard reads.
std::string scalar_event(double wall_time, std::int64_t step, std::string_view tag, float value);

/// Summary.Image: colorspace = the image's channels (1 gray, 3 RGB), then the PNG file.
std::string image_event(double wall_time, std::int64_t step, std::string_view tag, const media::PngImage& image);

/// HistogramProto: `bucket[i]` counts the values in (bucket_limit[i - 1], bucket_limit[i]].
struct HistogramData {
  double min = 0;
  double max = 0;
  double num = 0;
  double sum = 0;
  double sum_squares = 0;
  std::vector<double> bucket_limit = {};
  std::vector<double> bucket = {};
};
std::string histogram_event(double wall_time, std::int64_t step, std::string_view tag, const HistogramData& histogram);

/// The text plugin's summary: tag "<tag>/text_summary", a DT_STRING tensor of shape [1] (PyTorch's add_text).
std::string text_event(double wall_time, std::int64_t step, std::string_view tag, std::string_view text);

/// A flattened hyperparameter value: numbers as FLOAT64, bools as BOOL, everything else as STRING.
using HParamValue = std::variant<double, bool, std::string>;
using HParams = std::vector<std::pair<std::string, HParamValue>>;

/// The hparams plugin's session status (api.proto Status).
enum class SessionStatus : int { unknown = 0, success = 1, failure = 2, running = 3 };

/// Serialized HParamsPluginData{version = 0, experiment{time_created_secs, hparam_infos (name, type), metric_infos
/// (tag)}}. A zero time is left out, as proto3 leaves out defaults.
std::string hparams_experiment_data(const HParams& hparams, const std::vector<std::string>& metric_tags,
                                    double time_created_secs);
/// Serialized HParamsPluginData{version = 0, session_start_info{hparams, start_time_secs}}.
std::string hparams_session_start_data(const HParams& hparams, double start_time_secs);
/// Serialized HParamsPluginData{version = 0, session_end_info{status, end_time_secs}}.
std::string hparams_session_end_data(SessionStatus status, double end_time_secs);
/// Event{wall_time, summary{value{tag, metadata{plugin_data{"hparams", data}}, tensor = TensorBoard's null tensor}}}.
std::string hparams_event(double wall_time, std::string_view tag, std::string_view plugin_data);

}  // namespace autotimm::tensorboard
