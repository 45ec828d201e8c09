#pragma once
// A run's local folder, kept in every mode but disabled: <wandb_dir>/<run|offline-run>-YYYYMMDD_HHMMSS-<id>/ with
// files/ (config.yaml, wandb-summary.json, media/...) as the wandb client lays them out, plus our spool
// autotimm-wandb.jsonl: one JSON record per line, appended as the run goes, which `autotimm wandb sync` replays.
// <wandb_dir>/latest-run points at the newest run folder.
//
// Spool records: {"run": {entity, project, id, name, notes, group, job_type, tags, host}} first, then in order
// {"config": {...}} (the whole config after each change), {"history": "<json line>"}, {"file": "media/..."},
// {"history_base": N} (a resumed run's first line number) and, last, {"exit": code}.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "wandb_api.hpp"

namespace autotimm::wandb {

inline constexpr const char* kSpoolName = "autotimm-wandb.jsonl";
inline constexpr const char* kSyncedMarkerName = "autotimm-wandb.synced";

/// Everything a spool holds, read back for sync.
struct SpoolContents {
  RunAttributes run;                     ///< with the last config
  std::vector<std::string> history = {};
  std::vector<std::string> files = {};   ///< under files/, in the order they were logged
  std::int64_t history_base = 0;
  std::optional<int> exitcode = {};      ///< empty: the run never ended (a crash)
  bool truncated_tail = false;           ///< the last line was cut short (a crash while writing); it was skipped
};

class RunFolder {
 public:
  /// Creates the folder (a new name if one exists) with files/ and writes the run record.
  RunFolder(const std::filesystem::path& wandb_dir, bool offline, const RunAttributes& run);
  ~RunFolder();
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;

  const std::filesystem::path& dir() const noexcept { return dir_; }
  std::filesystem::path files_dir() const { return dir_ / "files"; }

  /// Points <wandb_dir>/latest-run at this folder (replacing the link atomically), once the run has started.
  void mark_latest() const;
  void append(const boost::json::object& record);
  /// Writes the buffered records and flushes them to disk.
  void flush();
  /// files/config.yaml in wandb's format (wandb_version: 1, then key: {value: v}), replaced atomically.
  void write_config_yaml(const boost::json::object& config);
  /// files/wandb-summary.json, replaced atomically.
  void write_summary(const std::string& summary_json);
  /// Writes `bytes` at files/<name> (atomically; folders made as needed).
  void write_file(const std::string& name, std::string_view bytes);

 private:
  std::filesystem::path dir_;
  int fd_ = -1;
  std::string buffer_;
};

/// Reads and checks a spool. ConfigError when `dir` holds no spool or a record is malformed (naming the line).
SpoolContents read_spool(const std::filesystem::path& dir);

/// The summary W&B shows by default: each key's last value (as JSON text) over the history lines.
std::map<std::string, std::string> summary_of(const std::vector<std::string>& history);

}  // namespace autotimm::wandb
