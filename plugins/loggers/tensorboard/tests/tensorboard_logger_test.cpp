// The TensorBoard logger plugin, checked through a reader of its own (tests/event_file_reader.hpp): framing and
// both CRCs of every record, golden bytes, each kind of summary field by field, the hparams plugin records, the
// Lightning folder layout, the file name, when records reach the disk, threads, and the options' messages.
#include <gtest/gtest.h>
#include <gmock/gmock.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cfloat>
#include <chrono>
#include <ctime>
#include <fstream>
#include <numeric>
#include <random>
#include <regex>
#include <thread>

#include <boost/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "autotimm/error.hpp"
#include "autotimm/logger.hpp"
#include "autotimm/loggers/csv_logger.hpp"
#include "autotimm/plugin.hpp"
#include "autotimm/testing/plugin_registry.hpp"
#include "crc32c.hpp"
#include "event_file_reader.hpp"
#include "event_file_writer.hpp"
#include "protobuf_writer.hpp"
#include "summary.hpp"
#include "support/error_text.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept;

namespace autotimm::tensorboard {
namespace {

namespace fs = std::filesystem;
using autotimm::testing::error_text;
using ::testing::HasSubstr;
using namespace autotimm::tensorboard::testing;

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

/// A fresh folder per test, removed afterwards.
class TensorBoardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = fs::temp_directory_path() / ("autotimm_tb_" + std::to_string(::getpid()) + "_" + std::to_string(random()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  const fs::path& dir() const { return dir_; }

  /// The plugin's "tensorboard" entry with `options` (save_dir defaulting to this test's folder), failing on any
  /// option the factory did not read, as the trainer does.
  static std::shared_ptr<Logger> make(boost::json::object options) {
    Config config(std::move(options), "tensorboard options");
    auto& registry = autotimm::testing::registry_of(autotimm_plugin_descriptor());
    auto logger = registry.loggers().get("tensorboard").factory(config);
    config.expect_all_used();
    return logger;
  }
  std::shared_ptr<Logger> make_here(boost::json::object options = {}) {
    if (!options.contains("save_dir")) options["save_dir"] = dir_.string();
    return make(std::move(options));
  }

  /// The one event file in `folder`.
  static fs::path event_file(const fs::path& folder) {
    std::vector<fs::path> found;
    for (const auto& entry : fs::directory_iterator(folder)) {
      if (entry.path().filename().string().find("tfevents") != std::string::npos) found.push_back(entry.path());
    }
    if (found.size() != 1) {
      throw std::runtime_error(std::to_string(found.size()) + " event files in " + folder.string());
    }
    return found.front();
  }

 private:
  fs::path dir_;
};

struct Scalar {
  std::string tag;
  std::int64_t step;
  float value;
  bool operator==(const Scalar&) const = default;
};

/// The simple_value summaries of `events`, in order; each such Summary.Value holds a tag and the value only.
std::vector<Scalar> scalars(const std::vector<Event>& events) {
  std::vector<Scalar> out;
  for (const auto& event : events) {
    for (const auto& value : event.values) {
      if (!value.has(2)) continue;
      EXPECT_EQ(value.numbers(), (std::set<int>{1, 2}));
      out.push_back({value.string(1), event.step, value.float32(2)});
    }
  }
  return out;
}

/// The Summary.Values tagged `tag`.
std::vector<std::pair<const Event*, Message>> values_tagged(const std::vector<Event>& events, std::string_view tag) {
  std::vector<std::pair<const Event*, Message>> out;
  for (const auto& event : events) {
    for (const auto& value : event.values) {
      if (value.string(1) == tag) out.emplace_back(&event, value);
    }
  }
  return out;
}

/// The HParamsPluginData of an hparams summary value, with the checks every one of them must pass.
Message hparams_data(const Message& value) {
  EXPECT_EQ(value.numbers(), (std::set<int>{1, 8, 9}));
  const Message tensor = value.message(8);  // TensorBoard's null tensor: DT_FLOAT, shape [0]
  EXPECT_EQ(tensor.varint(1), 1u);
  const auto dims = tensor.message(2).messages(2);
  EXPECT_EQ(dims.size(), 1u);
  if (!dims.empty()) {
    EXPECT_EQ(dims[0].varint(1), 0u);
  }
  const Message plugin_data = value.message(9).message(1);
  EXPECT_EQ(plugin_data.string(1), "hparams");
  const Message data(plugin_data.string(2));
  EXPECT_EQ(data.varint(1), 0u);  // PLUGIN_DATA_VERSION
  return data;
}

// ---------------------------------------------------------------------------------------------------------------
// Wire-level golden values

TEST(Crc32c, KnownAnswers) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(masked_crc32c("123456789"), 0xC78AB0E5u);
  EXPECT_EQ(mask_crc(0xE3069283u), 0xC78AB0E5u);
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720
  EXPECT_EQ(masked_crc32c("\x1a\x11" "CRC test, one two"), 0x5794D08Au);
  EXPECT_EQ(crc32c(""), 0u);
}

TEST(Crc32c, AgreesWithTheBitwiseDefinitionAtEveryLengthAndAlignment) {
  std::mt19937 random(7);
  std::string bytes(4096 + 13, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t length : {0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4096}) {
      const std::string_view slice = std::string_view(bytes).substr(offset, length);
      ASSERT_EQ(crc32c(slice), reference_crc32c(slice)) << "offset " << offset << " length " << length;
    }
  }
}

TEST(ProtoWriter, WireEncoding) {
  ProtoWriter w;
  w.varint(1, 300).int64(2, -1).float32(3, 1.0f).float64(4, 1.5).string(5, "hi");
  EXPECT_EQ(hex(w.data()), "08ac02"                        // 300 as a two-byte varint
                           "10ffffffffffffffffff01"        // -1: ten bytes
                           "1d0000803f"                    // field 3, fixed32: 1.0f little-endian
                           "21000000000000f83f"            // field 4, fixed64: 1.5
                           "2a026869");
  ProtoWriter packed;
  const std::vector<double> values{1.0, -2.0};
  packed.packed_float64(6, values);
  EXPECT_EQ(hex(packed.data()), "3210000000000000f03f00000000000000c0");
  ProtoWriter big;
  big.varint(100000, 1);  // a three-byte key
  EXPECT_EQ(hex(big.data()), "80ea3001");
}

TEST(EventFile, FirstRecordGoldenBytes) {
  EXPECT_EQ(hex(tfrecord(file_version_event(1.5))),
            "1800000000000000" "a37f4b22" "09000000000000f83f1a0d627261696e2e4576656e743a32" "2a28646c");
}

TEST(EventFile, HParamsGoldenBytes) {
  EXPECT_EQ(hex(hparams_session_start_data({{"lr", 0.1}}, 0)), "1a110a0f0a026c721209119a9999999999b93f");
}

TEST(EventFile, NameFollowsPyTorch) {
  EXPECT_EQ(event_file_name(1715000000, "host.example.org", 4242, 3),
            "events.out.tfevents.1715000000.host.example.org.4242.3");
  EXPECT_EQ(event_file_name(42, "h", 1, 0), "events.out.tfevents.0000000042.h.1.0");
}

TEST(EventFile, ReaderRejectsACorruptRecord) {
  // The reader's CRC checks are what the other tests rely on: a flipped byte anywhere must fail them.
  const fs::path path = fs::temp_directory_path() / ("autotimm_tb_corrupt_" + std::to_string(::getpid()));
  const std::string record = tfrecord(scalar_event(1.0, 5, "loss", 0.5f));
  for (std::size_t at : {std::size_t{3}, std::size_t{9}, std::size_t{20}, record.size() - 1}) {
    std::string bad = record;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    std::ofstream(path, std::ios::binary) << bad;
    EXPECT_THROW(read_records(path), std::runtime_error) << "byte " << at;
  }
  std::ofstream(path, std::ios::binary) << record << record.substr(0, 5);
  EXPECT_THROW(read_records(path), std::runtime_error);  // a torn tail
  std::ofstream(path, std::ios::binary) << record;
  EXPECT_EQ(read_records(path).size(), 1u);
  fs::remove(path);
}

// ---------------------------------------------------------------------------------------------------------------
// The logger, end to end through the plugin's registry entry

TEST_F(TensorBoardTest, RegisteredUnderItsLightningName) {
  EXPECT_STREQ(autotimm_plugin_descriptor()->name, "tensorboard");
  auto& entry = autotimm::testing::registry_of(autotimm_plugin_descriptor()).loggers().get("tensorboard");
  EXPECT_THAT(entry.description, HasSubstr("save_dir"));
}

TEST_F(TensorBoardTest, FirstRecordAndScalars) {
  const double before = wall_time_now();
  auto logger = make_here({{"default_hp_metric", false}});
  logger->log_metrics({{"train/loss", 0.75}, {"epoch", 0}}, 10);
  logger->log_metrics({{"train/loss", 0.5}}, 20);
  logger->log_metrics({{"val/accuracy", 0.8125}, {"epoch", 1}}, 20);
  logger->finalize(RunStatus::success);
  const double after = wall_time_now();

  const auto events = read_events(event_file(logger->log_dir()));
  ASSERT_GE(events.size(), 1u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_TRUE(events[0].values.empty());
  for (const auto& event : events) {
    EXPECT_GE(event.wall_time, before - 1);
    EXPECT_LE(event.wall_time, after + 1);
  }
  // One value per event as PyTorch writes them; a map's keys in order.
  EXPECT_EQ(events.size(), 6u);
  EXPECT_EQ(scalars(events), (std::vector<Scalar>{{"epoch", 10, 0.0f},
                                                  {"train/loss", 10, 0.75f},
                                                  {"train/loss", 20, 0.5f},
                                                  {"epoch", 20, 1.0f},
                                                  {"val/accuracy", 20, 0.8125f}}));
  // No hyperparameters were logged: no hparams records at all.
  EXPECT_TRUE(values_tagged(events, kSessionEndTag).empty());
}

TEST_F(TensorBoardTest, FileNamePattern) {
  // The writer's clock (std::time reads a coarser one that may still show the previous second).
  const auto now = [] {
    return static_cast<long long>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  };
  const auto t0 = now();
  auto first = make_here({{"name", "a"}});
  auto second = make_here({{"name", "b"}});
  first->log_text("x", "y", 0);
  second->log_text("x", "y", 0);
  const auto t1 = now();
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  const std::regex pattern(R"(^events\.out\.tfevents\.(\d{10})\.(.+)\.(\d+)\.(\d+)$)");
  std::vector<long long> counters;
  for (const auto& logger : {first, second}) {
    const std::string name = event_file(logger->log_dir()).filename().string();
    std::smatch m;
    ASSERT_TRUE(std::regex_match(name, m, pattern)) << name;
    EXPECT_GE(std::stoll(m[1]), t0);
    EXPECT_LE(std::stoll(m[1]), t1);
    EXPECT_EQ(m[2], std::string(host));
    EXPECT_EQ(std::stoll(m[3]), static_cast<long long>(::getpid()));
    counters.push_back(std::stoll(m[4]));
  }
  EXPECT_GT(counters[1], counters[0]);  // one process-wide counter
}

TEST_F(TensorBoardTest, VersionFoldersCountUp) {
  auto a = make_here({{"name", "exp"}});
  auto b = make_here({{"name", "exp"}});
  EXPECT_EQ(a->log_dir(), dir() / "exp" / "version_0");
  EXPECT_EQ(b->log_dir(), dir() / "exp" / "version_1");
  EXPECT_EQ(a->version(), "version_0");
  EXPECT_EQ(b->version(), "version_1");
  EXPECT_EQ(a->name(), "exp");
  EXPECT_TRUE(fs::is_directory(dir() / "exp" / "version_1"));  // claimed as soon as it is known

  fs::create_directories(dir() / "more" / "version_7");
  fs::create_directories(dir() / "more" / "version_x");
  fs::create_directories(dir() / "more" / "version_12b");
  std::ofstream(dir() / "more" / "version_30") << "a file, not a run";
  EXPECT_EQ(make_here({{"name", "more"}})->version(), "version_8");

  auto defaulted = make_here();
  EXPECT_EQ(defaulted->name(), "logs");
  EXPECT_EQ(defaulted->log_dir(), dir() / "logs" / "version_0");
  EXPECT_EQ(make_here({{"name", ""}})->log_dir(), dir() / "version_0");
}

TEST_F(TensorBoardTest, ExplicitVersion) {
  auto numbered = make_here({{"version", 5}});
  EXPECT_EQ(numbered->log_dir(), dir() / "logs" / "version_5");
  EXPECT_EQ(numbered->version(), "version_5");
  auto named = make_here({{"name", "exp"}, {"version", "baseline"}});
  EXPECT_EQ(named->log_dir(), dir() / "exp" / "baseline");
  EXPECT_EQ(named->version(), "baseline");
  named->log_metrics({{"m", 1}}, 1);
  named->save();
  EXPECT_NO_THROW(event_file(dir() / "exp" / "baseline"));
  // The next automatic version skips the explicit one.
  EXPECT_EQ(make_here()->version(), "version_6");
}

TEST_F(TensorBoardTest, Images) {
  auto logger = make_here({{"default_hp_metric", false}});
  const auto chw = torch::rand({3, 5, 7});
  const auto hwc = torch::randint(0, 256, {4, 6, 3}, torch::kUInt8);
  const auto gray = torch::randint(0, 256, {3, 2}, torch::kUInt8);
  logger->log_image("samples/chw", chw, 3);
  logger->log_image("samples/hwc", hwc, 4);
  logger->log_image("samples/gray", gray, 5);
  EXPECT_THROW(logger->log_image("bad", torch::zeros({2, 3, 4, 5}), 0), ConfigError);
  EXPECT_THROW(logger->log_image("bad", torch::zeros({4, 4, 4}), 0), ConfigError);
  logger->finalize(RunStatus::success);

  const auto events = read_events(event_file(logger->log_dir()));
  const std::vector<std::tuple<std::string, torch::Tensor, std::int64_t, int>> expected{
      {"samples/chw", (chw * 255).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous(), 3, 3},
      {"samples/hwc", hwc, 4, 3},
      {"samples/gray", gray.unsqueeze(2), 5, 1}};
  for (const auto& [tag, pixels, step, colorspace] : expected) {
    const auto found = values_tagged(events, tag);
    ASSERT_EQ(found.size(), 1u) << tag;
    EXPECT_EQ(found[0].first->step, step);
    const Message& value = found[0].second;
    EXPECT_EQ(value.numbers(), (std::set<int>{1, 4}));
    const Message image = value.message(4);
    EXPECT_EQ(image.numbers(), (std::set<int>{1, 2, 3, 4}));
    const auto height = pixels.size(0), width = pixels.size(1), channels = pixels.size(2);
    EXPECT_EQ(image.int64(1), height) << tag;
    EXPECT_EQ(image.int64(2), width) << tag;
    EXPECT_EQ(image.int64(3), colorspace) << tag;
    const std::string png = image.string(4);
    ASSERT_EQ(png.substr(0, 4), "\x89PNG");
    const std::vector<std::uint8_t> bytes(png.begin(), png.end());
    const cv::Mat decoded = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
    ASSERT_EQ(decoded.rows, height);
    ASSERT_EQ(decoded.cols, width);
    ASSERT_EQ(decoded.channels(), channels);
    const auto* expected_pixels = pixels.data_ptr<std::uint8_t>();
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        for (int c = 0; c < channels; ++c) {
          // OpenCV decodes to BGR.
          const int cv_channel = channels == 3 ? 2 - c : 0;
          ASSERT_EQ(decoded.ptr<std::uint8_t>(y)[x * channels + cv_channel],
                    expected_pixels[(y * width + x) * channels + c])
              << tag << " at " << y << "," << x << "," << c;
        }
      }
    }
  }
}

TEST_F(TensorBoardTest, Histograms) {
  auto logger = make_here({{"default_hp_metric", false}});
  const auto values = torch::tensor(std::vector<double>{-1.0, 0.0, 0.0, 0.5, 2.0, 2.0, NAN, INFINITY, 1e-13});
  logger->log_histogram("weights", values, 7);
  logger->log_histogram("nothing", torch::full({2}, NAN), 8);  // no finite value: nothing written
  logger->finalize(RunStatus::success);

  const auto events = read_events(event_file(logger->log_dir()));
  EXPECT_TRUE(values_tagged(events, "nothing").empty());
  const auto found = values_tagged(events, "weights");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].first->step, 7);
  EXPECT_EQ(found[0].second.numbers(), (std::set<int>{1, 5}));
  const Message histo = found[0].second.message(5);
  EXPECT_EQ(histo.float64(1), -1.0);
  EXPECT_EQ(histo.float64(2), 2.0);
  EXPECT_EQ(histo.float64(3), 7.0);  // NaN and Inf left out
  EXPECT_DOUBLE_EQ(histo.float64(4), 3.5 + 1e-13);
  EXPECT_DOUBLE_EQ(histo.float64(5), 9.25 + 1e-26);
  const auto limits = histo.packed_float64(6);
  const auto buckets = histo.packed_float64(7);
  ASSERT_EQ(limits.size(), buckets.size());
  ASSERT_GE(limits.size(), 3u);

  // TensorFlow's default limits, rebuilt here: the written ones must be a contiguous run of them.
  std::vector<double> positive;
  for (double v = 1e-12; v < 1e20; v *= 1.1) positive.push_back(v);
  std::vector<double> tf_limits{-DBL_MAX};
  for (auto it = positive.rbegin(); it != positive.rend(); ++it) tf_limits.push_back(-*it);
  tf_limits.push_back(0.0);
  tf_limits.insert(tf_limits.end(), positive.begin(), positive.end());
  tf_limits.push_back(DBL_MAX);
  const auto start = std::find(tf_limits.begin(), tf_limits.end(), limits.front());
  ASSERT_NE(start, tf_limits.end());
  ASSERT_GE(static_cast<std::size_t>(tf_limits.end() - start), limits.size());
  EXPECT_TRUE(std::equal(limits.begin(), limits.end(), start));

  // Each finite value counted in (previous limit, limit]; an empty bucket first, a populated one last.
  std::vector<double> expected(limits.size(), 0.0);
  for (double v : {-1.0, 0.0, 0.0, 0.5, 2.0, 2.0, 1e-13}) {
    std::size_t i = 0;
    while (i < limits.size() && limits[i] < v) ++i;
    ASSERT_LT(i, limits.size()) << v;
    if (i > 0) {
      ASSERT_LT(limits[i - 1], v);
    }
    expected[i] += 1;
  }
  EXPECT_EQ(buckets, expected);
  EXPECT_EQ(buckets.front(), 0.0);
  EXPECT_GT(buckets.back(), 0.0);
  EXPECT_LT(limits[0], -1.0);
  EXPECT_GE(limits[1], -1.0);
  const auto zero = std::find(limits.begin(), limits.end(), 0.0);
  ASSERT_NE(zero, limits.end());
  EXPECT_EQ(buckets[static_cast<std::size_t>(zero - limits.begin())], 2.0);
  EXPECT_EQ(std::accumulate(buckets.begin(), buckets.end(), 0.0), 7.0);
}

TEST_F(TensorBoardTest, Text) {
  auto logger = make_here({{"default_hp_metric", false}});
  const std::string text = "h\xc3\xa9llo **world**\nline 2";
  logger->log_text("notes", text, 9);
  logger->finalize(RunStatus::success);
  const auto events = read_events(event_file(logger->log_dir()));
  const auto found = values_tagged(events, "notes/text_summary");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].first->step, 9);
  const Message& value = found[0].second;
  EXPECT_EQ(value.numbers(), (std::set<int>{1, 8, 9}));
  const Message plugin_data = value.message(9).message(1);
  EXPECT_EQ(plugin_data.string(1), "text");
  EXPECT_FALSE(plugin_data.has(2));  // TextPluginData{version = 0} is empty
  const Message tensor = value.message(8);
  EXPECT_EQ(tensor.varint(1), 7u);  // DT_STRING
  const auto dims = tensor.message(2).messages(2);
  ASSERT_EQ(dims.size(), 1u);
  EXPECT_EQ(dims[0].int64(1), 1);
  EXPECT_EQ(tensor.strings(8), std::vector<std::string>{text});
}

boost::json::object nested_hparams() {
  return boost::json::parse(R"({
    "task": "ImageClassifier",
    "model": {"backbone": "resnet18", "lr": 0.01, "pretrained": true, "layers": [1, 2], "head": {"dropout": 0.5}},
    "data": {"batch_size": 32, "root": null},
    "trainer": {"max_epochs": 3}
  })").as_object();
}

TEST_F(TensorBoardTest, HyperparametersThroughTheHParamsPlugin) {
  auto logger = make_here();
  const double start = wall_time_now();
  logger->log_hyperparams(nested_hparams());
  logger->log_metrics({{"train/loss", 0.5}, {"epoch", 0}}, 10);
  logger->log_metrics({{"val/accuracy", 0.75}}, 10);
  logger->save();
  logger->log_metrics({{"test/accuracy", 0.7}}, 20);
  logger->finalize(RunStatus::success);

  // hparams.yaml holds the nested hyperparameters.
  std::ifstream yaml(logger->log_dir() / "hparams.yaml");
  const std::string yaml_text((std::istreambuf_iterator<char>(yaml)), std::istreambuf_iterator<char>());
  EXPECT_EQ(yaml_text, to_yaml(nested_hparams()));

  const auto events = read_events(event_file(logger->log_dir()));
  const auto all = scalars(events);
  EXPECT_EQ(all.front(), (Scalar{"hp_metric", 0, -1.0f}));

  // Flattened with "/"; null dropped; arrays as their JSON text.
  const std::map<std::string, std::string> strings{
      {"task", "ImageClassifier"}, {"model/backbone", "resnet18"}, {"model/layers", "[1,2]"}};
  const std::map<std::string, double> numbers{
      {"model/lr", 0.01}, {"model/head/dropout", 0.5}, {"data/batch_size", 32}, {"trainer/max_epochs", 3}};
  const std::map<std::string, bool> bools{{"model/pretrained", true}};

  const auto starts = values_tagged(events, kSessionStartTag);
  ASSERT_EQ(starts.size(), 1u);
  const Message start_data = hparams_data(starts[0].second);
  EXPECT_EQ(start_data.numbers(), (std::set<int>{3}));
  const Message session_start = start_data.message(3);
  EXPECT_GE(session_start.float64(5), start - 1);
  std::set<std::string> seen;
  for (const auto& entry : session_start.messages(1)) {
    const std::string key = entry.string(1);
    const Message value = entry.message(2);
    EXPECT_EQ(value.numbers().size(), 1u) << key;
    seen.insert(key);
    if (strings.count(key)) {
      EXPECT_EQ(value.string(3), strings.at(key)) << key;
    } else if (numbers.count(key)) {
      EXPECT_EQ(value.float64(2), numbers.at(key)) << key;
    } else if (bools.count(key)) {
      EXPECT_EQ(value.varint(4), bools.at(key) ? 1u : 0u) << key;
    } else {
      ADD_FAILURE() << "unexpected hparam " << key;
    }
  }
  EXPECT_EQ(seen.size(), strings.size() + numbers.size() + bools.size());

  // The experiment names every hparam with its type and the metrics logged before the first save.
  const auto experiments = values_tagged(events, kExperimentTag);
  ASSERT_EQ(experiments.size(), 1u);
  const Message experiment_data = hparams_data(experiments[0].second);
  EXPECT_EQ(experiment_data.numbers(), (std::set<int>{2}));
  const Message experiment = experiment_data.message(2);
  EXPECT_GE(experiment.float64(3), start - 1);
  std::map<std::string, std::uint64_t> types;
  for (const auto& info : experiment.messages(4)) types[info.string(1)] = info.varint(4);
  std::map<std::string, std::uint64_t> expected_types;
  for (const auto& [key, v] : strings) expected_types[key] = 1;   // STRING
  for (const auto& [key, v] : bools) expected_types[key] = 2;     // BOOL
  for (const auto& [key, v] : numbers) expected_types[key] = 3;   // FLOAT64
  EXPECT_EQ(types, expected_types);
  std::vector<std::string> metrics;
  for (const auto& info : experiment.messages(5)) metrics.push_back(info.message(1).string(2));
  EXPECT_EQ(metrics, (std::vector<std::string>{"epoch", "hp_metric", "train/loss", "val/accuracy"}));
  // Every metric the experiment names is a scalar in this run, so the HParams tab finds its values.
  for (const auto& metric : metrics) {
    EXPECT_TRUE(std::any_of(all.begin(), all.end(), [&](const Scalar& s) { return s.tag == metric; })) << metric;
  }

  const auto ends = values_tagged(events, kSessionEndTag);
  ASSERT_EQ(ends.size(), 1u);
  const Message end_data = hparams_data(ends[0].second);
  EXPECT_EQ(end_data.numbers(), (std::set<int>{4}));
  EXPECT_EQ(end_data.message(4).varint(1), 1u);  // STATUS_SUCCESS
  EXPECT_GE(end_data.message(4).float64(2), session_start.float64(5));

  // Session start, experiment (first save), session end (finalize), in that order in the file.
  EXPECT_LT(starts[0].first, experiments[0].first);
  EXPECT_LT(experiments[0].first, ends[0].first);
  EXPECT_EQ(ends[0].first, &events.back());
}

TEST_F(TensorBoardTest, SessionEndStatus) {
  for (const auto& [status, expected] : {std::pair{RunStatus::success, 1u}, std::pair{RunStatus::failed, 2u},
                                         std::pair{RunStatus::killed, 2u}}) {
    auto logger = make_here({{"name", std::string(to_string(status))}});
    logger->log_hyperparams({{"lr", 0.1}});
    logger->finalize(status);
    const auto events = read_events(event_file(logger->log_dir()));
    const auto ends = values_tagged(events, kSessionEndTag);
    ASSERT_EQ(ends.size(), 1u);
    EXPECT_EQ(hparams_data(ends[0].second).message(4).varint(1), expected) << to_string(status);
    // Finalized without a save: the experiment is written then, naming hp_metric.
    const auto experiments = values_tagged(events, kExperimentTag);
    ASSERT_EQ(experiments.size(), 1u);
    const auto metric_infos = hparams_data(experiments[0].second).message(2).messages(5);
    ASSERT_EQ(metric_infos.size(), 1u);
    EXPECT_EQ(metric_infos[0].message(1).string(2), "hp_metric");
  }
}

TEST_F(TensorBoardTest, PrefixAndNoDefaultHpMetric) {
  auto prefixed = make_here({{"name", "p"}, {"prefix", "fold1"}});
  prefixed->log_hyperparams({{"lr", 0.1}});
  prefixed->log_metrics({{"train/loss", 2}}, 1);
  prefixed->finalize(RunStatus::success);
  auto events = read_events(event_file(prefixed->log_dir()));
  EXPECT_EQ(scalars(events), (std::vector<Scalar>{{"fold1-hp_metric", 0, -1.0f}, {"fold1-train/loss", 1, 2.0f}}));
  const auto metric_infos = hparams_data(values_tagged(events, kExperimentTag).at(0).second).message(2).messages(5);
  ASSERT_EQ(metric_infos.size(), 2u);
  EXPECT_EQ(metric_infos[0].message(1).string(2), "fold1-hp_metric");

  auto plain = make_here({{"name", "q"}, {"default_hp_metric", false}});
  plain->log_hyperparams({{"lr", 0.1}});
  plain->finalize(RunStatus::success);
  events = read_events(event_file(plain->log_dir()));
  EXPECT_TRUE(scalars(events).empty());
  EXPECT_TRUE(hparams_data(values_tagged(events, kExperimentTag).at(0).second).message(2).messages(5).empty());
}

TEST_F(TensorBoardTest, SaveFlushesBeforeFinalize) {
  auto logger = make_here({{"max_queue", 1000}, {"flush_secs", 1000}, {"default_hp_metric", false}});
  logger->log_metrics({{"train/loss", 0.25}}, 3);
  const fs::path file = event_file(logger->log_dir());
  EXPECT_EQ(read_records(file).size(), 1u);  // only the file_version record, written at creation
  const auto size_before = fs::file_size(file);
  logger->save();
  EXPECT_GT(fs::file_size(file), size_before);
  EXPECT_EQ(scalars(read_events(file)), (std::vector<Scalar>{{"train/loss", 3, 0.25f}}));
  logger->finalize(RunStatus::success);
}

TEST_F(TensorBoardTest, MaxQueueWritesPendingRecords) {
  auto logger = make_here({{"max_queue", 3}, {"flush_secs", 1000}, {"default_hp_metric", false}});
  logger->log_metrics({{"a", 1}}, 1);
  logger->log_metrics({{"a", 2}}, 2);
  const fs::path file = event_file(logger->log_dir());
  EXPECT_EQ(read_records(file).size(), 1u);
  logger->log_metrics({{"a", 3}}, 3);
  EXPECT_EQ(read_records(file).size(), 4u);
}

TEST_F(TensorBoardTest, FlushSecsWritesPendingRecordsInTheBackground) {
  auto logger = make_here({{"max_queue", 1000}, {"flush_secs", 0.1}, {"default_hp_metric", false}});
  logger->log_metrics({{"a", 1}}, 1);
  const fs::path file = event_file(logger->log_dir());
  // Generous deadline: this checks that the flush happens, not how fast.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (read_records(file).size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(scalars(read_events(file)), (std::vector<Scalar>{{"a", 1, 1.0f}}));
}

TEST_F(TensorBoardTest, ACrashLosesOnlyTheUnflushedTail) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // The child writes under a folder named after its parent (this process), then dies without finalize.
  const fs::path crash_dir = dir().parent_path() / ("autotimm_tb_crash_" + std::to_string(::getpid()));
  EXPECT_EXIT(
      {
        const fs::path child_dir = dir().parent_path() / ("autotimm_tb_crash_" + std::to_string(::getppid()));
        auto logger = make({{"save_dir", child_dir.string()}, {"max_queue", 1000}, {"flush_secs", 1000}});
        logger->log_hyperparams({{"lr", 0.1}});
        logger->log_metrics({{"train/loss", 1.0}}, 1);
        logger->save();
        logger->log_metrics({{"train/loss", 0.5}}, 2);
        std::error_code ignored;
        fs::remove_all(dir(), ignored);  // the child's own SetUp folder; its TearDown never runs
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(0), "");
  const auto events = read_events(event_file(crash_dir / "logs" / "version_0"));  // every CRC checked
  EXPECT_EQ(events.front().file_version, "brain.Event:2");
  EXPECT_EQ(scalars(events), (std::vector<Scalar>{{"hp_metric", 0, -1.0f}, {"train/loss", 1, 1.0f}}));
  EXPECT_EQ(values_tagged(events, kSessionStartTag).size(), 1u);
  EXPECT_EQ(values_tagged(events, kExperimentTag).size(), 1u);
  EXPECT_TRUE(values_tagged(events, kSessionEndTag).empty());
  fs::remove_all(crash_dir);
}

TEST_F(TensorBoardTest, DestructionWithoutFinalizeKeepsEverything) {
  fs::path log_dir;
  {
    auto logger = make_here({{"max_queue", 1000}});
    logger->log_hyperparams({{"lr", 0.1}});
    logger->log_metrics({{"a", 1}}, 1);
    log_dir = logger->log_dir();
  }
  const auto events = read_events(event_file(log_dir));
  EXPECT_EQ(scalars(events), (std::vector<Scalar>{{"hp_metric", 0, -1.0f}, {"a", 1, 1.0f}}));
  EXPECT_EQ(values_tagged(events, kExperimentTag).size(), 1u);
  EXPECT_TRUE(values_tagged(events, kSessionEndTag).empty());  // no status claimed for a run nobody ended
}

TEST_F(TensorBoardTest, ThreadsLogConcurrently) {
  auto logger = make_here({{"max_queue", 7}, {"default_hp_metric", false}});
  constexpr int kThreads = 4, kSteps = 150;
  std::atomic<bool> done{false};
  std::thread saver([&] {
    while (!done) {
      logger->save();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int s = 0; s < kSteps; ++s) {
        logger->log_metrics({{"thread" + std::to_string(t), s * 0.5}}, s);
        if (s % 50 == 0) logger->log_text("t" + std::to_string(t), "step " + std::to_string(s), s);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  done = true;
  saver.join();
  logger->finalize(RunStatus::success);
  std::map<std::string, std::vector<std::int64_t>> steps;
  for (const auto& s : scalars(read_events(event_file(logger->log_dir())))) {
    EXPECT_EQ(s.value, static_cast<float>(s.step * 0.5)) << s.tag;
    steps[s.tag].push_back(s.step);
  }
  ASSERT_EQ(steps.size(), static_cast<std::size_t>(kThreads));
  std::vector<std::int64_t> expected(kSteps);
  std::iota(expected.begin(), expected.end(), 0);
  for (const auto& [tag, seen] : steps) EXPECT_EQ(seen, expected) << tag;  // each thread's order kept
}

TEST_F(TensorBoardTest, NothingAfterFinalize) {
  auto logger = make_here();
  logger->log_metrics({{"a", 1}}, 1);
  logger->finalize(RunStatus::success);
  EXPECT_NO_THROW(logger->finalize(RunStatus::failed));  // a second finalize does nothing
  EXPECT_NO_THROW(logger->save());
  EXPECT_THAT(error_text([&] { logger->log_metrics({{"a", 2}}, 2); }), HasSubstr("log_metrics after finalize"));
  EXPECT_THROW(logger->log_text("t", "x", 2), Error);
  EXPECT_EQ(scalars(read_events(event_file(logger->log_dir()))), (std::vector<Scalar>{{"a", 1, 1.0f}}));
}

TEST_F(TensorBoardTest, OptionErrors) {
  EXPECT_THAT(error_text([&] { make_here({{"flush_sec", 5}}); }),
              ::testing::AllOf(HasSubstr("unknown option 'flush_sec'"), HasSubstr("flush_secs")));
  EXPECT_THAT(error_text([&] { make_here({{"log_graph", true}}); }), HasSubstr("unknown option 'log_graph'"));
  EXPECT_EQ(error_text([] { make({{"name", "x"}}); }),
            "option 'save_dir' in tensorboard options is required: expected string; add it");
  EXPECT_EQ(error_text([&] { make_here({{"max_queue", 0}}); }), "tensorboard logger: 'max_queue' must be >= 1, got 0");
  EXPECT_EQ(error_text([&] { make_here({{"flush_secs", 0}}); }),
            "tensorboard logger: 'flush_secs' must be a positive number of seconds, got 0.000000");
  EXPECT_EQ(error_text([&] { make_here({{"version", -1}}); }),
            "option 'version' in tensorboard options: expected a non-negative integer or a string, got -1");
  EXPECT_EQ(error_text([&] { make_here({{"version", true}}); }),
            "option 'version' in tensorboard options: expected a non-negative integer or a string, got true");
  EXPECT_EQ(error_text([&] { make_here({{"version", ""}}); }),
            "tensorboard logger: 'version' is an empty string; give a folder name or a number, or leave it unset");
  EXPECT_THROW(make_here({{"max_queue", "ten"}}), ConfigError);
  EXPECT_TRUE(fs::is_empty(dir()));  // no folder or file is made before the options are known to be good
}

}  // namespace
}  // namespace autotimm::tensorboard
