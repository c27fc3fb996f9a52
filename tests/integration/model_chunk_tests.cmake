# heap chunk ADDR and heap check on the models of allocators other than
# glibc (model_chunk_test.py), on jemalloc and musl cores. Included by
# CMakeLists.txt here. Labels: integration, chunk, and the allocator's.
set(heapscope_chunk_tests "")
if(HEAPSCOPE_JEMALLOC_LIBRARY)
  list(APPEND heapscope_chunk_tests JemallocChunkTest:jemalloc JemallocCxxTypeTest:jemalloc)
endif()
if(HEAPSCOPE_MUSL_GCC)
  list(APPEND heapscope_chunk_tests MuslChunkTest:musl)
endif()
foreach(entry ${heapscope_chunk_tests})
  string(REPLACE ":" ";" parts ${entry})
  list(GET parts 0 class)
  list(GET parts 1 allocator)
  heapscope_integration_test(chunk.${class} model_chunk_test.${class} TIMEOUT 180)
  set_property(TEST integration.chunk.${class} APPEND PROPERTY LABELS chunk ${allocator})
  set_property(TEST integration.chunk.${class} APPEND PROPERTY ENVIRONMENT
    "HEAPSCOPE_LLDB_PLUGIN=${PROJECT_BINARY_DIR}/lib/heapscope/libheapscope-lldb.so")
endforeach()
