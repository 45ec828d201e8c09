#include "command_line.hpp"

#include "autotimm/names.hpp"

namespace autotimm::cli {

CommandLine::CommandLine(std::vector<std::string> args, std::set<std::string> flags, std::set<std::string> options) {
  std::vector<std::string> known(flags.begin(), flags.end());
  known.insert(known.end(), options.begin(), options.end());
  bool only_positional = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (only_positional || arg.size() < 2 || arg[0] != '-') {
      positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    const auto equals = arg.find('=');
    const std::string name = arg.substr(0, equals);
    if (flags.count(name)) {
      if (equals != std::string::npos) throw UsageError("flag '" + name + "' takes no value");
      flags_.insert(name);
    } else if (options.count(name)) {
      if (equals != std::string::npos) {
        options_.emplace(name, arg.substr(equals + 1));
      } else if (i + 1 < args.size()) {
        options_.emplace(name, args[++i]);
      } else {
        throw UsageError("option '" + name + "' needs a value");
      }
    } else {
      std::string message = "unknown option '" + name + "'";
      if (auto close = did_you_mean(name, known)) message += "; did you mean '" + *close + "'?";
      throw UsageError(message);
    }
  }
}

std::optional<std::string> CommandLine::option(const std::string& name) const {
  auto range = options_.equal_range(name);
  if (range.first == range.second) return std::nullopt;
  return std::prev(range.second)->second;  // the last one wins, as in most tools
}

std::vector<std::string> CommandLine::values(const std::string& name) const {
  std::vector<std::string> out;
  for (auto [it, end] = options_.equal_range(name); it != end; ++it) out.push_back(it->second);
  return out;
}

int run_subcommand(const std::vector<std::string>& args, const std::vector<std::pair<std::string, Subcommand>>& table) {
  std::vector<std::string> names;
  for (const auto& [name, _] : table) names.push_back(name);
  if (args.empty()) throw UsageError("expected a subcommand: " + join_names(names));
  for (const auto& [name, run] : table) {
    if (name == args[0]) return run(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  std::string message = "unknown subcommand '" + args[0] + "': expected " + join_names(names);
  if (auto close = did_you_mean(args[0], names)) message += "; did you mean '" + *close + "'?";
  throw UsageError(message);
}

}  // namespace autotimm::cli
