/* Fuzz target: the INI reader (zones/ini.c).
 *
 * The bytes go through fmemopen() to ini_read_lines_fp() with a callback
 * that checks every line it is handed and runs the value helpers on it
 * (ini_bool, ini_uint, ini_duration, ini_split), then through a temporary
 * file to ini_parse(), whose entries are checked too.  An independent model
 * of the line rules says which line, if any, must be refused (a NUL byte,
 * more than INI_MAX_LINE bytes) and that error must name it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ini.h"

#define NAME "(fuzz)"

struct lines_state {
  int last_line;
  int calls;
};

static bool all_digits(const char *s, size_t n) {
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i]))
      return false;
  return true;
}

/* What ini_duration may accept: digits, optionally '.' and digits, then
 * at most one of s m h d. */
static bool duration_shape(const char *v) {
  size_t n = strspn(v, "0123456789");
  const char *p = v + n;

  if (n == 0)
    return false;
  if (*p == '.') {
    size_t f = strspn(p + 1, "0123456789");
    if (f == 0)
      return false;
    p += 1 + f;
  }
  if (*p != '\0' && strchr("smhd", *p) != NULL)
    p++;
  return *p == '\0';
}

static enum bw_err split_item(void *arg, char *item, char *err) {
  size_t *count = arg;

  (void)err;
  FUZZ_CHECK(item[0] != '\0', "ini_split gave an empty item");
  FUZZ_CHECK(strpbrk(item, ", \t") == NULL,
             "ini_split item '%s' holds a separator", item);
  (*count)++;
  return BW_OK;
}

static void exercise_value(const char *v) {
  char err[BW_ERRLEN];
  uint64_t n, ms;
  bool b;
  char *copy;
  size_t items = 0, want = 0;

  err[0] = '\0';
  if (ini_bool(v, &b, err) != BW_OK)
    FUZZ_CHECK(err[0] != '\0', "ini_bool failed without a message");
  if (ini_uint(v, 65535, &n, err) == BW_OK)
    FUZZ_CHECK(all_digits(v, strlen(v)) && n <= 65535,
               "ini_uint accepted '%s' as %llu", v, (unsigned long long)n);
  else
    FUZZ_CHECK(err[0] != '\0', "ini_uint failed without a message");
  if (ini_uint(v, UINT64_MAX, &n, err) == BW_OK)
    FUZZ_CHECK(all_digits(v, strlen(v)), "ini_uint accepted '%s'", v);
  if (ini_duration(v, &ms, err) == BW_OK)
    FUZZ_CHECK(duration_shape(v) &&
                   ms <= 10ULL * 365 * 86400 * 1000 + 1,
               "ini_duration accepted '%s' as %llu ms", v,
               (unsigned long long)ms);
  else
    FUZZ_CHECK(err[0] != '\0', "ini_duration failed without a message");

  copy = strdup(v);
  if (copy == NULL)
    abort();
  for (const char *p = v; *p != '\0';) {
    size_t w = strcspn(p, ", \t");
    want += w > 0;
    p += w;
    p += strspn(p, ", \t");
  }
  FUZZ_CHECK(ini_split(copy, split_item, &items, err) == BW_OK,
             "ini_split failed");
  FUZZ_CHECK(items == want, "ini_split gave %zu items for '%s', want %zu",
             items, v, want);
  free(copy);
}

static enum bw_err line_cb(void *arg, int line, char *text, char *err) {
  struct lines_state *st = arg;
  size_t len = strlen(text);
  char *eq;

  FUZZ_CHECK(line > st->last_line, "line %d after line %d", line,
             st->last_line);
  st->last_line = line;
  st->calls++;
  FUZZ_CHECK(len > 0 && len <= INI_MAX_LINE, "line %d: %zu bytes handed on",
             line, len);
  FUZZ_CHECK(!isspace((unsigned char)text[0]) &&
                 !isspace((unsigned char)text[len - 1]),
             "line %d is not trimmed", line);
  for (size_t i = 0; i < len; i++)
    FUZZ_CHECK(!((text[i] == ';' || text[i] == '#') &&
                 (i == 0 || isspace((unsigned char)text[i - 1]))),
               "line %d: comment not removed", line);
  exercise_value(text);
  eq = strchr(text, '=');
  if (eq != NULL)
    exercise_value(ini_trim(eq + 1));
  /* A callback error must come back as NAME:LINE: message. */
  if (text[0] == '!')
    return bw_fail(err, BW_EINVAL, "refused by the callback");
  return BW_OK;
}

/* The first line the reader must refuse (0: none), per the rules in
 * ini.h, and whether it is for a NUL byte. */
static int model_bad_line(const uint8_t *data, size_t size, bool *nul) {
  size_t start = 0;
  int line = 0;

  while (start < size) {
    const uint8_t *nl = memchr(data + start, '\n', size - start);
    size_t end = nl ? (size_t)(nl - data) : size;
    size_t len = end - start;
    line++;
    if (memchr(data + start, '\0', len) != NULL) {
      *nul = true;
      return line;
    }
    if (len > 0 && data[end - 1] == '\r')
      len--;
    if (len > INI_MAX_LINE) {
      *nul = false;
      return line;
    }
    start = end + 1;
  }
  return 0;
}

static bool valid_name(const char *s, bool lower) {
  if (*s == '\0')
    return false;
  for (; *s != '\0'; s++) {
    if (lower && isupper((unsigned char)*s))
      return false;
    if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
      return false;
  }
  return true;
}

struct parse_state {
  const char *path;
  int last_line;
};

static enum bw_err entry_cb(void *arg, const struct ini_entry *e, char *err) {
  struct parse_state *st = arg;

  (void)err;
  FUZZ_CHECK(strcmp(e->file, st->path) == 0, "entry from another file");
  FUZZ_CHECK(e->line > st->last_line, "entry line %d after %d", e->line,
             st->last_line);
  st->last_line = e->line;
  FUZZ_CHECK(e->section != NULL && valid_name(e->section, true) &&
                 strlen(e->section) < 128,
             "line %d: bad section name '%s'", e->line,
             e->section ? e->section : "(null)");
  FUZZ_CHECK(e->subname != NULL && strlen(e->subname) < 128,
             "line %d: bad subname", e->line);
  if (e->key != NULL) {
    FUZZ_CHECK(valid_name(e->key, true), "line %d: bad key '%s'", e->line,
               e->key);
    FUZZ_CHECK(e->value != NULL, "line %d: no value", e->line);
    size_t n = strlen(e->value);
    FUZZ_CHECK(n == 0 || (!isspace((unsigned char)e->value[0]) &&
                          !isspace((unsigned char)e->value[n - 1])),
               "line %d: value not trimmed", e->line);
  } else {
    FUZZ_CHECK(e->value == NULL, "section header with a value");
  }
  return BW_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[BW_ERRLEN];
  struct lines_state ls = {0};
  struct parse_state ps = {0};
  enum bw_err rc;
  bool nul = false;
  int bad = model_bad_line(data, size, &nul);
  FILE *fp;

  /* 1. Line by line from memory. */
  fp = size > 0 ? fmemopen((void *)(uintptr_t)data, size, "r")
                : fopen("/dev/null", "r");
  if (fp == NULL)
    abort();
  err[0] = '\0';
  rc = ini_read_lines_fp(fp, NAME, line_cb, &ls, err);
  fclose(fp);
  if (rc == BW_OK) {
    FUZZ_CHECK(bad == 0, "line %d (%s) was accepted", bad,
               nul ? "NUL byte" : "too long");
  } else {
    FUZZ_CHECK(fuzz_err_has_line(err, NAME), "error without FILE:LINE: %s",
               err);
    int at = atoi(err + strlen(NAME) + 1);
    FUZZ_CHECK(bad == 0 || at <= bad, "error at line %d after bad line %d",
               at, bad);
    if (at == bad)
      FUZZ_CHECK(strstr(err, nul ? "NUL" : "longer than") != NULL,
                 "line %d should be refused for %s: %s", bad,
                 nul ? "a NUL byte" : "its length", err);
    FUZZ_CHECK(ls.last_line <= at, "callback saw line %d after the error",
               ls.last_line);
  }

  /* 2. As an INI file. */
  ps.path = fuzz_write("fuzz.ini", data, size);
  err[0] = '\0';
  rc = ini_parse(ps.path, entry_cb, &ps, err);
  if (rc != BW_OK)
    FUZZ_CHECK(fuzz_err_has_line(err, ps.path),
               "ini_parse error without FILE:LINE: %s", err);
  else
    FUZZ_CHECK(bad == 0, "ini_parse accepted bad line %d", bad);
  return 0;
}
