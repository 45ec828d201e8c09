# Sources of core/src/transforms (the image type, sample randomness, transforms and presets): added to the
# autotimm target. Pixel code never includes torch, so none of it takes the precompiled header; it needs no other
# library either.
set(AUTOTIMM_TRANSFORM_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/image.cpp
  ${CMAKE_CURRENT_LIST_DIR}/random.cpp
  ${CMAKE_CURRENT_LIST_DIR}/transform.cpp
  ${CMAKE_CURRENT_LIST_DIR}/resample.cpp
  ${CMAKE_CURRENT_LIST_DIR}/geometry.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sample_targets.cpp
  ${CMAKE_CURRENT_LIST_DIR}/presets.cpp
  ${CMAKE_CURRENT_LIST_DIR}/color_ops.cpp
  ${CMAKE_CURRENT_LIST_DIR}/color_transforms.cpp
  ${CMAKE_CURRENT_LIST_DIR}/auto_augment.cpp
)
target_sources(autotimm PRIVATE ${AUTOTIMM_TRANSFORM_SOURCES})
set_source_files_properties(${AUTOTIMM_TRANSFORM_SOURCES} TARGET_DIRECTORY autotimm
  PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
# The color blends are written for the vectorizer, which needs -O3 (-O2 keeps them scalar); the float operations
# and their order are the same, so are the bytes. (The resampling passes use AVX2 intrinsics and are faster at -O2.)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/color_ops.cpp TARGET_DIRECTORY autotimm
  PROPERTIES COMPILE_OPTIONS "$<$<CONFIG:Release,RelWithDebInfo,MinSizeRel>:-O3>")
