#include "wandb_sync.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <vector>

#include <boost/json.hpp>

#include "autotimm/error.hpp"
#include "autotimm/io/atomic_file.hpp"
#include "autotimm/model_args.hpp"
#include "env/environment.hpp"
#include "json_text.hpp"
#include "run_folder.hpp"
#include "wandb_api.hpp"
#include "wandb_options.hpp"

namespace autotimm::wandb {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::vector<fs::path> run_folders_under(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) throw ConfigError("wandb sync: " + path.string() + " is not a folder");
  if (fs::exists(path / kSpoolName, ec)) return {path};
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (entry.is_directory() && !entry.is_symlink() && fs::exists(entry.path() / kSpoolName)) out.push_back(entry.path());
  }
  if (out.empty()) {
    throw ConfigError("wandb sync: no run folders in " + path.string() + " (none holds " + kSpoolName +
                      "); pass wandb/ or one of its offline-run-* folders");
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string sync_one(const fs::path& dir, const ResolvedOptions& resolved, bool entity_given, bool project_given,
                     WandbApi& api) {
  SpoolContents spool = read_spool(dir);
  RunAttributes run = spool.run;
  if (entity_given || run.entity.empty()) run.entity = resolved.options.entity;
  if (project_given) run.project = resolved.options.project;
  if (run.entity.empty()) run.entity = api.default_entity();
  const RunRecord record = api.upsert_run(run, "");

  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& name : spool.files) {
    std::ifstream in(dir / "files" / name, std::ios::binary);
    if (!in) throw ConfigError("wandb sync: " + (dir / "files" / name).string() + " is missing; the run folder is incomplete");
    files.emplace_back(name, std::string(std::istreambuf_iterator<char>(in), {}));
  }
  api.upload_files(record.entity, record.project, record.run_id, files);

  const int exitcode = spool.exitcode.value_or(1);  // no exit record: the process died mid-run
  const auto last_values = summary_of(spool.history);
  const std::string summary = object_json(JsonMembers(last_values.begin(), last_values.end()));
  std::size_t next = 0;
  bool listed_files = false;
  do {
    StreamChunk chunk{.history_offset = spool.history_base + static_cast<std::int64_t>(next)};
    std::size_t bytes = 0;
    while (next < spool.history.size() &&
           (chunk.history.empty() ||
            bytes + spool.history[next].size() <= static_cast<std::size_t>(resolved.options.max_request_bytes))) {
      bytes += spool.history[next].size();
      chunk.history.push_back(spool.history[next++]);
    }
    if (!listed_files) {
      for (const auto& [name, bytes_of_file] : files) chunk.uploaded.push_back(name);
      listed_files = true;
    }
    if (next == spool.history.size()) {
      chunk.summary = summary;
      chunk.exitcode = exitcode;
    }
    api.file_stream(record.entity, record.project, record.run_id, file_stream_body(chunk));
  } while (next < spool.history.size());

  write_file_atomically(dir / kSyncedMarkerName,
                        json::serialize(json::object{{"base_url", api.base_url()},
                                                     {"entity", record.entity},
                                                     {"project", record.project},
                                                     {"id", record.run_id},
                                                     {"history_lines", spool.history.size()},
                                                     {"exitcode", exitcode}}) + "\n");
  std::string line = "sent " + dir.string() + " to " + record.entity + "/" + record.project + "/" + record.run_id +
                     ": " + std::to_string(spool.history.size()) + " history rows, " + std::to_string(files.size()) +
                     " files, exit code " + std::to_string(exitcode);
  if (!spool.exitcode) line += " (the run never ended: sent as failed)";
  if (spool.truncated_tail) line += " (its last record was cut short and skipped)";
  return line;
}

}  // namespace

std::string sync_run_folders(const fs::path& path, const Config& options) {
  bool force = false;
  read_arg(options, "force", force);
  const bool entity_given = options.contains("entity") || !env::text("WANDB_ENTITY").empty();
  const bool project_given = options.contains("project");
  const WandbLoggerOptions parsed = WandbLoggerOptions::from(options);
  options.expect_all_used();
  const ResolvedOptions resolved = resolve(parsed, /*for_sync=*/true);
  WandbApi api({.base_url = resolved.base_url,
                .authorization = resolved.authorization,
                .timeout_s = resolved.options.request_timeout_s,
                .retry = {.max_retries = resolved.options.max_retries,
                          .first_backoff = std::chrono::milliseconds(resolved.options.retry_backoff_ms)}});
  std::string report;
  for (const auto& dir : run_folders_under(path)) {
    std::string line;
    if (!force && fs::exists(dir / kSyncedMarkerName)) {
      line = "skipped " + dir.string() + ": already sent (" + kSyncedMarkerName + "; --force sends it again)";
    } else {
      try {
        line = sync_one(dir, resolved, entity_given, project_given, api);
      } catch (const Unavailable& error) {
        throw IoError(std::string(error.what()) + "; nothing is lost, run the sync again later");
      } catch (const Rejected& error) {
        throw IoError(std::string(error.what()) + " (sending " + dir.string() + ")");
      }
    }
    report += (report.empty() ? "" : "\n") + line;
  }
  return report;
}

}  // namespace autotimm::wandb
