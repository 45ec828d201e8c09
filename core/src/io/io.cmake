# Sources of core/src/io (safetensors, atomic files): added to the autotimm target.
# Only safetensors_torch.cpp includes torch; the rest also builds the torch-free fuzzer (tests/fuzz).
target_sources(autotimm PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/atomic_file.cpp
  ${CMAKE_CURRENT_LIST_DIR}/dtype.cpp
  ${CMAKE_CURRENT_LIST_DIR}/json_duplicate_keys.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mapped_file.cpp
  ${CMAKE_CURRENT_LIST_DIR}/safetensors_header.cpp
  ${CMAKE_CURRENT_LIST_DIR}/safetensors_reader.cpp
  ${CMAKE_CURRENT_LIST_DIR}/safetensors_writer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/safetensors_torch.cpp
)
set_source_files_properties(
  ${CMAKE_CURRENT_LIST_DIR}/atomic_file.cpp ${CMAKE_CURRENT_LIST_DIR}/dtype.cpp
  ${CMAKE_CURRENT_LIST_DIR}/json_duplicate_keys.cpp ${CMAKE_CURRENT_LIST_DIR}/mapped_file.cpp
  ${CMAKE_CURRENT_LIST_DIR}/safetensors_header.cpp ${CMAKE_CURRENT_LIST_DIR}/safetensors_reader.cpp
  ${CMAKE_CURRENT_LIST_DIR}/safetensors_writer.cpp
  TARGET_DIRECTORY autotimm PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
