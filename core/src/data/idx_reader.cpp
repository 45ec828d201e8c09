// MNIST's IDX format: a big-endian header (magic 0x0000 08 <dims>, then one uint32 per dimension) and uint8 data,
// usually gzip-compressed. Every size is checked against the header before it is trusted.
#include <zlib.h>

#include <array>
#include <memory>

#include "autotimm/data/dataset.hpp"
#include "autotimm/error.hpp"

namespace autotimm {

namespace fs = std::filesystem;

namespace {

/// An open IDX file, plain or gzip (zlib reads both).
struct GzFile {
  explicit GzFile(const fs::path& path) {
    if (!fs::is_regular_file(path)) throw NotFoundError("IDX file '" + path.string() + "' does not exist");
    file = gzopen(path.c_str(), "rb");
    if (file == nullptr) throw IoError("cannot open IDX file '" + path.string() + "'");
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;
  ~GzFile() { gzclose(file); }
  gzFile file = nullptr;
};

/// Reads exactly `size` bytes (gzread reads plain files too); FormatError when the file ends early.
void read_exactly(gzFile file, const fs::path& path, void* out, std::size_t size, const char* what) {
  auto* bytes = static_cast<unsigned char*>(out);
  while (size > 0) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(size, 1u << 30));
    const int got = gzread(file, bytes, chunk);
    if (got <= 0) {
      throw FormatError("IDX file '" + path.string() + "' ends inside its " + what +
                        "; the download may be truncated");
    }
    bytes += got;
    size -= static_cast<std::size_t>(got);
  }
}

std::vector<std::uint32_t> read_header(gzFile file, const fs::path& path, unsigned expected_dims) {
  std::array<unsigned char, 4> magic{};
  read_exactly(file, path, magic.data(), 4, "header");
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] != expected_dims) {
    throw FormatError("'" + path.string() + "' is not an IDX file of unsigned bytes with " +
                      std::to_string(expected_dims) + " dimension(s) (magic 0x0000080" +
                      std::to_string(expected_dims) + "); is it the right file?");
  }
  std::vector<std::uint32_t> dims(expected_dims);
  for (auto& dim : dims) {
    std::array<unsigned char, 4> be{};
    read_exactly(file, path, be.data(), 4, "header");
    dim = (std::uint32_t{be[0]} << 24) | (std::uint32_t{be[1]} << 16) | (std::uint32_t{be[2]} << 8) | be[3];
  }
  return dims;
}

void expect_end(gzFile file, const fs::path& path) {
  unsigned char extra = 0;
  if (gzread(file, &extra, 1) > 0) {
    throw FormatError("IDX file '" + path.string() + "' has bytes past what its header declares");
  }
}

}  // namespace

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

ImageDataset read_idx(const fs::path& images, const fs::path& labels, const std::vector<std::string>& class_names) {
  const GzFile image_file(images);
  const auto dims = read_header(image_file.file, images, 3);
  const std::uint32_t count = dims[0], rows = dims[1], cols = dims[2];
  if (rows == 0 || cols == 0 || rows > 4096 || cols > 4096 || count > (1u << 26)) {
    throw FormatError("IDX file '" + images.string() + "' declares " + std::to_string(count) + " images of " +
                      std::to_string(rows) + "x" + std::to_string(cols) + ", outside the supported sizes");
  }
  const GzFile label_file(labels);
  const auto label_dims = read_header(label_file.file, labels, 1);
  if (label_dims[0] != count) {
    throw FormatError("IDX files disagree: '" + images.string() + "' has " + std::to_string(count) + " images, '" +
                      labels.string() + "' has " + std::to_string(label_dims[0]) + " labels");
  }
  std::vector<std::uint8_t> label_bytes(count);
  read_exactly(label_file.file, labels, label_bytes.data(), count, "labels");
  expect_end(label_file.file, labels);

  ImageDataset dataset;
  dataset.source = images.string();
  dataset.class_names = class_names;
  if (dataset.class_names.empty()) {
    for (int i = 0; i < 10; ++i) dataset.class_names.push_back(std::to_string(i));
  }
  auto pixels = std::make_shared<std::vector<Image>>();
  pixels->reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    Image image(static_cast<int>(cols), static_cast<int>(rows), 1);
    read_exactly(image_file.file, images, image.pixels.data(), image.pixels.size(), "pixels");
    if (label_bytes[i] >= dataset.class_names.size()) {
      throw FormatError("IDX file '" + labels.string() + "' label " + std::to_string(i) + " is " +
                        std::to_string(label_bytes[i]) + ", but there are only " +
                        std::to_string(dataset.class_names.size()) + " classes");
    }
    pixels->push_back(std::move(image));
    dataset.items.push_back(DatasetItem{.memory_index = static_cast<std::int64_t>(i), .label = label_bytes[i]});
  }
  expect_end(image_file.file, images);
  dataset.memory_images = std::move(pixels);
  return dataset;
}

}  // namespace autotimm
