# autotimm_add_plugin(<name> KIND <kind> SOURCES <files...> [TESTS <files...>] [TEST_LABELS <labels...>] [NO_TORCH])
#
# Builds libautotimm_<kind>_<name>.so, the library the loader finds: kind is one of backbone, head, loss, hub, logger,
# callback. The library exports only its descriptor entry point and binds every symbol at load time. Works in the
# AutoTimm tree and, after find_package(AutoTimm), in a third party's own project.
# TESTS become <name>_<kind>_test, labelled `plugin` (plus TEST_LABELS), linked to the plugin's objects.
# NO_TORCH: the sources never include torch (a logger, a hub resolver); skips the precompiled header.
# OUTPUT_DIRECTORY: where the library goes instead of the plugin folder; NO_INSTALL: not installed (test fixtures).
set(_AUTOTIMM_PLUGIN_CMAKE_DIR ${CMAKE_CURRENT_LIST_DIR})

function(autotimm_add_plugin name)
  cmake_parse_arguments(ARG "NO_TORCH;NO_INSTALL" "KIND;OUTPUT_DIRECTORY" "SOURCES;TESTS;TEST_LABELS;LIBS" ${ARGN})
  set(kinds backbone head loss hub logger callback)
  if(NOT ARG_KIND IN_LIST kinds)
    message(FATAL_ERROR "autotimm_add_plugin(${name}): KIND must be one of ${kinds}, got '${ARG_KIND}'")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "autotimm_add_plugin(${name}): no SOURCES")
  endif()
  set(target autotimm_${ARG_KIND}_${name})

  # Objects once, shared by the plugin library and its tests.
  add_library(${target}_objects OBJECT ${ARG_SOURCES})
  target_link_libraries(${target}_objects PUBLIC AutoTimm::autotimm ${ARG_LIBS})
  target_include_directories(${target}_objects PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  set_target_properties(${target}_objects PROPERTIES
    POSITION_INDEPENDENT_CODE ON CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  # In the AutoTimm tree torch sources share one precompiled header; a third party's one-file plugin gains
  # nothing from building its own.
  if(NOT ARG_NO_TORCH AND TARGET autotimm_torch_pch)
    target_precompile_headers(${target}_objects REUSE_FROM autotimm_torch_pch)
  endif()
  if(COMMAND autotimm_target_warnings)
    autotimm_target_warnings(${target}_objects)
  endif()

  add_library(${target} MODULE $<TARGET_OBJECTS:${target}_objects>)
  target_link_libraries(${target} PRIVATE ${target}_objects)
  if(ARG_OUTPUT_DIRECTORY)
    set(output_dir ${ARG_OUTPUT_DIRECTORY})
  elseif(DEFINED AUTOTIMM_BUILD_PLUGIN_DIR)
    set(output_dir ${AUTOTIMM_BUILD_PLUGIN_DIR})
  else()
    set(output_dir ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX "lib" OUTPUT_NAME ${target} LIBRARY_OUTPUT_DIRECTORY ${output_dir}
    LINK_DEPENDS ${_AUTOTIMM_PLUGIN_CMAKE_DIR}/plugin_exports.map)
  target_link_options(${target} PRIVATE
    "LINKER:--version-script=${_AUTOTIMM_PLUGIN_CMAKE_DIR}/plugin_exports.map" "LINKER:-z,defs" "LINKER:-z,now")
  if(DEFINED AUTOTIMM_PLUGIN_INSTALL_SUBDIR AND NOT ARG_NO_INSTALL)
    set_target_properties(${target} PROPERTIES INSTALL_RPATH "$ORIGIN/../..")
    install(TARGETS ${target} LIBRARY DESTINATION ${AUTOTIMM_PLUGIN_INSTALL_SUBDIR} COMPONENT plugins)
  endif()

  if(ARG_TESTS AND COMMAND autotimm_add_test)
    set(labels plugin ${ARG_TEST_LABELS})
    set(torch_flag TORCH)
    if(ARG_NO_TORCH)
      set(torch_flag)
    endif()
    autotimm_add_test(${name}_${ARG_KIND}_test SOURCES ${ARG_TESTS} LABELS ${labels} LIBS ${target}_objects ${torch_flag})
  endif()
endfunction()
