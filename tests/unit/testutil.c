/* See testutil.h. */
#include "testutil.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TU_MAX_PATHS 256

static char paths[TU_MAX_PATHS][TU_PATH];
static bool is_dir[TU_MAX_PATHS];
static int npaths;

static char *next_slot(bool dir) {
  if (npaths == TU_MAX_PATHS)
    fail_msg("testutil: more than %d temporary paths", TU_MAX_PATHS);
  is_dir[npaths] = dir;
  return paths[npaths++];
}

void tu_init(void) {
  const char *skip = getenv("BLWATCH_UNIT_SKIP_BUGS");

  if (skip != NULL && strcmp(skip, "1") == 0)
    cmocka_set_skip_filter("bug_*");
}

const char *tu_write_bytes(const void *data, size_t len) {
  char *path = next_slot(false);
  int fd;

  snprintf(path, TU_PATH, "/tmp/blwatch-unit-XXXXXX");
  fd = mkstemp(path);
  if (fd < 0)
    fail_msg("mkstemp failed");
  if (len > 0 && write(fd, data, len) != (ssize_t)len)
    fail_msg("write to %s failed", path);
  close(fd);
  return path;
}

const char *tu_write(const char *text) {
  return tu_write_bytes(text, strlen(text));
}

const char *tu_writef(const char *fmt, ...) {
  char buf[16384];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(buf))
    fail_msg("tu_writef: text too long");
  return tu_write_bytes(buf, (size_t)n);
}

const char *tu_mkdir(void) {
  char *path = next_slot(true);

  snprintf(path, TU_PATH, "/tmp/blwatch-unit-XXXXXX");
  if (mkdtemp(path) == NULL)
    fail_msg("mkdtemp failed");
  return path;
}

const char *tu_write_in(const char *dir, const char *name, const char *text) {
  char *path = next_slot(false);
  FILE *fp;

  snprintf(path, TU_PATH, "%s/%s", dir, name);
  fp = fopen(path, "w");
  if (fp == NULL)
    fail_msg("cannot create %s", path);
  fputs(text, fp);
  fclose(fp);
  return path;
}

const char *tu_missing_path(void) {
  static char path[TU_PATH];

  snprintf(path, sizeof(path), "/tmp/blwatch-unit-missing-%ld/none.conf",
           (long)getpid());
  return path;
}

int tu_cleanup(void **state) {
  (void)state;
  /* Newest first, so files go before the directories that hold them. */
  while (npaths > 0) {
    npaths--;
    if (is_dir[npaths])
      rmdir(paths[npaths]);
    else
      unlink(paths[npaths]);
  }
  return 0;
}

void tu_check_err(const char *err, const char *file, int line,
                  const char *word, const char *src, int src_line) {
  char prefix[TU_PATH + 32];

  snprintf(prefix, sizeof(prefix), "%s:%d: ", file, line);
  if (strncmp(err, prefix, strlen(prefix)) != 0) {
    print_error("error '%s' does not start with '%s'\n", err, prefix);
    _fail(src, src_line);
  }
  if (word != NULL && strstr(err, word) == NULL) {
    print_error("error '%s' does not mention '%s'\n", err, word);
    _fail(src, src_line);
  }
}

void tu_check_contains(const char *haystack, const char *needle, bool want,
                       const char *src, int src_line) {
  bool found = strstr(haystack, needle) != NULL;

  if (found != want) {
    print_error("'%s' %s '%s'\n", haystack,
                want ? "does not contain" : "contains", needle);
    _fail(src, src_line);
  }
}
