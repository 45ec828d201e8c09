// autotimm export: a trained checkpoint written in another tool's format. Today: `--format timm`, the folder timm
// pushes to the Hugging Face Hub (config.json, model.safetensors, README.md), for ImageClassifier checkpoints.
#include <iostream>
#include <memory>

#include <boost/json.hpp>

#include "autotimm/export/timm_export.hpp"
#include "autotimm/tasks/image_classifier.hpp"
#include "autotimm/tasks/load_task.hpp"
#include "command_line.hpp"
#include "commands.hpp"

namespace autotimm::cli {
namespace {

constexpr const char* kFormats = "timm";

std::string checkpoint_of(const CommandLine& line) {
  const auto ckpt = line.option("--ckpt-path"), alias = line.option("--checkpoint");
  if (ckpt && alias && *ckpt != *alias) {
    throw UsageError("--ckpt-path and --checkpoint name the same thing; give one ('" + *ckpt + "' vs '" + *alias + "')");
  }
  if (!ckpt && !alias) throw UsageError("--ckpt-path CHECKPOINT (or --checkpoint CHECKPOINT) is required");
  return ckpt ? *ckpt : *alias;
}

}  // namespace

int run_export(const std::vector<std::string>& args) {
  CommandLine line(args, {"--overwrite", "--json", "--no-verify"},
                   {"--ckpt-path", "--checkpoint", "--format", "--out", "--name"});
  if (!line.positional().empty()) throw UsageError("unexpected argument '" + line.positional().front() + "'");
  const std::string checkpoint = checkpoint_of(line);
  const std::string format = line.option("--format").value_or("timm");
  if (format != "timm") {
    throw UsageError("unknown export format '" + format + "'; supported formats: " + kFormats);
  }
  const auto out = line.option("--out");
  if (!out || out->empty()) throw UsageError("--out DIR is required: the folder to write");
  const auto task = load_task_from_checkpoint(checkpoint);
  const auto classifier = std::dynamic_pointer_cast<ImageClassifier>(task);
  if (!classifier) {
    throw UsageError("'" + checkpoint + "' holds a " + task->task_name() +
                     "; --format timm exports ImageClassifier checkpoints only (timm has no detection or "
                     "segmentation models)");
  }
  const auto result = export_timm_folder(*classifier, *out,
                                         {.overwrite = line.flag("--overwrite"),
                                          .verify = !line.flag("--no-verify"),
                                          .model_name = line.option("--name").value_or("")});
  if (line.flag("--json")) {
    boost::json::array files;
    for (const auto& file : result.files) files.push_back(boost::json::string(file));
    boost::json::object json{{"folder", result.folder.string()},
                             {"format", format},
                             {"architecture", result.architecture},
                             {"num_classes", classifier->num_classes()},
                             {"tensors", result.tensors},
                             {"classifier", result.classifier},
                             {"files", files}};
    if (result.max_logit_difference >= 0) json["max_logit_difference"] = result.max_logit_difference;
    std::cout << boost::json::serialize(json) << "\n";
    return kExitOk;
  }
  std::cout << "exported " << result.architecture << " (" << classifier->num_classes() << " classes, "
            << result.tensors << " tensors) to " << result.folder.string() << "\n";
  if (result.max_logit_difference >= 0) {
    std::cout << "verified: reloaded logits differ by at most " << result.max_logit_difference << "\n";
  }
  std::cout << "load it in Python with timm.create_model(\"local-dir:" << result.folder.string()
            << "\", pretrained=True), or publish it with: autotimm hub upload " << result.folder.string()
            << " ORG/NAME --create\n";
  return kExitOk;
}

}  // namespace autotimm::cli
