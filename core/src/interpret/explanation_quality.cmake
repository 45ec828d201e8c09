# Sources of core/src/interpret that judge and show explanations: deletion/insertion curves and the pointing game
# (explanation_quality.cpp), colormaps and overlays, baselines for Integrated Gradients and the curves, and Attention
# Rollout for ViTs. Added to the autotimm target.
target_sources(autotimm PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/explanation_quality.cpp
  ${CMAKE_CURRENT_LIST_DIR}/heatmap_image.cpp
  ${CMAKE_CURRENT_LIST_DIR}/baselines.cpp
  ${CMAKE_CURRENT_LIST_DIR}/attention_rollout.cpp
)
