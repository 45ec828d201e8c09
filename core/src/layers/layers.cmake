# Sources of core/src/layers (our timm.layers: pooling, classifier, drop path, SE/ECA, activations, transformer
# pieces): added to the autotimm target. Headers live in sdk/include/autotimm/layers/ so plugins can use them.
target_sources(autotimm PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/helpers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/activations.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pooling.cpp
  ${CMAKE_CURRENT_LIST_DIR}/classifier.cpp
  ${CMAKE_CURRENT_LIST_DIR}/drop.cpp
  ${CMAKE_CURRENT_LIST_DIR}/channel_attention.cpp
  ${CMAKE_CURRENT_LIST_DIR}/layer_norm2d.cpp
  ${CMAKE_CURRENT_LIST_DIR}/batch_norm.cpp
  ${CMAKE_CURRENT_LIST_DIR}/grn.cpp
  ${CMAKE_CURRENT_LIST_DIR}/norm_mlp_classifier_head.cpp
  ${CMAKE_CURRENT_LIST_DIR}/weight_init.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mlp.cpp
  ${CMAKE_CURRENT_LIST_DIR}/layer_scale.cpp
  ${CMAKE_CURRENT_LIST_DIR}/attention.cpp
  ${CMAKE_CURRENT_LIST_DIR}/patch_embed.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pos_embed.cpp
)
# helpers.cpp is plain arithmetic: it skips the torch precompiled header.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/helpers.cpp
  TARGET_DIRECTORY autotimm PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
