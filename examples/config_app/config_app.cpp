// An application driven by a config file: the backbone, head and loss are registry names, so plugins loaded at run
// time (the config's "plugins" list, or AUTOTIMM_PLUGIN_PATH) can supply any of them without rebuilding this program.
//   example_config_app RUN.json [KEY=VALUE ...]      e.g. model.loss=bce trainer.max_epochs=2
#include <autotimm/autotimm.hpp>

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::cerr << "usage: example_config_app RUN.json [KEY=VALUE ...]\n";
    return 2;
  }
  const auto run = autotimm::RunConfig::load(argv[1], std::vector<std::string>(argv + 2, argv + argc));
  auto model = run.make_model();
  auto data = run.make_data();
  autotimm::AutoTrainer trainer(run.trainer_options());
  run.expect_all_used();  // a misspelt option fails here, before any training

  trainer.fit(*model, *data, run.ckpt_path());
  for (const auto& [name, value] : trainer.test(*model, *data)) std::cout << name << " " << value << "\n";
  std::cout << "best checkpoint " << trainer.best_model_path().string() << "\n";
} catch (const autotimm::Error& e) {
  std::cerr << "example_config_app: " << e.what() << "\n";
  return 2;
}
