# Sources of core/src/ops (tensor operations the tasks and their plugins share: boxes, IoU, NMS, the focal loss): added to the
# autotimm target. Headers live in sdk/include/autotimm/ops/ so plugins can use them.
target_sources(autotimm PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/boxes.cpp
  ${CMAKE_CURRENT_LIST_DIR}/focal_loss.cpp
  ${CMAKE_CURRENT_LIST_DIR}/roi_align.cpp
  ${CMAKE_CURRENT_LIST_DIR}/paste_masks.cpp
)
