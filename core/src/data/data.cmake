# Sources of core/src/data (decoding, dataset readers, the loader, the data modules): added to the autotimm target.
# Decoding and the readers are torch-free and skip the precompiled header; the loader builds batch tensors.
# OpenCV decodes images (decode.cpp) and stays out of the public headers; zlib reads gzip IDX files. JPEG goes to
# libjpeg-turbo directly (jpeg_decoder.cpp: the same library OpenCV decodes with): only it can decode part of an
# image, DCT-scaled, straight into our buffers.
find_package(OpenCV REQUIRED COMPONENTS core imgproc imgcodecs)
find_package(ZLIB REQUIRED)
find_package(JPEG REQUIRED)
set(AUTOTIMM_DATA_PLAIN_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/decode.cpp
  ${CMAKE_CURRENT_LIST_DIR}/jpeg_decoder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/csv.cpp
  ${CMAKE_CURRENT_LIST_DIR}/dataset.cpp
  ${CMAKE_CURRENT_LIST_DIR}/idx_reader.cpp
  ${CMAKE_CURRENT_LIST_DIR}/synthetic_shapes.cpp
  ${CMAKE_CURRENT_LIST_DIR}/coco_detection.cpp
  ${CMAKE_CURRENT_LIST_DIR}/draw.cpp
  ${CMAKE_CURRENT_LIST_DIR}/image_dimensions.cpp
  ${CMAKE_CURRENT_LIST_DIR}/records_csv.cpp
  ${CMAKE_CURRENT_LIST_DIR}/csv_detection.cpp
  ${CMAKE_CURRENT_LIST_DIR}/yolo_detection.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unchanged_image.cpp
  ${CMAKE_CURRENT_LIST_DIR}/segmentation_mask.cpp
  ${CMAKE_CURRENT_LIST_DIR}/segmentation_readers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/rle.cpp
  ${CMAKE_CURRENT_LIST_DIR}/instance_masks.cpp
  ${CMAKE_CURRENT_LIST_DIR}/csv_instances.cpp
)
target_sources(autotimm PRIVATE ${AUTOTIMM_DATA_PLAIN_SOURCES}
  ${CMAKE_CURRENT_LIST_DIR}/loader.cpp
  ${CMAKE_CURRENT_LIST_DIR}/image_data_module.cpp
  ${CMAKE_CURRENT_LIST_DIR}/dense_data_module.cpp
  ${CMAKE_CURRENT_LIST_DIR}/detection_data_module.cpp
  ${CMAKE_CURRENT_LIST_DIR}/segmentation_data_module.cpp)
set_source_files_properties(${AUTOTIMM_DATA_PLAIN_SOURCES} TARGET_DIRECTORY autotimm
  PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
target_include_directories(autotimm SYSTEM PRIVATE ${OpenCV_INCLUDE_DIRS})
target_link_libraries(autotimm PRIVATE ${OpenCV_LIBS} ZLIB::ZLIB JPEG::JPEG)
