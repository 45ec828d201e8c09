# Sources of core/src/tasks (ImageClassifier, ObjectDetector with its FCOS box logic, what tasks share, and the Task
# base the trainer drives): added to the autotimm target.
target_sources(autotimm PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/image_classifier.cpp
  ${CMAKE_CURRENT_LIST_DIR}/image_classifier_options.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mixup.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fcos.cpp
  ${CMAKE_CURRENT_LIST_DIR}/task_setup.cpp
  ${CMAKE_CURRENT_LIST_DIR}/object_detector.cpp
  ${CMAKE_CURRENT_LIST_DIR}/object_detector_options.cpp
  ${CMAKE_CURRENT_LIST_DIR}/load_task.cpp
  ${CMAKE_CURRENT_LIST_DIR}/semantic_segmentor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/semantic_segmentor_options.cpp
  ${CMAKE_CURRENT_LIST_DIR}/instance_segmentor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/instance_segmentor_options.cpp
)
