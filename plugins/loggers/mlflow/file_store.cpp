#include "file_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <set>

#include <spdlog/spdlog.h>

#include "autotimm/error.hpp"
#include "autotimm/io/atomic_file.hpp"
#include "mlflow_names.hpp"

namespace autotimm::mlflow {

namespace fs = std::filesystem;

namespace {

constexpr int kRunning = 1, kFinished = 3, kFailed = 4, kKilled = 5;  // MLflow's RunStatus numbers

std::string file_uri(const fs::path& path) { return "file://" + path.string(); }

int status_number(RunStatus status) {
  switch (status) {
    case RunStatus::success:
      return kFinished;
    case RunStatus::failed:
      return kFailed;
    case RunStatus::killed:
      return kKilled;
  }
  return kFinished;
}

/// Appends `text` with one write() per call: a crash leaves whole lines plus at most one cut-short last line.
void append_file(const fs::path& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd < 0) throw IoError("mlflow: cannot open '" + path.string() + "' for appending: " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t wrote = ::write(fd, text.data() + done, text.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      const int error = errno;
      ::close(fd);
      throw IoError("mlflow: cannot append to '" + path.string() + "': " + std::strerror(error));
    }
    done += static_cast<std::size_t>(wrote);
  }
  ::close(fd);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// meta.yaml text: `key: value` lines in key order (MLflow's YAML safe-dump sorts keys).
std::string meta_text(const std::map<std::string, std::string>& fields) {
  std::string out;
  for (const auto& [key, value] : fields) out += key + ": " + value + "\n";
  return out;
}

std::string random_experiment_id() {
  std::random_device device;
  std::uniform_int_distribution<int> first(1, 9), digit(0, 9);
  std::string id(1, static_cast<char>('0' + first(device)));
  while (id.size() < 18) id += static_cast<char>('0' + digit(device));
  return id;
}

}  // namespace

std::string yaml_quote(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::map<std::string, std::string> read_meta_yaml(const fs::path& path) {
  std::map<std::string, std::string> fields;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(": ");
    if (line.empty() || line[0] == ' ' || line[0] == '-' || colon == std::string::npos) continue;
    std::string value = line.substr(colon + 2);
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
      std::string unquoted;
      for (std::size_t i = 1; i + 1 < value.size(); ++i) {
        unquoted += value[i];
        if (value[i] == '\'' && value[i + 1] == '\'') ++i;
      }
      value = unquoted;
    } else if (value == "null" || value == "~") {
      value.clear();
    }
    fields[line.substr(0, colon)] = value;
  }
  return fields;
}

std::string new_run_id() {
  std::random_device device;
  std::uniform_int_distribution<int> nibble(0, 15);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 32; ++i) {
    int value = nibble(device);
    if (i == 12) value = 4;                 // version 4
    if (i == 16) value = 8 | (value & 3);   // RFC 4122 variant
    id += kHex[value];
  }
  return id;
}

FileStore::FileStore(fs::path root) : root_(std::move(root)) {}

std::string FileStore::find_experiment(const std::string& name) const {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    if (!entry.is_directory() || entry.path().filename() == ".trash") continue;
    const fs::path meta = entry.path() / "meta.yaml";
    if (!fs::exists(meta)) continue;
    const auto fields = read_meta_yaml(meta);
    const auto id = fields.find("experiment_id");
    const auto found = fields.find("name");
    const auto stage = fields.find("lifecycle_stage");
    // MLflow ignores an experiment whose folder name differs from its id, and so do we.
    if (id == fields.end() || id->second != entry.path().filename().string()) continue;
    if (found != fields.end() && found->second == name && (stage == fields.end() || stage->second != "deleted")) {
      return id->second;
    }
  }
  return {};
}

std::string FileStore::create_experiment(const std::string& name, const std::string& artifact_location) const {
  std::string id = name == "Default" && !fs::exists(root_ / "0") ? "0" : random_experiment_id();
  while (id != "0" && fs::exists(root_ / id)) id = random_experiment_id();
  fs::create_directories(root_ / id);
  const std::string now = std::to_string(now_ms());
  write_file_atomically(root_ / id / "meta.yaml",
                        meta_text({{"artifact_location",
                                    yaml_quote(artifact_location.empty() ? file_uri(root_ / id) : artifact_location)},
                                   {"creation_time", now},
                                   {"experiment_id", yaml_quote(id)},
                                   {"last_update_time", now},
                                   {"lifecycle_stage", yaml_quote("active")},
                                   {"name", yaml_quote(name)}}));
  return id;
}

void FileStore::write_run_meta(const RunInfo& run) const {
  write_file_atomically(run.run_dir / "meta.yaml", meta_text(run_meta_));
}

RunInfo FileStore::start(const StartRequest& request) {
  const bool fresh = !fs::exists(root_);
  fs::create_directories(root_ / ".trash");
  if (fresh) create_experiment("Default", {});

  RunInfo run;
  if (!request.run_id.empty()) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root_, ec)) {
      if (entry.is_directory() && fs::exists(entry.path() / request.run_id / "meta.yaml")) {
        run.run_dir = entry.path() / request.run_id;
      }
    }
    if (run.run_dir.empty()) {
      throw ConfigError("mlflow: run_id '" + request.run_id + "' not found in " + root_.string() +
                        "; check the id (MLFLOW_RUN_ID) and the store (tracking_uri / save_dir)");
    }
    const auto fields = read_meta_yaml(run.run_dir / "meta.yaml");
    const auto field = [&](const char* key) {
      const auto it = fields.find(key);
      return it == fields.end() ? std::string() : it->second;
    };
    run.run_id = request.run_id;
    run.experiment_id = field("experiment_id");
    run.run_name = field("run_name");
    run.artifact_uri = field("artifact_uri");
    run.experiment_name = read_meta_yaml(root_ / run.experiment_id / "meta.yaml")["name"];
    // Re-quote what was read, so the rewrite keeps every key with its value.
    std::ifstream in(run.run_dir / "meta.yaml");
    std::string line;
    while (std::getline(in, line)) {
      const auto colon = line.find(": ");
      if (colon != std::string::npos && !line.empty() && line[0] != ' ')
        run_meta_[line.substr(0, colon)] = line.substr(colon + 2);
    }
    run_meta_["status"] = std::to_string(kRunning);
    run_meta_["end_time"] = "null";
    write_run_meta(run);
    return run;
  }

  run.experiment_name = request.experiment_name;
  run.experiment_id = find_experiment(request.experiment_name);
  if (run.experiment_id.empty())
    run.experiment_id = create_experiment(request.experiment_name, request.artifact_location);
  const std::string experiment_location = read_meta_yaml(root_ / run.experiment_id / "meta.yaml")["artifact_location"];
  run.run_id = new_run_id();
  run.run_name = request.run_name.empty() ? "run-" + run.run_id.substr(0, 8) : request.run_name;
  run.run_dir = root_ / run.experiment_id / run.run_id;
  run.artifact_uri = experiment_location + "/" + run.run_id + "/artifacts";
  for (const char* sub : {"metrics", "params", "tags", "artifacts"}) fs::create_directories(run.run_dir / sub);
  std::string user;
  for (const auto& [key, value] : request.tags) {
    if (key == "mlflow.user") user = value;
  }
  run_meta_ = {{"artifact_uri", yaml_quote(run.artifact_uri)},
               {"deleted_time", "null"},
               {"end_time", "null"},
               {"entry_point_name", yaml_quote("")},
               {"experiment_id", yaml_quote(run.experiment_id)},
               {"lifecycle_stage", yaml_quote("active")},
               {"run_id", yaml_quote(run.run_id)},
               {"run_name", yaml_quote(run.run_name)},
               {"run_uuid", yaml_quote(run.run_id)},
               {"source_name", yaml_quote("")},
               {"source_type", "4"},  // LOCAL
               {"source_version", yaml_quote("")},
               {"start_time", std::to_string(request.start_time)},
               {"status", std::to_string(kRunning)},
               {"tags", "[]"},
               {"user_id", yaml_quote(user)}};
  // Tags first, meta.yaml last: a run folder with a meta.yaml is complete.
  for (const auto& [key, value] : request.tags) write_file_atomically(run.run_dir / "tags" / key, value);
  if (request.run_name.empty()) write_file_atomically(run.run_dir / "tags" / "mlflow.runName", run.run_name);
  write_run_meta(run);
  return run;
}

void FileStore::log_batch(const RunInfo& run, std::span<const Record> batch) {
  // Metric lines are grouped per key so that each file gets one append per batch.
  std::map<std::string, std::string> lines;
  for (const Record& r : batch) {
    if (r.kind == Record::Kind::metric) {
      lines[r.key] += std::to_string(r.timestamp) + " " + float_text(r.value) + " " + std::to_string(r.step) + "\n";
    } else {
      const fs::path path = run.run_dir / (r.kind == Record::Kind::param ? "params" : "tags") / r.key;
      if (r.kind == Record::Kind::param && fs::exists(path)) {
        const std::string old = read_file(path);
        if (old == r.text) continue;
        // MLflow params are immutable; the server would refuse the whole batch, here only this param is skipped.
        spdlog::warn("mlflow: param '{}' of run {} is already '{}'; not changing it to '{}'", r.key, run.run_id, old,
                     r.text);
        continue;
      }
      fs::create_directories(path.parent_path());
      write_file_atomically(path, r.text);
    }
  }
  for (const auto& [key, text] : lines) {
    const fs::path path = run.run_dir / "metrics" / key;
    fs::create_directories(path.parent_path());
    append_file(path, text);
  }
}

void FileStore::put_artifact(const RunInfo& run, const std::string& path, const std::string& bytes,
                             const std::string&) {
  const fs::path target = run.run_dir / "artifacts" / path;
  fs::create_directories(target.parent_path());
  write_file_atomically(target, bytes);
}

void FileStore::end(const RunInfo& run, RunStatus status, std::int64_t end_time) {
  run_meta_["status"] = std::to_string(status_number(status));
  run_meta_["end_time"] = std::to_string(end_time);
  write_run_meta(run);
}

}  // namespace autotimm::mlflow
