# Compiler settings shared by every target of ours.

find_program(AUTOTIMM_CCACHE ccache)
if(AUTOTIMM_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  # pch_defines/time_macros let ccache cache objects built with a precompiled header. CCACHE_BASEDIR makes paths
  # inside the checkout relative, so a second clone of the tree (CI's clean clone) reuses the first one's objects.
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      CCACHE_BASEDIR=${PROJECT_SOURCE_DIR} ${AUTOTIMM_CCACHE})
endif()

# Symbols are hidden unless an API macro exports them: plugins export exactly one symbol.
set(CMAKE_CXX_VISIBILITY_PRESET hidden)
set(CMAKE_VISIBILITY_INLINES_HIDDEN ON)

# -O2 rather than CMake's -O3: torch code builds faster and runs no slower, and GCC 12's -O3 raises false
# -Wrestrict warnings inside std::string.
string(REPLACE "-O3" "-O2" CMAKE_CXX_FLAGS_RELEASE "${CMAKE_CXX_FLAGS_RELEASE}")

# Warnings are errors in our code; third-party headers come in as SYSTEM includes.
function(autotimm_target_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-unused-parameter)
endfunction()
