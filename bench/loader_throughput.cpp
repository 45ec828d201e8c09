// Images per second through the data loader: decode + augment + normalize + collate, for the train presets at
// several worker counts and for the eval transform. Warm-up pass, then the median of timed passes.
//
//   build/bin/bench_loader [--data DIR] [--images 256] [--batch 32] [--size 224] [--runs 3]
//                          [--workers 1,2,4] [--presets default,eval] [--stages 1]
//
// --stages 1 also times each stage on one thread, in ms per image: full decode, each transform, normalize, and
// decode_and_apply (the loader's partial decode plus all the transforms) for comparison.
//
// Without --data it writes a folder of 500×375 JPEGs (textured, ~50 KB each, like photos) to a temp folder.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "autotimm/data/decode.hpp"
#include "autotimm/data/image_data_module.hpp"
#include "autotimm/runtime.hpp"

namespace fs = std::filesystem;

namespace {

struct Args {
  fs::path data;
  int images = 256;
  std::int64_t batch = 32;
  std::int64_t size = 224;
  int runs = 3;
  std::vector<int> workers = {1, 2, 4};
  std::vector<std::string> presets = {"default", "eval"};
  bool stages = false;
};

template <class T>
std::vector<T> split(const std::string& text) {
  std::vector<T> out;
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');) {
    if constexpr (std::is_same_v<T, int>) {
      out.push_back(std::stoi(item));
    } else {
      out.push_back(item);
    }
  }
  return out;
}

Args parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--data") args.data = value;
    else if (key == "--images") args.images = std::stoi(value);
    else if (key == "--batch") args.batch = std::stoll(value);
    else if (key == "--size") args.size = std::stoll(value);
    else if (key == "--runs") args.runs = std::stoi(value);
    else if (key == "--workers") args.workers = split<int>(value);
    else if (key == "--presets") args.presets = split<std::string>(value);
    else if (key == "--stages") args.stages = value != "0";
    else throw std::runtime_error("unknown option " + key);
  }
  return args;
}

/// Photo-like content (smooth shapes plus fine noise) so JPEG sizes and decode costs are realistic.
void write_jpegs(const fs::path& root, int count) {
  std::uint32_t state = 12345;
  auto noise = [&] {
    state = state * 1664525u + 1013904223u;
    return static_cast<int>((state >> 26) % 34);  // film-grain-like detail: ~50 KB per JPEG at quality 85
  };
  for (int i = 0; i < count; ++i) {
    const fs::path folder = root / "train" / ("class" + std::to_string(i % 4));
    fs::create_directories(folder);
    autotimm::Image image(500, 375, 3);
    for (int y = 0; y < image.height; ++y) {
      for (int x = 0; x < image.width; ++x) {
        const double r = std::sin(x * 0.031 + i) * 60 + std::cos(y * 0.017) * 50;
        image.at(x, y, 0) = static_cast<std::uint8_t>(std::clamp(128 + static_cast<int>(r) + noise(), 0, 255));
        image.at(x, y, 1) = static_cast<std::uint8_t>(std::clamp(100 + ((x / 7) * (y / 5)) % 61 + noise(), 0, 255));
        image.at(x, y, 2) = static_cast<std::uint8_t>(std::clamp(90 + static_cast<int>(r / 2) + noise(), 0, 255));
      }
    }
    autotimm::write_image(folder / (std::to_string(i) + ".jpg"), image, 85);
  }
}

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

/// Per-stage cost on one thread, ms per image: the order and work of one loader sample, timed piece by piece.
void time_stages(const fs::path& data, const std::string& preset, std::int64_t size) {
  std::vector<std::vector<std::uint8_t>> files;
  for (const auto& entry : fs::recursive_directory_iterator(data / "train")) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    files.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  autotimm::DataConfig config;
  config.input_size = {3, size, size};
  const auto transform = preset == "eval" ? autotimm::eval_transform(config) : autotimm::train_transform(preset, config);
  std::vector<autotimm::TransformPtr> steps = {transform};
  if (const auto* compose = dynamic_cast<const autotimm::Compose*>(transform.get())) steps = compose->transforms();
  std::vector<double> step_ms(steps.size(), 0.0);
  double decode_ms = 0.0, normalize_ms = 0.0, planned_ms = 0.0;
  std::vector<float> planes(static_cast<std::size_t>(3 * size * size));
  std::vector<float> table(3 * 256);  // the loader's byte -> normalized float table
  for (std::size_t v = 0; v < table.size(); ++v) table[v] = (static_cast<float>(v % 256) / 255.0f - 0.45f) / 0.225f;
  for (int pass = 0; pass < 2; ++pass) {  // pass 0 warms up
    std::fill(step_ms.begin(), step_ms.end(), 0.0);
    decode_ms = normalize_ms = planned_ms = 0.0;
    for (std::size_t i = 0; i < files.size(); ++i) {
      {  // the loader's path: decode only what the first crop or resize reads, then the rest of the transform
        autotimm::SampleRng rng(0, 0, i);
        const auto start = Clock::now();
        const auto sample = autotimm::decode_and_apply(files[i], "bench", *transform, rng);
        planned_ms += ms_since(start);
      }
      auto start = Clock::now();
      autotimm::Sample sample{autotimm::decode_image(files[i], "bench")};
      decode_ms += ms_since(start);
      autotimm::SampleRng rng(0, 0, i);
      for (std::size_t k = 0; k < steps.size(); ++k) {
        start = Clock::now();
        steps[k]->apply(sample, rng);
        step_ms[k] += ms_since(start);
      }
      start = Clock::now();
      const auto& pixels = sample.image.pixels;
      const std::size_t plane = pixels.size() / 3;
      for (int c = 0; c < 3; ++c) {
        for (std::size_t j = 0; j < plane; ++j) planes[c * plane + j] = table[c * 256 + pixels[3 * j + c]];
      }
      normalize_ms += ms_since(start);
    }
  }
  const double n = static_cast<double>(files.size());
  std::cout << "stages, " << (preset == "eval" ? "eval transform" : "train preset " + preset)
            << " (ms per image, one thread): decode " << decode_ms / n;
  for (std::size_t k = 0; k < steps.size(); ++k) std::cout << ", " << steps[k]->name() << " " << step_ms[k] / n;
  std::cout << ", normalize " << normalize_ms / n << "; loader path (decode_and_apply) " << planned_ms / n << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  autotimm::configure_runtime();
  fs::path data = args.data;
  fs::path temporary;
  if (data.empty()) {
    temporary = fs::temp_directory_path() / ("autotimm-bench-loader-" + std::to_string(::getpid()));
    write_jpegs(temporary, args.images);
    data = temporary;
  }
  std::uintmax_t bytes = 0;
  std::size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(data / "train")) {
    if (entry.is_regular_file()) {
      bytes += entry.file_size();
      ++files;
    }
  }
  std::cout << "data: " << files << " images, " << (files ? bytes / files / 1024 : 0) << " KB average; batch "
            << args.batch << ", " << args.size << "x" << args.size << "\n";
  for (const auto& preset : args.presets) {
    if (args.stages) time_stages(data, preset, args.size);
    for (const int workers : args.workers) {
      autotimm::ImageDataModule module({.data_dir = data,
                                        .image_size = args.size,
                                        .train_transforms = preset == "eval" ? "none" : preset,
                                        .batch_size = args.batch,
                                        .num_workers = workers,
                                        .val_split = 0.0});
      const auto loader = module.train_loader();
      std::vector<double> rates;
      for (int run = -1; run < args.runs; ++run) {  // run -1 warms the page cache and the allocator
        const auto start = std::chrono::steady_clock::now();
        std::int64_t count = 0;
        auto epoch = loader.epoch(static_cast<std::uint64_t>(run + 1));
        while (auto batch = epoch.next()) count += batch->size();
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (run >= 0) rates.push_back(count / seconds);
      }
      std::sort(rates.begin(), rates.end());
      std::cout << (preset == "eval" ? "eval transform" : "train preset " + preset) << ", " << workers
                << " worker(s): " << static_cast<int>(rates[rates.size() / 2]) << " images/s (median of "
                << rates.size() << ")\n";
    }
  }
  if (!temporary.empty()) fs::remove_all(temporary);
  return 0;
}
