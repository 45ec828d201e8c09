# Sources of the PyTorch zip-checkpoint reader (core/src/io): added to the autotimm target.
# The zip reader and the restricted unpickler are torch-free (no precompiled header); only torch_checkpoint.cpp
# includes torch.
target_sources(autotimm PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/zip_archive.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pickle_reader.cpp
  ${CMAKE_CURRENT_LIST_DIR}/printable_text.cpp
  ${CMAKE_CURRENT_LIST_DIR}/torch_checkpoint.cpp
)
set_source_files_properties(
  ${CMAKE_CURRENT_LIST_DIR}/zip_archive.cpp ${CMAKE_CURRENT_LIST_DIR}/pickle_reader.cpp
  ${CMAKE_CURRENT_LIST_DIR}/printable_text.cpp
  TARGET_DIRECTORY autotimm PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
