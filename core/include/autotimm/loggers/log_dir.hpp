#pragma once
// The run folder layout loggers share with Lightning: <save_dir>/<name>/<version>, version "version_<n>" unless
// named. The trainer keeps checkpoints in the first logger's folder.
#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>

#include "autotimm/config.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

/// A logger's version option: unset (the next free version_<n>), a number n ("version_<n>") or a folder name.
using LogVersion = std::variant<std::monostate, std::int64_t, std::string>;

/// Reads `key` as a LogVersion; ConfigError for a negative number or another type.
AUTOTIMM_API LogVersion read_log_version(const Config& config, std::string_view key = "version");

/// Creates <save_dir>/<name>/<version> (name "" leaves it out) and returns the version's folder name. Unset: n one
/// past the largest version_<n> there, skipping folders another process creates first. A given version may continue
/// an existing folder; an empty or path-like name is a ConfigError. IoError naming the folder when it cannot be
/// created.
AUTOTIMM_API std::string create_log_dir(const std::filesystem::path& save_dir, const std::string& name,
                                        const LogVersion& version, std::string_view who);

}  // namespace autotimm
