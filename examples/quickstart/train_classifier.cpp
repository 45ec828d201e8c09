// The quick start: find a backbone, train an image classifier on a folder of images, test it.
//   example_quickstart DATA_DIR [EPOCHS]      DATA_DIR holds train/ (and val/, test/) with one folder per class
#include <autotimm/autotimm.hpp>

#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: example_quickstart DATA_DIR [EPOCHS]\n";
    return 2;
  }
  std::cout << "resnet backbones: " << autotimm::list_backbones("resnet1*").size() << "\n";

  autotimm::ImageDataModule data({.data_dir = argv[1], .image_size = 64, .batch_size = 16});
  autotimm::ImageClassifier model({.backbone = "resnet18", .lr = 1e-3, .pretrained = false});
  autotimm::AutoTrainer trainer({.max_epochs = argc > 2 ? std::stoi(argv[2]) : 5, .default_root_dir = "runs"});
  trainer.fit(model, data);

  const auto metrics = trainer.test(model, data);  // the best checkpoint
  std::cout << "test accuracy " << metrics.at("test/accuracy") << "\nbest checkpoint "
            << trainer.best_model_path().string() << "\n";
}
