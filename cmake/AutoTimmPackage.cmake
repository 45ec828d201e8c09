# Installation and the package config that lets a third party write `find_package(AutoTimm)`.
include(CMakePackageConfigHelpers)

install(TARGETS autotimm autotimm_torch EXPORT AutoTimmTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS autotimm_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/sdk/include/ ${PROJECT_SOURCE_DIR}/core/include/
        ${PROJECT_BINARY_DIR}/generated/include/
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
install(EXPORT AutoTimmTargets NAMESPACE AutoTimm:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/AutoTimm)

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/AutoTimmConfig.cmake.in
  ${PROJECT_BINARY_DIR}/AutoTimmConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/AutoTimm)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/AutoTimmConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/AutoTimmConfig.cmake ${PROJECT_BINARY_DIR}/AutoTimmConfigVersion.cmake
        ${CMAKE_CURRENT_LIST_DIR}/AutoTimmPlugin.cmake ${CMAKE_CURRENT_LIST_DIR}/plugin_exports.map
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/AutoTimm)
