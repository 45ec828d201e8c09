# Sources of core/src/distributed (DDP: the rank environment, the Gloo process group over a TCPStore rendezvous, the
# bucketed gradient all-reduce, the process launcher): added to the autotimm target. Gloo's headers come from
# libgloo-dev; the process group itself is in libtorch_cpu.
target_sources(autotimm PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/collective.cpp
  ${CMAKE_CURRENT_LIST_DIR}/environment.cpp
  ${CMAKE_CURRENT_LIST_DIR}/process_group.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gradient_reducer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/launcher.cpp
)
# ProcessGroupGloo's header declares the class only under this macro.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/process_group.cpp TARGET_DIRECTORY autotimm
  PROPERTIES COMPILE_DEFINITIONS USE_C10D_GLOO)
set_source_files_properties(
  ${CMAKE_CURRENT_LIST_DIR}/environment.cpp
  ${CMAKE_CURRENT_LIST_DIR}/launcher.cpp
  TARGET_DIRECTORY autotimm PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
