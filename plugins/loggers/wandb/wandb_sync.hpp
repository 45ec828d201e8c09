#pragma once
// Sends runs kept in run folders (offline runs, or online runs whose server was away) to a W&B server: the run with
// its config, the media files, the history from its first line number with the summary, and completion with the
// recorded exit code. Offsets make a repeated send overwrite rather than duplicate; a folder that was sent gets
// autotimm-wandb.synced and is skipped afterwards unless `force` is set.
#include <filesystem>
#include <string>

#include "autotimm/config.hpp"

namespace autotimm::wandb {

/// `path`: a run folder, or a folder holding run folders (wandb/). `options`: the logger's options (base_url,
/// entity and project override the recorded ones) plus `force`. Returns one line per run folder.
std::string sync_run_folders(const std::filesystem::path& path, const Config& options);

}  // namespace autotimm::wandb
