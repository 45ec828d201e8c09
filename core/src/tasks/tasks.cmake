# Sources of core/src/tasks (ImageClassifier and the Task base the trainer drives): added to the autotimm target.
target_sources(autotimm PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/image_classifier.cpp
  ${CMAKE_CURRENT_LIST_DIR}/image_classifier_options.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mixup.cpp
)
