// ImageDataset and the folder / CSV / multi-label CSV readers. IDX lives in idx_reader.cpp.
#include "autotimm/data/dataset.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "autotimm/data/decode.hpp"
#include "autotimm/error.hpp"
#include "autotimm/names.hpp"
#include "csv.hpp"

namespace autotimm {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool is_image_file(const fs::path& path) {
  const auto& known = image_extensions();
  return std::find(known.begin(), known.end(), lower(path.extension().string())) != known.end();
}

bool is_hidden(const fs::path& path) { return path.filename().string().starts_with("."); }

std::map<std::string, std::int64_t> index_of(const std::vector<std::string>& names) {
  std::map<std::string, std::int64_t> index;
  for (std::size_t i = 0; i < names.size(); ++i) index.emplace(names[i], static_cast<std::int64_t>(i));
  return index;
}

bool is_integer(const std::string& text) {
  return !text.empty() && text.size() < 10 && std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

fs::path resolved(const fs::path& root, const std::string& relative) {
  const fs::path path(relative);
  return path.is_absolute() ? path : root / path;
}

}  // namespace

const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> extensions = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"};
  return extensions;
}

Image ImageDataset::load(std::size_t index) const {
  const DatasetItem& item = items.at(index);
  if (item.memory_index >= 0) {
    if (!memory_images || item.memory_index >= static_cast<std::int64_t>(memory_images->size())) {
      throw FormatError(describe(index) + ": in-memory image " + std::to_string(item.memory_index) + " is missing");
    }
    return to_rgb((*memory_images)[static_cast<std::size_t>(item.memory_index)]);
  }
  return decode_image(item.path);
}

std::string ImageDataset::describe(std::size_t index) const {
  const DatasetItem& item = items.at(index);
  if (!item.path.empty()) return item.path.string();
  return source + "[" + std::to_string(index) + "]";
}

std::vector<std::int64_t> ImageDataset::class_counts() const {
  std::vector<std::int64_t> counts(class_names.size(), 0);
  for (const auto& item : items) {
    if (item.label >= 0 && item.label < static_cast<std::int64_t>(counts.size())) ++counts[item.label];
  }
  return counts;
}

ImageDataset ImageDataset::subset(const std::vector<std::size_t>& indices) const {
  ImageDataset out;
  out.class_names = class_names;
  out.multi_label = multi_label;
  out.detection = detection;
  out.segmentation = segmentation;
  out.instance_masks = instance_masks;
  out.ignore_index = ignore_index;
  out.source = source;
  out.memory_images = memory_images;
  out.items.reserve(indices.size());
  for (const auto i : indices) out.items.push_back(items.at(i));
  return out;
}

ImageDataset read_image_folder(const fs::path& root, const std::vector<std::string>& class_names) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    throw NotFoundError("image folder '" + root.string() + "' does not exist or is not a folder; expected " +
                        "<root>/<class name>/<images>");
  }
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (entry.is_directory(ec) && !is_hidden(entry.path())) found.push_back(entry.path().filename().string());
  }
  std::sort(found.begin(), found.end());
  if (found.empty()) {
    throw ConfigError("image folder '" + root.string() + "' has no class folders; expected " +
                      "<root>/<class name>/<images>, one folder per class");
  }
  ImageDataset dataset;
  dataset.source = root.string();
  dataset.class_names = class_names.empty() ? found : class_names;
  const auto index = index_of(dataset.class_names);
  for (const auto& name : found) {
    const auto label = index.find(name);
    if (label == index.end()) {
      const auto hint = did_you_mean(name, dataset.class_names);
      throw ConfigError("class folder '" + (root / name).string() + "' is not one of the training classes" +
                        (hint ? " (did you mean '" + *hint + "'?)" : std::string()) + ": " +
                        join_names(dataset.class_names));
    }
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(root / name, fs::directory_options::follow_directory_symlink, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (is_hidden(it->path())) {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ec) && is_image_file(it->path())) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    for (auto& file : files) dataset.items.push_back(DatasetItem{.path = std::move(file), .label = label->second});
  }
  if (dataset.items.empty()) {
    throw ConfigError("image folder '" + root.string() + "' has class folders but no images (" +
                      join_names(image_extensions()) + ")");
  }
  return dataset;
}

ImageDataset read_image_csv(const fs::path& csv, const fs::path& image_root, const std::vector<std::string>& class_names) {
  const auto table = data::read_csv(csv);
  const int image_column = data::column_index(table, "image");
  const int label_column = data::column_index(table, "label");
  if (image_column < 0 || label_column < 0) {
    throw ConfigError("CSV '" + csv.string() + "' needs 'image' and 'label' columns; its header is: " +
                      join_names(table.header));
  }
  if (table.rows.empty()) throw ConfigError("CSV '" + csv.string() + "' has a header but no rows");
  const fs::path root = image_root.empty() ? csv.parent_path() : image_root;

  ImageDataset dataset;
  dataset.source = csv.string();
  const bool numeric = class_names.empty() && std::all_of(table.rows.begin(), table.rows.end(), [&](const auto& row) {
                         return is_integer(row[label_column]);
                       });
  if (!class_names.empty()) {
    dataset.class_names = class_names;
  } else if (numeric) {
    std::int64_t highest = 0;
    for (const auto& row : table.rows) highest = std::max<std::int64_t>(highest, std::stoll(row[label_column]));
    for (std::int64_t i = 0; i <= highest; ++i) dataset.class_names.push_back(std::to_string(i));
  } else {
    std::set<std::string> names;
    for (const auto& row : table.rows) names.insert(row[label_column]);
    dataset.class_names.assign(names.begin(), names.end());
  }
  const auto index = index_of(dataset.class_names);
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    const std::string where = "CSV '" + csv.string() + "' line " + std::to_string(table.line_numbers[r]);
    if (row[image_column].empty()) throw FormatError(where + ": the image path is empty");
    std::int64_t label = -1;
    if (numeric) {
      label = std::stoll(row[label_column]);
    } else if (const auto found = index.find(row[label_column]); found != index.end()) {
      label = found->second;
    } else {
      throw ConfigError(where + ": label '" + row[label_column] + "' is not one of the classes: " +
                        join_names(dataset.class_names));
    }
    dataset.items.push_back(DatasetItem{.path = resolved(root, row[image_column]), .label = label});
  }
  return dataset;
}

ImageDataset read_multi_label_csv(const fs::path& csv, const fs::path& image_root) {
  const auto table = data::read_csv(csv);
  const int image_column = data::column_index(table, "image");
  if (image_column < 0) {
    throw ConfigError("multi-label CSV '" + csv.string() + "' needs an 'image' column; its header is: " +
                      join_names(table.header));
  }
  if (table.header.size() < 2) {
    throw ConfigError("multi-label CSV '" + csv.string() + "' needs one 0/1 column per label after 'image'");
  }
  if (table.rows.empty()) throw ConfigError("CSV '" + csv.string() + "' has a header but no rows");
  const fs::path root = image_root.empty() ? csv.parent_path() : image_root;
  ImageDataset dataset;
  dataset.source = csv.string();
  dataset.multi_label = true;
  for (std::size_t c = 0; c < table.header.size(); ++c) {
    if (static_cast<int>(c) != image_column) dataset.class_names.push_back(table.header[c]);
  }
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    DatasetItem item{.path = resolved(root, row[image_column])};
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (static_cast<int>(c) == image_column) continue;
      if (row[c] != "0" && row[c] != "1") {
        throw FormatError("multi-label CSV '" + csv.string() + "' line " + std::to_string(table.line_numbers[r]) +
                          ", column '" + table.header[c] + "': expected 0 or 1, got '" + row[c] + "'");
      }
      item.labels.push_back(row[c] == "1" ? 1.0f : 0.0f);
    }
    dataset.items.push_back(std::move(item));
  }
  return dataset;
}

}  // namespace autotimm
