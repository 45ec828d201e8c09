#pragma once
// The application API in one include: backbones and the Hub, data modules and loaders, tasks, the trainer and its
// callbacks, checkpoints and run configs, interpretation, export to timm folders and inference tools.
//
//   #include <autotimm/autotimm.hpp>
//   autotimm::ImageClassifier model({.backbone = "resnet18", .pretrained = false});
//   autotimm::ImageDataModule data({.data_dir = "data/flowers"});
//   autotimm::AutoTrainer({.max_epochs = 5}).fit(model, data);
#include "autotimm/backbones.hpp"
#include "autotimm/data/detection_data_module.hpp"
#include "autotimm/data/image_data_module.hpp"
#include "autotimm/data/instance_segmentation_data_module.hpp"
#include "autotimm/data/segmentation_data_module.hpp"
#include "autotimm/export/timm_export.hpp"
#include "autotimm/hub.hpp"
#include "autotimm/inference/inference_optimization.hpp"
#include "autotimm/inference/test_time_augmentation.hpp"
#include "autotimm/interpret/attention_rollout.hpp"
#include "autotimm/interpret/baselines.hpp"
#include "autotimm/interpret/explanation_metrics.hpp"
#include "autotimm/interpret/grad_cam.hpp"
#include "autotimm/interpret/heatmap_image.hpp"
#include "autotimm/interpret/integrated_gradients.hpp"
#include "autotimm/interpret/smooth_grad.hpp"
#include "autotimm/interpret/targets.hpp"
#include "autotimm/loggers/csv_logger.hpp"
#include "autotimm/tasks/image_classifier.hpp"
#include "autotimm/tasks/instance_segmentor.hpp"
#include "autotimm/tasks/load_task.hpp"
#include "autotimm/tasks/object_detector.hpp"
#include "autotimm/tasks/semantic_segmentor.hpp"
#include "autotimm/trainer/auto_trainer.hpp"
#include "autotimm/trainer/callbacks.hpp"
#include "autotimm/trainer/checkpoint.hpp"
#include "autotimm/trainer/run_config.hpp"
