#pragma once
// Each `autotimm <command>` is a function from its arguments to an exit code: 0 success, 1 runtime failure,
// 2 bad usage or bad input.
#include <string>
#include <vector>

namespace autotimm::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

int run_plugins(const std::vector<std::string>& args);
int run_inspect(const std::vector<std::string>& args);
int run_models(const std::vector<std::string>& args);
int run_hub(const std::vector<std::string>& args);
int run_fit(const std::vector<std::string>& args);
int run_validate(const std::vector<std::string>& args);
int run_test(const std::vector<std::string>& args);
int run_predict(const std::vector<std::string>& args);
int run_data(const std::vector<std::string>& args);
int run_make_dataset(const std::vector<std::string>& args);
int run_logger(const std::vector<std::string>& args);
int run_wandb(const std::vector<std::string>& args);
int run_launch(const std::vector<std::string>& args);
int run_explain(const std::vector<std::string>& args);
int run_export(const std::vector<std::string>& args);

}  // namespace autotimm::cli
