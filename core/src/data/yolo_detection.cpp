// The Ultralytics YOLO layout → detection records: images listed and sorted, each label file read (bounded) and
// checked line by line, boxes denormalised with the size from the image's header. Class names come from the
// options, classes.txt, or the `names:` of data.yaml through a minimal reader of the forms Ultralytics writes.
#include "autotimm/data/yolo_detection.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string_view>

#include <spdlog/spdlog.h>

#include "autotimm/data/dataset.hpp"
#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "image_dimensions.hpp"

namespace autotimm {

namespace {

namespace fs = std::filesystem;

constexpr double kRangeSlack = 1e-6;  // normalised values this far outside [0, 1] are rounding, not mistakes
constexpr std::array<const char*, 4> kBoxFields = {"cx", "cy", "w", "h"};

std::string trimmed(std::string_view text) {
  const auto begin = text.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  return std::string(text.substr(begin, text.find_last_not_of(" \t\r") - begin + 1));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (line.ends_with('\r')) line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  if (!lines.empty() && lines.back().empty()) lines.pop_back();  // the final newline ends a line, starts none
  return lines;
}

/// The text of `path` (`what` names it in messages), refused when over options.max_file_bytes.
std::string read_bounded(const fs::path& path, const std::string& what, const YoloDetectionOptions& options) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  if (error) throw IoError("cannot read " + what + " '" + path.string() + "': " + error.message());
  if (size > options.max_file_bytes) {
    throw FormatError(what + " '" + path.string() + "' is " + std::to_string(size) + " bytes, over the limit of " +
                      std::to_string(options.max_file_bytes) +
                      "; raise YoloDetectionOptions::max_file_bytes if the file is right");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open " + what + " '" + path.string() + "'");
  std::string text(std::istreambuf_iterator<char>(in), {});
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);
  return text;
}

std::optional<double> finite_number(const std::string& text) {
  double value = 0.0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || stop != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::vector<std::string> read_classes_txt(const fs::path& file, const YoloDetectionOptions& options) {
  const std::string what = "YOLO classes file";
  std::vector<std::string> names;
  for (const auto& line : lines_of(read_bounded(file, what, options))) names.push_back(trimmed(line));
  while (!names.empty() && names.back().empty()) names.pop_back();
  if (names.empty()) {
    throw FormatError(what + " '" + file.string() + "' names no classes; write one class name per line");
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    // A skipped line would shift every later class to another index.
    if (names[i].empty()) {
      throw FormatError(what + " '" + file.string() + "' line " + std::to_string(i + 1) +
                        " is empty; line 1 names class 0, line 2 class 1, and so on, so every line up to the last "
                        "needs a name");
    }
  }
  return names;
}

/// `names:` of an Ultralytics data.yaml. Not a YAML parser: it knows the top-level key `names` holding a flow list
/// (`[a, 'b c']`, over several lines too) or flow map (`{0: a}`), or a block of `- a` or `0: a` lines, with plain,
/// 'single' or "double" quoted names and # comments.
class YamlNamesReader {
 public:
  YamlNamesReader(fs::path file, std::vector<std::string> lines) : file_(std::move(file)), lines_(std::move(lines)) {}

  /// The names, or nothing when there is no top-level `names:` key.
  std::optional<std::vector<std::string>> read() {
    for (std::size_t i = 0; i < lines_.size(); ++i) {
      const auto line = without_comment(lines_[i]);
      if (!line.starts_with("names")) continue;
      const auto rest = trimmed(std::string_view(line).substr(5));
      if (!rest.starts_with(':')) continue;
      const auto value = trimmed(std::string_view(rest).substr(1));
      if (value.starts_with('[') || value.starts_with('{')) return flow(value, i);
      if (value.empty()) return block(i);
      fail(i, "'names:' holds '" + value + "'");
    }
    return std::nullopt;
  }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& what) const {
    throw FormatError("YOLO data.yaml '" + file_.string() + "' line " + std::to_string(line + 1) + ": " + what +
                      "; expected names: [a, b], or a block of '  0: a' or '- a' lines (pass "
                      "YoloDetectionOptions::class_names to give them directly)");
  }

  /// Whether text[i] starts an escape inside `quote`: \x in double quotes, '' in single quotes. Either way text[i]
  /// and text[i + 1] are one character of the name, and neither closes it.
  static bool escaped_in_quotes(const std::string& text, std::size_t i, char quote) {
    if (i + 1 >= text.size()) return false;
    return (quote == '"' && text[i] == '\\') || (quote == '\'' && text[i] == '\'' && text[i + 1] == '\'');
  }

  /// `text` up to a # comment (one at the start or after a space, outside quotes), trailing spaces removed.
  static std::string without_comment(const std::string& text) {
    char quote = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if (quote != 0) {
        if (escaped_in_quotes(text, i, quote)) ++i;
        else if (c == quote) quote = 0;
      } else if (c == '\'' || c == '"') {
        if (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '[' || text[i - 1] == '{' ||
            text[i - 1] == ',' || text[i - 1] == ':' || text[i - 1] == '-') {
          quote = c;  // a quote opens a scalar only at its start; "it's" is plain text
        }
      } else if (c == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t')) {
        return trimmed_right(text.substr(0, i));
      }
    }
    return trimmed_right(text);
  }

  static std::string trimmed_right(std::string text) {
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.pop_back();
    return text;
  }

  /// A plain, 'single' ('' is a quote) or "double" (\" and \\ escapes) quoted scalar.
  std::string scalar(const std::string& raw, std::size_t line) const {
    const auto text = trimmed(raw);
    if (text.empty()) fail(line, "a class name is empty");
    const char quote = text.front();
    if (quote != '\'' && quote != '"') return text;
    std::string value;
    std::size_t i = 1;
    for (; i < text.size(); ++i) {
      const char c = text[i];
      if (quote == '\'' && c == '\'') {
        if (i + 1 < text.size() && text[i + 1] == '\'') {
          value += '\'';
          ++i;
          continue;
        }
        break;
      }
      if (quote == '"' && c == '\\' && i + 1 < text.size()) {
        value += text[++i];
        continue;
      }
      if (quote == '"' && c == '"') break;
      value += c;
    }
    if (i >= text.size()) fail(line, "the quoted name " + text + " is never closed");
    if (i + 1 != text.size()) fail(line, "unexpected text after the quoted name " + text);
    return value;
  }

  /// `0: name` → (0, name); nothing when the text has no `key:` part.
  std::optional<std::pair<std::string, std::string>> key_value(const std::string& text) const {
    if (text.starts_with('\'') || text.starts_with('"')) return std::nullopt;
    const auto colon = text.find(':');
    if (colon == std::string::npos) return std::nullopt;
    return std::pair{trimmed(std::string_view(text).substr(0, colon)), text.substr(colon + 1)};
  }

  std::int64_t index(const std::string& key, std::size_t line) const {
    std::int64_t value = -1;
    const char* end = key.data() + key.size();
    const auto [stop, error] = std::from_chars(key.data(), end, value);
    if (key.empty() || error != std::errc() || stop != end || value < 0) {
      fail(line, "'" + key + "' is not a class index");
    }
    return value;
  }

  /// Names from entries that are all `index: name` (a map) or all plain names (a list).
  std::vector<std::string> names_of(const std::vector<std::pair<std::string, std::size_t>>& entries,
                                    bool map, std::size_t names_line) const {
    std::vector<std::string> names;
    if (!map) {
      for (const auto& [text, line] : entries) names.push_back(scalar(text, line));
    } else {
      std::map<std::int64_t, std::string> by_index;
      for (const auto& [text, line] : entries) {
        const auto pair = key_value(text);
        if (!pair) fail(line, "'" + trimmed(text) + "' is not 'index: name'");
        const auto i = index(pair->first, line);
        if (!by_index.emplace(i, scalar(pair->second, line)).second) {
          fail(line, "class index " + std::to_string(i) + " is given twice");
        }
      }
      std::int64_t expected = 0;
      for (auto& [i, name] : by_index) {
        if (i != expected) fail(names_line, "class index " + std::to_string(expected) + " has no name");
        names.push_back(std::move(name));
        ++expected;
      }
    }
    if (names.empty()) fail(names_line, "'names:' is empty");
    return names;
  }

  std::vector<std::string> flow(const std::string& first, std::size_t line) const {
    const char open = first.front(), close = open == '[' ? ']' : '}';
    std::vector<std::pair<std::string, std::size_t>> entries;
    std::string entry;
    std::size_t at = line;
    std::string text = first.substr(1);
    char quote = 0;
    for (;;) {
      for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quote != 0) {
          entry += c;
          if (escaped_in_quotes(text, i, quote)) entry += text[++i];
          else if (c == quote) quote = 0;
        } else if (c == '\'' || c == '"') {
          const auto before = trimmed(entry);
          if (before.empty() || before.back() == ':') quote = c;  // a name's opening quote, not an apostrophe
          entry += c;
        } else if (c == ',' || c == close) {
          if (!trimmed(entry).empty()) entries.emplace_back(entry, at);
          entry.clear();
          if (c == close) {
            if (!trimmed(std::string_view(text).substr(i + 1)).empty()) {
              fail(at, "unexpected text after '" + std::string(1, close) + "'");
            }
            return names_of(entries, open == '{', line);
          }
        } else if (c == '[' || c == '{' || c == ']' || c == '}') {
          fail(at, "nested '" + std::string(1, c) + "' in the names");
        } else {
          entry += c;
        }
      }
      if (quote != 0) fail(at, "a quoted name runs past the end of the line");
      entry += ' ';  // a line break inside a flow collection is a space
      if (++at >= lines_.size()) fail(line, "the '" + std::string(1, open) + "' is never closed");
      text = without_comment(lines_[at]);
    }
  }

  std::vector<std::string> block(std::size_t line) const {
    std::vector<std::pair<std::string, std::size_t>> entries;
    std::optional<bool> map;
    for (std::size_t i = line + 1; i < lines_.size(); ++i) {
      const auto text = without_comment(lines_[i]);
      const auto content = trimmed(text);
      if (content.empty()) continue;
      const bool indented = text.front() == ' ' || text.front() == '\t';
      const bool item = content == "-" || content.starts_with("- ");
      if (!indented && !item) break;  // the next top-level key
      if (map.has_value() && *map == item) fail(i, "'- name' and 'index: name' lines are mixed");
      map = !item;
      entries.emplace_back(item ? content.substr(1) : content, i);
    }
    if (!map) fail(line, "'names:' is empty");
    return names_of(entries, *map, line);
  }

  fs::path file_;
  std::vector<std::string> lines_;
};

std::vector<std::string> class_names_of(const fs::path& root, const YoloDetectionOptions& options) {
  if (!options.class_names.empty()) return options.class_names;
  std::error_code error;
  const auto classes_txt = root / "classes.txt";
  if (fs::is_regular_file(classes_txt, error)) return read_classes_txt(classes_txt, options);
  const auto data_yaml = root / "data.yaml";
  std::string found;
  if (fs::is_regular_file(data_yaml, error)) {
    YamlNamesReader reader(data_yaml, lines_of(read_bounded(data_yaml, "YOLO data.yaml", options)));
    if (auto names = reader.read()) return std::move(*names);
    found = " ('" + data_yaml.string() + "' has no top-level 'names:')";
  }
  throw ConfigError("YOLO dataset '" + root.string() + "' has no class names" + found + ": write them to '" +
                    classes_txt.string() + "' (one per line, the first is class 0) or under 'names:' in '" +
                    data_yaml.string() + "', or pass YoloDetectionOptions::class_names");
}

bool is_listed_image(const fs::path& path) {
  auto extension = path.extension().string();
  for (auto& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto& known = image_extensions();
  return std::find(known.begin(), known.end(), extension) != known.end();
}

/// Image files under `folder` (sub-folders included, hidden entries skipped), sorted by path text as Ultralytics
/// sorts them.
std::vector<fs::path> list_images(const fs::path& folder) {
  std::vector<fs::path> images;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(folder, fs::directory_options::follow_directory_symlink, error);
       it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (error) throw IoError("cannot list YOLO images folder '" + folder.string() + "': " + error.message());
    if (it->path().filename().string().starts_with(".")) {
      if (it->is_directory(error)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(error) && is_listed_image(it->path())) images.push_back(it->path());
  }
  if (error) throw IoError("cannot list YOLO images folder '" + folder.string() + "': " + error.message());
  std::sort(images.begin(), images.end(),
            [](const fs::path& a, const fs::path& b) { return a.generic_string() < b.generic_string(); });
  return images;
}

class LabelFileReader {
 public:
  LabelFileReader(const fs::path& file, std::int64_t num_classes) : file_(file), num_classes_(num_classes) {}

  /// The boxes of `text` for an image of `record`'s size, appended to it; dropped boxes counted in `data`.
  void read(const std::string& text, DetectionRecord& record, DetectionDataset& data, std::int64_t& box_count,
            const YoloDetectionOptions& options) const {
    const auto lines = lines_of(text);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::string where = "YOLO labels '" + file_.string() + "' line " + std::to_string(i + 1);
      const auto fields = split(lines[i]);
      if (fields.empty()) continue;
      if (fields.size() != 5) {
        throw FormatError(where + ": expected 5 fields 'class cx cy w h', got " + std::to_string(fields.size()) +
                          (fields.size() > 5 ? " (polygon labels of segmentation datasets are not read as boxes)"
                                             : ""));
      }
      const auto label = class_index(fields[0], where);
      std::array<double, 4> value{};  // cx, cy, w, h
      for (std::size_t k = 0; k < 4; ++k) {
        const auto& text_value = fields[k + 1];
        const auto number = finite_number(text_value);
        const std::string field = where + ", field '" + kBoxFields[k] + "'";
        if (!number) throw FormatError(field + ": expected a finite number, got '" + text_value + "'");
        if (*number < -kRangeSlack || *number > 1 + kRangeSlack) {
          throw FormatError(field + ": " + text_value +
                            " is outside [0, 1]; YOLO boxes are normalised by the image's width and height");
        }
        value[k] = *number;
      }
      const double width = record.width, height = record.height;
      const auto clip = [](double v, double size) { return std::clamp(v, 0.0, size); };
      const std::array<double, 4> box = {
          clip(width * (value[0] - value[2] / 2), width), clip(height * (value[1] - value[3] / 2), height),
          clip(width * (value[0] + value[2] / 2), width), clip(height * (value[1] + value[3] / 2), height)};
      const std::int64_t id = ++box_count;
      const double box_width = box[2] - box[0], box_height = box[3] - box[1];
      if (box_width <= 0 || box_height <= 0) {
        ++data.dropped_degenerate;
        continue;
      }
      if (box_width * box_height < options.min_bbox_area) {
        ++data.dropped_small;
        continue;
      }
      record.annotations.push_back(DetectionAnnotation{
          .box = box, .label = label, .category_id = label, .area = box_width * box_height, .id = id});
    }
  }

 private:
  static std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> fields;
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
      const auto start = i;
      while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
      if (i > start) fields.push_back(line.substr(start, i - start));
    }
    return fields;
  }

  /// A class index: a whole number (written `2` or `2.0`) in 0 … num_classes-1.
  std::int64_t class_index(const std::string& text, const std::string& where) const {
    const auto number = finite_number(text);
    if (!number || *number != std::floor(*number)) {
      throw FormatError(where + ", field 'class': expected a class index (a whole number), got '" + text + "'");
    }
    if (*number < 0 || *number >= static_cast<double>(num_classes_)) {
      throw FormatError(where + ", field 'class': class " + text + " is out of range: the dataset has " +
                        std::to_string(num_classes_) + " classes (0 to " + std::to_string(num_classes_ - 1) + ")");
    }
    return static_cast<std::int64_t>(*number);
  }

  fs::path file_;
  std::int64_t num_classes_ = 0;
};

}  // namespace

DetectionDataset read_yolo_detection(const fs::path& root, const std::string& split,
                                     const YoloDetectionOptions& options) {
  const fs::path images_dir = root / "images" / split;
  const fs::path labels_dir = root / "labels" / split;
  std::error_code error;
  if (!fs::is_directory(images_dir, error)) {
    throw NotFoundError("YOLO images folder '" + images_dir.string() +
                        "' does not exist or is not a folder; expected the Ultralytics layout " +
                        "<root>/images/<split>/<images> with labels in <root>/labels/<split>/<image name>.txt");
  }
  DetectionDataset data;
  data.class_names = class_names_of(root, options);
  for (std::size_t i = 0; i < data.class_names.size(); ++i) data.category_ids.push_back(static_cast<std::int64_t>(i));

  const auto images = list_images(images_dir);
  if (images.empty()) {
    throw ConfigError("YOLO images folder '" + images_dir.string() + "' has no images (" +
                      join_names(image_extensions()) + ")");
  }
  if (!fs::is_directory(labels_dir, error)) {
    spdlog::warn("YOLO labels folder '{}' does not exist: the {} images of '{}' are read as having no objects",
                 labels_dir.string(), images.size(), images_dir.string());
  }
  const auto num_classes = static_cast<std::int64_t>(data.class_names.size());
  std::int64_t box_count = 0;
  for (const auto& image : images) {
    const auto size = data::read_image_dimensions(image);
    DetectionRecord record{.image = image,
                           .image_id = static_cast<std::int64_t>(data.records.size()),
                           .width = size.width,
                           .height = size.height,
                           .annotations = {}};
    auto label_file = labels_dir / image.lexically_relative(images_dir);
    label_file.replace_extension(".txt");
    if (fs::exists(label_file, error)) {
      const auto text = read_bounded(label_file, "YOLO labels", options);
      LabelFileReader(label_file, num_classes).read(text, record, data, box_count, options);
    }
    data.records.push_back(std::move(record));
  }
  return data;
}

}  // namespace autotimm
