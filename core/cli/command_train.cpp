// autotimm fit | validate | test | predict: runs described by a JSON config (model, data, trainer sections), and
// predictions from a checkpoint alone.
#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <iomanip>
#include <iostream>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "autotimm/data/dataset.hpp"
#include "autotimm/data/decode.hpp"
#include "autotimm/data/draw.hpp"
#include "autotimm/data/image_data_module.hpp"
#include "autotimm/data/loader.hpp"
#include "autotimm/data/rle.hpp"
#include "autotimm/error.hpp"
#include "autotimm/inference/inference_optimization.hpp"
#include "autotimm/inference/test_time_augmentation.hpp"
#include "autotimm/tasks/image_classifier.hpp"
#include "autotimm/tasks/instance_segmentor.hpp"
#include "autotimm/tasks/load_task.hpp"
#include "autotimm/tasks/object_detector.hpp"
#include "autotimm/tasks/semantic_segmentor.hpp"
#include "autotimm/trainer/auto_trainer.hpp"
#include "autotimm/trainer/run_config.hpp"
#include "command_line.hpp"
#include "commands.hpp"
#include "prediction_inputs.hpp"

namespace autotimm::cli {
namespace {

namespace fs = std::filesystem;

RunConfig load_run(const CommandLine& line) {
  const auto config = line.option("--config");
  if (!config) throw UsageError("--config RUN.json is required");
  if (!line.positional().empty()) throw UsageError("unexpected argument '" + line.positional().front() + "'");
  return RunConfig::load(*config, line.values("--set"));
}

void print_metrics(const std::map<std::string, double>& metrics, bool json) {
  if (json) {
    boost::json::object out;
    for (const auto& [name, value] : metrics) out[name] = value;
    std::cout << boost::json::serialize(out) << "\n";
    return;
  }
  std::size_t width = 0;
  for (const auto& [name, value] : metrics) width = std::max(width, name.size());
  for (const auto& [name, value] : metrics) {
    std::cout << std::left << std::setw(static_cast<int>(width + 2)) << name << std::fixed << std::setprecision(4)
              << value << "\n";
  }
}

/// The model of a validate/test run: the checkpoint's when one is given (the config's model section is then not
/// needed), else the config's.
std::shared_ptr<Task> model_for(const RunConfig& run, const std::string& ckpt) {
  if (ckpt.empty()) return run.make_model();
  run.skip_model();
  return load_task_from_checkpoint(ckpt);
}

std::string ckpt_of(const CommandLine& line, const RunConfig& run) {
  if (auto ckpt = line.option("--ckpt-path")) return *ckpt;
  return run.ckpt_path();
}

}  // namespace

int run_fit(const std::vector<std::string>& args) {
  CommandLine line(args, {"--test", "--json"}, {"--config", "--set", "--ckpt-path"});
  const RunConfig run = load_run(line);
  auto model = run.make_model();
  auto data = run.make_data();
  AutoTrainer trainer(run.trainer_options());
  const std::string ckpt = ckpt_of(line, run);
  run.expect_all_used();
  trainer.fit(*model, *data, ckpt);
  std::map<std::string, double> test_metrics;
  if (line.flag("--test")) test_metrics = trainer.test(*model, *data, "best");
  if (!trainer.state().is_global_zero) return kExitOk;  // one report per run, from rank 0
  if (line.flag("--json")) {
    boost::json::object out{{"log_dir", trainer.log_dir().string()},
                            {"best_model_path", trainer.best_model_path().string()},
                            {"last_model_path", trainer.last_model_path().string()}};
    if (auto score = trainer.best_model_score()) out["best_model_score"] = *score;
    boost::json::object metrics;
    for (const auto& [name, value] : test_metrics) metrics[name] = value;
    out["test"] = std::move(metrics);
    std::cout << boost::json::serialize(out) << "\n";
    return kExitOk;
  }
  print_metrics(test_metrics, false);
  if (!trainer.best_model_path().empty()) {
    std::cout << "best checkpoint: " << trainer.best_model_path().string() << "\n";
  }
  if (!trainer.last_model_path().empty()) {
    std::cout << "last checkpoint: " << trainer.last_model_path().string() << "\n";
  }
  if (!trainer.log_dir().empty()) std::cout << "logs: " << trainer.log_dir().string() << "\n";
  return kExitOk;
}

namespace {

/// validate or test: one evaluation loop over the config's data.
int run_evaluation(const std::vector<std::string>& args, bool test) {
  CommandLine line(args, {"--json"}, {"--config", "--set", "--ckpt-path"});
  const RunConfig run = load_run(line);
  const std::string ckpt = ckpt_of(line, run);
  auto model = model_for(run, ckpt);
  auto data = run.make_data();
  AutoTrainer trainer(run.trainer_options());
  run.expect_all_used();
  const auto metrics = test ? trainer.test(*model, *data, "") : trainer.validate(*model, *data);
  if (trainer.state().is_global_zero) print_metrics(metrics, line.flag("--json"));
  return kExitOk;
}

}  // namespace

int run_validate(const std::vector<std::string>& args) { return run_evaluation(args, false); }

int run_test(const std::vector<std::string>& args) { return run_evaluation(args, true); }

namespace {

/// --tta: none (default) or flip.
TtaMode tta_option(const CommandLine& line) {
  try {
    return parse_tta_mode(line.option("--tta").value_or("none"));
  } catch (const ConfigError& e) {
    throw UsageError(std::string("--tta: ") + e.what());
  }
}

/// The checkpoint's path, from --ckpt-path or its alias --checkpoint.
std::string checkpoint_option(const CommandLine& line) {
  const auto ckpt = line.option("--ckpt-path"), alias = line.option("--checkpoint");
  if (ckpt && alias && *ckpt != *alias) {
    throw UsageError("--ckpt-path and --checkpoint name the same thing; give one ('" + *ckpt + "' vs '" + *alias +
                     "')");
  }
  if (!ckpt && !alias) throw UsageError("--ckpt-path CHECKPOINT (or --checkpoint CHECKPOINT) is required");
  return ckpt ? *ckpt : *alias;
}

/// Eval mode with batch norm folded into the convolutions and weights in channels-last memory (same outputs; 1.3 to
/// 1.7 times the images per second at batch 32 on this project's CPUs: docs/inference.md). A model that cannot be
/// folded runs unfolded.
void optimise_for_inference(Task& task) {
  task.eval();
  const auto config = task.data_config().value_or(DataConfig{});
  try {
    const auto report = fold_batch_norm(task, {.probe_shape = {1, 3, config.input_size[1], config.input_size[2]}});
    spdlog::info("predict: {} of {} BatchNorm layers folded into their convolutions, weights channels-last",
                 report.folded, report.batch_norms);
  } catch (const Error& e) {
    spdlog::warn("predict: running without folding batch norm: {}", e.what());
  }
  to_channels_last(task);
}

/// A batch in the memory layout optimise_for_inference gave the weights (oneDNN then convolves without reordering),
/// or as it is with --no-optimize.
torch::Tensor inference_input(const torch::Tensor& images, const CommandLine& line) {
  return line.flag("--no-optimize") ? images : images.contiguous(at::MemoryFormat::ChannelsLast);
}

void predict_classes(ImageClassifier& model, const CommandLine& line) {
  if (line.option("--out") || line.option("--min-score")) {
    throw UsageError("--out and --min-score are for detectors; this checkpoint holds an ImageClassifier");
  }
  const std::int64_t top_k = std::min(count_option(line, "--top-k", 3), model.num_classes());
  auto dataset = images_to_predict(line);
  const auto loader = predict_loader(dataset, model.data_config().value_or(DataConfig{}), line);
  const auto name_of = namer(model.class_names());
  const auto tta = tta_option(line);
  auto pass = loader.epoch(0);
  while (auto batch = pass.next()) {
    const auto probabilities = classify_with_tta(model, inference_input(batch->images, line), tta);
    const auto [scores, indices] = probabilities.topk(top_k, 1);
    for (std::int64_t row = 0; row < batch->size(); ++row) {
      const auto& path = dataset->items[batch->indices[static_cast<std::size_t>(row)]].path;
      boost::json::array top;
      std::ostringstream text;
      text << path.string() << ":";
      for (std::int64_t k = 0; k < top_k; ++k) {
        const auto index = indices[row][k].item<std::int64_t>();
        const double p = scores[row][k].item<double>();
        top.push_back({{"label", name_of(index)}, {"index", index}, {"probability", p}});
        text << " " << name_of(index) << " " << std::fixed << std::setprecision(4) << p;
      }
      if (line.flag("--json")) {
        std::cout << boost::json::serialize(boost::json::object{{"image", path.string()}, {"top", std::move(top)}})
                  << "\n";
      } else {
        std::cout << text.str() << "\n";
      }
    }
  }
}

void predict_objects(ObjectDetector& model, const CommandLine& line) {
  if (line.option("--top-k")) throw UsageError("--top-k is for classifiers; use --min-score with a detector");
  const double min_score = number_option(line, "--min-score", 0.3, 0.0, 1.0);
  const auto out_dir = line.option("--out");
  if (out_dir) fs::create_directories(*out_dir);
  auto dataset = images_to_predict(line);
  dataset->detection = true;  // batches then say where each image came from, and boxes go back to its pixels
  const auto loader = predict_loader(dataset, model.data_config().value_or(DataConfig{.crop_mode = "letterbox"}), line);
  const auto name_of = namer(model.class_names());
  auto* segmentor = dynamic_cast<InstanceSegmentor*>(&model);
  const auto tta = tta_option(line);
  if (segmentor != nullptr && tta != TtaMode::none) {
    throw UsageError("--tta " + std::string(tta_mode_name(tta)) +
                     " is not supported for an InstanceSegmentor (its masks are not merged); leave --tta out");
  }
  auto pass = loader.epoch(0);
  while (auto batch = pass.next()) {
    // Per image, best first, in its original pixels: an instance segmentor's masks pasted at full resolution.
    std::vector<InstanceResult> found;
    if (segmentor != nullptr) {
      found = segmentor->predict_original(*batch);
    } else {
      const auto detected = detect_with_tta(model, inference_input(batch->images, line), tta);
      for (std::int64_t row = 0; row < batch->size(); ++row) {
        const auto mapped = to_original_image(detected[static_cast<std::size_t>(row)], *batch, row);
        found.push_back({.boxes = mapped.boxes, .scores = mapped.scores, .labels = mapped.labels});
      }
    }
    for (std::int64_t row = 0; row < batch->size(); ++row) {
      const auto& path = dataset->items[batch->indices[static_cast<std::size_t>(row)]].path;
      const InstanceResult& objects = found[static_cast<std::size_t>(row)];
      boost::json::array detections;
      std::vector<DrawnBox> drawn;
      std::ostringstream text;
      Image instance_labels;  // each pixel: the class of the best-scoring mask on it (255: none)
      if (objects.masks.defined()) {
        instance_labels = Image(static_cast<int>(objects.masks.size(2)), static_cast<int>(objects.masks.size(1)), 1);
        std::fill(instance_labels.pixels.begin(), instance_labels.pixels.end(), std::uint8_t{255});
      }
      for (std::int64_t k = 0; k < objects.boxes.size(0); ++k) {
        const double score = objects.scores[k].item<double>();
        if (score < min_score) break;  // best first
        const auto index = objects.labels[k].item<std::int64_t>();
        const auto box_tensor = objects.boxes[k];
        const std::array<double, 4> box = {box_tensor[0].item<double>(), box_tensor[1].item<double>(),
                                           box_tensor[2].item<double>(), box_tensor[3].item<double>()};
        boost::json::object detection{{"label", name_of(index)}, {"index", index}, {"score", score},
                                      {"box", boost::json::array{box[0], box[1], box[2], box[3]}}};
        if (objects.masks.defined()) {
          const auto mask = objects.masks[k].to(torch::kUInt8).contiguous();
          const Rle rle = rle_encode(mask.data_ptr<std::uint8_t>(), instance_labels.height, instance_labels.width);
          detection["mask_area"] = rle.area();
          detection["mask"] = {{"size", boost::json::array{rle.height, rle.width}}, {"counts", rle_to_string(rle)}};
          const std::uint8_t* on = mask.data_ptr<std::uint8_t>();
          for (std::size_t p = 0; p < instance_labels.pixels.size(); ++p) {
            if (on[p] != 0 && instance_labels.pixels[p] == 255) {
              instance_labels.pixels[p] = static_cast<std::uint8_t>(std::min<std::int64_t>(index, 254));
            }
          }
        }
        std::ostringstream caption;
        caption << name_of(index) << " " << std::fixed << std::setprecision(2) << score;
        drawn.push_back({.box = box, .caption = caption.str(), .color_index = index});
        text << "  " << caption.str() << " [" << std::fixed << std::setprecision(1) << box[0] << ", " << box[1]
             << ", " << box[2] << ", " << box[3] << "]";
        if (const auto* area = detection.if_contains("mask_area")) text << " mask " << area->as_uint64() << " px";
        text << "\n";
        detections.push_back(std::move(detection));
      }
      boost::json::object record{{"image", path.string()}, {"detections", std::move(detections)}};
      if (out_dir) {
        Image picture = decode_image(path);
        if (!instance_labels.empty()) overlay_label_map(picture, instance_labels, 0.5);
        draw_boxes(picture, drawn);
        const fs::path written = fs::path(*out_dir) / (path.stem().string() + ".png");
        write_image(written, picture);
        record["drawn"] = written.string();
      }
      if (line.flag("--json")) {
        std::cout << boost::json::serialize(record) << "\n";
      } else {
        std::cout << path.string() << ": " << drawn.size() << (drawn.size() == 1 ? " object\n" : " objects\n")
                  << text.str();
      }
    }
  }
}

void predict_regions(SemanticSegmentor& model, const CommandLine& line) {
  if (line.option("--top-k") || line.option("--min-score")) {
    throw UsageError("--top-k and --min-score are for classifiers and detectors; a segmentor takes --out DIR");
  }
  const auto out_dir = line.option("--out");
  if (out_dir) fs::create_directories(*out_dir);
  auto dataset = images_to_predict(line);
  dataset->segmentation = true;  // batches then say where each image came from: maps go back to its pixels
  const auto loader = predict_loader(dataset, model.data_config().value_or(DataConfig{.crop_mode = "letterbox"}), line);
  const auto name_of = namer(model.class_names());
  const auto tta = tta_option(line);
  auto pass = loader.epoch(0);
  while (auto batch = pass.next()) {
    // With --tta flip the mean class probabilities take the logits' place: resized and argmaxed in the same way.
    torch::Tensor scores;
    if (tta == TtaMode::none) {
      model.eval();
      torch::NoGradGuard no_grad;
      scores = model.forward(inference_input(batch->images, line));
    } else {
      scores = segment_with_tta(model, inference_input(batch->images, line), tta);
    }
    const auto maps = to_original_label_maps(scores, *batch);
    for (std::int64_t row = 0; row < batch->size(); ++row) {
      const auto& path = dataset->items[batch->indices[static_cast<std::size_t>(row)]].path;
      const auto& labels = maps[static_cast<std::size_t>(row)];
      const auto counts = torch::bincount(labels.flatten(), {}, model.num_classes());
      boost::json::array classes;
      std::ostringstream text;
      text << path.string() << ":";
      for (std::int64_t c = 0; c < model.num_classes(); ++c) {
        const double fraction = counts[c].item<double>() / static_cast<double>(labels.numel());
        if (fraction == 0.0) continue;
        classes.push_back({{"label", name_of(c)}, {"index", c}, {"fraction", fraction}});
        text << " " << name_of(c) << " " << std::fixed << std::setprecision(3) << fraction;
      }
      boost::json::object record{{"image", path.string()},
                                 {"height", labels.size(0)},
                                 {"width", labels.size(1)},
                                 {"classes", std::move(classes)}};
      if (out_dir) {
        Image picture = decode_image(path);
        const auto bytes = labels.to(torch::kUInt8).contiguous();
        Image label_image(static_cast<int>(labels.size(1)), static_cast<int>(labels.size(0)), 1);
        std::copy_n(bytes.data_ptr<std::uint8_t>(), label_image.pixels.size(), label_image.pixels.begin());
        overlay_label_map(picture, label_image, 0.5);
        const fs::path written = fs::path(*out_dir) / (path.stem().string() + ".png");
        write_image(written, picture);
        record["drawn"] = written.string();
      }
      if (line.flag("--json")) {
        std::cout << boost::json::serialize(record) << "\n";
      } else {
        std::cout << text.str() << "\n";
      }
    }
  }
}

}  // namespace

int run_predict(const std::vector<std::string>& args) {
  CommandLine line(args, {"--json", "--no-optimize"},
                   {"--ckpt-path", "--checkpoint", "--top-k", "--batch-size", "--min-score", "--out", "--tta"});
  const auto ckpt = checkpoint_option(line);
  if (line.positional().empty()) throw UsageError("expected images or folders of images to predict");
  tta_option(line);  // a wrong mode is reported before the model loads
  const auto task = load_task_from_checkpoint(ckpt);
  if (line.flag("--no-optimize")) {
    task->eval();  // the model as trained: batch norm as its own step, contiguous memory
  } else {
    optimise_for_inference(*task);
  }
  if (auto detector = std::dynamic_pointer_cast<ObjectDetector>(task)) {
    predict_objects(*detector, line);
  } else if (auto segmentor = std::dynamic_pointer_cast<SemanticSegmentor>(task)) {
    predict_regions(*segmentor, line);
  } else {
    predict_classes(dynamic_cast<ImageClassifier&>(*task), line);
  }
  return kExitOk;
}

}  // namespace autotimm::cli
