# Sources of core/src/interpret: attribution methods (GradCAM, GradCAM++, Integrated Gradients, SmoothGrad) and the
# targets they explain for each task. Added to the autotimm target.
target_sources(autotimm PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/grad_cam.cpp
  ${CMAKE_CURRENT_LIST_DIR}/integrated_gradients.cpp
  ${CMAKE_CURRENT_LIST_DIR}/smooth_grad.cpp
  ${CMAKE_CURRENT_LIST_DIR}/targets.cpp
)
