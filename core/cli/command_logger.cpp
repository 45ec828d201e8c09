// autotimm logger sync / autotimm wandb sync: sends runs that a logger kept offline (or could not finish sending) to
// its server, through the logger plugin's own sync.
#include <iostream>

#include <boost/json.hpp>

#include "autotimm/config.hpp"
#include "autotimm/error.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/trainer/run_config.hpp"
#include "command_line.hpp"
#include "commands.hpp"

namespace autotimm::cli {
namespace {

int sync_with(const std::string& backend, const CommandLine& line, boost::json::object options) {
  if (line.positional().size() != 1) throw UsageError("expected one run folder (or a folder of run folders)");
  for (const auto& assignment : line.values("--set")) apply_override(options, assignment);
  if (line.flag("--force")) options["force"] = true;
  const LoggerEntry& entry = registry().loggers().get(backend);
  if (!entry.sync) {
    throw ConfigError("logger '" + backend + "' has no offline mode to sync from; loggers that have one: " + [] {
      std::string names;
      for (const auto* e : registry().loggers().entries()) {
        if (e->sync) names += (names.empty() ? "" : ", ") + e->name;
      }
      return names.empty() ? std::string("none loaded") : names;
    }());
  }
  Config config(std::move(options), backend + " sync options");
  std::cout << entry.sync(line.positional().front(), config) << "\n";
  config.expect_all_used();
  return kExitOk;
}

int run_logger_sync(const std::vector<std::string>& args) {
  if (args.empty()) throw UsageError("expected a logger backend, e.g. 'autotimm logger sync wandb wandb/'");
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  CommandLine line(rest, {"--force"}, {"--set"});
  return sync_with(args.front(), line, {});
}

int run_wandb_sync(const std::vector<std::string>& args) {
  CommandLine line(args, {"--force"}, {"--set", "--project", "--entity", "--base-url"});
  boost::json::object options;
  if (auto v = line.option("--project")) options["project"] = *v;
  if (auto v = line.option("--entity")) options["entity"] = *v;
  if (auto v = line.option("--base-url")) options["base_url"] = *v;
  return sync_with("wandb", line, std::move(options));
}

}  // namespace

int run_logger(const std::vector<std::string>& args) { return run_subcommand(args, {{"sync", &run_logger_sync}}); }

int run_wandb(const std::vector<std::string>& args) { return run_subcommand(args, {{"sync", &run_wandb_sync}}); }

}  // namespace autotimm::cli
