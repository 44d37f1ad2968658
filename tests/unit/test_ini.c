/* Unit tests for zones/ini.c: the line reader, the INI parser and the
 * value helpers. */
#include "testutil.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"

/* ---- helpers ----------------------------------------------------------- */

/* Collects what the callbacks saw as "LINE:text|..." or, for INI events,
 * "LINE:[section/subname] " and "LINE:section/subname.key=value|". */
struct seen {
  char buf[8192];
  int calls;
  int fail_at; /* a line on which the callback fails, 0: never */
};

static void seen_add(struct seen *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void seen_add(struct seen *s, const char *fmt, ...) {
  size_t used = strlen(s->buf);
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(s->buf + used, sizeof(s->buf) - used, fmt, ap);
  va_end(ap);
  s->calls++;
}

static enum bw_err record_line(void *arg, int line, char *text, char *err) {
  struct seen *s = arg;

  if (line == s->fail_at)
    return bw_fail(err, BW_EINVAL, "callback refused '%s'", text);
  seen_add(s, "%d:%s|", line, text);
  return BW_OK;
}

static enum bw_err record_entry(void *arg, const struct ini_entry *e,
                                char *err) {
  struct seen *s = arg;

  if (e->line == s->fail_at)
    return bw_fail(err, BW_ERANGE, "entry refused");
  if (e->key == NULL)
    seen_add(s, "%d:[%s/%s]|", e->line, e->section, e->subname);
  else
    seen_add(s, "%d:%s/%s.%s=%s|", e->line, e->section, e->subname, e->key,
             e->value);
  return BW_OK;
}

/* Runs the line reader over len bytes held in memory. */
static enum bw_err read_mem(const char *data, size_t len, struct seen *s,
                            char *err) {
  FILE *fp = fmemopen((void *)data, len, "r");
  enum bw_err rc;

  assert_non_null(fp);
  rc = ini_read_lines_fp(fp, "mem.conf", record_line, s, err);
  fclose(fp);
  return rc;
}

static enum bw_err read_str(const char *text, struct seen *s, char *err) {
  return read_mem(text, strlen(text), s, err);
}

/* A line of n copies of c followed by tail, in a malloc'd buffer. */
static char *long_line(size_t n, char c, const char *tail) {
  size_t lt = strlen(tail);
  char *p = malloc(n + lt + 1);

  assert_non_null(p);
  memset(p, c, n);
  memcpy(p + n, tail, lt + 1);
  return p;
}

/* ---- the line reader --------------------------------------------------- */

static void lines_trimmed_and_numbered(void **state) {
  struct seen s = {.buf = ""};
  char err[BW_ERRLEN] = "";

  (void)state;
  assert_int_equal(read_str("  first  \n\n\t\nsecond\r\n   third", &s, err),
                   BW_OK);
  /* Blank lines count for numbering, CR of CRLF is dropped, and the last
   * line needs no newline. */
  assert_string_equal(s.buf, "1:first|4:second|5:third|");
}

static void comments_are_stripped(void **state) {
  struct seen s = {.buf = ""};
  char err[BW_ERRLEN] = "";

  (void)state;
  assert_int_equal(read_str("; whole line\n"
                            "# whole line\n"
                            "   ; indented\n"
                            "key = value ; trailing\n"
                            "key = value\t# trailing after a tab\n"
                            "url = https://h.example/p#frag\n"
                            "a;b#c\n",
                            &s, err),
                   BW_OK);
  /* Only ';' and '#' at the start or after white space open a comment. */
  assert_string_equal(s.buf, "4:key = value|5:key = value|"
                             "6:url = https://h.example/p#frag|7:a;b#c|");
}

static void empty_input_calls_nothing(void **state) {
  struct seen s = {.buf = ""};
  char err[BW_ERRLEN] = "";

  (void)state;
  assert_int_equal(read_mem("", 0, &s, err), BW_OK);
  assert_int_equal(s.calls, 0);
  assert_int_equal(read_str("\n\n  \n; only comments\n", &s, err), BW_OK);
  assert_int_equal(s.calls, 0);
}

static void callback_error_gets_prefix(void **state) {
  struct seen s = {.buf = "", .fail_at = 3};
  char err[BW_ERRLEN] = "";

  (void)state;
  assert_int_equal(read_str("one\ntwo\nthree\nfour\n", &s, err), BW_EINVAL);
  assert_string_equal(err, "mem.conf:3: callback refused 'three'");
  /* Reading stops at the error. */
  assert_string_equal(s.buf, "1:one|2:two|");
}

static void line_of_max_length_is_accepted(void **state) {
  struct seen s = {.buf = ""};
  char err[BW_ERRLEN] = "";
  char *text = long_line(INI_MAX_LINE, 'x', "\nnext\n");

  (void)state;
  assert_int_equal(read_str(text, &s, err), BW_OK);
  assert_int_equal(s.calls, 2);
  free(text);

  /* The CR of a CRLF line does not count against the limit. */
  text = long_line(INI_MAX_LINE, 'y', "\r\n");
  assert_int_equal(read_str(text, &s, err), BW_OK);
  free(text);
}

static void line_too_long_is_an_error(void **state) {
  struct seen s = {.buf = ""};
  char err[BW_ERRLEN] = "";
  char *text = long_line(100000, 'z', "\nafter\n");
  char *doc;
  size_t n;

  (void)state;
  /* A very long line on line 3, and nothing after it is read. */
  n = strlen(text);
  doc = malloc(n + 32);
  assert_non_null(doc);
  snprintf(doc, n + 32, "one\ntwo\n%s", text);
  assert_int_equal(read_str(doc, &s, err), BW_ESYNTAX);
  tu_assert_err(err, "mem.conf", 3, "longer than 4096 bytes");
  assert_string_equal(s.buf, "1:one|2:two|");
  free(doc);
  free(text);

  /* A long line at the end of the file, without a newline. */
  text = long_line(5000, 'z', "");
  assert_int_equal(read_str(text, &s, err), BW_ESYNTAX);
  tu_assert_err(err, "mem.conf", 1, "longer than");
  free(text);
}

/* Fixed bug, kept as a regression test: INI_MAX_LINE promises "longest line accepted; longer lines are an
 * error", but read_line() keeps INI_MAX_LINE + 1 bytes, so a line of 4097
 * bytes is accepted. */
static void fixed_line_one_byte_too_long_is_accepted(void **state) {
  struct seen s = {.buf = ""};
  char err[BW_ERRLEN] = "";
  char *text = long_line(INI_MAX_LINE + 1, 'x', "\n");
  enum bw_err rc = read_str(text, &s, err);

  (void)state;
  free(text);
  assert_int_equal(rc, BW_ESYNTAX);
  tu_assert_err(err, "mem.conf", 1, "longer than 4096 bytes");
}

static void nul_byte_is_an_error(void **state) {
  static const char data[] = "one\nt\0wo\nthree\n";
  struct seen s = {.buf = ""};
  char err[BW_ERRLEN] = "";

  (void)state;
  assert_int_equal(read_mem(data, sizeof(data) - 1, &s, err), BW_ESYNTAX);
  tu_assert_err(err, "mem.conf", 2, "NUL");
  assert_string_equal(s.buf, "1:one|");
}

static void missing_file_is_eio(void **state) {
  struct seen s = {.buf = ""};
  char err[BW_ERRLEN] = "";
  const char *path = tu_missing_path();
  char want[TU_PATH + 16];

  (void)state;
  assert_int_equal(ini_read_lines(path, record_line, &s, err), BW_EIO);
  snprintf(want, sizeof(want), "%s: cannot open", path);
  assert_int_equal(strncmp(err, want, strlen(want)), 0);
  assert_int_equal(ini_parse(path, record_entry, &s, err), BW_EIO);
  assert_int_equal(strncmp(err, want, strlen(want)), 0);
  assert_int_equal(s.calls, 0);
}

static void directory_is_a_read_error(void **state) {
  struct seen s = {.buf = ""};
  char err[BW_ERRLEN] = "";
  const char *dir = tu_mkdir();

  (void)state;
  /* fopen() of a directory succeeds on Linux; the read must fail. */
  assert_int_not_equal(ini_read_lines(dir, record_line, &s, err), BW_OK);
  tu_assert_contains(err, dir);
  assert_int_equal(s.calls, 0);
}

static void file_is_read_by_path(void **state) {
  struct seen s = {.buf = ""};
  char err[BW_ERRLEN] = "";
  const char *path = tu_write("a\n\nb\n");

  (void)state;
  assert_int_equal(ini_read_lines(path, record_line, &s, err), BW_OK);
  assert_string_equal(s.buf, "1:a|3:b|");
  s.fail_at = 3;
  s.buf[0] = '\0';
  assert_int_equal(ini_read_lines(path, record_line, &s, err), BW_EINVAL);
  tu_assert_err(err, path, 3, "refused");
}

/* ---- the INI parser ---------------------------------------------------- */

static void parse_sections_and_keys(void **state) {
  struct seen s = {.buf = ""};
  char err[BW_ERRLEN] = "";
  const char *path = tu_write("; header comment\n"
                              "[Poller]\n"
                              "  Interval   =   1h   ; comment\n"
                              "empty =\n"
                              "eq = a = b\n"
                              "semi =;not a value\n"
                              "\n"
                              "[alert \"Ops-Mail\"]\n"
                              "TO = x@example.com, y@example.com\n"
                              "[ alert  \"chat\" ]\n"
                              "dotted.key_1 = v\n");

  (void)state;
  assert_int_equal(ini_parse(path, record_entry, &s, err), BW_OK);
  /* Section and key names are lowercased, subnames and values are kept as
   * written, values are trimmed and may be empty or hold '='; a value
   * never starts with ';' or '#' (a comment, spaces or not). */
  assert_string_equal(s.buf, "2:[poller/]|"
                             "3:poller/.interval=1h|"
                             "4:poller/.empty=|"
                             "5:poller/.eq=a = b|"
                             "6:poller/.semi=|"
                             "8:[alert/Ops-Mail]|"
                             "9:alert/Ops-Mail.to=x@example.com, "
                             "y@example.com|"
                             "10:[alert/chat]|"
                             "11:alert/chat.dotted.key_1=v|");
}

static void parse_empty_file(void **state) {
  struct seen s = {.buf = ""};
  char err[BW_ERRLEN] = "";

  (void)state;
  assert_int_equal(ini_parse(tu_write(""), record_entry, &s, err), BW_OK);
  assert_int_equal(s.calls, 0);
}

/* One malformed document and the error it must give. */
struct bad_ini {
  const char *text;
  int line;
  const char *word;
};

static void parse_errors(void **state) {
  static const struct bad_ini cases[] = {
      {"key = 1\n", 1, "outside any [section]"},
      {"[poller]\n\njust words\n", 3, "expected 'key = value'"},
      {"[poller]\n= value\n", 2, "invalid key"},
      {"[poller]\nbad key = 1\n", 2, "invalid key"},
      {"[poller]\nk!y = 1\n", 2, "invalid key"},
      {"[poller\n", 1, "closing ']'"},
      {"[]\n", 1, "invalid section name"},
      {"[a b]\n", 1, "invalid section name"},
      {"[alert \"\"]\n", 1, "[type \"name\"]"},
      {"[alert \"x\" y]\n", 1, "[type \"name\"]"},
      {"[alert \"unclosed]\n", 1, "[type \"name\"]"},
      {"[a]\nk = v\n[\"x\"]\n", 3, "invalid section name"},
  };
  char err[BW_ERRLEN];

  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct seen s = {.buf = ""};
    const char *path = tu_write(cases[i].text);
    err[0] = '\0';
    assert_int_equal(ini_parse(path, record_entry, &s, err), BW_ESYNTAX);
    tu_assert_err(err, path, cases[i].line, cases[i].word);
  }
}

static void parse_long_section_names(void **state) {
  struct seen s = {.buf = ""};
  char err[BW_ERRLEN] = "";
  char *name = long_line(300, 'n', "");
  const char *path = tu_writef("[%s]\n", name);

  (void)state;
  assert_int_equal(ini_parse(path, record_entry, &s, err), BW_ESYNTAX);
  tu_assert_err(err, path, 1, "section name");
  path = tu_writef("[alert \"%s\"]\n", name);
  assert_int_equal(ini_parse(path, record_entry, &s, err), BW_ESYNTAX);
  tu_assert_err(err, path, 1, "too long");
  free(name);
}

static void parse_callback_error(void **state) {
  struct seen s = {.buf = "", .fail_at = 3};
  char err[BW_ERRLEN] = "";
  const char *path = tu_write("[a]\nx = 1\ny = 2\n");

  (void)state;
  assert_int_equal(ini_parse(path, record_entry, &s, err), BW_ERANGE);
  tu_assert_err(err, path, 3, "entry refused");
}

static void parse_binary_garbage(void **state) {
  unsigned char junk[3000];
  char err[BW_ERRLEN];
  uint32_t x = 2463534242u;

  (void)state;
  /* Pseudo-random bytes with no NUL and no newline: one long bad line. */
  for (size_t i = 0; i < sizeof(junk); i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    junk[i] = (unsigned char)(x % 255 + 1);
    if (junk[i] == '\n')
      junk[i] = 0xff;
  }
  for (size_t len = 1; len <= sizeof(junk); len += 499) {
    struct seen s = {.buf = ""};
    const char *path = tu_write_bytes(junk, len);
    err[0] = '\0';
    enum bw_err rc = ini_parse(path, record_entry, &s, err);
    if (rc == BW_OK)
      continue; /* garbage may be all comment or blank */
    assert_int_equal(rc, BW_ESYNTAX);
    tu_assert_err(err, path, 1, NULL);
  }
  /* The same with NUL bytes in it. */
  junk[10] = '\0';
  {
    struct seen s = {.buf = ""};
    const char *path = tu_write_bytes(junk, sizeof(junk));
    assert_int_not_equal(ini_parse(path, record_entry, &s, err), BW_OK);
    tu_assert_err(err, path, 1, NULL);
  }
}

/* ---- value helpers ----------------------------------------------------- */

static void bool_values(void **state) {
  static const char *yes[] = {"yes", "YES", "true", "True", "on", "1"};
  static const char *no[] = {"no", "No", "false", "FALSE", "off", "0"};
  static const char *bad[] = {"", "maybe", "2", "y", "yess", " yes"};
  char err[BW_ERRLEN];
  bool b;

  (void)state;
  for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
    b = false;
    assert_int_equal(ini_bool(yes[i], &b, err), BW_OK);
    assert_true(b);
  }
  for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
    b = true;
    assert_int_equal(ini_bool(no[i], &b, err), BW_OK);
    assert_false(b);
  }
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    b = true;
    assert_int_equal(ini_bool(bad[i], &b, err), BW_EINVAL);
    tu_assert_contains(err, "yes or no");
    assert_true(b); /* untouched */
  }
}

static void uint_values(void **state) {
  static const char *bad[] = {"", "-1", "+1", " 1", "1 ", "12a", "0x10",
                              "1.5", "ten"};
  char err[BW_ERRLEN];
  uint64_t n = 7;

  (void)state;
  assert_int_equal(ini_uint("0", 10, &n, err), BW_OK);
  assert_int_equal(n, 0);
  assert_int_equal(ini_uint("42", 100, &n, err), BW_OK);
  assert_int_equal(n, 42);
  assert_int_equal(ini_uint("0042", 100, &n, err), BW_OK);
  assert_int_equal(n, 42);
  assert_int_equal(ini_uint("100", 100, &n, err), BW_OK);
  assert_int_equal(n, 100);
  assert_int_equal(ini_uint("18446744073709551615", UINT64_MAX, &n, err),
                   BW_OK);
  assert_true(n == UINT64_MAX);

  n = 7;
  assert_int_equal(ini_uint("101", 100, &n, err), BW_ERANGE);
  tu_assert_contains(err, "at most 100");
  assert_int_equal(ini_uint("18446744073709551616", UINT64_MAX, &n, err),
                   BW_ERANGE);
  assert_int_equal(ini_uint("99999999999999999999999", 10, &n, err),
                   BW_ERANGE);
  assert_int_equal(n, 7);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(ini_uint(bad[i], 1000, &n, err), BW_EINVAL);
    tu_assert_contains(err, "expected a number");
  }
  assert_int_equal(n, 7);
}

static void duration_values(void **state) {
  static const struct {
    const char *text;
    uint64_t ms;
  } good[] = {
      {"0", 0},           {"90", 90000},       {"90s", 90000},
      {"5m", 300000},     {"1h", 3600000},     {"2d", 172800000},
      {"1.5s", 1500},     {"0.1", 100},        {"1.5h", 5400000},
      {"3650d", 3650ULL * 86400 * 1000},
  };
  static const char *bad[] = {"", "s", "h1", "-5s", "5x", "5ms", "5 m",
                              "5mm", ".5s", "inf", "nan", " 5"};
  char err[BW_ERRLEN];
  uint64_t ms;

  (void)state;
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    ms = 12345;
    assert_int_equal(ini_duration(good[i].text, &ms, err), BW_OK);
    assert_true(ms == good[i].ms);
  }
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    ms = 12345;
    err[0] = '\0';
    assert_int_equal(ini_duration(bad[i], &ms, err), BW_EINVAL);
    tu_assert_contains(err, "expected a duration");
    assert_true(ms == 12345);
  }
  assert_int_equal(ini_duration("100000d", &ms, err), BW_ERANGE);
  tu_assert_contains(err, "too long");
  assert_int_equal(ini_duration("400000000000s", &ms, err), BW_ERANGE);
  assert_int_equal(ini_duration("99999999999999999999999h", &ms, err),
                   BW_ERANGE);
}

/* Fixed bug, kept as a regression test: ini_duration() hands the text to strtod(), so hexadecimal and
 * exponent forms are taken: "0x10" is 16 seconds, "1e3" is 1000 seconds
 * and "1e3h" is 41 days.  Durations are "a number with s, m, h or d". */
static void fixed_duration_accepts_hex_and_exponents(void **state) {
  static const char *bad[] = {"0x10", "0x1p4s", "1e3", "1e3h", "2E1m"};
  char err[BW_ERRLEN];
  uint64_t ms;

  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    ms = 12345;
    if (ini_duration(bad[i], &ms, err) != BW_EINVAL)
      fail_msg("'%s' is taken as %llu ms", bad[i], (unsigned long long)ms);
  }
}

struct items {
  char buf[256];
  int n;
  int stop_at; /* item number that fails, 0: none */
};

static enum bw_err collect_item(void *arg, char *item, char *err) {
  struct items *it = arg;
  size_t used = strlen(it->buf);

  if (++it->n == it->stop_at)
    return bw_fail(err, BW_ERANGE, "stop at %s", item);
  snprintf(it->buf + used, sizeof(it->buf) - used, "<%s>", item);
  return BW_OK;
}

static void split_lists(void **state) {
  char err[BW_ERRLEN] = "";
  char v1[] = "a, b  c,,d\te,";
  char v2[] = "";
  char v3[] = " , ,\t";
  char v4[] = "one two three";
  struct items it = {.buf = ""};

  (void)state;
  assert_int_equal(ini_split(v1, collect_item, &it, err), BW_OK);
  assert_string_equal(it.buf, "<a><b><c><d><e>");

  it = (struct items){.buf = ""};
  assert_int_equal(ini_split(v2, collect_item, &it, err), BW_OK);
  assert_int_equal(ini_split(v3, collect_item, &it, err), BW_OK);
  assert_int_equal(it.n, 0);

  it = (struct items){.buf = "", .stop_at = 2};
  assert_int_equal(ini_split(v4, collect_item, &it, err), BW_ERANGE);
  assert_string_equal(err, "stop at two");
  assert_int_equal(it.n, 2); /* "three" is never seen */
}

static void trim_in_place(void **state) {
  char a[] = "  \t x y \r\n";
  char b[] = "   ";
  char c[] = "z";

  (void)state;
  assert_string_equal(ini_trim(a), "x y");
  assert_string_equal(ini_trim(b), "");
  assert_string_equal(ini_trim(c), "z");
}

static void error_names(void **state) {
  (void)state;
  assert_string_equal(bw_strerror(BW_OK), "success");
  assert_string_equal(bw_strerror(BW_EIO), "cannot read file");
  assert_string_equal(bw_strerror((enum bw_err)999), "unknown error");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(lines_trimmed_and_numbered),
      cmocka_unit_test(comments_are_stripped),
      cmocka_unit_test(empty_input_calls_nothing),
      cmocka_unit_test(callback_error_gets_prefix),
      cmocka_unit_test(line_of_max_length_is_accepted),
      cmocka_unit_test(line_too_long_is_an_error),
      cmocka_unit_test(fixed_line_one_byte_too_long_is_accepted),
      cmocka_unit_test(nul_byte_is_an_error),
      cmocka_unit_test(missing_file_is_eio),
      cmocka_unit_test(directory_is_a_read_error),
      cmocka_unit_test(file_is_read_by_path),
      cmocka_unit_test(parse_sections_and_keys),
      cmocka_unit_test(parse_empty_file),
      cmocka_unit_test(parse_errors),
      cmocka_unit_test(parse_long_section_names),
      cmocka_unit_test(parse_callback_error),
      cmocka_unit_test(parse_binary_garbage),
      cmocka_unit_test(bool_values),
      cmocka_unit_test(uint_values),
      cmocka_unit_test(duration_values),
      cmocka_unit_test(fixed_duration_accepts_hex_and_exponents),
      cmocka_unit_test(split_lists),
      cmocka_unit_test(trim_in_place),
      cmocka_unit_test(error_names),
  };

  tu_init();
  return cmocka_run_group_tests(tests, NULL, tu_cleanup);
}
