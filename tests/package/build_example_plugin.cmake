# Installs the AutoTimm build into a fresh prefix, builds examples/third_party_plugin against it as a third party
# would, then checks that the installed CLI lists the plugin and that an application can build and run its backbones.
# Run by CTest: cmake -DBINARY_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -P build_example_plugin.cmake
foreach(var BINARY_DIR SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

# The work folder is kept between runs: installing unchanged files and rebuilding an unchanged example are no-ops.
set(prefix ${WORK_DIR}/prefix)
set(example_build ${WORK_DIR}/example)

run(${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${prefix})
foreach(installed bin/autotimm include/autotimm/sdk.hpp include/autotimm/version.hpp)
  if(NOT EXISTS ${prefix}/${installed})
    message(FATAL_ERROR "the installation lacks ${installed}")
  endif()
endforeach()

run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/third_party_plugin -B ${example_build} -G Ninja
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix} -DTINYNET_BUILD_SMOKE_CHECK=ON)
run(${CMAKE_COMMAND} --build ${example_build})

set(plugin ${example_build}/libautotimm_backbone_tinynet.so)
if(NOT EXISTS ${plugin})
  message(FATAL_ERROR "the example did not produce ${plugin}")
endif()

# The installed CLI, with only the example's folder added to the search path.
run(${CMAKE_COMMAND} -E env AUTOTIMM_PLUGIN_PATH=${example_build} ${prefix}/bin/autotimm plugins --list "tinynet*")
if(NOT last_output MATCHES "tinynet_m  \\(backbone, tinynet\\)" OR NOT last_output MATCHES "tinynet_s  \\(backbone, tinynet\\)")
  message(FATAL_ERROR "autotimm plugins did not list the example's backbones:\n${last_output}")
endif()

run(${example_build}/tinynet_smoke_check ${plugin})
if(NOT last_output MATCHES "tinynet_m logits \\[2, 7\\] last map \\[1, 128, 4, 4\\] ok")
  message(FATAL_ERROR "the smoke check did not run tinynet_m as expected:\n${last_output}")
endif()
message(STATUS "${last_output}")
