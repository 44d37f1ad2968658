/* Helpers shared by the fuzz targets: see fuzz.h. */
#include "fuzz.h"

#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "qname.h"

void fuzz_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;

  fprintf(stderr, "fuzz: %s:%d: check failed: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  abort();
}

bool fuzz_skip_bugs(void) {
  static int skip = -1;

  if (skip < 0) {
    const char *a = getenv("BLWATCH_SKIP_BUGS");
    const char *b = getenv("BLWATCH_UNIT_SKIP_BUGS");
    skip = (a != NULL && strcmp(a, "1") == 0) ||
           (b != NULL && strcmp(b, "1") == 0);
  }
  return skip != 0;
}

/* ---- temporary files -------------------------------------------------- */

static char dir_path[256];

static void remove_dir(void) {
  DIR *d;
  struct dirent *ent;
  char path[512];

  if (dir_path[0] == '\0' || (d = opendir(dir_path)) == NULL)
    return;
  while ((ent = readdir(d)) != NULL) {
    if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir_path, ent->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir_path);
}

const char *fuzz_dir(void) {
  if (dir_path[0] == '\0') {
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 180)
      tmp = "/tmp";
    snprintf(dir_path, sizeof(dir_path), "%s/blwatch-fuzz-XXXXXX", tmp);
    if (mkdtemp(dir_path) == NULL) {
      perror("fuzz: mkdtemp");
      abort();
    }
    atexit(remove_dir);
  }
  return dir_path;
}

const char *fuzz_write(const char *name, const void *data, size_t len) {
  static char paths[8][320];
  static char names[8][64];
  size_t slot;
  FILE *fp;

  for (slot = 0; slot < 8; slot++)
    if (names[slot][0] == '\0' || strcmp(names[slot], name) == 0)
      break;
  if (slot == 8 || strlen(name) >= sizeof(names[0])) {
    fprintf(stderr, "fuzz: too many temporary file names\n");
    abort();
  }
  if (names[slot][0] == '\0') {
    snprintf(names[slot], sizeof(names[slot]), "%s", name);
    snprintf(paths[slot], sizeof(paths[slot]), "%s/%s", fuzz_dir(), name);
  }
  fp = fopen(paths[slot], "wb");
  if (fp == NULL || (len > 0 && fwrite(data, 1, len, fp) != len) ||
      fclose(fp) != 0) {
    perror(paths[slot]);
    abort();
  }
  return paths[slot];
}

char *fuzz_strndup(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);

  if (s == NULL)
    abort();
  if (size > 0)
    memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

bool fuzz_err_has_line(const char *err, const char *name) {
  size_t n = strlen(name);
  const char *p;

  if (strncmp(err, name, n) != 0 || err[n] != ':')
    return false;
  p = err + n + 1;
  if (*p < '1' || *p > '9')
    return false;
  while (isdigit((unsigned char)*p))
    p++;
  return p[0] == ':' && p[1] == ' ';
}

/* ---- the answer decoder ----------------------------------------------- */

static bool in_ranges(const struct zone_code *arr, size_t n, uint32_t x) {
  for (size_t i = 0; i < n; i++)
    if (x >= arr[i].lo && x <= arr[i].hi)
      return true;
  return false;
}

static bool model_refusal(const struct zone *z, uint32_t x) {
  return in_ranges(z->refusals, z->nrefusals, x) ||
         ((x >> 8) == 0x7fffffu && !in_ranges(z->codes, z->ncodes, x));
}

enum model_class { M_BOGUS, M_LISTING, M_REFUSAL };

static bool model_is(const struct zone *z, uint32_t x, enum model_class c) {
  bool loop = (x >> 24) == 127;

  switch (c) {
  case M_BOGUS:
    return !loop;
  case M_LISTING:
    return loop && !model_refusal(z, x);
  case M_REFUSAL:
    return model_refusal(z, x);
  }
  return false;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

  return x < y ? -1 : x > y;
}

/* The first ZONE_MAX_CODES distinct addresses of class c, in input order,
 * then sorted: what add_sorted() keeps. */
static size_t model_codes(const struct zone *z, const uint32_t *addrs,
                          size_t n, enum model_class c, uint32_t *out) {
  size_t k = 0;

  for (size_t i = 0; i < n; i++) {
    bool dup = false;
    if (!model_is(z, addrs[i], c))
      continue;
    for (size_t j = 0; j < k; j++)
      dup = dup || out[j] == addrs[i];
    if (!dup && k < ZONE_MAX_CODES)
      out[k++] = addrs[i];
  }
  qsort(out, k, sizeof(*out), cmp_u32);
  return k;
}

void fuzz_check_answer(const struct zone *z, const uint32_t *addrs, size_t n,
                       const struct zone_answer *a) {
  uint32_t want[ZONE_MAX_CODES];
  enum zone_result result = ZR_CLEAR;
  size_t k = 0;
  char buf[ZONE_MAX_CODES * 20 + 8];
  struct zone_answer back;

  if (n > 0) {
    static const enum model_class order[] = {M_BOGUS, M_LISTING, M_REFUSAL};
    static const enum zone_result results[] = {ZR_BOGUS, ZR_LISTED,
                                               ZR_REFUSED};
    for (size_t c = 0; c < 3; c++) {
      k = model_codes(z, addrs, n, order[c], want);
      result = results[c];
      if (k > 0)
        break;
    }
    FUZZ_CHECK(k > 0, "zone [%s]: %zu in-127/8 answers are neither "
               "listings nor refusals", z->id, n);
  }
  FUZZ_CHECK(a->result == result, "zone [%s]: %zu records decode to %s, "
             "expected %s", z->id, n, zone_result_name(a->result),
             zone_result_name(result));
  FUZZ_CHECK(a->ncodes == k, "zone [%s]: %u codes kept, expected %zu",
             z->id, (unsigned)a->ncodes, k);
  for (size_t i = 0; i < k; i++)
    FUZZ_CHECK(a->codes[i] == want[i], "zone [%s]: code %zu is %08x, "
               "expected %08x", z->id, i, (unsigned)a->codes[i],
               (unsigned)want[i]);

  /* What the store keeps and reads back. */
  json_codes(a, buf, sizeof(buf));
  FUZZ_CHECK(buf[0] == '[' && buf[strlen(buf) - 1] == ']',
             "json_codes wrote %s", buf);
  json_parse_codes(buf, &back);
  FUZZ_CHECK(back.ncodes == a->ncodes, "json_parse_codes(%s) read %u codes",
             buf, (unsigned)back.ncodes);
  for (size_t i = 0; i < back.ncodes; i++)
    FUZZ_CHECK(back.codes[i] == a->codes[i], "json round trip of %s", buf);
}

/* ---- zones ------------------------------------------------------------ */

void fuzz_check_zone(const struct zone *z) {
  FUZZ_CHECK(z->id != NULL && z->id[0] != '\0' && strlen(z->id) <= 63,
             "zone id missing or too long");
  for (const char *p = z->id; *p != '\0'; p++)
    FUZZ_CHECK(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
                   *p == '-' || *p == '_',
               "zone id '%s' has a bad character", z->id);
  FUZZ_CHECK(z->zone != NULL && qname_valid(z->zone),
             "zone [%s]: invalid zone name accepted", z->id);
  FUZZ_CHECK(z->query_zone != NULL && strlen(z->query_zone) <= QNAME_MAX,
             "zone [%s]: query zone missing or too long", z->id);
  FUZZ_CHECK(z->name != NULL, "zone [%s]: no name", z->id);
  FUZZ_CHECK(z->kinds != 0 &&
                 (z->kinds & ~(unsigned)(ZONE_IP4 | ZONE_IP6 | ZONE_DOMAIN)) ==
                     0,
             "zone [%s]: kinds %#x", z->id, z->kinds);
  FUZZ_CHECK(!(z->ncodes > 0 && z->nbits > 0),
             "zone [%s]: both codes and bitmasks", z->id);
  FUZZ_CHECK(z->dqs == NULL || qname_valid(z->dqs),
             "zone [%s]: invalid dqs zone accepted", z->id);
  FUZZ_CHECK(z->max_daily <= UINT32_MAX, "zone [%s]: max_daily", z->id);
  FUZZ_CHECK(z->file != NULL && z->line >= 1, "zone [%s]: no origin", z->id);
  for (size_t i = 0; i < z->ncodes + z->nrefusals; i++) {
    const struct zone_code *c =
        i < z->ncodes ? &z->codes[i] : &z->refusals[i - z->ncodes];
    FUZZ_CHECK(c->lo <= c->hi && c->lo >> 24 == 127 && c->hi >> 24 == 127,
               "zone [%s]: code range %08x-%08x", z->id, (unsigned)c->lo,
               (unsigned)c->hi);
    FUZZ_CHECK(c->meaning != NULL && c->meaning[0] != '\0',
               "zone [%s]: code without a meaning", z->id);
  }
  for (size_t i = 0; i < z->nbits; i++)
    FUZZ_CHECK(z->bits[i].mask != 0 && z->bits[i].meaning != NULL &&
                   z->bits[i].meaning[0] != '\0',
               "zone [%s]: bad bitmask entry", z->id);
}

static void decode_and_check(const struct zone *z, const uint32_t *addrs,
                             size_t n) {
  static const size_t sizes[] = {1, 2, 9, 40, 256};
  struct zone_answer a;
  char buf[256];

  zone_decode(z, addrs, n, &a);
  fuzz_check_answer(z, addrs, n, &a);
  for (size_t i = 0; i < a.ncodes; i++) {
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
      memset(buf, 'x', sizeof(buf));
      const char *m = zone_code_meaning(z, a.codes[i], buf, sizes[s]);
      FUZZ_CHECK(m == buf && memchr(buf, '\0', sizes[s]) != NULL,
                 "zone_code_meaning overran a %zu-byte buffer", sizes[s]);
      for (size_t j = sizes[s]; j < sizeof(buf); j++)
        FUZZ_CHECK(buf[j] == 'x', "zone_code_meaning wrote past %zu bytes",
                   sizes[s]);
    }
    FUZZ_CHECK(zone_refusal_meaning(z, a.codes[i]) != NULL,
               "no refusal meaning");
    FUZZ_CHECK(json_code_meaning(z, a.result, a.codes[i], buf,
                                 sizeof(buf)) != NULL,
               "no code meaning");
  }
  char *meanings = json_meanings(z, &a);
  FUZZ_CHECK(meanings != NULL && meanings[0] == '[' &&
                 meanings[strlen(meanings) - 1] == ']',
             "json_meanings gave %s", meanings ? meanings : "NULL");
  free(meanings);
}

#define IP(a, b, c, d)                                                        \
  ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

void fuzz_exercise_zone(const struct zone *z) {
  static const uint32_t fixed[][3] = {
      {IP(127, 0, 0, 2), 0, 0},
      {IP(127, 0, 0, 1), 0, 0},
      {IP(127, 255, 255, 254), 0, 0},
      {IP(127, 255, 255, 255), IP(127, 0, 0, 2), 0},
      {IP(10, 0, 0, 1), IP(127, 0, 0, 2), 0},
      {IP(127, 0, 0, 4), IP(127, 0, 0, 2), IP(127, 0, 0, 4)},
      {IP(127, 0, 1, 2), IP(127, 0, 0, 10), IP(127, 0, 0, 255)},
      {IP(0, 0, 0, 0), IP(255, 255, 255, 255), IP(128, 0, 0, 0)},
  };
  uint32_t many[ZONE_MAX_CODES + 4];

  decode_and_check(z, NULL, 0);
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
    for (size_t n = 1; n <= 3; n++)
      decode_and_check(z, fixed[i], n);
  /* More distinct codes than an answer keeps, largest first. */
  for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
    many[i] = IP(127, 0, 0, 40) - (uint32_t)i;
  decode_and_check(z, many, sizeof(many) / sizeof(many[0]));
  for (size_t i = 0; i < z->ncodes + z->nrefusals; i++) {
    const struct zone_code *c =
        i < z->ncodes ? &z->codes[i] : &z->refusals[i - z->ncodes];
    uint32_t bounds[2] = {c->lo, c->hi};
    decode_and_check(z, bounds, 1);
    decode_and_check(z, bounds + 1, 1);
    decode_and_check(z, bounds, 2);
  }
}
