/* A minimal test harness for the C API tests, in C99. */
#ifndef TT_TEST_CHECK_H
#define TT_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twotower/twotower.h"

static int g_checks, g_failed;

#define CHECK(cond)                                                            \
  do {                                                                         \
    ++g_checks;                                                                \
    if (!(cond)) {                                                             \
      ++g_failed;                                                              \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

/* The call must succeed; on failure print the library's message. */
#define CHECK_OK(call)                                                                                                 \
  do {                                                                                                                 \
    tt_status st_ = (call);                                                                                            \
    ++g_checks;                                                                                                        \
    if (st_ != TT_OK) {                                                                                                \
      ++g_failed;                                                                                                      \
      fprintf(stderr, "%s:%d: %s returned %s: %s\n", __FILE__, __LINE__, #call, tt_status_name(st_), tt_last_error()); \
    }                                                                                                                  \
  } while (0)

/* The call must fail with `status` and leave a message containing `needle`. */
#define CHECK_FAILS(call, status, needle)                                                                           \
  do {                                                                                                              \
    tt_status st_ = (call);                                                                                         \
    ++g_checks;                                                                                                     \
    if (st_ != (status) || strstr(tt_last_error(), (needle)) == NULL) {                                             \
      ++g_failed;                                                                                                   \
      fprintf(stderr, "%s:%d: %s returned %s (\"%s\"), expected %s mentioning \"%s\"\n", __FILE__, __LINE__, #call, \
              tt_status_name(st_), tt_last_error(), tt_status_name(status), (needle));                              \
    }                                                                                                               \
  } while (0)

/* The closing line CI reads: "N passed, N failed". */
static int finish(const char* name) {
  printf("%s: %d passed, %d failed\n", name, g_checks - g_failed, g_failed);
  return g_failed ? 1 : 0;
}

#endif
