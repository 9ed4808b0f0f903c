# cmake --install: the public headers under <prefix>/include/ember/, libember, the CUDA module,
# a CMake package (find_package(Ember) -> Ember::ember) and a pkg-config file (ember.pc).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

foreach(h ember.h ${EMBER_PUBLIC_HEADERS})
  get_filename_component(dir ${h} DIRECTORY)
  install(FILES ${PROJECT_SOURCE_DIR}/${h} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ember/${dir})
endforeach()

install(TARGETS ember EXPORT EmberTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(EMBER_WITH_CUDA)
  install(TARGETS ember_cuda LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()

set(EMBER_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Ember)
install(EXPORT EmberTargets NAMESPACE Ember:: DESTINATION ${EMBER_CMAKE_DIR})
# A static libember carries its private dependencies to the consumer's link line.
if(BUILD_SHARED_LIBS)
  set(EMBER_STATIC OFF)
else()
  set(EMBER_STATIC ON)
endif()
configure_package_config_file(cmake/EmberConfig.cmake.in ${PROJECT_BINARY_DIR}/EmberConfig.cmake
  INSTALL_DESTINATION ${EMBER_CMAKE_DIR})
# 0.x: a minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/EmberConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/EmberConfig.cmake ${PROJECT_BINARY_DIR}/EmberConfigVersion.cmake
  DESTINATION ${EMBER_CMAKE_DIR})

if(EMBER_STATIC)
  set(EMBER_PC_PRIVATE_LIBS "-lz -ldl")
  if(EMBER_WITH_ONNX)
    string(APPEND EMBER_PC_PRIVATE_LIBS " -lonnx -lonnx_proto -lprotobuf")
  endif()
  if(EMBER_WITH_DNNL)
    string(APPEND EMBER_PC_PRIVATE_LIBS " -ldnnl")
  endif()
  set(EMBER_PC_LIBS_EXTRA "${OpenMP_CXX_FLAGS}")
else()
  set(EMBER_PC_PRIVATE_LIBS "")
  set(EMBER_PC_LIBS_EXTRA "")
endif()
# Relative to the .pc file, so that an install moved or made with `cmake --install --prefix` works.
file(RELATIVE_PATH EMBER_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
configure_file(cmake/ember.pc.in ${PROJECT_BINARY_DIR}/ember.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ember.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
