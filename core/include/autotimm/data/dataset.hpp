#pragma once
// Labelled image collections, read from the layouts users have:
//
//   auto train = autotimm::read_image_folder("data/train");              // one folder per class
//   auto val = autotimm::read_image_csv("data/val.csv");                 // image,label (paths relative to the CSV)
//   auto fashion = autotimm::read_idx("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz");
//   auto tags = autotimm::read_multi_label_csv("data/tags.csv");          // image,cat,dog,... with 0/1 columns
//
// Files are listed, not decoded: decoding happens in the loader's workers.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "autotimm/data/image.hpp"
#include "autotimm/data/instance_masks.hpp"
#include "autotimm/data/sample_objects.hpp"
#include "autotimm/data/segmentation_mask.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

struct DatasetItem {
  std::filesystem::path path = {};  ///< the file to decode; empty when the pixels are in memory
  std::int64_t memory_index = -1;   ///< index into the dataset's in-memory images (IDX)
  std::int64_t label = -1;          ///< single-label class index
  std::vector<float> labels = {};   ///< multi-label 0/1 targets, one per class
  std::vector<SampleObject> objects = {};  ///< detection: the image's boxes in its own pixels
  std::int64_t image_id = -1;              ///< detection: the annotation file's image id
  std::optional<SegmentationMask> mask = {};  ///< segmentation: the image's label file
  /// Instance segmentation: each object's mask source, parallel to `objects`; decoded at width × height.
  std::vector<InstanceMaskSource> instance_masks = {};
  int width = 0;   ///< the image's size as the annotations give it (instance masks are decoded at it)
  int height = 0;
};

class AUTOTIMM_API ImageDataset {
 public:
  std::vector<DatasetItem> items = {};
  std::vector<std::string> class_names = {};
  bool multi_label = false;
  bool detection = false;     ///< items carry objects (boxes) instead of labels
  bool segmentation = false;  ///< items carry label maps (masks) instead of labels
  bool instance_masks = false;  ///< detection items also carry one mask per object
  std::uint8_t ignore_index = 255;  ///< segmentation: the mask value of unlabelled pixels (and of padding)
  std::string source = {};  ///< where it was read from, for messages
  /// Pixels of in-memory datasets (IDX), shared by copies of the dataset.
  std::shared_ptr<const std::vector<Image>> memory_images = {};

  std::size_t size() const noexcept { return items.size(); }
  std::int64_t num_classes() const noexcept { return static_cast<std::int64_t>(class_names.size()); }
  /// Decoded RGB pixels of item `index`; FormatError / IoError naming the file when it cannot be decoded.
  Image load(std::size_t index) const;
  /// What item `index` is, for messages: its path, or "<source>[index]".
  std::string describe(std::size_t index) const;
  /// Items per class (single-label).
  std::vector<std::int64_t> class_counts() const;
  /// The items at `indices`, same classes and memory.
  ImageDataset subset(const std::vector<std::size_t>& indices) const;
};

/// Image file extensions the readers list (lower case, with the dot).
AUTOTIMM_API const std::vector<std::string>& image_extensions();

/// `root/<class>/**/<image>`: classes are the sub-folders in sorted order (or `class_names`, when given, so val and
/// test use train's indices). Hidden files and other extensions are ignored. NotFoundError when the folder is
/// missing; ConfigError when it has no class folders or no images, or a folder is not among `class_names`.
AUTOTIMM_API ImageDataset read_image_folder(const std::filesystem::path& root,
                                            const std::vector<std::string>& class_names = {});

/// A CSV with a header naming an `image` column and a `label` column (any order, other columns ignored). Labels
/// are class names (mapped in sorted order, or through `class_names`) or, when every label is an integer and no
/// names are given, class indices. Image paths are relative to `image_root` (default: the CSV's folder).
AUTOTIMM_API ImageDataset read_image_csv(const std::filesystem::path& csv, const std::filesystem::path& image_root = {},
                                         const std::vector<std::string>& class_names = {});

/// A CSV `image,<label 1>,<label 2>,...` with 0/1 in the label columns (the header gives the class names).
AUTOTIMM_API ImageDataset read_multi_label_csv(const std::filesystem::path& csv,
                                               const std::filesystem::path& image_root = {});

/// MNIST-style IDX files (`.gz` or plain): an idx3 uint8 image file and an idx1 uint8 label file of the same
/// count. Images become RGB in memory; classes are "0".."9" (or `class_names`).
AUTOTIMM_API ImageDataset read_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                                   const std::vector<std::string>& class_names = {});

/// The classes of Fashion-MNIST, for read_idx.
AUTOTIMM_API const std::vector<std::string>& fashion_mnist_classes();

}  // namespace autotimm
