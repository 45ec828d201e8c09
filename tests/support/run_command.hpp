#pragma once
// Runs a command line through the shell, as a user would, and captures its exit code, stdout and stderr.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "support/temp_dir.hpp"

namespace autotimm::testing {

struct CommandResult {
  int exit_code;  ///< the process's exit status, or 128 + signal when it was killed
  std::string out;
  std::string err;
};

inline CommandResult run_command(const std::string& command_line) {
  TempDir dir;
  const std::string command =
      command_line + " >'" + (dir / "out").string() + "' 2>'" + (dir / "err").string() + "'";
  const int status = std::system(command.c_str());
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), slurp(dir / "out"), slurp(dir / "err")};
}

}  // namespace autotimm::testing
