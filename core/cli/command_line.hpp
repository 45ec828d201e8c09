#pragma once
// A small, strict command-line parser: known flags and options only, `--name value` or `--name=value`, the rest
// positional. An unknown flag is a usage error that suggests the closest known one.
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace autotimm::cli {

/// Bad usage: exit code 2, message printed with the command's usage line.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CommandLine {
 public:
  CommandLine(std::vector<std::string> args, std::set<std::string> flags, std::set<std::string> options);

  bool flag(const std::string& name) const { return flags_.count(name) > 0; }
  std::optional<std::string> option(const std::string& name) const;
  std::vector<std::string> values(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::set<std::string> flags_;
  std::multimap<std::string, std::string> options_;
  std::vector<std::string> positional_;
};

/// Runs the subcommand named by args[0] with the remaining arguments; a missing or unknown name is a UsageError
/// listing the valid ones.
using Subcommand = int (*)(const std::vector<std::string>& args);
int run_subcommand(const std::vector<std::string>& args, const std::vector<std::pair<std::string, Subcommand>>& table);

}  // namespace autotimm::cli
