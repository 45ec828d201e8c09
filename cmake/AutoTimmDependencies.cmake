# Third-party packages, all from Debian (scripts/bootstrap.sh installs them).

find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED COMPONENTS json)
find_package(spdlog REQUIRED)
find_package(Torch REQUIRED)

# Debian's TorchConfig exposes variables rather than a complete imported target: wrap them once.
if(NOT TARGET autotimm_torch)
  add_library(autotimm_torch INTERFACE)
  target_include_directories(autotimm_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
  target_link_libraries(autotimm_torch INTERFACE ${TORCH_LIBRARIES})
endif()

# Full version string of the libtorch found (TorchConfig reports only what it was configured with).
file(STRINGS "${TORCH_INSTALL_PREFIX}/include/torch/csrc/api/include/torch/version.h" _autotimm_torch_version_line
     REGEX "^ *\"[0-9]+\\.[0-9]+\\.[0-9]+")
if(NOT _autotimm_torch_version_line)
  file(READ "${TORCH_INSTALL_PREFIX}/include/torch/csrc/api/include/torch/version.h" _autotimm_torch_version_h)
  string(REGEX MATCH "TORCH_VERSION[ \\\\\n]+\"([0-9.]+)\"" _ "${_autotimm_torch_version_h}")
  set(AUTOTIMM_TORCH_VERSION "${CMAKE_MATCH_1}")
else()
  string(REGEX MATCH "[0-9]+\\.[0-9]+\\.[0-9]+" AUTOTIMM_TORCH_VERSION "${_autotimm_torch_version_line}")
endif()
if(NOT AUTOTIMM_TORCH_VERSION)
  message(FATAL_ERROR "could not read the libtorch version from ${TORCH_INSTALL_PREFIX}/include/torch/csrc/api/include/torch/version.h")
endif()
message(STATUS "AutoTimm: libtorch ${AUTOTIMM_TORCH_VERSION}")

# One precompiled <torch/torch.h>, shared by every target that includes torch (REUSE_FROM): a rebuild that touches
# one plugin recompiles only that plugin's sources.
if(NOT TARGET autotimm_torch_pch)
  add_library(autotimm_torch_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/torch_pch.cpp)
  target_link_libraries(autotimm_torch_pch PUBLIC autotimm_torch)
  target_precompile_headers(autotimm_torch_pch PRIVATE <torch/torch.h>)
  autotimm_target_warnings(autotimm_torch_pch)
endif()

function(autotimm_use_torch_pch target)
  target_link_libraries(${target} PRIVATE autotimm_torch)
  target_precompile_headers(${target} REUSE_FROM autotimm_torch_pch)
  # The header is built -fPIC; CMake would compile an executable -fPIE, which GCC refuses to combine with it.
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
endfunction()
