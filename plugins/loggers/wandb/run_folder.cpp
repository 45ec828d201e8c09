#include "run_folder.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>

#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "autotimm/io/atomic_file.hpp"
#include "autotimm/loggers/csv_logger.hpp"
#include "json_text.hpp"

namespace autotimm::wandb {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::uintmax_t kMaxSpoolBytes = std::uintmax_t{4} << 30;  // a bound for reading, far above any real run

std::string timestamp_now() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  ::localtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d_%H%M%S", &parts);
  return text;
}

json::object run_record(const RunAttributes& run) {
  json::array tags;
  for (const auto& tag : run.tags) tags.emplace_back(tag);
  return {{"entity", run.entity}, {"project", run.project}, {"id", run.run_id}, {"name", run.display_name},
          {"notes", run.notes},   {"group", run.group},     {"job_type", run.job_type}, {"tags", std::move(tags)},
          {"host", run.host}};
}

std::string text_field(const json::object& object, std::string_view key, const std::string& where) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return {};
  if (!value->is_string()) throw ConfigError(where + ": '" + std::string(key) + "' should be a string");
  return std::string(value->as_string());
}

/// Refuses names that would leave files/ (absolute, "..", empty parts).
void check_relative(const std::string& name, const std::string& where) {
  const fs::path path(name);
  bool bad = name.empty() || path.is_absolute();
  for (const auto& part : path) bad = bad || part == ".." || part.empty();
  if (bad) throw ConfigError(where + ": file name '" + name + "' is not a plain relative path");
}

}  // namespace

RunFolder::RunFolder(const fs::path& wandb_dir, bool offline, const RunAttributes& run) {
  std::error_code ec;
  fs::create_directories(wandb_dir, ec);
  if (ec) throw IoError("wandb: cannot create " + wandb_dir.string() + ": " + ec.message());
  const std::string stem = std::string(offline ? "offline-run-" : "run-") + timestamp_now() + "-" + run.run_id;
  dir_ = wandb_dir / stem;
  for (int n = 1; fs::exists(dir_); ++n) dir_ = wandb_dir / (stem + "-" + std::to_string(n));
  fs::create_directories(dir_ / "files", ec);
  if (ec) throw IoError("wandb: cannot create " + (dir_ / "files").string() + ": " + ec.message());
  const fs::path spool = dir_ / kSpoolName;
  fd_ = ::open(spool.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw IoError("wandb: cannot create " + spool.string() + ": " + std::strerror(errno));
  append({{"run", run_record(run)}});
  flush();
}

void RunFolder::mark_latest() const {
  // A new link renamed over the old one, so latest-run always names a whole run folder.
  const fs::path wandb_dir = dir_.parent_path();
  const fs::path temporary = wandb_dir / (".latest-run." + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove(temporary, ec);
  fs::create_directory_symlink(dir_.filename(), temporary, ec);
  if (!ec) fs::rename(temporary, wandb_dir / "latest-run", ec);
  if (ec) fs::remove(temporary, ec);  // a filesystem without symlinks loses only the convenience link
}

RunFolder::~RunFolder() {
  try {
    flush();
  } catch (const std::exception&) {
  }
  if (fd_ >= 0) ::close(fd_);
}

void RunFolder::append(const json::object& record) {
  buffer_ += json::serialize(record);
  buffer_ += '\n';
}

void RunFolder::flush() {
  std::size_t written = 0;
  while (written < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + written, buffer_.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      buffer_.erase(0, written);
      throw IoError("wandb: cannot write " + (dir_ / kSpoolName).string() + ": " + std::strerror(errno));
    }
    written += static_cast<std::size_t>(n);
  }
  buffer_.clear();
  ::fdatasync(fd_);
}

void RunFolder::write_config_yaml(const json::object& config) {
  json::object wrapped;
  for (const auto& [key, value] : config) wrapped[key] = json::object{{"value", value}};
  write_file_atomically(files_dir() / "config.yaml", "wandb_version: 1\n\n" + to_yaml(wrapped));
}

void RunFolder::write_summary(const std::string& summary_json) {
  write_file_atomically(files_dir() / "wandb-summary.json", summary_json);
}

void RunFolder::write_file(const std::string& name, std::string_view bytes) {
  check_relative(name, "wandb");
  const fs::path path = files_dir() / name;
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) throw IoError("wandb: cannot create " + path.parent_path().string() + ": " + ec.message());
  write_file_atomically(path, bytes);
}

SpoolContents read_spool(const fs::path& dir) {
  const fs::path spool = dir / kSpoolName;
  std::error_code ec;
  const auto size = fs::file_size(spool, ec);
  if (ec) {
    throw ConfigError("wandb: " + dir.string() + " is not a run folder written by this logger (no " + kSpoolName +
                      "); pass a folder like wandb/offline-run-<date>-<id>, or wandb/ to send every run in it");
  }
  if (size > kMaxSpoolBytes) throw ConfigError("wandb: " + spool.string() + " is larger than 4 GiB; refusing to read it");
  std::ifstream in(spool, std::ios::binary);
  const std::string text(std::istreambuf_iterator<char>(in), {});
  SpoolContents out;
  bool have_run = false;
  std::size_t number = 0;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = text.find('\n', start);
    const bool unterminated = end == std::string::npos;  // the last write was cut short by a crash
    const std::string_view line = std::string_view(text).substr(start, unterminated ? std::string::npos : end - start);
    start = unterminated ? text.size() : end + 1;
    const std::string where = spool.string() + " line " + std::to_string(++number);
    boost::system::error_code parse_error;
    const json::value parsed = json::parse(line, parse_error);
    if (parse_error && unterminated) {
      out.truncated_tail = true;
      break;
    }
    if (parse_error || !parsed.is_object() || parsed.as_object().size() != 1) {
      throw ConfigError("wandb: " + where + ": expected one JSON record {\"<kind>\": ...}; the spool is damaged");
    }
    const auto& [kind, value] = *parsed.as_object().begin();
    if (kind == "run" && value.is_object()) {
      const json::object& run = value.as_object();
      out.run.entity = text_field(run, "entity", where);
      out.run.project = text_field(run, "project", where);
      out.run.run_id = text_field(run, "id", where);
      out.run.display_name = text_field(run, "name", where);
      out.run.notes = text_field(run, "notes", where);
      out.run.group = text_field(run, "group", where);
      out.run.job_type = text_field(run, "job_type", where);
      out.run.host = text_field(run, "host", where);
      if (const auto* tags = run.if_contains("tags"); tags != nullptr && tags->is_array()) {
        for (const auto& tag : tags->as_array()) {
          if (tag.is_string()) out.run.tags.emplace_back(tag.as_string());
        }
      }
      if (out.run.run_id.empty() || out.run.project.empty()) throw ConfigError("wandb: " + where + ": the run has no id or project");
      have_run = true;
    } else if (!have_run) {
      throw ConfigError("wandb: " + where + ": the spool does not start with the run record");
    } else if (kind == "config" && value.is_object()) {
      out.run.config = value.as_object();
    } else if (kind == "history" && value.is_string()) {
      out.history.emplace_back(value.as_string());
    } else if (kind == "file" && value.is_string()) {
      check_relative(std::string(value.as_string()), "wandb: " + where);
      out.files.emplace_back(value.as_string());
    } else if (kind == "history_base" && value.is_int64()) {
      out.history_base = value.as_int64();
    } else if (kind == "exit" && value.is_int64()) {
      out.exitcode = static_cast<int>(value.as_int64());
    } else {
      throw ConfigError("wandb: " + where + ": unknown record '" + std::string(kind) + "'");
    }
  }
  if (!have_run) throw ConfigError("wandb: " + spool.string() + " is empty");
  return out;
}

std::map<std::string, std::string> summary_of(const std::vector<std::string>& history) {
  std::map<std::string, std::string> summary;
  for (const auto& line : history) {
    for (auto& [key, value] : members_of(line)) summary[key] = std::move(value);
  }
  return summary;
}

}  // namespace autotimm::wandb
