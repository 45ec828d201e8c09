// The `autotimm` command-line tool.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/runtime.hpp"
#include "autotimm/version.hpp"
#include "command_line.hpp"
#include "commands.hpp"

namespace autotimm::cli {
namespace {

struct Command {
  const char* summary;
  const char* usage;
  int (*run)(const std::vector<std::string>&);
};

int run_version(const std::vector<std::string>& args) {
  CommandLine line(args, {"--json"}, {});
  if (!line.positional().empty()) throw UsageError("'version' takes no arguments");
  if (line.flag("--json")) {
    std::cout << "{\"autotimm\":\"" << kSdkVersion << "\",\"plugin_abi\":\"" << kPluginAbiMajor << "."
              << kPluginAbiMinor << "\",\"libtorch\":\"" << kTorchVersion << "\",\"cxx_abi\":\"" << AUTOTIMM_CXX_ABI
              << "\",\"blas_kernels\":\"" << blas_kernels() << "\"}\n";
  } else {
    const std::string blas = blas_kernels();
    std::cout << "autotimm " << kSdkVersion << "\nplugin ABI " << kPluginAbiMajor << "." << kPluginAbiMinor
              << "\nlibtorch " << kTorchVersion << "\ncompiler " << AUTOTIMM_CXX_ABI << "\nBLAS kernels "
              << (blas.empty() ? "(not OpenBLAS)" : "OpenBLAS " + blas) << "\n";
  }
  return kExitOk;
}

const std::map<std::string, Command>& commands() {
  static const std::map<std::string, Command> table = {
      {"plugins",
       {"list loaded plugins and what each registered",
        "autotimm plugins [--json] [--list PATTERN] [--path DIR_OR_FILE]...\n"
        "  Loads every plugin on the search path (AUTOTIMM_PLUGIN_PATH, then the installation's plugin folder)\n"
        "  and shows each with its version, library and entries; refused libraries are shown with the reason.\n"
        "  --json          machine-readable output\n"
        "  --list PATTERN  only the registered names matching a wildcard, e.g. 'resnet*'\n"
        "  --path P        also load plugins from P (a folder or a library); repeatable",
        &run_plugins}},
      {"hub",
       {"search the Hugging Face Hub, show a model, download one into the cache, upload a folder",
        "autotimm hub search [TEXT] [--author A] [--tag T] [--library L] [--sort S] [--limit N] [--json]\n"
        "       autotimm hub info ORG/NAME[@REVISION] [--json]\n"
        "       autotimm hub download ORG/NAME[@REVISION]\n"
        "       autotimm hub upload DIR ORG/NAME [--revision BRANCH] [--message TEXT] [--description TEXT]\n"
        "                           [--create [--private]] [--json]\n"
        "       autotimm hub cache list [--json]\n"
        "       autotimm hub cache prune [ORG/NAME] [--detached] [--dry-run] [--json]\n"
        "       autotimm hub cache rm ORG/NAME[@REVISION] [--dry-run] [--json]\n"
        "  search    models matching TEXT (defaults: --author timm --library timm --sort downloads --limit 50)\n"
        "  info      downloads, likes, tags, files and the model card's license, datasets and metrics\n"
        "  download  config.json and weights into the shared Hugging Face cache; prints the snapshot folder\n"
        "  upload    every file of DIR (e.g. an `autotimm export` folder) as one commit on BRANCH (default main)\n"
        "            through the Hub's commit API; weights go through LFS. Needs HF_TOKEN with write access;\n"
        "            --create makes the repo first (--private: a private one). Prints the commit id and URL\n"
        "  cache     list: the models in the local cache with size, refs and snapshots;\n"
        "            prune: remove unused blobs and abandoned partial downloads (--detached: also snapshots no\n"
        "            branch or tag points at, commit-pinned downloads included); rm: a model or one revision\n"
        "  The server is HF_ENDPOINT (default https://huggingface.co); HF_TOKEN authenticates; HF_HUB_OFFLINE=1\n"
        "  uses the cache only.",
        &run_hub}},
      {"inspect",
       {"show the tensors and metadata of a safetensors file or checkpoint",
        "autotimm inspect FILE [--json]\n"
        "  Prints every tensor's name, dtype, shape and byte size, then the metadata.\n"
        "  --json  machine-readable output",
        &run_inspect}},
      {"models",
       {"list, describe and run backbones",
        "autotimm models list [PATTERN] [--pretrained] [--json]\n"
        "       autotimm models info NAME [--json]\n"
        "       autotimm models forward --model NAME --input IN.safetensors --output OUT.safetensors\n"
        "                               [--features] [--num-classes N]\n"
        "  list     registered architectures matching PATTERN ('resnet*'); --pretrained lists arch.tag names\n"
        "  info     architecture, parameter count, feature_info and pretrained_cfg of an arch, arch.tag or folder\n"
        "  forward  runs the model in eval mode on the tensor 'input' of IN and writes 'logits', 'features',\n"
        "           'pre_logits' and, with --features, 'feat.0'...'feat.N' to OUT",
        &run_models}},
      {"data",
       {"look at the data of a run config",
        "autotimm data sample --config RUN.json --out DIR [--split train|val|test] [--count N] [--set KEY=VALUE]...\n"
        "  Writes the first N images of a split (default: test, 8) as DIR/<index>-<class>.png.",
        &run_data}},
      {"make-dataset",
       {"write a generated dataset for demos and tests",
        "autotimm make-dataset shapes --out DIR [--task detection|instance|segmentation|all] [--train N] [--val N]\n"
        "                              [--size PX] [--min-objects N] [--max-objects N] [--seed S]\n"
        "  Images of rectangles, ellipses and triangles: DIR/images/{train,val}/*.png with COCO annotations\n"
        "  (DIR/annotations/instances_{train,val}.json: boxes, and polygons for instance) and class masks\n"
        "  (DIR/masks/{train,val}/*.png: 0 background, 1 rectangle, 2 ellipse, 3 triangle). Defaults: all, 64 train,\n"
        "  16 val, 128 px, 1 to 4 objects of up to 3/8 of the side, seed 0.",
        &run_make_dataset}},
      {"fit",
       {"train a model described by a run config",
        "autotimm fit --config RUN.json [--set KEY=VALUE]... [--ckpt-path CKPT] [--test] [--json]\n"
        "  RUN.json has 'model' (class ImageClassifier and its options), 'data' (ImageDataModule or\n"
        "  MultiLabelImageDataModule and its options) and 'trainer' (AutoTrainer options) sections.\n"
        "  --set KEY=VALUE  override an option by dotted path, e.g. --set trainer.max_epochs=3 (repeatable)\n"
        "  --ckpt-path CKPT resume from a checkpoint written by fit (also 'ckpt_path' in the config)\n"
        "  --test           test the best checkpoint on the data's test set afterwards\n"
        "  --json           print the run folder, checkpoints and test metrics as JSON",
        &run_fit}},
      {"validate",
       {"run the validation set through a model",
        "autotimm validate --config RUN.json [--set KEY=VALUE]... [--ckpt-path CKPT] [--json]\n"
        "  With --ckpt-path the model comes from the checkpoint, else from the config's model section.",
        &run_validate}},
      {"test",
       {"run the test set through a model",
        "autotimm test --config RUN.json [--set KEY=VALUE]... [--ckpt-path CKPT] [--json]\n"
        "  With --ckpt-path the model comes from the checkpoint, else from the config's model section.",
        &run_test}},
      {"predict",
       {"classify images, find objects or label their pixels with a trained checkpoint",
        "autotimm predict --ckpt-path|--checkpoint CKPT [--batch-size N] [--json] [--top-k K | --min-score S]\n"
        "                 [--out DIR] [--tta flip] [--no-optimize] IMAGE_OR_FOLDER...\n"
        "  Uses the checkpoint's preprocessing and class names (--json: one JSON object per line), with batch norm\n"
        "  folded into the convolutions and channels-last memory (same outputs, faster at batch 32; --no-optimize runs\n"
        "  the model as trained).\n"
        "  --tta flip also runs each image mirrored and merges: mean probabilities (classifier, segmentor), boxes\n"
        "  mapped back and merged by per-class NMS (detector; not for instance segmentors).\n"
        "  A classifier prints the top K classes per image (--top-k, default 3).\n"
        "  A detector prints each image's objects scoring at least S (--min-score, default 0.3): label, score and\n"
        "  box (x1, y1, x2, y2 in the image's pixels); --out DIR also writes DIR/<name>.png with the boxes drawn.\n"
        "  An instance segmentor adds each object's mask at the image's resolution (--json: its area and COCO RLE\n"
        "  {size, counts}); --out also colours the masks.\n"
        "  A segmentor prints the fraction of each image's pixels per class, from a label map at the image's own\n"
        "  resolution; --out DIR writes DIR/<name>.png with the classes coloured over the image.",
        &run_predict}},
      {"explain",
       {"show which pixels a trained model's prediction rests on (GradCAM, Integrated Gradients, ...)",
        "autotimm explain --ckpt-path|--checkpoint CKPT --image IMAGE [--image ...] [--method gradcam,gradcampp,ig,rollout]\n"
        "                 [--target-layer NAME|INDEX] [--class NAME|INDEX] [--baseline black|white|blur|random]\n"
        "                 [--steps N] [--smoothgrad N] [--noise S] [--colormap jet|viridis|inferno|gray] [--alpha A]\n"
        "                 [--min-score S] [--out DIR] [--metrics] [--json]\n"
        "  Explains the predicted class (classifier), each class present (segmentor) or each box scoring at least\n"
        "  --min-score (detector, default 0.3). Writes DIR/<image>-<method>[-<target>].png overlays at each image's\n"
        "  own size and DIR/summary.json (default DIR: explanations). Methods: gradcam and gradcampp on a backbone\n"
        "  stage (--target-layer: module name such as layer3, or index; default the last), ig (Integrated Gradients\n"
        "  from --baseline, --steps trapezoid steps, default 32), rollout (Attention Rollout, ViT backbones).\n"
        "  Default method: gradcam for classifiers, ig for detectors and segmentors. --smoothgrad N averages N noisy\n"
        "  copies (noise sigma --noise x the image's value range, default 0.15). --metrics adds deletion and\n"
        "  insertion AUCs; --json prints the summary.",
        &run_explain}},
      {"export",
       {"write a trained model in another tool's format (a timm Hub folder)",
        "autotimm export --ckpt-path|--checkpoint CKPT --out DIR [--format timm] [--overwrite] [--name TITLE]\n"
        "                [--no-verify] [--json]\n"
        "  Writes an ImageClassifier checkpoint as the folder timm pushes to the Hugging Face Hub: config.json\n"
        "  (architecture, num_classes, label_names, model_args, pretrained_cfg), model.safetensors with timm's key\n"
        "  names and README.md (a model card). Python loads it with timm.create_model(\"local-dir:DIR\",\n"
        "  pretrained=True); `autotimm hub upload DIR ORG/NAME` publishes it.\n"
        "  --format     timm (the only format so far)\n"
        "  --overwrite  replace a non-empty DIR (refused otherwise); the folder appears only when complete\n"
        "  --name       the model card's title (default: DIR's name)\n"
        "  --no-verify  skip reloading the folder and comparing its logits with the checkpoint's",
        &run_export}},
      {"logger",
       {"send runs a logger kept offline to its server",
        "autotimm logger sync BACKEND PATH [--set KEY=VALUE]... [--force]\n"
        "  PATH is a run folder the logger wrote offline (or could not finish sending), or a folder of them.\n"
        "  --set KEY=VALUE  a logger option (server, project, ...), as in the config's logger params\n"
        "  --force          send folders again that were sent before",
        &run_logger}},
      {"wandb",
       {"send offline W&B runs (same as: autotimm logger sync wandb)",
        "autotimm wandb sync PATH [--project P] [--entity E] [--base-url URL] [--set KEY=VALUE]... [--force]\n"
        "  PATH: wandb/ (every run in it not sent yet) or one wandb/offline-run-<date>-<id> folder.\n"
        "  The key is WANDB_API_KEY (or ~/.netrc); the server WANDB_BASE_URL (default https://api.wandb.ai);\n"
        "  --project and --entity replace the ones the run recorded.",
        &run_wandb}},
      {"launch",
       {"run a command as the processes of a distributed (DDP) run",
        "autotimm launch [--nproc-per-node N] [--nnodes M --node-rank R --master-addr A --master-port P] -- COMMAND...\n"
        "  Starts N copies of COMMAND on this host with RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set\n"
        "  (as torchrun does), each with its share of the cores (OMP_NUM_THREADS), and waits for them. When one fails,\n"
        "  the others are stopped and its exit code is returned. COMMAND may be an autotimm command (fit, validate,\n"
        "  test), e.g.  autotimm launch --nproc-per-node 2 -- fit --config run.json\n"
        "  Several hosts: run it on each with the same --nnodes, --master-addr (node 0) and --master-port, and\n"
        "  --node-rank 0..M-1.",
        &run_launch}},
      {"version",
       {"show the version, plugin ABI, libtorch, compiler and BLAS kernels",
        "autotimm version [--json]",
        &run_version}},
  };
  return table;
}

void print_help(std::ostream& out) {
  out << "autotimm " << kSdkVersion << ": timm backbones and vision tasks in C++\n\n"
      << "usage: autotimm <command> [options]   (autotimm <command> --help for details)\n\ncommands:\n";
  for (const auto& [name, command] : commands()) {
    out << "  " << name << std::string(10 - std::min<std::size_t>(name.size(), 9), ' ') << command.summary << "\n";
  }
  out << "\nexit codes: 0 success, 1 runtime failure, 2 bad usage or bad input\n";
}

// A bad file, option or name is the user's input (2); a plugin, the hub or a training run (a diverging loss, a
// distributed peer lost) failing at run time is a failure (1).
int exit_code_for(const autotimm::Error& error) {
  if (dynamic_cast<const autotimm::PluginError*>(&error) || dynamic_cast<const autotimm::HubError*>(&error) ||
      dynamic_cast<const autotimm::TrainingError*>(&error)) {
    return kExitFailure;
  }
  return kExitBadInput;
}

}  // namespace
}  // namespace autotimm::cli

int main(int argc, char** argv) {
  using namespace autotimm::cli;
  // OpenBLAS picks its kernels when it loads; on a CPU it does not know it runs generic ones whose float GEMM is
  // inaccurate (autotimm/runtime.hpp). The tool then starts itself again with kernels this CPU runs; if that fails it
  // goes on, and the runtime's warning says what to set.
  if (const auto kernels = autotimm::blas_kernels_replacement(); !kernels.empty()) {
    setenv("OPENBLAS_CORETYPE", kernels.c_str(), 1);
    execv("/proc/self/exe", argv);
  }
  // Library diagnostics go to stderr so that stdout stays clean for --json.
  spdlog::set_default_logger(spdlog::stderr_color_mt("autotimm"));
  spdlog::set_pattern("%^%l%$: %v");

  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help(args.empty() ? std::cerr : std::cout);
    return args.empty() ? kExitBadInput : kExitOk;
  }
  if (args[0] == "--version") args[0] = "version";
  const auto it = commands().find(args[0]);
  if (it == commands().end()) {
    std::vector<std::string> names;
    for (const auto& [name, _] : commands()) names.push_back(name);
    std::cerr << "autotimm: unknown command '" << args[0] << "'";
    if (auto close = autotimm::did_you_mean(args[0], names)) std::cerr << "; did you mean '" << *close << "'?";
    std::cerr << " (autotimm --help lists the commands)\n";
    return kExitBadInput;
  }
  const Command& command = it->second;
  std::vector<std::string> rest(args.begin() + 1, args.end());
  for (const auto& arg : rest) {
    if (arg == "--") break;
    if (arg == "--help" || arg == "-h") {
      std::cout << "usage: " << command.usage << "\n";
      return kExitOk;
    }
  }
  try {
    return command.run(rest);
  } catch (const UsageError& e) {
    std::cerr << "autotimm " << it->first << ": " << e.what() << "\nusage: " << command.usage << "\n";
    return kExitBadInput;
  } catch (const autotimm::Error& e) {
    std::cerr << "autotimm " << it->first << ": " << e.what() << "\n";
    return exit_code_for(e);
  } catch (const std::exception& e) {
    std::cerr << "autotimm " << it->first << ": " << e.what() << "\n";
    return kExitFailure;
  }
}
