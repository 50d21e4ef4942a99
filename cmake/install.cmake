# `cmake --install`: the library (its static parts, the public headers include/cudamlp/), the cudamlp
# command and a CMake package, so that another project builds against cudamlp with
#   find_package(cudamlp CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE cudamlp::cudamlp)
# Components: `library` (parts, headers, package), `cli` (the command), `python` (host/python).
include(CMakePackageConfigHelpers)

# The parts cudamlp_library reaches (host/CMakeLists.txt), each exported as cudamlp::<name without the
# prefix>; the library itself is cudamlp::cudamlp.
set(_cudamlp_installed_parts cudamlp_core cudamlp_backend cudamlp_reference cudamlp_simt cudamlp_kernels
    cudamlp_dist cudamlp_gpu cudamlp_train cudamlp_report cudamlp_serve cudamlp_verify)
if(CUDAMLP_CPU)
  list(APPEND _cudamlp_installed_parts cudamlp_cpu)
endif()
foreach(part IN LISTS _cudamlp_installed_parts)
  string(REGEX REPLACE "^cudamlp_" "" name ${part})
  set_target_properties(${part} PROPERTIES EXPORT_NAME ${name})
endforeach()
set_target_properties(cudamlp_library PROPERTIES EXPORT_NAME cudamlp)

install(TARGETS cudamlp_library ${_cudamlp_installed_parts} EXPORT cudamlpTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT library)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/cudamlp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT library)
install(TARGETS cudamlp RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)

set(_cudamlp_package_dir ${CMAKE_INSTALL_LIBDIR}/cmake/cudamlp)
install(EXPORT cudamlpTargets NAMESPACE cudamlp:: DESTINATION ${_cudamlp_package_dir} COMPONENT library)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/cudamlpConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cudamlpConfig.cmake INSTALL_DESTINATION ${_cudamlp_package_dir})
# 0.x: a minor version may change the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cudamlpConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cudamlpConfig.cmake ${PROJECT_BINARY_DIR}/cudamlpConfigVersion.cmake
  DESTINATION ${_cudamlp_package_dir} COMPONENT library)
