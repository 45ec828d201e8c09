// autotimm explain: which pixels a trained model's prediction rests on. Loads the task from its checkpoint,
// preprocesses each image as predict does, explains the predicted class (classifier), each class present
// (segmentor) or each box above --min-score (detector) with the methods asked for, and writes one overlay PNG per
// image, target and method at the original image's resolution, plus DIR/summary.json.
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <iostream>
#include <optional>
#include <sstream>

#include <boost/json.hpp>

#include "autotimm/data/decode.hpp"
#include "autotimm/data/image_data_module.hpp"
#include "autotimm/data/loader.hpp"
#include "autotimm/error.hpp"
#include "autotimm/interpret/attention_rollout.hpp"
#include "autotimm/interpret/baselines.hpp"
#include "autotimm/interpret/explanation_metrics.hpp"
#include "autotimm/interpret/grad_cam.hpp"
#include "autotimm/interpret/heatmap_image.hpp"
#include "autotimm/interpret/integrated_gradients.hpp"
#include "autotimm/interpret/smooth_grad.hpp"
#include "autotimm/interpret/targets.hpp"
#include "autotimm/io/atomic_file.hpp"
#include "autotimm/tasks/image_classifier.hpp"
#include "autotimm/tasks/load_task.hpp"
#include "autotimm/tasks/object_detector.hpp"
#include "autotimm/tasks/semantic_segmentor.hpp"
#include "command_line.hpp"
#include "commands.hpp"
#include "prediction_inputs.hpp"

namespace autotimm::cli {
namespace {

namespace fs = std::filesystem;
using namespace autotimm::interpret;

const std::vector<std::string> kMethods = {"gradcam", "gradcampp", "ig", "rollout"};

/// One thing to explain on an image: a class, a class's region or a box.
struct Target {
  std::string suffix;  ///< file name part ("" for a classifier's single target)
  boost::json::object record;
  ScoreFunction score;
  /// What the deletion and insertion curves follow: a classifier's probability (curves in [0, 1], as the metric's
  /// authors plot them), the explained score otherwise.
  ScoreFunction curve_score;
};

/// What the command line asks for, checked once.
struct ExplainRequest {
  std::vector<std::string> methods;
  std::string target_layer;
  std::optional<std::string> class_name;
  BaselineKind baseline = BaselineKind::black;
  std::int64_t steps = 32;
  std::int64_t smoothgrad = 0;
  double noise = 0.15;
  Colormap colormap = Colormap::jet;
  double alpha = 0.5;
  double min_score = 0.3;
  bool metrics = false;
  fs::path out;
};

std::vector<std::string> split_methods(const std::string& text) {
  std::vector<std::string> methods;
  std::stringstream stream(text);
  std::string method;
  while (std::getline(stream, method, ',')) {
    if (method.empty()) continue;
    if (std::find(kMethods.begin(), kMethods.end(), method) == kMethods.end()) {
      throw UsageError("unknown method '" + method + "' in --method; known: gradcam, gradcampp, ig, rollout");
    }
    if (std::find(methods.begin(), methods.end(), method) == methods.end()) methods.push_back(method);
  }
  if (methods.empty()) throw UsageError("--method names no method; known: gradcam, gradcampp, ig, rollout");
  return methods;
}

/// --class as an index into `names`: a class name, or an index.
std::int64_t class_index(const std::string& text, const std::vector<std::string>& names, std::int64_t num_classes) {
  const auto named = std::find(names.begin(), names.end(), text);
  if (named != names.end()) return static_cast<std::int64_t>(named - names.begin());
  try {
    std::size_t used = 0;
    const auto value = std::stoll(text, &used);
    if (used == text.size() && value >= 0 && value < num_classes) return static_cast<std::int64_t>(value);
  } catch (const std::exception&) {
  }
  std::string known;
  for (const auto& name : names) known += (known.empty() ? "" : ", ") + name;
  throw UsageError("--class '" + text + "' is neither a class name nor an index 0 to " +
                   std::to_string(num_classes - 1) + (known.empty() ? "" : "; classes: " + known));
}

/// Letters, digits, '-' and '_' kept, anything else '_': a target's name as part of a file name.
std::string file_part(const std::string& text) {
  std::string out = text;
  for (auto& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  }
  return out;
}

/// A heatmap [h, w] of the model's input taken back to the original image (height × width) through the batch's
/// input map (input = s · original + t): each original pixel reads the input pixel it went to; pixels the
/// preprocessing cut off (a center crop's borders) get 0.
torch::Tensor to_original(const torch::Tensor& heatmap, const Batch& batch, std::int64_t input_height,
                          std::int64_t input_width) {
  namespace F = torch::nn::functional;
  const auto map = heatmap.to(torch::kFloat32).view({1, 1, heatmap.size(0), heatmap.size(1)});
  if (!batch.input_maps.defined() || !batch.orig_sizes.defined()) return heatmap;
  const auto height = batch.orig_sizes[0][0].item<std::int64_t>(), width = batch.orig_sizes[0][1].item<std::int64_t>();
  const auto m = batch.input_maps[0];
  const double sx = m[0].item<double>(), tx = m[1].item<double>(), sy = m[2].item<double>(), ty = m[3].item<double>();
  // Original pixel centres in input pixels, then in grid_sample's [-1, 1] (align_corners false: pixel edges).
  const auto xs = (torch::arange(width, torch::kFloat64) + 0.5) * sx + tx;
  const auto ys = (torch::arange(height, torch::kFloat64) + 0.5) * sy + ty;
  const auto gx = (xs * 2.0 / static_cast<double>(input_width) - 1.0).to(torch::kFloat32);
  const auto gy = (ys * 2.0 / static_cast<double>(input_height) - 1.0).to(torch::kFloat32);
  const auto grid = torch::stack({gx.view({1, -1}).expand({height, width}), gy.view({-1, 1}).expand({height, width})},
                                 2)
                        .unsqueeze(0);
  return F::grid_sample(map, grid, F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros)
                                       .align_corners(false))
      .view({height, width});
}

/// The classifier's one target: --class, or the predicted class.
std::vector<Target> classifier_targets(ImageClassifier& model, const torch::Tensor& input, const ExplainRequest& request) {
  const auto name_of = namer(model.class_names());
  std::int64_t index = 0;
  torch::Tensor probabilities;
  {
    model.eval();
    torch::NoGradGuard no_grad;
    const auto logits = model.forward(input);
    probabilities = model.options().multi_label ? logits.sigmoid() : logits.softmax(1);
    index = request.class_name ? class_index(*request.class_name, model.class_names(), model.num_classes())
                               : logits.argmax(1)[0].item<std::int64_t>();
  }
  Target target;
  target.record = {{"label", name_of(index)}, {"index", index}, {"score", probabilities[0][index].item<double>()}};
  target.score = classifier_target(model, index);
  target.curve_score = classifier_target(model, index, ClassScore::probability);
  return {std::move(target)};
}

/// Each class present in the predicted map (or only --class): its logits over its pixels.
std::vector<Target> segmentor_targets(SemanticSegmentor& model, const torch::Tensor& input,
                                      const ExplainRequest& request) {
  const auto name_of = namer(model.class_names());
  const auto labels = predicted_label_map(model, input);
  std::optional<std::int64_t> only;
  if (request.class_name) only = class_index(*request.class_name, model.class_names(), model.num_classes());
  std::vector<Target> targets;
  for (std::int64_t c = 0; c < model.num_classes(); ++c) {
    const auto region = labels == c;
    const auto pixels = region.sum().item<std::int64_t>();
    if (pixels == 0 || (only && *only != c)) continue;
    Target target;
    target.suffix = file_part(name_of(c));
    target.record = {{"label", name_of(c)},
                     {"index", c},
                     {"fraction", static_cast<double>(pixels) / static_cast<double>(labels.numel())}};
    target.score = segmentation_target(model, c, region);
    targets.push_back(std::move(target));
  }
  return targets;
}

/// Each detection scoring at least --min-score (of --class only, when given): its box's score.
std::vector<Target> detector_targets(ObjectDetector& model, const torch::Tensor& input, const Batch& batch,
                                     const ExplainRequest& request) {
  const auto name_of = namer(model.class_names());
  std::optional<std::int64_t> only;
  if (request.class_name) only = class_index(*request.class_name, model.class_names(), model.num_classes());
  const auto found = model.predict(input).front();
  const auto original = boxes_to_original(found.boxes.to(torch::kFloat64), batch, 0);
  std::vector<Target> targets;
  for (std::int64_t k = 0; k < found.boxes.size(0); ++k) {
    const double score = found.scores[k].item<double>();
    if (score < request.min_score) break;  // best first
    const auto label = found.labels[k].item<std::int64_t>();
    if (only && *only != label) continue;
    const std::array<double, 4> box = {found.boxes[k][0].item<double>(), found.boxes[k][1].item<double>(),
                                       found.boxes[k][2].item<double>(), found.boxes[k][3].item<double>()};
    Target target;
    target.suffix = std::to_string(targets.size()) + "-" + file_part(name_of(label));
    boost::json::array shown;
    for (int i = 0; i < 4; ++i) shown.push_back(original[k][i].item<double>());
    target.record = {{"label", name_of(label)}, {"index", label}, {"score", score}, {"box", std::move(shown)}};
    target.score = detection_target(model, input, box, label);
    targets.push_back(std::move(target));
  }
  return targets;
}

/// The heatmap [H, W] of the model's input for one gradient method, with SmoothGrad around it when asked.
torch::Tensor gradient_heatmap(const std::string& method, Backbone& backbone, const ScoreFunction& score,
                               const torch::Tensor& input, const DataConfig& config, const ExplainRequest& request,
                               boost::json::object& record) {
  const IntegratedGradientsOptions ig{
      .baseline = request.baseline,
      .steps = request.steps,
      .batch_size = 16,
      .baseline_options = {.mean = {config.mean.begin(), config.mean.end()},
                           .std = {config.std.begin(), config.std.end()}}};
  const GradCamOptions cam{.target_layer = request.target_layer,
                           .variant = method == "gradcampp" ? CamVariant::gradcampp : CamVariant::gradcam};
  const SmoothGradOptions smooth{.samples = request.smoothgrad, .noise = request.noise, .seed = 0};
  if (method == "ig") {
    if (request.smoothgrad > 0) {
      const auto attributions = smooth_grad(
          [&](const at::Tensor& noisy) { return integrated_gradients(score, noisy, ig).attributions; }, input, smooth);
      return attribution_heatmap(attributions)[0];
    }
    const auto result = integrated_gradients(score, input, ig);
    record["completeness_gap"] = result.completeness_gap[0].item<double>();
    record["score_difference"] = (result.scores[0] - result.baseline_scores[0]).item<double>();
    return result.heatmap[0];
  }
  const auto layer = resolve_target_layer(backbone, request.target_layer);
  record["layer"] = backbone.feature_info()[static_cast<std::size_t>(layer)].module;
  if (request.smoothgrad > 0) {
    const auto maps = smooth_grad(
        [&](const at::Tensor& noisy) { return grad_cam(backbone, score, noisy, cam).heatmap; }, input, smooth);
    return normalize_heatmap(maps)[0];
  }
  return grad_cam(backbone, score, input, cam).heatmap[0];
}

/// Writes the overlay and fills in where the heatmap peaks (original pixels) and, with --metrics, the curves' AUCs.
void finish_method(const std::string& name, const torch::Tensor& heatmap, const ScoreFunction* score,
                   const torch::Tensor& input, const Batch& batch, const Image& picture, const fs::path& image_path,
                   const DataConfig& config, const ExplainRequest& request, boost::json::object& record) {
  const auto original = to_original(heatmap, batch, input.size(2), input.size(3));
  const auto peak = original.flatten().argmax().item<std::int64_t>();
  record["peak"] = boost::json::array{peak % original.size(1), peak / original.size(1)};
  const fs::path written = request.out / (image_path.stem().string() + "-" + name + ".png");
  write_image(written, overlay_heatmap(picture, original, request.alpha, request.colormap));
  record["png"] = written.string();
  if (request.metrics && score != nullptr) {
    const auto baseline = make_baseline(request.baseline, input,
                                        {.mean = {config.mean.begin(), config.mean.end()},
                                         .std = {config.std.begin(), config.std.end()}})[0];
    record["deletion_auc"] = deletion_curve(*score, input[0], heatmap, baseline).auc;
    record["insertion_auc"] = insertion_curve(*score, input[0], heatmap, baseline).auc;
  }
}

/// Whether the task was trained with freeze_backbone.
bool trained_frozen(const Task& task) {
  if (const auto* c = dynamic_cast<const ImageClassifier*>(&task)) return c->options().freeze_backbone;
  if (const auto* d = dynamic_cast<const ObjectDetector*>(&task)) return d->options().freeze_backbone;
  if (const auto* s = dynamic_cast<const SemanticSegmentor*>(&task)) return s->options().freeze_backbone;
  return false;
}

ExplainRequest read_request(const CommandLine& line) {
  ExplainRequest request;
  request.methods = split_methods(line.option("--method").value_or("gradcam"));
  request.target_layer = line.option("--target-layer").value_or("");
  request.class_name = line.option("--class");
  try {
    if (auto baseline = line.option("--baseline")) request.baseline = parse_baseline(*baseline);
    if (auto colormap = line.option("--colormap")) request.colormap = parse_colormap(*colormap);
  } catch (const ConfigError& e) {
    throw UsageError(e.what());
  }
  request.steps = count_option(line, "--steps", 32);
  if (line.option("--smoothgrad")) request.smoothgrad = count_option(line, "--smoothgrad", 0);
  request.noise = number_option(line, "--noise", 0.15, 0.0, 10.0);
  request.alpha = number_option(line, "--alpha", 0.5, 0.0, 1.0);
  request.min_score = number_option(line, "--min-score", 0.3, 0.0, 1.0);
  request.metrics = line.flag("--metrics");
  request.out = line.option("--out").value_or("explanations");
  return request;
}

}  // namespace

int run_explain(const std::vector<std::string>& args) {
  CommandLine line(args, {"--json", "--metrics"},
                   {"--ckpt-path", "--checkpoint", "--image", "--method", "--target-layer", "--class", "--baseline",
                    "--steps", "--smoothgrad", "--noise", "--colormap", "--alpha", "--out", "--min-score"});
  auto ckpt = line.option("--ckpt-path");
  const auto alias = line.option("--checkpoint");
  if (ckpt && alias && *ckpt != *alias) throw UsageError("--ckpt-path and --checkpoint name different files");
  if (!ckpt) ckpt = alias;
  if (!ckpt) throw UsageError("--ckpt-path (or --checkpoint) CHECKPOINT is required");
  std::vector<std::string> inputs = line.values("--image");
  inputs.insert(inputs.end(), line.positional().begin(), line.positional().end());
  if (inputs.empty()) throw UsageError("expected --image IMAGE (or images and folders of images) to explain");

  auto task = load_task_from_checkpoint(*ckpt);
  if (trained_frozen(*task)) {
    // A frozen backbone runs without a graph, so nothing could flow back to the pixels: the same weights, unfrozen.
    task = load_task_from_checkpoint(*ckpt, {{"freeze_backbone", false}});
  }
  auto* classifier = dynamic_cast<ImageClassifier*>(task.get());
  auto* detector = dynamic_cast<ObjectDetector*>(task.get());
  auto* segmentor = dynamic_cast<SemanticSegmentor*>(task.get());
  if (classifier == nullptr && detector == nullptr && segmentor == nullptr) {
    throw ConfigError("explain: the checkpoint holds a " + task->task_name() + ", which explain does not know");
  }
  const ExplainRequest request = read_request(line);
  if (!request.target_layer.empty() &&
      std::none_of(request.methods.begin(), request.methods.end(),
                   [](const std::string& m) { return m == "gradcam" || m == "gradcampp"; })) {
    throw UsageError("--target-layer is for gradcam and gradcampp; add one of them to --method");
  }
  Backbone& backbone = classifier != nullptr ? *classifier->backbone()
                       : detector != nullptr ? *detector->backbone()
                                             : *segmentor->backbone();
  const DataConfig config =
      task->data_config().value_or(classifier != nullptr ? DataConfig{} : DataConfig{.crop_mode = "letterbox"});
  task->eval();

  auto dataset = images_to_predict(CommandLine(inputs, {}, {}));
  dataset->segmentation = true;  // batches then say where each image went: heatmaps go back to its pixels
  DataLoader loader(dataset, eval_transform(config),
                    {.batch_size = 1, .num_workers = 0, .strict_data = true, .mean = config.mean, .std = config.std});
  fs::create_directories(request.out);

  boost::json::array images;
  auto pass = loader.epoch(0);
  while (auto batch = pass.next()) {
    const fs::path& path = dataset->items[batch->indices.front()].path;
    const torch::Tensor input = batch->images;
    const Image picture = decode_image(path);
    std::vector<Target> targets = classifier != nullptr ? classifier_targets(*classifier, input, request)
                                  : detector != nullptr ? detector_targets(*detector, input, *batch, request)
                                                        : segmentor_targets(*segmentor, input, request);
    boost::json::object image_record{{"image", path.string()}, {"width", picture.width}, {"height", picture.height}};
    if (std::find(request.methods.begin(), request.methods.end(), "rollout") != request.methods.end()) {
      // Class-agnostic: one map per image, whatever the targets.
      torch::Tensor rollout;
      {
        torch::NoGradGuard no_grad;
        rollout = attention_rollout(backbone, input)[0];
      }
      boost::json::object record;
      finish_method("rollout", rollout, nullptr, input, *batch, picture, path, config, request, record);
      image_record["rollout"] = std::move(record);
    }
    boost::json::array target_records;
    for (auto& target : targets) {
      boost::json::object methods;
      for (const auto& method : request.methods) {
        if (method == "rollout") continue;
        boost::json::object record;
        const auto heatmap = gradient_heatmap(method, backbone, target.score, input, config, request, record);
        const std::string name = target.suffix.empty() ? method : method + "-" + target.suffix;
        finish_method(name, heatmap, target.curve_score ? &target.curve_score : &target.score, input, *batch,
                      picture, path, config, request, record);
        methods[method] = std::move(record);
      }
      target.record["methods"] = std::move(methods);
      target_records.push_back(std::move(target.record));
    }
    image_record["targets"] = std::move(target_records);
    images.push_back(std::move(image_record));
  }

  boost::json::array methods;
  for (const auto& method : request.methods) methods.push_back(boost::json::string(method));
  boost::json::object summary{{"checkpoint", *ckpt},
                              {"task", task->task_name()},
                              {"methods", std::move(methods)},
                              {"baseline", std::string(baseline_name(request.baseline))},
                              {"steps", request.steps},
                              {"smoothgrad", request.smoothgrad},
                              {"images", std::move(images)}};
  const auto text = boost::json::serialize(summary);
  write_file_atomically(request.out / "summary.json", text + "\n");
  if (line.flag("--json")) {
    std::cout << text << "\n";
  } else {
    std::cout << "explained " << summary.at("images").as_array().size() << " image(s): " << request.out.string()
              << "\n";
  }
  return kExitOk;
}

}  // namespace autotimm::cli
