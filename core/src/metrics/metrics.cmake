# Sources of core/src/metrics (classification metrics computed in-process: accuracy, precision, recall, F1,
# confusion matrix, multi-label mAP, and the named collection the trainer logs; COCO detection mAP, torch-free;
# semantic segmentation IoU, Dice and pixel accuracy): added to the autotimm target.
target_sources(autotimm PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/multiclass_metrics.cpp
  ${CMAKE_CURRENT_LIST_DIR}/multilabel_metrics.cpp
  ${CMAKE_CURRENT_LIST_DIR}/metric_collection.cpp
  ${CMAKE_CURRENT_LIST_DIR}/coco_evaluation.cpp
  ${CMAKE_CURRENT_LIST_DIR}/coco_metric.cpp
  ${CMAKE_CURRENT_LIST_DIR}/segmentation_metrics.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mask_coco_metric.cpp
)
