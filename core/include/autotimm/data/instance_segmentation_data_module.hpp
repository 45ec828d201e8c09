#pragma once
// The data side of an instance segmentation run: a detection data module whose objects carry their masks. Batches
// have everything a detection batch has plus `masks`: per image [N, H, W] uint8, one 0 / 1 mask per object, moved
// by every geometric transform with its image and box.
//
//   autotimm::InstanceSegmentationDataModule data({.data_dir = "shapes", .image_size = 320, .batch_size = 8});
//   // shapes/annotations/instances_{train,val}.json (polygons or RLE) + shapes/images/{train,val}/ (COCO layout)
//
// Formats: "coco" (segmentation as polygons, or RLE with counts compressed or not; crowd regions as RLE), "csv"
// (`image,mask,label`, one row per object, each mask a PNG of the image's size: nonzero pixels are the object),
// "auto" (csv when train_csv is set, else coco). The options are DetectionDataModule's.
#include "autotimm/data/detection_data_module.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

using InstanceSegmentationDataOptions = DetectionDataOptions;

class AUTOTIMM_API InstanceSegmentationDataModule : public DetectionDataModule {
 public:
  explicit InstanceSegmentationDataModule(InstanceSegmentationDataOptions options)
      : DetectionDataModule(std::move(options), true) {}
};

}  // namespace autotimm
