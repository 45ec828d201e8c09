# Sources of core/src/inference: making a trained model fast to run (batch norm folded into convolutions,
# channels-last memory) and test-time augmentation. Added to the autotimm target.
target_sources(autotimm PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/inference_optimization.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_time_augmentation.cpp
)
