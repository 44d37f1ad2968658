/* Helpers shared by the unit tests: temporary files and checks on the
 * "FILE:LINE: problem" error messages.
 *
 * Every file made here is recorded and removed by tu_cleanup(), which the
 * test programs run as their group teardown, so a failed assertion (which
 * longjmps out of the test) leaves nothing behind in /tmp.
 */
#ifndef BW_TESTUTIL_H
#define BW_TESTUTIL_H

/* cmocka 1.1 needs these before <cmocka.h>. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>

/* Longest path tu_* hands out, terminator included. */
#define TU_PATH 256

/* Call first in main().  Tests named bug_* expose known bugs in the code
 * and fail until those are fixed; BLWATCH_UNIT_SKIP_BUGS=1 in the
 * environment skips them (for a green run while a fix is pending). */
void tu_init(void);

/* Writes len bytes of data to a new file under /tmp and returns its path
 * (static storage owned by this module, valid until tu_cleanup()). */
const char *tu_write_bytes(const void *data, size_t len);

/* The same for a C string. */
const char *tu_write(const char *text);

/* The same, with the text formatted printf-style first. */
const char *tu_writef(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* A new empty directory under /tmp, removed (with its files) later. */
const char *tu_mkdir(void);

/* Writes text to dir/name and returns that path (removed later). */
const char *tu_write_in(const char *dir, const char *name, const char *text);

/* A path under /tmp that does not exist. */
const char *tu_missing_path(void);

/* Removes every file and directory made above.  Usable as a cmocka group
 * teardown. */
int tu_cleanup(void **state);

/* Asserts that err starts with "file:line: " and contains word. */
#define tu_assert_err(err, file, line, word)                                  \
  tu_check_err((err), (file), (line), (word), __FILE__, __LINE__)
void tu_check_err(const char *err, const char *file, int line,
                  const char *word, const char *src, int src_line);

/* Asserts that haystack contains needle (or does not). */
#define tu_assert_contains(haystack, needle)                                  \
  tu_check_contains((haystack), (needle), true, __FILE__, __LINE__)
#define tu_assert_not_contains(haystack, needle)                              \
  tu_check_contains((haystack), (needle), false, __FILE__, __LINE__)
void tu_check_contains(const char *haystack, const char *needle, bool want,
                       const char *src, int src_line);

#endif
