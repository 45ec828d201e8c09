# Sources of core/src/export: trained models written in other tools' formats (a timm Hub folder). Added to the
# autotimm target.
target_sources(autotimm PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/timm_export.cpp
)
