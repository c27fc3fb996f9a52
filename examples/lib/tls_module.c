/* tls_module: a library with thread-local storage, dlopen'ed by leaks_tls.
 * Its TLS is dynamic: each thread that touches it gets a block glibc
 * malloc's, held only by that thread's DTV. */
__thread char tls_module_block[4096];

char *tls_module_touch(char tag) {
  tls_module_block[0] = tag;
  return tls_module_block;
}
