#include "autotimm/loggers/log_dir.hpp"

#include <charconv>

#include <boost/json.hpp>

#include "autotimm/error.hpp"

namespace autotimm {

namespace fs = std::filesystem;

namespace {

/// The n of a folder named "version_<n>", or -1.
std::int64_t version_number(const std::string& folder) {
  constexpr std::string_view kPrefix = "version_";
  if (folder.size() <= kPrefix.size() || folder.compare(0, kPrefix.size(), kPrefix) != 0) return -1;
  std::int64_t n = -1;
  const char* first = folder.data() + kPrefix.size();
  const char* last = folder.data() + folder.size();
  const auto [end, error] = std::from_chars(first, last, n);
  return error == std::errc() && end == last && n >= 0 ? n : -1;
}

}  // namespace

LogVersion read_log_version(const Config& config, std::string_view key) {
  const auto& value = config.raw(key);
  if (value.is_null()) return {};
  if (value.is_int64() && value.get_int64() >= 0) return value.get_int64();
  if (value.is_uint64()) return static_cast<std::int64_t>(value.get_uint64());
  if (value.is_string()) return std::string(value.get_string());
  throw ConfigError(config.where(key) + ": expected a non-negative integer or a string, got " +
                    boost::json::serialize(value));
}

std::string create_log_dir(const fs::path& save_dir, const std::string& name, const LogVersion& version,
                           std::string_view who) {
  const fs::path root = name.empty() ? save_dir : save_dir / name;
  try {
    fs::create_directories(root);
    if (const auto* n = std::get_if<std::int64_t>(&version)) {
      if (*n < 0) throw ConfigError(std::string(who) + ": 'version' must be >= 0, got " + std::to_string(*n));
      fs::create_directories(root / ("version_" + std::to_string(*n)));
      return "version_" + std::to_string(*n);
    }
    if (const auto* s = std::get_if<std::string>(&version)) {
      if (s->empty() || fs::path(*s).has_parent_path() || *s == "." || *s == "..") {
        throw ConfigError(std::string(who) + ": 'version' '" + *s + "' is not a folder name");
      }
      fs::create_directories(root / *s);
      return *s;
    }
    std::int64_t next = 0;
    for (const auto& entry : fs::directory_iterator(root)) {
      if (!entry.is_directory()) continue;
      if (const auto n = version_number(entry.path().filename().string()); n >= 0) next = std::max(next, n + 1);
    }
    // create_directory is false when the folder exists: another logger or process took it, try the next one.
    while (!fs::create_directory(root / ("version_" + std::to_string(next)))) ++next;
    return "version_" + std::to_string(next);
  } catch (const fs::filesystem_error& e) {
    throw IoError(std::string(who) + ": cannot create the run folder under '" + fs::absolute(root).string() +
                  "': " + e.code().message() + "; check that save_dir is writable");
  }
}

}  // namespace autotimm
