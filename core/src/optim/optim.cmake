# Sources of core/src/optim (optimizers and lr schedulers by name, LAMB, optimizer state as named tensors): added to
# the autotimm target. Headers live in core/include/autotimm/optim/.
target_sources(autotimm PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/param_groups.cpp
  ${CMAKE_CURRENT_LIST_DIR}/optimizer_factory.cpp
  ${CMAKE_CURRENT_LIST_DIR}/lamb.cpp
  ${CMAKE_CURRENT_LIST_DIR}/optimizer_state.cpp
  ${CMAKE_CURRENT_LIST_DIR}/schedulers.cpp
)
