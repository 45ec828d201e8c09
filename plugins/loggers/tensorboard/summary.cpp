#include "summary.hpp"

#include <chrono>

#include "protobuf_writer.hpp"

namespace autotimm::tensorboard {

namespace {

// Field numbers, from tensorboard/compat/proto and tensorboard/plugins/{hparams,text}.
namespace event {
constexpr int kWallTime = 1, kStep = 2, kFileVersion = 3, kSummary = 5;
}
namespace summary {
constexpr int kValue = 1;
}
namespace value {
constexpr int kTag = 1, kSimpleValue = 2, kImage = 4, kHisto = 5, kTensor = 8, kMetadata = 9;
}
namespace image {
constexpr int kHeight = 1, kWidth = 2, kColorspace = 3, kEncoded = 4;
}
namespace histo {
constexpr int kMin = 1, kMax = 2, kNum = 3, kSum = 4, kSumSquares = 5, kBucketLimit = 6, kBucket = 7;
}
namespace tensor {
constexpr int kDtype = 1, kShape = 2, kStringVal = 8;
constexpr int kDtFloat = 1, kDtString = 7;
constexpr int kShapeDim = 2, kDimSize = 1;
}
namespace metadata {
constexpr int kPluginData = 1, kPluginName = 1, kContent = 2;
}
namespace hparams {
constexpr int kExperiment = 2, kSessionStart = 3, kSessionEnd = 4;
constexpr int kExperimentTimeCreated = 3, kExperimentHParamInfos = 4, kExperimentMetricInfos = 5;
constexpr int kHParamInfoName = 1, kHParamInfoType = 4;
constexpr int kTypeString = 1, kTypeBool = 2, kTypeFloat64 = 3;
constexpr int kMetricInfoName = 1, kMetricNameTag = 2;
constexpr int kStartHParams = 1, kStartTime = 5, kMapKey = 1, kMapValue = 2;
constexpr int kEndStatus = 1, kEndTime = 2;
// google.protobuf.Value
constexpr int kNumberValue = 2, kStringValue = 3, kBoolValue = 4;
}  // namespace hparams

/// Event{wall_time, step, summary{value}}; step 0 is left out as proto3 leaves out defaults.
std::string summary_event(double wall_time, std::int64_t step, const ProtoWriter& value) {
  ProtoWriter summary;
  summary.message(summary::kValue, value);
  ProtoWriter out;
  out.float64(event::kWallTime, wall_time);
  if (step != 0) out.int64(event::kStep, step);
  out.message(event::kSummary, summary);
  return std::move(out).take();
}

ProtoWriter plugin_metadata(std::string_view plugin_name, std::string_view content) {
  ProtoWriter plugin_data;
  plugin_data.string(metadata::kPluginName, plugin_name);
  if (!content.empty()) plugin_data.string(metadata::kContent, content);
  ProtoWriter out;
  out.message(metadata::kPluginData, plugin_data);
  return out;
}

/// HParamsPluginData{version = 0 (left out), <field>: message}.
std::string plugin_data(int field, const ProtoWriter& message) {
  ProtoWriter out;
  out.message(field, message);
  return std::move(out).take();
}

}  // namespace

double wall_time_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string file_version_event(double wall_time) {
  ProtoWriter out;
  out.float64(event::kWallTime, wall_time).string(event::kFileVersion, kFileVersion);
  return std::move(out).take();
}

std::string scalar_event(double wall_time, std::int64_t step, std::string_view tag, float value) {
  ProtoWriter v;
  v.string(value::kTag, tag).float32(value::kSimpleValue, value);
  return summary_event(wall_time, step, v);
}

std::string image_event(double wall_time, std::int64_t step, std::string_view tag, const media::PngImage& encoded) {
  ProtoWriter img;
  img.varint(image::kHeight, static_cast<std::uint64_t>(encoded.height))
      .varint(image::kWidth, static_cast<std::uint64_t>(encoded.width))
      .varint(image::kColorspace, static_cast<std::uint64_t>(encoded.channels))
      .string(image::kEncoded, encoded.png);
  ProtoWriter v;
  v.string(value::kTag, tag).message(value::kImage, img);
  return summary_event(wall_time, step, v);
}

std::string histogram_event(double wall_time, std::int64_t step, std::string_view tag, const HistogramData& h) {
  ProtoWriter histo_proto;
  histo_proto.float64(histo::kMin, h.min)
      .float64(histo::kMax, h.max)
      .float64(histo::kNum, h.num)
      .float64(histo::kSum, h.sum)
      .float64(histo::kSumSquares, h.sum_squares)
      .packed_float64(histo::kBucketLimit, h.bucket_limit)
      .packed_float64(histo::kBucket, h.bucket);
  ProtoWriter v;
  v.string(value::kTag, tag).message(value::kHisto, histo_proto);
  return summary_event(wall_time, step, v);
}

std::string text_event(double wall_time, std::int64_t step, std::string_view tag, std::string_view text) {
  ProtoWriter dim;
  dim.varint(tensor::kDimSize, 1);
  ProtoWriter shape;
  shape.message(tensor::kShapeDim, dim);
  ProtoWriter t;
  t.varint(tensor::kDtype, tensor::kDtString).message(tensor::kShape, shape).string(tensor::kStringVal, text);
  ProtoWriter v;
  // TextPluginData{version = 0} serializes to no bytes, so the content is left out.
  v.string(value::kTag, std::string(tag) + "/text_summary")
      .message(value::kTensor, t)
      .message(value::kMetadata, plugin_metadata("text", {}));
  return summary_event(wall_time, step, v);
}

std::string hparams_experiment_data(const HParams& params, const std::vector<std::string>& metric_tags,
                                    double time_created_secs) {
  ProtoWriter experiment;
  if (time_created_secs != 0) experiment.float64(hparams::kExperimentTimeCreated, time_created_secs);
  for (const auto& [name, value] : params) {
    const int type = std::holds_alternative<double>(value) ? hparams::kTypeFloat64
                     : std::holds_alternative<bool>(value) ? hparams::kTypeBool
                                                           : hparams::kTypeString;
    ProtoWriter info;
    info.string(hparams::kHParamInfoName, name).varint(hparams::kHParamInfoType, static_cast<std::uint64_t>(type));
    experiment.message(hparams::kExperimentHParamInfos, info);
  }
  for (const auto& tag : metric_tags) {
    ProtoWriter metric_name;
    metric_name.string(hparams::kMetricNameTag, tag);
    ProtoWriter info;
    info.message(hparams::kMetricInfoName, metric_name);
    experiment.message(hparams::kExperimentMetricInfos, info);
  }
  return plugin_data(hparams::kExperiment, experiment);
}

std::string hparams_session_start_data(const HParams& params, double start_time_secs) {
  ProtoWriter start;
  for (const auto& [name, value] : params) {
    ProtoWriter v;
    if (const auto* number = std::get_if<double>(&value)) {
      v.float64(hparams::kNumberValue, *number);
    } else if (const auto* flag = std::get_if<bool>(&value)) {
      v.varint(hparams::kBoolValue, *flag ? 1 : 0);
    } else {
      v.string(hparams::kStringValue, std::get<std::string>(value));
    }
    ProtoWriter entry;
    entry.string(hparams::kMapKey, name).message(hparams::kMapValue, v);
    start.message(hparams::kStartHParams, entry);
  }
  if (start_time_secs != 0) start.float64(hparams::kStartTime, start_time_secs);
  return plugin_data(hparams::kSessionStart, start);
}

std::string hparams_session_end_data(SessionStatus status, double end_time_secs) {
  ProtoWriter end;
  if (status != SessionStatus::unknown) end.varint(hparams::kEndStatus, static_cast<std::uint64_t>(status));
  if (end_time_secs != 0) end.float64(hparams::kEndTime, end_time_secs);
  return plugin_data(hparams::kSessionEnd, end);
}

std::string hparams_event(double wall_time, std::string_view tag, std::string_view data) {
  // TensorBoard's own writer attaches a null tensor (DT_FLOAT, shape [0]); its reader substitutes one when absent.
  ProtoWriter empty_dim;
  ProtoWriter shape;
  shape.message(tensor::kShapeDim, empty_dim);
  ProtoWriter null_tensor;
  null_tensor.varint(tensor::kDtype, tensor::kDtFloat).message(tensor::kShape, shape);
  ProtoWriter v;
  v.string(value::kTag, tag).message(value::kTensor, null_tensor).message(value::kMetadata,
                                                                          plugin_metadata("hparams", data));
  return summary_event(wall_time, 0, v);
}

}  // namespace autotimm::tensorboard
