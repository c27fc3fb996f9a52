# The glibc matrix (label glibc-matrix), include()d by tests/integration/CMakeLists.txt.
# One test per glibc release Debian serves x architecture (x86-64 natively,
# aarch64 cross-built and run under qemu-aarch64-static); each builds the
# scenario programs against that release (fetched and unpacked outside the
# source tree by scripts/fetch-glibcs.sh), dumps cores on it and checks
# heapscope against the programs' own malloc_info/mallinfo2 (heap stats) and
# leak records (heap leaks), and heap check for no findings, with and without
# debug info. A release that is not cached is reported as skipped, with the
# reason. The whole matrix takes about 27 s on 2 cores (ctest -j2).
#   scripts/fetch-glibcs.sh && ctest -L glibc-matrix --output-on-failure
if(NOT Python3_EXECUTABLE)
  find_package(Python3 COMPONENTS Interpreter)
endif()
foreach(_arch x86-64 aarch64)
  foreach(_glibc 2.31 2.36 2.41 2.43 2.44)
    add_test(NAME glibc-matrix.${_arch}.${_glibc}
      COMMAND ${Python3_EXECUTABLE} -m unittest -v glibc_matrix_test
      WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
    set_tests_properties(glibc-matrix.${_arch}.${_glibc} PROPERTIES
      LABELS glibc-matrix
      TIMEOUT 900
      SKIP_REGULAR_EXPRESSION "SKIPPED-GLIBC-MATRIX"
      ENVIRONMENT "HEAPSCOPE_BUILD_DIR=${PROJECT_BINARY_DIR};HEAPSCOPE_CLI=$<TARGET_FILE:heapscope>;HEAPSCOPE_MATRIX_VERSION=${_glibc};HEAPSCOPE_MATRIX_ARCH=${_arch};PYTHONDONTWRITEBYTECODE=1")
  endforeach()
endforeach()
