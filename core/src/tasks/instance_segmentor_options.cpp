// InstanceSegmentorOptions ↔ JSON: one flat `model` section (the detector's keys beside the mask keys), and the
// hparams in checkpoints.
#include <boost/json.hpp>

#include "autotimm/model_args.hpp"
#include "autotimm/tasks/instance_segmentor.hpp"

namespace autotimm {

InstanceSegmentorOptions InstanceSegmentorOptions::from(const Config& config) {
  InstanceSegmentorOptions o;
  o.detector = ObjectDetectorOptions::from(config);
  read_arg(config, "mask_head", o.mask_head);
  read_arg(config, "mask_loss", o.mask_loss);
  read_arg(config, "roi_pool_size", o.roi_pool_size);
  read_arg(config, "mask_size", o.mask_size);
  read_arg(config, "roi_sampling_ratio", o.roi_sampling_ratio);
  read_arg(config, "mask_strides", o.mask_strides);
  read_arg(config, "mask_head_channels", o.mask_head_channels);
  read_arg(config, "mask_head_num_convs", o.mask_head_num_convs);
  read_arg(config, "mask_loss_weight", o.mask_loss_weight);
  read_arg(config, "mask_threshold", o.mask_threshold);
  read_arg(config, "mask_proposals_per_image", o.mask_proposals_per_image);
  read_arg(config, "mask_proposal_iou", o.mask_proposal_iou);
  return o;
}

boost::json::object InstanceSegmentorOptions::to_json() const {
  boost::json::object json = detector.to_json();
  json["mask_head"] = mask_head;
  json["mask_loss"] = mask_loss;
  json["roi_pool_size"] = roi_pool_size;
  json["mask_size"] = mask_size;
  json["roi_sampling_ratio"] = roi_sampling_ratio;
  json["mask_strides"] = boost::json::array(mask_strides.begin(), mask_strides.end());
  json["mask_head_channels"] = mask_head_channels;
  json["mask_head_num_convs"] = mask_head_num_convs;
  json["mask_loss_weight"] = mask_loss_weight;
  json["mask_threshold"] = mask_threshold;
  json["mask_proposals_per_image"] = mask_proposals_per_image;
  json["mask_proposal_iou"] = mask_proposal_iou;
  return json;
}

}  // namespace autotimm
