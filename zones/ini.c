#include "ini.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *ini_trim(char *s) {
  char *end;

  while (isspace((unsigned char)*s))
    s++;
  end = s + strlen(s);
  while (end > s && isspace((unsigned char)end[-1]))
    end--;
  *end = '\0';
  return s;
}

/* Cuts a comment: ';' or '#' at the start or after white space. */
static void strip_comment(char *s) {
  for (char *p = s; *p != '\0'; p++) {
    if ((*p == ';' || *p == '#') &&
        (p == s || isspace((unsigned char)p[-1]))) {
      *p = '\0';
      return;
    }
  }
}

/* Reads one line into buf (INI_MAX_LINE + 2 bytes: the line, a '\r' and
 * the NUL).  Returns 1 for a line, 0 at end of file, and a negative
 * bw_err for a line longer than INI_MAX_LINE or one holding a NUL byte. */
static int read_line(FILE *fp, char *buf) {
  size_t len = 0;
  bool too_long = false;
  int c;

  while ((c = getc(fp)) != EOF && c != '\n') {
    if (c == '\0')
      return -BW_ESYNTAX;
    if (len < INI_MAX_LINE + 1)
      buf[len++] = (char)c;
    else
      too_long = true;
  }
  if (c == EOF && len == 0)
    return ferror(fp) ? -BW_EIO : 0;
  if (len > 0 && buf[len - 1] == '\r' && !too_long)
    len--;
  if (too_long || len > INI_MAX_LINE)
    return -BW_ERANGE;
  buf[len] = '\0';
  return 1;
}

enum bw_err ini_read_lines_fp(FILE *fp, const char *name, ini_line_fn fn,
                              void *arg, char *err) {
  char buf[INI_MAX_LINE + 2];
  char msg[BW_ERRLEN];
  enum bw_err rc;
  int line = 0, r;

  while ((r = read_line(fp, buf)) != 0) {
    line++;
    if (r == -BW_ERANGE)
      return bw_fail(err, BW_ESYNTAX, "%s:%d: line longer than %d bytes",
                     name, line, INI_MAX_LINE);
    if (r == -BW_ESYNTAX)
      return bw_fail(err, BW_ESYNTAX, "%s:%d: binary data (NUL byte)", name,
                     line);
    if (r < 0)
      return bw_fail(err, BW_EIO, "%s:%d: read error: %s", name, line,
                     strerror(errno));
    strip_comment(buf);
    char *text = ini_trim(buf);
    if (*text == '\0')
      continue;
    msg[0] = '\0';
    rc = fn(arg, line, text, msg);
    if (rc != BW_OK)
      return bw_fail(err, rc, "%s:%d: %s", name, line, msg);
  }
  return BW_OK;
}

/* A pipe handed over as a path (`blwatch -c <(generate-config)`). */
static bool inherited_pipe(const char *path) {
  return strncmp(path, "/dev/fd/", 8) == 0 ||
         strncmp(path, "/proc/self/fd/", 14) == 0;
}

/* Opens a file for reading.  O_NONBLOCK keeps open() from waiting forever
 * on a FIFO nobody writes to (a stale one in targets.d would hang every
 * reload); anything but a regular file is refused, except a pipe passed
 * as /dev/fd/N. */
static FILE *open_regular(const char *path, char *err) {
  struct stat sb;
  FILE *fp;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

  if (fd < 0) {
    bw_fail(err, BW_EIO, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  if (fstat(fd, &sb) != 0 ||
      !(S_ISREG(sb.st_mode) || (S_ISFIFO(sb.st_mode) && inherited_pipe(path)))) {
    bw_fail(err, BW_EIO, "%s: not a regular file", path);
    close(fd);
    return NULL;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  if ((fp = fdopen(fd, "r")) == NULL) {
    bw_fail(err, BW_EIO, "%s: cannot open: %s", path, strerror(errno));
    close(fd);
  }
  return fp;
}

enum bw_err ini_read_lines(const char *path, ini_line_fn fn, void *arg,
                           char *err) {
  enum bw_err rc;
  FILE *fp;

  if (strcmp(path, "-") == 0)
    return ini_read_lines_fp(stdin, "(stdin)", fn, arg, err);
  fp = open_regular(path, err);
  if (fp == NULL)
    return BW_EIO;
  rc = ini_read_lines_fp(fp, path, fn, arg, err);
  fclose(fp);
  return rc;
}

struct ini_state {
  const char *file;
  ini_fn fn;
  void *arg;
  char section[128];
  char subname[128];
  bool in_section;
};

static bool valid_name(const char *s) {
  if (*s == '\0')
    return false;
  for (; *s != '\0'; s++)
    if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
      return false;
  return true;
}

/* Parses "[name]" or "[name "sub"]" into the state. */
static enum bw_err parse_header(struct ini_state *st, char *text, char *err) {
  size_t len = strlen(text);
  char *inner, *quote;

  if (text[len - 1] != ']')
    return bw_fail(err, BW_ESYNTAX, "section header lacks a closing ']'");
  text[len - 1] = '\0';
  inner = ini_trim(text + 1);
  st->subname[0] = '\0';
  quote = strchr(inner, '"');
  if (quote != NULL) {
    char *close = strrchr(quote + 1, '"');
    if (close == NULL || close[1] != '\0' || close == quote + 1)
      return bw_fail(err, BW_ESYNTAX,
                     "section name must look like [type \"name\"]");
    *close = '\0';
    if (strlen(quote + 1) >= sizeof(st->subname))
      return bw_fail(err, BW_ESYNTAX, "section name too long");
    memcpy(st->subname, quote + 1, strlen(quote + 1) + 1);
    *quote = '\0';
    inner = ini_trim(inner);
  }
  if (!valid_name(inner) || strlen(inner) >= sizeof(st->section))
    return bw_fail(err, BW_ESYNTAX, "invalid section name '%s'", inner);
  for (char *p = inner; *p != '\0'; p++)
    *p = (char)tolower((unsigned char)*p);
  memcpy(st->section, inner, strlen(inner) + 1);
  st->in_section = true;
  return BW_OK;
}

static enum bw_err ini_line(void *arg, int line, char *text, char *err) {
  struct ini_state *st = arg;
  struct ini_entry e = {.file = st->file, .line = line};
  char *eq, *key;
  enum bw_err rc;

  if (text[0] == '[') {
    rc = parse_header(st, text, err);
    if (rc != BW_OK)
      return rc;
    e.section = st->section;
    e.subname = st->subname;
    return st->fn(st->arg, &e, err);
  }
  eq = strchr(text, '=');
  if (eq == NULL)
    return bw_fail(err, BW_ESYNTAX, "expected 'key = value', got '%.60s'",
                   text);
  *eq = '\0';
  key = ini_trim(text);
  for (char *p = key; *p != '\0'; p++)
    *p = (char)tolower((unsigned char)*p);
  if (!valid_name(key))
    return bw_fail(err, BW_ESYNTAX, "invalid key '%.60s'", key);
  if (!st->in_section)
    return bw_fail(err, BW_ESYNTAX, "key '%s' outside any [section]", key);
  e.section = st->section;
  e.subname = st->subname;
  e.key = key;
  e.value = ini_trim(eq + 1);
  /* "key =;x" holds a comment too, as "key = ;x" does: a value never
   * starts with ';' or '#', so whatever is written back reads the same. */
  if (*e.value == ';' || *e.value == '#')
    *e.value = '\0';
  return st->fn(st->arg, &e, err);
}

enum bw_err ini_parse(const char *path, ini_fn fn, void *arg, char *err) {
  struct ini_state st = {.file = path, .fn = fn, .arg = arg};

  return ini_read_lines(path, ini_line, &st, err);
}

enum bw_err ini_bool(const char *v, bool *out, char *err) {
  static const char *yes[] = {"yes", "true", "on", "1"};
  static const char *no[] = {"no", "false", "off", "0"};

  for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
    if (strcasecmp(v, yes[i]) == 0) {
      *out = true;
      return BW_OK;
    }
    if (strcasecmp(v, no[i]) == 0) {
      *out = false;
      return BW_OK;
    }
  }
  return bw_fail(err, BW_EINVAL, "expected yes or no, got '%.60s'", v);
}

enum bw_err ini_uint(const char *v, uint64_t max, uint64_t *out, char *err) {
  unsigned long long n;
  char *end;

  if (!isdigit((unsigned char)*v))
    return bw_fail(err, BW_EINVAL, "expected a number, got '%.60s'", v);
  errno = 0;
  n = strtoull(v, &end, 10);
  if (*end != '\0')
    return bw_fail(err, BW_EINVAL, "expected a number, got '%.60s'", v);
  if (errno == ERANGE || n > max)
    return bw_fail(err, BW_ERANGE, "%.60s is too large (at most %llu)", v,
                   (unsigned long long)max);
  *out = n;
  return BW_OK;
}

enum bw_err ini_duration(const char *v, uint64_t *ms, char *err) {
  /* Ten years: longer than any sane interval, small enough not to wrap. */
  const double max_ms = 10.0 * 365 * 86400 * 1000;
  const char *p = v;
  double n = 0, scale = 1, unit;

  /* Digits, optionally a fraction, then one unit letter: no signs,
   * exponents or hex that strtod would take. */
  for (; isdigit((unsigned char)*p); p++)
    n = n * 10 + (*p - '0');
  if (p == v)
    goto bad;
  if (*p == '.') {
    if (!isdigit((unsigned char)p[1]))
      goto bad;
    for (p++; isdigit((unsigned char)*p); p++)
      n += (*p - '0') * (scale /= 10);
  }
  switch (*p) {
  case '\0':
  case 's':
    unit = 1000;
    break;
  case 'm':
    unit = 60e3;
    break;
  case 'h':
    unit = 3600e3;
    break;
  case 'd':
    unit = 86400e3;
    break;
  default:
    goto bad;
  }
  if (*p != '\0' && p[1] != '\0')
    goto bad;
  if (n * unit > max_ms)
    return bw_fail(err, BW_ERANGE, "duration %.60s is too long", v);
  *ms = (uint64_t)(n * unit + 0.5);
  return BW_OK;
bad:
  return bw_fail(err, BW_EINVAL,
                 "expected a duration like 30s, 5m, 1h, got '%.60s'", v);
}

enum bw_err ini_split(char *v, ini_item_fn fn, void *arg, char *err) {
  char *p = v;
  enum bw_err rc;

  while (*p != '\0') {
    size_t n = strcspn(p, ", \t");
    char *next = p + n;
    if (*next != '\0')
      *next++ = '\0';
    if (n > 0) {
      rc = fn(arg, p, err);
      if (rc != BW_OK)
        return rc;
    }
    p = next;
  }
  return BW_OK;
}
