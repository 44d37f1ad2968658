/* Fuzz target: targets (poller/target.c).
 *
 * The bytes, as a string (up to the first NUL), go to target_parse_line()
 * (a line of a target file or of `check -` on stdin) and to target_parse()
 * with each kind hint (`ip =`, `domain =`, `host =` lines and command-line
 * targets), under the default max_range and the largest a config allows.
 * Then the whole input goes through fmemopen() and ini_read_lines_fp() one
 * line at a time, as `blwatch check -` reads stdin: an error must name
 * "(stdin):LINE:".
 *
 * A parsed target must be well formed (prefix, host bits, count within
 * max_range, a valid lowercase name) and must come back the same when
 * written out the way cfg_print() does and parsed again.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ini.h"
#include "qname.h"
#include "target.h"

static const char *kind_name(enum target_kind k) {
  static const char *const names[] = {"ip4", "ip6", "domain", "host"};

  return (unsigned)k < 4 ? names[k] : "?";
}

static void check_spec(const struct target_spec *t, uint64_t max_range,
                       const char *text) {
  uint8_t first[16], last[16];

  FUZZ_CHECK(t->label == NULL || t->label[0] != '\0',
             "'%s': empty label kept", text);
  switch (t->kind) {
  case TARGET_IP4:
  case TARGET_IP6: {
    unsigned bits = t->kind == TARGET_IP4 ? 32 : 128;
    unsigned len = bits / 8;
    FUZZ_CHECK(t->name == NULL, "'%s': address with a name", text);
    FUZZ_CHECK(t->prefix <= bits, "'%s': prefix /%u", text, t->prefix);
    FUZZ_CHECK(target_count(t) <= max_range,
               "'%s': %llu addresses over max_range %llu", text,
               (unsigned long long)target_count(t),
               (unsigned long long)max_range);
    for (unsigned b = len; b < 16; b++)
      FUZZ_CHECK(t->addr[b] == 0, "'%s': stray address bytes", text);
    /* The host bits are zero and the last address keeps the prefix. */
    target_nth(t, 0, first);
    FUZZ_CHECK(memcmp(first, t->addr, 16) == 0,
               "'%s': host bits not cleared", text);
    target_nth(t, target_count(t) - 1, last);
    for (unsigned i = 0; i < t->prefix; i++) {
      unsigned byte = i / 8, bit = 7 - i % 8;
      FUZZ_CHECK(((first[byte] >> bit) & 1) == ((last[byte] >> bit) & 1),
                 "'%s': last address leaves the range", text);
    }
    for (unsigned i = t->prefix; i < bits; i++) {
      unsigned byte = i / 8, bit = 7 - i % 8;
      FUZZ_CHECK(((first[byte] >> bit) & 1) == 0 &&
                     ((last[byte] >> bit) & 1) == 1,
                 "'%s': range bounds wrong", text);
    }
    break;
  }
  case TARGET_DOMAIN:
  case TARGET_HOST: {
    size_t n;
    FUZZ_CHECK(t->name != NULL, "'%s': name target without a name", text);
    n = strlen(t->name);
    FUZZ_CHECK(n > 0 && n <= QNAME_MAX && t->name[n - 1] != '.',
               "'%s': name '%s'", text, t->name);
    FUZZ_CHECK(qname_valid(t->name), "'%s': invalid name '%s' accepted",
               text, t->name);
    for (const char *p = t->name; *p != '\0'; p++)
      FUZZ_CHECK(!isupper((unsigned char)*p), "'%s': name not lowercase",
                 text);
    break;
  }
  default:
    FUZZ_CHECK(false, "'%s': kind %d", text, (int)t->kind);
  }
}

static bool same_spec(const struct target_spec *a,
                      const struct target_spec *b) {
  if (a->kind != b->kind)
    return false;
  if ((a->label == NULL) != (b->label == NULL) ||
      (a->label != NULL && strcmp(a->label, b->label) != 0))
    return false;
  if (a->kind == TARGET_IP4 || a->kind == TARGET_IP6)
    return a->prefix == b->prefix && memcmp(a->addr, b->addr, 16) == 0;
  return strcmp(a->name, b->name) == 0;
}

/* The target as cfg_print() writes it: the value of an ip/domain/host
 * line, without the label. */
static void spec_text(const struct target_spec *t, char *buf, size_t size) {
  if (t->name != NULL) {
    snprintf(buf, size, "%s", t->name);
  } else {
    bool v6 = t->kind == TARGET_IP6;
    char addr[64];
    target_addr_str(t->addr, v6, addr);
    if (t->prefix != (v6 ? 128u : 32u))
      snprintf(buf, size, "%s/%u", addr, t->prefix);
    else
      snprintf(buf, size, "%s", addr);
  }
}

/* Parsed from a config line with the key that cfg_print() would use. */
static void check_config_round_trip(const struct target_spec *t,
                                    uint64_t max_range, const char *text) {
  static const int hints[] = {TARGET_IP4, TARGET_IP4, TARGET_DOMAIN,
                              TARGET_HOST};
  char value[300], err[BW_ERRLEN];
  struct target_spec again;
  enum bw_err rc;

  spec_text(t, value, sizeof(value));
  rc = target_parse(value, t->label, hints[t->kind], max_range, &again, err);
  FUZZ_CHECK(rc == BW_OK, "'%s' parsed as %s '%s', which then fails: %s",
             text, kind_name(t->kind), value, err);
  FUZZ_CHECK(same_spec(t, &again), "'%s': '%s' parses to something else",
             text, value);
  target_spec_free(&again);
}

/* Written as a target-file line and parsed again. */
static void check_line_round_trip(const struct target_spec *t,
                                  uint64_t max_range, const char *text) {
  char value[300], line[INI_MAX_LINE * 2 + 400], err[BW_ERRLEN];
  struct target_spec again;
  enum bw_err rc;

  spec_text(t, value, sizeof(value));
  snprintf(line, sizeof(line), "%s%s%s%s",
           t->kind == TARGET_HOST ? "host " : "", value,
           t->label ? " " : "", t->label ? t->label : "");
  /* A name whose last label has no letter ("1.029.", "2.0.2.1_.",
   * accepted as a name thanks to its trailing dot) reads as an address
   * without the dot (looks_like_addr() in target.c): a target-file line
   * cannot say it.  Not checked. */
  if (t->name != NULL) {
    const char *p = strrchr(t->name, '.');
    bool letter = false;
    for (p = p != NULL ? p + 1 : t->name; *p != '\0'; p++)
      letter = letter || isalpha((unsigned char)*p);
    if (!letter)
      return;
  }
  rc = target_parse_line(line, max_range, &again, err);
  FUZZ_CHECK(rc == BW_OK, "'%s' gave %s '%s', whose line fails: %s", text,
             kind_name(t->kind), value, err);
  FUZZ_CHECK(same_spec(t, &again), "'%s': line '%s' parses to another "
             "target", text, value);
  target_spec_free(&again);
}

/* A name target is never one label nor an IPv4 address, trailing dot or
 * not ("example." and "1.2.3.4." once slipped through as the names
 * "example" and "1.2.3.4", refused when written back). */
static void check_name_not_address(const struct target_spec *t,
                                   const char *text) {
  struct in_addr a4;

  if (t->name == NULL)
    return;
  FUZZ_CHECK(strchr(t->name, '.') != NULL &&
                 inet_pton(AF_INET, t->name, &a4) != 1,
             "'%s' accepted as the %s name '%s' (one label, or an IPv4 "
             "address)", text, kind_name(t->kind), t->name);
}

static void try_parse(const char *s, uint64_t max_range) {
  static const int hints[] = {-1, TARGET_IP4, TARGET_DOMAIN, TARGET_HOST};
  char err[BW_ERRLEN];
  struct target_spec t;
  char *copy;

  /* A target-file or stdin line. */
  copy = strdup(s);
  if (copy == NULL)
    abort();
  err[0] = '\0';
  if (target_parse_line(copy, max_range, &t, err) == BW_OK) {
    check_spec(&t, max_range, s);
    check_name_not_address(&t, s);
    check_config_round_trip(&t, max_range, s);
    check_line_round_trip(&t, max_range, s);
    target_spec_free(&t);
  } else {
    FUZZ_CHECK(err[0] != '\0', "'%s' refused without a message", s);
  }
  free(copy);

  /* Config values and command-line targets. */
  for (size_t h = 0; h < sizeof(hints) / sizeof(hints[0]); h++) {
    err[0] = '\0';
    if (target_parse(s, h == 0 ? NULL : "label", hints[h], max_range, &t,
                     err) == BW_OK) {
      check_spec(&t, max_range, s);
      if (hints[h] == TARGET_IP4)
        FUZZ_CHECK(t.kind == TARGET_IP4 || t.kind == TARGET_IP6,
                   "'%s': ip = gave a %s", s, kind_name(t.kind));
      else if (hints[h] >= 0)
        FUZZ_CHECK((int)t.kind == hints[h], "'%s': hint %d gave a %s", s,
                   hints[h], kind_name(t.kind));
      check_name_not_address(&t, s);
      check_config_round_trip(&t, max_range, s);
      target_spec_free(&t);
    } else {
      FUZZ_CHECK(err[0] != '\0', "'%s' refused without a message", s);
      FUZZ_CHECK(t.name == NULL && t.label == NULL,
                 "a refused target kept its strings");
    }
  }
}

struct stdin_state {
  uint64_t max_range;
  int last;
};

static enum bw_err stdin_line(void *arg, int line, char *text, char *err) {
  struct stdin_state *st = arg;
  struct target_spec t;
  enum bw_err rc;

  FUZZ_CHECK(line > st->last, "line order");
  st->last = line;
  rc = target_parse_line(text, st->max_range, &t, err);
  if (rc == BW_OK) {
    check_spec(&t, st->max_range, text);
    target_spec_free(&t);
  }
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint64_t ranges[] = {TARGET_DEFAULT_MAX_RANGE, 1ULL << 32};
  char *s = fuzz_strndup(data, size);
  char err[BW_ERRLEN];

  for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++)
    try_parse(s, ranges[r]);
  free(s);

  if (size > 0) {
    struct stdin_state st = {TARGET_DEFAULT_MAX_RANGE, 0};
    FILE *fp = fmemopen((void *)(uintptr_t)data, size, "r");
    if (fp == NULL)
      abort();
    err[0] = '\0';
    if (ini_read_lines_fp(fp, "(stdin)", stdin_line, &st, err) != BW_OK)
      FUZZ_CHECK(fuzz_err_has_line(err, "(stdin)"),
                 "stdin error without (stdin):LINE: %s", err);
    fclose(fp);
  }
  return 0;
}
