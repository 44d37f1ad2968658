/* Shared by the fuzz targets in tests/fuzz/.
 *
 * Each fuzz_*.c defines LLVMFuzzerTestOneInput().  With -DBLWATCH_FUZZ=ON
 * (clang) it is linked with libFuzzer; otherwise replay.c supplies a main()
 * that feeds it every file of the corpus directories given on the command
 * line, so the corpora run as ordinary CTest tests under gcc too.
 *
 * A broken invariant aborts (FUZZ_CHECK), which both libFuzzer and CTest
 * report as a failure.  FUZZ_BUG is the same for an invariant that a known,
 * reported bug breaks: it fails until the bug is fixed, like the unit
 * tests' bug_* cases; BLWATCH_SKIP_BUGS=1 (or BLWATCH_UNIT_SKIP_BUGS=1) in
 * the environment turns these checks off for a green run meanwhile.
 */
#ifndef BW_FUZZ_H
#define BW_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints "fuzz: FILE:LINE: check failed: ..." and aborts. */
void fuzz_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

#define FUZZ_CHECK(cond, ...)                                                 \
  do {                                                                        \
    if (!(cond))                                                              \
      fuzz_fail(__FILE__, __LINE__, __VA_ARGS__);                             \
  } while (0)

/* True when known-bug checks are switched off (see above). */
bool fuzz_skip_bugs(void);

#define FUZZ_BUG(name, cond, ...)                                             \
  do {                                                                        \
    if (!(cond) && !fuzz_skip_bugs())                                         \
      fuzz_fail(__FILE__, __LINE__, "known bug " name ": " __VA_ARGS__);      \
  } while (0)

/* A private directory made once per process (under $TMPDIR or /tmp) and
 * removed with its files at exit. */
const char *fuzz_dir(void);

/* Writes data to fuzz_dir()/name (replacing it) and returns the path
 * (static storage per name slot; at most 8 distinct names). */
const char *fuzz_write(const char *name, const void *data, size_t len);

/* A NUL-terminated copy of data (malloc'd; the caller frees it). */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* True if s starts with "name:N: " for some N >= 1. */
bool fuzz_err_has_line(const char *err, const char *name);

/* Checks zone_decode()'s answer against an independent model of the rules
 * in catalog.h, and that the codes survive json_codes/json_parse_codes. */
void fuzz_check_answer(const struct zone *z, const uint32_t *addrs, size_t n,
                       const struct zone_answer *a);

/* Checks what a loaded zone must satisfy (valid id and zone name, kinds,
 * codes inside 127/8, not both codes and bitmasks, ...). */
void fuzz_check_zone(const struct zone *z);

/* Decodes a fixed set of answers plus each of the zone's code and refusal
 * bounds, checks them, and asks for every meaning. */
void fuzz_exercise_zone(const struct zone *z);

#endif
