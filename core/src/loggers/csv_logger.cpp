#include "autotimm/loggers/csv_logger.hpp"
#include "autotimm/loggers/histogram_metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <cmath>
#include <sstream>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "autotimm/data/decode.hpp"
#include "autotimm/error.hpp"
#include "autotimm/io/atomic_file.hpp"
#include "autotimm/model_args.hpp"
#include "autotimm/registry.hpp"

namespace autotimm {

namespace fs = std::filesystem;

namespace {

/// A CSV field: quoted when it holds a separator, a quote or a line break.
std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

/// The shortest text that reads back as `value`; exponents carry a ".0" so YAML 1.1 readers see a float.
std::string number_text(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char text[64];
  // Plain decimals where they stay short (0.0001, 123.5), exponents for the very small and very large.
  const double magnitude = std::fabs(value);
  const bool fixed = magnitude == 0.0 || (magnitude >= 1e-5 && magnitude < 1e16);
  const auto end = std::to_chars(text, text + sizeof text, value,
                                 fixed ? std::chars_format::fixed : std::chars_format::scientific).ptr;
  std::string out(text, end);
  if (const auto e = out.find('e'); e != std::string::npos && out.find('.') == std::string::npos) out.insert(e, ".0");
  return out;
}

/// A scalar as YAML: strings quoted when they could read as something else.
std::string yaml_scalar(const boost::json::value& value) {
  if (value.is_string()) {
    const std::string text(value.as_string());
    const bool plain = !text.empty() && text.find_first_of(":#{}[],&*?|<>=!%@`'\"\n") == std::string::npos &&
                       text.front() != ' ' && text.back() != ' ' && text != "true" && text != "false" &&
                       text != "null" && text != "~" && !std::isdigit(static_cast<unsigned char>(text.front())) &&
                       text.front() != '-' && text.front() != '.';
    return plain ? text : boost::json::serialize(value);  // a JSON string is a valid YAML double-quoted scalar
  }
  if (value.is_null()) return "null";
  if (value.is_double()) return number_text(value.as_double());
  return boost::json::serialize(value);
}

void write_yaml(std::ostringstream& out, const boost::json::value& value, int indent);

void write_yaml_object(std::ostringstream& out, const boost::json::object& object, int indent) {
  for (const auto& [key, value] : object) {
    out << std::string(static_cast<std::size_t>(indent), ' ') << yaml_scalar(boost::json::string(key)) << ":";
    if ((value.is_object() && !value.as_object().empty()) || (value.is_array() && !value.as_array().empty())) {
      out << "\n";
      write_yaml(out, value, indent + 2);
    } else if (value.is_object()) {
      out << " {}\n";
    } else if (value.is_array()) {
      out << " []\n";
    } else {
      out << " " << yaml_scalar(value) << "\n";
    }
  }
}

void write_yaml(std::ostringstream& out, const boost::json::value& value, int indent) {
  if (value.is_object()) {
    write_yaml_object(out, value.as_object(), indent);
    return;
  }
  for (const auto& item : value.as_array()) {
    out << std::string(static_cast<std::size_t>(indent), ' ') << "-";
    if (item.is_object() || item.is_array()) {
      out << " " << boost::json::serialize(item) << "\n";  // JSON flow style is YAML too
    } else {
      out << " " << yaml_scalar(item) << "\n";
    }
  }
}

/// An image tensor ([3, H, W] / [H, W, 3], uint8 or float in [0, 1]) as an 8-bit RGB image.
Image image_from_tensor(const at::Tensor& tensor, std::string_view tag) {
  torch::Tensor t = tensor.detach().cpu();
  if (t.dim() == 3 && (t.size(0) == 3 || t.size(0) == 1) && t.size(2) != 3) t = t.permute({1, 2, 0});
  if (t.dim() != 3 || (t.size(2) != 3 && t.size(2) != 1)) {
    throw ConfigError("log_image '" + std::string(tag) + "': expected an image [3, H, W] or [H, W, 3], got " +
                      c10::str(tensor.sizes()));
  }
  if (t.is_floating_point()) t = (t.clamp(0, 1) * 255).round();
  t = t.to(torch::kUInt8).expand({t.size(0), t.size(1), 3}).contiguous();
  Image image(static_cast<int>(t.size(1)), static_cast<int>(t.size(0)), 3);
  std::memcpy(image.pixels.data(), t.data_ptr<std::uint8_t>(), image.pixels.size());
  return image;
}

std::string safe_file_part(std::string_view tag) {
  std::string out(tag);
  for (char& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return out;
}

}  // namespace

std::string to_yaml(const boost::json::object& object) {
  std::ostringstream out;
  write_yaml_object(out, object, 0);
  return out.str();
}

CsvLoggerOptions CsvLoggerOptions::from(const Config& config) {
  CsvLoggerOptions o;
  if (auto dir = config.get_optional<std::string>("save_dir")) o.save_dir = *dir;
  read_arg(config, "name", o.name);
  o.version = read_log_version(config);
  read_arg(config, "prefix", o.prefix);
  read_arg(config, "flush_logs_every_n_steps", o.flush_logs_every_n_steps);
  return o;
}

CsvLogger::CsvLogger(CsvLoggerOptions options) : options_(std::move(options)) {
  if (options_.save_dir.empty()) throw ConfigError("CsvLogger: save_dir is empty");
  if (options_.flush_logs_every_n_steps < 1) throw ConfigError("CsvLogger: flush_logs_every_n_steps must be >= 1");
  version_ = create_log_dir(options_.save_dir, options_.name, options_.version, "CsvLogger");
  log_dir_ = (options_.name.empty() ? options_.save_dir : options_.save_dir / options_.name) / version_;
}

CsvLogger::~CsvLogger() {
  try {
    save();
  } catch (const std::exception& e) {
    spdlog::error("CsvLogger: {}", e.what());
  }
}

void CsvLogger::log_hyperparams(const boost::json::object& params) {
  std::lock_guard lock(mutex_);
  write_file_atomically(log_dir_ / "hparams.yaml", to_yaml(params));
}

void CsvLogger::log_metrics(const std::map<std::string, double>& metrics, std::int64_t step) {
  std::lock_guard lock(mutex_);
  std::map<std::string, double> row;
  for (const auto& [key, value] : metrics) row[options_.prefix.empty() ? key : options_.prefix + "-" + key] = value;
  row["step"] = static_cast<double>(step);
  for (const auto& [key, value] : row) {
    const auto at = std::lower_bound(keys_.begin(), keys_.end(), key);
    if (at == keys_.end() || *at != key) keys_.insert(at, key);
  }
  rows_.push_back(std::move(row));
  if (static_cast<std::int64_t>(rows_.size()) - rows_at_last_save_ >= options_.flush_logs_every_n_steps) {
    write_metrics_locked();
  }
}

std::string CsvLogger::metrics_rows_locked(std::size_t first) const {
  std::string text;
  for (std::size_t r = first; r < rows_.size(); ++r) {
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      if (i) text += ",";
      if (const auto it = rows_[r].find(keys_[i]); it != rows_[r].end()) text += number_text(it->second);
    }
    text += "\n";
  }
  return text;
}

void CsvLogger::write_metrics_locked() {
  const auto first = static_cast<std::size_t>(rows_at_last_save_);
  const fs::path path = log_dir_ / "metrics.csv";
  if (first > 0 && keys_ == keys_on_disk_) {
    // Same header: append the new rows (Lightning's writer does too), so a long run's saves cost what they add.
    append_to_file(path, metrics_rows_locked(first));
  } else {
    // A new key changes the header: the whole file again, atomically.
    std::string text;
    for (std::size_t i = 0; i < keys_.size(); ++i) text += (i ? "," : "") + csv_field(keys_[i]);
    text += "\n";
    write_file_atomically(path, text + metrics_rows_locked(0));
    keys_on_disk_ = keys_;
  }
  rows_at_last_save_ = static_cast<std::int64_t>(rows_.size());
}

void CsvLogger::log_image(std::string_view tag, const at::Tensor& image, std::int64_t step) {
  const Image pixels = image_from_tensor(image, tag);
  const fs::path dir = log_dir_ / "images";
  fs::create_directories(dir);
  write_image(dir / (safe_file_part(tag) + "-step=" + std::to_string(step) + ".png"), pixels);
}

std::map<std::string, double> histogram_metrics(std::string_view tag, const at::Tensor& values) {
  const torch::Tensor v = values.detach().cpu().to(torch::kFloat64).flatten();
  if (v.numel() == 0) return {};
  const std::string base(tag);
  return {{base + "/min", v.min().item<double>()},
          {base + "/max", v.max().item<double>()},
          {base + "/mean", v.mean().item<double>()},
          {base + "/std", v.numel() > 1 ? v.std().item<double>() : 0.0}};
}

void CsvLogger::log_histogram(std::string_view tag, const at::Tensor& values, std::int64_t step) {
  if (auto metrics = histogram_metrics(tag, values); !metrics.empty()) log_metrics(metrics, step);
}

void CsvLogger::log_text(std::string_view tag, std::string_view text, std::int64_t step) {
  std::lock_guard lock(mutex_);
  texts_.push_back({std::to_string(step), std::string(tag), std::string(text)});
  std::string out = "step,tag,text\n";
  for (const auto& row : texts_) out += row[0] + "," + csv_field(row[1]) + "," + csv_field(row[2]) + "\n";
  write_file_atomically(log_dir_ / "texts.csv", out);
}

void CsvLogger::save() {
  std::lock_guard lock(mutex_);
  if (!rows_.empty() && rows_at_last_save_ != static_cast<std::int64_t>(rows_.size())) write_metrics_locked();
}

void CsvLogger::finalize(RunStatus) { save(); }

void register_builtin_loggers(Registrar& registrar) {
  registrar.add(LoggerEntry{
      .name = "csv",
      .factory = [](const Config& c) -> std::shared_ptr<Logger> {
        return std::make_shared<CsvLogger>(CsvLoggerOptions::from(c));
      },
      .description = "metrics.csv and hparams.yaml in save_dir/name/version (name, version, prefix, "
                     "flush_logs_every_n_steps)"});
}

}  // namespace autotimm
