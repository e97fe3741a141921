# `cmake --install`: the header, the static and shared libraries, a CMake package
# (find_package(twotower CONFIG) -> twotower::twotower) and a pkg-config file.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS twotower twotower_shared EXPORT twotowerTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/twotower/twotower.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/twotower)
install(EXPORT twotowerTargets NAMESPACE twotower:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/twotower)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/twotowerConfig.cmake.in
  ${PROJECT_BINARY_DIR}/twotowerConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/twotower)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/twotowerConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/twotowerConfig.cmake ${PROJECT_BINARY_DIR}/twotowerConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/twotower)

# The .pc file finds the prefix relative to itself, so an installed tree can be moved.
file(RELATIVE_PATH TT_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${PROJECT_SOURCE_DIR}/cmake/twotower.pc.in ${PROJECT_BINARY_DIR}/twotower.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/twotower.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The MPI component (-DTWOTOWER_WITH_MPI=ON): libtwotower_mpi.so and twotower_mpi.h, as the
# CMake target twotower::twotower_mpi (find_package(twotower CONFIG COMPONENTS mpi)) and the
# pkg-config module twotower-mpi.
if(TWOTOWER_WITH_MPI)
  install(TARGETS twotower_mpi EXPORT twotowerMpiTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(FILES ${PROJECT_SOURCE_DIR}/include/twotower/twotower_mpi.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/twotower)
  install(EXPORT twotowerMpiTargets NAMESPACE twotower:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/twotower)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/twotower-mpi.pc.in ${PROJECT_BINARY_DIR}/twotower-mpi.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/twotower-mpi.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()
