// autotimm launch: starts the local processes of a distributed run (as torchrun does) and waits for them.
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <iostream>
#include <set>

#include "autotimm/distributed/launch.hpp"
#include "autotimm/error.hpp"
#include "command_line.hpp"
#include "commands.hpp"

namespace autotimm::cli {
namespace {

int positive(const CommandLine& line, const std::string& name, int fallback, int min) {
  const auto text = line.option(name);
  if (!text) return fallback;
  int value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size() || value < min) {
    throw UsageError(name + " expects an integer >= " + std::to_string(min) + ", got '" + *text + "'");
  }
  return value;
}

/// This executable, so `autotimm launch -- fit …` runs the same autotimm.
std::string own_executable() {
  char path[4096] = {};
  const auto length = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  return length > 0 ? std::string(path, static_cast<std::size_t>(length)) : std::string("autotimm");
}

}  // namespace

int run_launch(const std::vector<std::string>& args) {
  const auto split = std::find(args.begin(), args.end(), "--");
  if (split == args.end() || split + 1 == args.end()) {
    throw UsageError("give the command to run after --, e.g. autotimm launch --nproc-per-node 2 -- fit --config run.json");
  }
  CommandLine line(std::vector<std::string>(args.begin(), split), {},
                   {"--nproc-per-node", "--nnodes", "--node-rank", "--master-addr", "--master-port"});
  if (!line.positional().empty()) throw UsageError("unexpected '" + line.positional().front() + "' before --");
  LaunchOptions options;
  options.nproc_per_node = positive(line, "--nproc-per-node", 1, 1);
  options.nnodes = positive(line, "--nnodes", 1, 1);
  options.node_rank = positive(line, "--node-rank", 0, 0);
  if (auto addr = line.option("--master-addr")) options.master_addr = *addr;
  if (line.option("--master-port")) {
    const int port = positive(line, "--master-port", 0, 1);
    if (port > 65535) throw UsageError("--master-port must be at most 65535");
    options.master_port = static_cast<std::uint16_t>(port);
  }
  options.command.assign(split + 1, args.end());
  // An autotimm command name (fit, test, …) runs with this autotimm.
  static const std::set<std::string> kOwnCommands = {"fit", "validate", "test", "predict"};
  if (kOwnCommands.contains(options.command.front())) options.command.insert(options.command.begin(), own_executable());
  return launch(options);
}

}  // namespace autotimm::cli
