# autotimm_add_test(<name> SOURCES <files...> [LABELS <labels...>] [LIBS <targets...>] [TORCH])
# One GoogleTest executable in build/bin, run by CTest as one test and labelled (unit, plugin, integration, slow).
# One process per executable rather than per test case: loading libtorch costs about a second per process.
# TORCH: the sources include torch and use the shared precompiled header.
# The team's shared fixtures (timm Hub folders, golden outputs) sit beside the checkout; tests that need them skip
# when they are absent.
set(AUTOTIMM_SHARED_DIR "${PROJECT_SOURCE_DIR}/../shared" CACHE PATH "Folder holding the shared timm fixtures")

# OpenBLAS picks its kernels by CPU when it loads; a build older than the CPU falls back to generic kernels whose
# float GEMM was measured ~1% off (Debian 12's 0.3.21 on recent Xeons), and its AVX-512 kernels differ from timm's
# golden numbers by more than the parity tolerance. On an x86 CPU with AVX2 and FMA the tests run OpenBLAS's Haswell
# kernels, which reproduce them to the bit; a value already in the environment wins.
set(AUTOTIMM_TEST_ENVIRONMENT "")
if(DEFINED ENV{OPENBLAS_CORETYPE})
  set(AUTOTIMM_TEST_ENVIRONMENT "OPENBLAS_CORETYPE=$ENV{OPENBLAS_CORETYPE}")
elseif(EXISTS /proc/cpuinfo)
  file(STRINGS /proc/cpuinfo _cpu_flags REGEX "^flags" LIMIT_COUNT 1)
  if(_cpu_flags MATCHES " avx2( |$)" AND _cpu_flags MATCHES " fma( |$)")
    set(AUTOTIMM_TEST_ENVIRONMENT "OPENBLAS_CORETYPE=Haswell")
  endif()
endif()

function(autotimm_add_test name)
  cmake_parse_arguments(ARG "TORCH" "" "SOURCES;LABELS;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE autotimm GTest::gtest GTest::gtest_main ${ARG_LIBS})
  target_compile_definitions(${name} PRIVATE
    AUTOTIMM_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    AUTOTIMM_SHARED_DIR="${AUTOTIMM_SHARED_DIR}"
    AUTOTIMM_BINARY_DIR="${PROJECT_BINARY_DIR}")
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  if(ARG_TORCH)
    autotimm_use_torch_pch(${name})
  endif()
  autotimm_target_warnings(${name})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_test(NAME ${name} COMMAND ${name} --gtest_brief=1)
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
  if(AUTOTIMM_TEST_ENVIRONMENT)
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${AUTOTIMM_TEST_ENVIRONMENT}")
  endif()
  # Integration tests train models on every core: two at once oversubscribe the cores, and OpenMP's spinning
  # barriers then slow both many times over (16x measured on two cores). Each takes all of `ctest -j 2`'s slots.
  if("integration" IN_LIST ARG_LABELS)
    set_tests_properties(${name} PROPERTIES PROCESSORS 2)
  endif()
endfunction()
