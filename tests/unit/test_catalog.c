/* Unit tests for zones/catalog.c: parsing catalog files, overriding with
 * extra files, DQS, and the shipped default catalog. */
#include "testutil.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"

#define IP(a, b, c, d)                                                        \
  (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) |     \
   (uint32_t)(d))
#define N(arr) (sizeof(arr) / sizeof((arr)[0]))

#define TEST_CATALOG UNIT_DATA_DIR "/catalog.conf"
#define TEST_EXTRA UNIT_DATA_DIR "/extra.conf"
#define SHIPPED_CATALOG SRC_DIR "/zones/zones.conf"

/* ---- the test catalog -------------------------------------------------- */

static void load_fields(void **state) {
  struct catalog cat = {0};
  char err[BW_ERRLEN] = "";
  struct zone *z;

  (void)state;
  assert_int_equal(zone_catalog_load(&cat, TEST_CATALOG, err), BW_OK);
  assert_int_equal(cat.n, 4);
  assert_string_equal(cat.zones[0].id, "ip-a");
  assert_string_equal(cat.zones[3].id, "dom-d");

  z = zone_find(&cat, "ip-a");
  assert_non_null(z);
  assert_string_equal(z->name, "IP list A");
  assert_string_equal(z->zone, "a.example.net");
  assert_string_equal(z->query_zone, "a.example.net");
  assert_int_equal(z->kinds, ZONE_IP4 | ZONE_IP6);
  assert_int_equal(z->ncodes, 3);
  assert_int_equal(z->codes[0].lo, IP(127, 0, 0, 2));
  assert_int_equal(z->codes[0].hi, IP(127, 0, 0, 2));
  assert_string_equal(z->codes[0].meaning, "spam source");
  assert_int_equal(z->codes[1].lo, IP(127, 0, 0, 3));
  assert_int_equal(z->codes[1].hi, IP(127, 0, 0, 5));
  assert_string_equal(z->codes[1].meaning, "exploited host");
  /* A code without a meaning means "listed". */
  assert_string_equal(z->codes[2].meaning, "listed");
  assert_int_equal(z->nrefusals, 1);
  assert_int_equal(z->refusals[0].lo, IP(127, 255, 255, 254));
  assert_string_equal(z->refusals[0].meaning, "public resolver");
  assert_string_equal(z->delist, "https://a.example.net/delist");
  assert_true(z->is_default);
  assert_true(z->testpoints);
  assert_string_equal(z->dqs, "a.dq.example.net");
  assert_int_equal(z->max_daily, 1000);
  assert_string_equal(z->file, TEST_CATALOG);
  assert_int_equal(z->line, 4);

  /* Defaults: name is the id, no limit, not default, no test points. */
  z = zone_find(&cat, "ip-b");
  assert_non_null(z);
  assert_string_equal(z->name, "ip-b");
  assert_int_equal(z->kinds, ZONE_IP4); /* "IP4": case does not matter */
  assert_int_equal(z->max_daily, 0);
  assert_false(z->testpoints);
  assert_null(z->dqs);
  assert_int_equal(z->line, 18);

  z = zone_find(&cat, "ip-c");
  assert_non_null(z);
  assert_int_equal(z->kinds, ZONE_IP4 | ZONE_IP6); /* space-separated */
  assert_false(z->is_default);
  assert_null(z->delist);
  assert_int_equal(z->ncodes, 0);

  z = zone_find(&cat, "dom-d");
  assert_non_null(z);
  assert_int_equal(z->kinds, ZONE_DOMAIN);
  assert_int_equal(z->nbits, 3);
  assert_int_equal(z->bits[0].mask, 2);
  assert_string_equal(z->bits[0].meaning, "black");
  assert_int_equal(z->bits[2].mask, 8);
  assert_string_equal(z->bits[2].meaning, "red");
  assert_int_equal(z->ncodes, 0);

  assert_null(zone_find(&cat, "nope"));
  assert_null(zone_find(&cat, "IP-A"));
  zone_catalog_free(&cat);
  assert_int_equal(cat.n, 0);
  assert_null(cat.zones);
  /* Freeing twice (an empty catalog) is harmless. */
  zone_catalog_free(&cat);
}

static void extra_file_overrides(void **state) {
  struct catalog cat = {0};
  char err[BW_ERRLEN] = "";
  struct zone *z;

  (void)state;
  assert_int_equal(zone_catalog_load(&cat, TEST_CATALOG, err), BW_OK);
  assert_int_equal(zone_catalog_load(&cat, TEST_EXTRA, err), BW_OK);
  assert_int_equal(cat.n, 5);
  /* ip-b is replaced where it was; ip-e is appended. */
  assert_string_equal(cat.zones[1].id, "ip-b");
  assert_string_equal(cat.zones[1].zone, "b.mirror.example");
  assert_string_equal(cat.zones[1].name, "IP list B, local mirror");
  assert_false(cat.zones[1].is_default);
  /* The whole section is replaced, not merged key by key. */
  assert_int_equal(cat.zones[1].ncodes, 0);
  assert_null(cat.zones[1].delist);
  assert_string_equal(cat.zones[1].file, TEST_EXTRA);
  assert_string_equal(cat.zones[4].id, "ip-e");
  z = zone_find(&cat, "ip-a");
  assert_non_null(z);
  assert_string_equal(z->zone, "a.example.net");
  zone_catalog_free(&cat);
}

static void failed_load_keeps_catalog(void **state) {
  struct catalog cat = {0};
  char err[BW_ERRLEN] = "";
  const char *bad = tu_write("[new-zone]\n"
                             "zone = new.example\n"
                             "kind = ip4\n"
                             "[ip-a]\n"
                             "zone = replaced.example\n"
                             "kind = ip4\n"
                             "code = 10.0.0.1 oops\n");

  (void)state;
  assert_int_equal(zone_catalog_load(&cat, TEST_CATALOG, err), BW_OK);
  assert_int_equal(zone_catalog_load(&cat, bad, err), BW_EINVAL);
  tu_assert_err(err, bad, 7, "outside 127.0.0.0/8");
  assert_int_equal(cat.n, 4);
  assert_null(zone_find(&cat, "new-zone"));
  assert_string_equal(zone_find(&cat, "ip-a")->zone, "a.example.net");
  assert_int_equal(zone_catalog_load(&cat, tu_missing_path(), err), BW_EIO);
  assert_int_equal(cat.n, 4);
  zone_catalog_free(&cat);
}

static void duplicate_id_in_one_file(void **state) {
  struct catalog cat = {0};
  char err[BW_ERRLEN] = "";
  const char *path = tu_write("[x]\nzone = x.example\nkind = ip4\n"
                              "\n"
                              "[x]\nzone = y.example\nkind = ip4\n");

  (void)state;
  assert_int_equal(zone_catalog_load(&cat, path, err), BW_EINVAL);
  tu_assert_err(err, path, 5, "defined twice");
  assert_int_equal(cat.n, 0);
}

/* One broken catalog, the line and the code of its error. */
struct bad_catalog {
  const char *text;
  enum bw_err rc;
  int line;
  const char *word;
};

static void catalog_errors(void **state) {
  static const struct bad_catalog cases[] = {
      /* Checked when the section is complete: the header line is named. */
      {"[a]\nname = A\nkind = ip4\n", BW_EINVAL, 1, "lacks 'zone'"},
      {"[a]\nzone = a.example\n", BW_EINVAL, 1, "lacks 'kind'"},
      {"[a]\nzone = a.example\nkind = ip4\n\n[b]\nkind = ip4\n", BW_EINVAL,
       5, "[b] lacks 'zone'"},
      {"[a]\nzone = a.example\nkind = domain\ncode = 127.0.0.2 x\n"
       "bitmask = 2 y\n",
       BW_EINVAL, 1, "both 'code' and 'bitmask'"},
      /* Checked on the line itself. */
      {"[a]\nzone = a.example\nfrobnicate = yes\n", BW_EINVAL, 3,
       "unknown key 'frobnicate'"},
      {"[a]\nkind = ip4, ip5\n", BW_EINVAL, 2, "unknown kind 'ip5'"},
      {"[a]\nzone = not a zone\n", BW_EINVAL, 2, "not a valid zone name"},
      {"[a]\nzone = -bad.example\n", BW_EINVAL, 2, "not a valid zone name"},
      {"[a]\ndqs = bad..dqs\n", BW_EINVAL, 2, "not a valid zone name"},
      {"[a]\ncode = 127.0.0.x spam\n", BW_EINVAL, 2, "not an IPv4 address"},
      {"[a]\ncode = 127.0.0.9-127.0.0.3 spam\n", BW_EINVAL, 2,
       "ends before it starts"},
      {"[a]\ncode = 192.0.2.1 spam\n", BW_EINVAL, 2, "outside 127.0.0.0/8"},
      {"[a]\ncode = 127.0.0.2-128.0.0.1 spam\n", BW_EINVAL, 2,
       "outside 127.0.0.0/8"},
      {"[a]\nrefusal = 10.0.0.1 refused\n", BW_EINVAL, 2,
       "outside 127.0.0.0/8"},
      {"[a]\ncode =\n", BW_EINVAL, 2, "not an IPv4 address"},
      {"[a]\nbitmask = 0 nothing\n", BW_EINVAL, 2, "1 to 255"},
      {"[a]\nbitmask = 256 big\n", BW_ERANGE, 2, "at most 255"},
      {"[a]\nbitmask = two black\n", BW_EINVAL, 2, "expected a number"},
      {"[a]\nbitmask = 2\n", BW_EINVAL, 2, "lacks a meaning"},
      {"[a]\ndefault = maybe\n", BW_EINVAL, 2, "yes or no"},
      {"[a]\ntestpoints = 2\n", BW_EINVAL, 2, "yes or no"},
      {"[a]\nmax_daily = lots\n", BW_EINVAL, 2, "expected a number"},
      {"[a]\nmax_daily = 4294967296\n", BW_ERANGE, 2, "too large"},
      {"[a]\nlimit_group = Spam Haus\n", BW_EINVAL, 2, "limit_group"},
      {"[a]\nlimit_group =\n", BW_EINVAL, 2, "limit_group"},
      /* Section headers. */
      {"[a \"b\"]\n", BW_ESYNTAX, 1, "zone sections are [id]"},
      {"; first\n[zen.spamhaus]\n", BW_EINVAL, 2, "zone id"},
      {"[a]\nzone = a.example\nkind = ip4\n[has_underscore]\nkind = x\n",
       BW_EINVAL, 5, "unknown kind"},
      {"zone = a.example\n", BW_ESYNTAX, 1, "outside any [section]"},
      {"[a]\nzone\n", BW_ESYNTAX, 2, "expected 'key = value'"},
  };
  char err[BW_ERRLEN];

  (void)state;
  for (size_t i = 0; i < N(cases); i++) {
    struct catalog cat = {0};
    const char *path = tu_write(cases[i].text);
    err[0] = '\0';
    enum bw_err rc = zone_catalog_load(&cat, path, err);
    if (rc != cases[i].rc)
      fail_msg("case %zu: rc %d, want %d (%s)", i, rc, cases[i].rc, err);
    tu_assert_err(err, path, cases[i].line, cases[i].word);
    assert_int_equal(cat.n, 0);
  }
}

static void long_zone_id(void **state) {
  struct catalog cat = {0};
  char err[BW_ERRLEN] = "";
  char id[70];
  const char *path;

  (void)state;
  memset(id, 'a', 64);
  id[64] = '\0';
  path = tu_writef("[%s]\nzone = a.example\nkind = ip4\n", id);
  assert_int_equal(zone_catalog_load(&cat, path, err), BW_EINVAL);
  tu_assert_err(err, path, 1, "zone id");
  id[63] = '\0';
  path = tu_writef("[%s]\nzone = a.example\nkind = ip4\n", id);
  assert_int_equal(zone_catalog_load(&cat, path, err), BW_OK);
  assert_int_equal(cat.n, 1);
  zone_catalog_free(&cat);
}

static void repeated_keys(void **state) {
  struct catalog cat = {0};
  char err[BW_ERRLEN] = "";
  const char *path = tu_write("[a]\n"
                              "zone = first.example\n"
                              "zone = second.example\n"
                              "kind = ip4\n"
                              "kind = domain\n"
                              "refusal = 127.0.0.1 one\n"
                              "refusal = 127.0.0.2-127.0.0.3 two\n");

  (void)state;
  assert_int_equal(zone_catalog_load(&cat, path, err), BW_OK);
  /* Scalars: the last line wins; kind is replaced, not added to. */
  assert_string_equal(cat.zones[0].zone, "second.example");
  assert_int_equal(cat.zones[0].kinds, ZONE_DOMAIN);
  assert_int_equal(cat.zones[0].nrefusals, 2);
  zone_catalog_free(&cat);
}

static void empty_and_hostile_files(void **state) {
  static const char junk[] = "\x7f" "ELF\x02\x01\x01\x00\x00\x00\n"
                             "\xff\xfe[\x01]\n";
  struct catalog cat = {0};
  char err[BW_ERRLEN] = "";
  const char *path;
  char want[TU_PATH + 32];

  (void)state;
  path = tu_write("");
  assert_int_equal(zone_catalog_load(&cat, path, err), BW_EINVAL);
  snprintf(want, sizeof(want), "%s: no zones defined", path);
  assert_string_equal(err, want);

  path = tu_write("; only comments\n\n");
  assert_int_equal(zone_catalog_load(&cat, path, err), BW_EINVAL);
  tu_assert_contains(err, "no zones defined");

  path = tu_missing_path();
  assert_int_equal(zone_catalog_load(&cat, path, err), BW_EIO);
  tu_assert_contains(err, "cannot open");

  path = tu_write_bytes(junk, sizeof(junk) - 1);
  assert_int_equal(zone_catalog_load(&cat, path, err), BW_ESYNTAX);
  tu_assert_err(err, path, 1, "NUL");

  path = tu_write("[a]\nzone = a.example\nkind = ip4\n\xff\xfe\x80 = 1\n");
  assert_int_equal(zone_catalog_load(&cat, path, err), BW_ESYNTAX);
  tu_assert_err(err, path, 4, "invalid key");
  assert_int_equal(cat.n, 0);
}

static void line_too_long(void **state) {
  struct catalog cat = {0};
  char err[BW_ERRLEN] = "";
  char *meaning = malloc(5000);
  const char *path;

  (void)state;
  assert_non_null(meaning);
  memset(meaning, 'm', 4999);
  meaning[4999] = '\0';
  path = tu_writef("[a]\nzone = a.example\nkind = ip4\ncode = 127.0.0.2 %s\n",
                   meaning);
  assert_int_equal(zone_catalog_load(&cat, path, err), BW_ESYNTAX);
  tu_assert_err(err, path, 4, "longer than");
  assert_int_equal(cat.n, 0);
  free(meaning);
}

/* ---- DQS --------------------------------------------------------------- */

static void dqs_rewrites_query_zone(void **state) {
  struct catalog cat = {0};
  char err[BW_ERRLEN] = "";
  char key[300];

  (void)state;
  assert_int_equal(zone_catalog_load(&cat, TEST_CATALOG, err), BW_OK);
  assert_int_equal(zone_catalog_apply_dqs(&cat, "abc123key", err), BW_OK);
  assert_string_equal(zone_find(&cat, "ip-a")->query_zone,
                      "abc123key.a.dq.example.net");
  /* The public zone is kept for messages and reports. */
  assert_string_equal(zone_find(&cat, "ip-a")->zone, "a.example.net");
  /* Zones without a DQS variant are queried as before. */
  assert_string_equal(zone_find(&cat, "ip-b")->query_zone, "b.example.net");
  assert_string_equal(zone_find(&cat, "dom-d")->query_zone, "d.example.org");

  /* A key that makes the name too long is refused. */
  memset(key, 'k', 250);
  key[250] = '\0';
  assert_int_equal(zone_catalog_apply_dqs(&cat, key, err), BW_EINVAL);
  tu_assert_contains(err, "too long");
  zone_catalog_free(&cat);
}

/* ---- the shipped default catalog --------------------------------------- */

static struct catalog shipped;

static int load_shipped(void **state) {
  char err[BW_ERRLEN] = "";

  (void)state;
  if (zone_catalog_load(&shipped, SHIPPED_CATALOG, err) != BW_OK) {
    print_error("%s\n", err);
    return -1;
  }
  return 0;
}

static int free_shipped(void **state) {
  zone_catalog_free(&shipped);
  return tu_cleanup(state);
}

/* True when name is suffix or ends with "." suffix. */
static bool in_domain(const char *name, const char *suffix) {
  size_t ln = strlen(name), ls = strlen(suffix);

  if (ln > 0 && name[ln - 1] == '.')
    ln--;
  if (ln == ls)
    return strncasecmp(name, suffix, ls) == 0;
  return ln > ls && name[ln - ls - 1] == '.' &&
         strncasecmp(name + ln - ls, suffix, ls) == 0;
}

static void shipped_size_and_kinds(void **state) {
  unsigned kinds = 0;
  size_t ndefault = 0;

  (void)state;
  assert_true(shipped.n >= 40);
  for (size_t i = 0; i < shipped.n; i++) {
    kinds |= shipped.zones[i].kinds;
    ndefault += shipped.zones[i].is_default;
  }
  assert_int_equal(kinds, ZONE_IP4 | ZONE_IP6 | ZONE_DOMAIN);
  assert_true(ndefault > 0);
}

static void shipped_zones_are_well_formed(void **state) {
  (void)state;
  for (size_t i = 0; i < shipped.n; i++) {
    const struct zone *z = &shipped.zones[i];
    if (z->delist == NULL || (strncmp(z->delist, "https://", 8) != 0 &&
                              strncmp(z->delist, "http://", 7) != 0))
      fail_msg("zone [%s] has no delisting URL", z->id);
    if (z->name == NULL || strcmp(z->name, z->id) == 0)
      fail_msg("zone [%s] has no name", z->id);
    if (z->ncodes == 0 && z->nbits == 0)
      fail_msg("zone [%s] has neither codes nor bitmask", z->id);
    /* Every zone is distinct. */
    for (size_t j = 0; j < i; j++)
      if (strcasecmp(z->zone, shipped.zones[j].zone) == 0)
        fail_msg("zone %s appears twice ([%s], [%s])", z->zone,
                 shipped.zones[j].id, z->id);
    /* No answer may be both a listing code and a refusal. */
    for (size_t c = 0; c < z->ncodes; c++)
      for (size_t r = 0; r < z->nrefusals; r++)
        if (z->codes[c].lo <= z->refusals[r].hi &&
            z->refusals[r].lo <= z->codes[c].hi)
          fail_msg("zone [%s]: code %s overlaps a refusal", z->id,
                   z->codes[c].meaning);
  }
}

static void shipped_default_set(void **state) {
  static const char *never_default[] = {"uceprotect-2", "uceprotect-3"};

  (void)state;
  for (size_t i = 0; i < N(never_default); i++) {
    const struct zone *z = zone_find(&shipped, never_default[i]);
    assert_non_null(z);
    if (z->is_default)
      fail_msg("high-collateral list [%s] is in the default set", z->id);
  }
  assert_non_null(zone_find(&shipped, "spamhaus-zen"));
  assert_true(zone_find(&shipped, "spamhaus-zen")->is_default);
}

/* Spamhaus and Mailspike count their free-use limits over all their
 * zones: every zone of theirs with a limit is in its operator's group. */
static void shipped_limit_groups(void **state) {
  (void)state;
  for (size_t i = 0; i < shipped.n; i++) {
    const struct zone *z = &shipped.zones[i];
    const char *want = strncmp(z->id, "spamhaus-", 9) == 0    ? "spamhaus"
                       : strncmp(z->id, "mailspike-", 10) == 0 ? "mailspike"
                                                               : NULL;
    if (want == NULL || z->max_daily == 0)
      continue;
    if (z->limit_group == NULL || strcmp(z->limit_group, want) != 0)
      fail_msg("[%s] should be in limit_group %s", z->id, want);
  }
}

static void shipped_has_no_dead_zones(void **state) {
  /* dnsbl-facts.md section 4: dead, retired or wildcarded lists. */
  static const char *dead[] = {
      "relays.ordb.org",     "dsbl.org",           "njabl.org",
      "ahbl.org",            "sorbs.net",          "ix.dnsbl.manitu.net",
      "dnsbl.inps.de",       "ubl.unsubscore.com", "spamcannibal.org",
      "rbl.megarbl.net",     "megarbl.net",        "emailbasura.org",
      "msrbl.net",           "dul.ru",             "cbl.abuseat.org",
      "abuse.ch",            "opm.blitzed.org",    "rfc-ignorant.org",
      "dynablock.easynet.nl", "mail-abuse.org",    "habeas.com",
      "bondedsender.org",    "relays.osirusoft.com", "rbl.snark.net",
      "ascams.com",
  };

  (void)state;
  for (size_t i = 0; i < shipped.n; i++) {
    const struct zone *z = &shipped.zones[i];
    for (size_t d = 0; d < N(dead); d++) {
      if (in_domain(z->zone, dead[d]))
        fail_msg("dead zone %s is in the catalog as [%s]", z->zone, z->id);
      if (z->dqs != NULL && in_domain(z->dqs, dead[d]))
        fail_msg("dead zone %s is the DQS zone of [%s]", z->dqs, z->id);
    }
  }
}

static void decode_one(const struct zone *z, uint32_t addr,
                       struct zone_answer *out) {
  zone_decode(z, &addr, 1, out);
}

static void shipped_spamhaus_refusals(void **state) {
  struct zone_answer out;
  const struct zone *z;
  size_t nspamhaus = 0;

  (void)state;
  for (size_t i = 0; i < shipped.n; i++) {
    z = &shipped.zones[i];
    if (!in_domain(z->zone, "spamhaus.org"))
      continue;
    nspamhaus++;
    decode_one(z, IP(127, 255, 255, 254), &out);
    if (out.result != ZR_REFUSED)
      fail_msg("[%s] decodes 127.255.255.254 as %s", z->id,
               zone_result_name(out.result));
    decode_one(z, IP(127, 255, 255, 255), &out);
    assert_int_equal(out.result, ZR_REFUSED);
    /* Every Spamhaus zone has a DQS variant. */
    if (z->dqs == NULL || !in_domain(z->dqs, "dq.spamhaus.net"))
      fail_msg("[%s] lacks its DQS zone", z->id);
  }
  assert_true(nspamhaus >= 2);

  z = zone_find(&shipped, "spamhaus-zen");
  assert_non_null(z);
  decode_one(z, IP(127, 0, 0, 2), &out);
  assert_int_equal(out.result, ZR_LISTED);
  decode_one(z, IP(127, 0, 0, 10), &out);
  assert_int_equal(out.result, ZR_LISTED);

  z = zone_find(&shipped, "spamhaus-dbl");
  assert_non_null(z);
  assert_int_equal(z->kinds, ZONE_DOMAIN);
  decode_one(z, IP(127, 0, 1, 255), &out);
  assert_int_equal(out.result, ZR_REFUSED);
  decode_one(z, IP(127, 0, 1, 2), &out);
  assert_int_equal(out.result, ZR_LISTED);
}

static void shipped_uribl_multi(void **state) {
  const struct zone *z = NULL;
  struct zone_answer out;
  char meaning[256];

  (void)state;
  for (size_t i = 0; i < shipped.n; i++)
    if (strcmp(shipped.zones[i].zone, "multi.uribl.com") == 0)
      z = &shipped.zones[i];
  assert_non_null(z);
  decode_one(z, IP(127, 0, 0, 1), &out);
  assert_int_equal(out.result, ZR_REFUSED);
  decode_one(z, IP(127, 0, 0, 6), &out);
  assert_int_equal(out.result, ZR_LISTED);
  assert_int_equal(out.ncodes, 1);
  zone_code_meaning(z, out.codes[0], meaning, sizeof(meaning));
  tu_assert_contains(meaning, "black");
  tu_assert_contains(meaning, "grey");
  tu_assert_contains(meaning, " + ");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(load_fields),
      cmocka_unit_test(extra_file_overrides),
      cmocka_unit_test(failed_load_keeps_catalog),
      cmocka_unit_test(duplicate_id_in_one_file),
      cmocka_unit_test(catalog_errors),
      cmocka_unit_test(long_zone_id),
      cmocka_unit_test(repeated_keys),
      cmocka_unit_test(empty_and_hostile_files),
      cmocka_unit_test(line_too_long),
      cmocka_unit_test(dqs_rewrites_query_zone),
  };
  const struct CMUnitTest shipped_tests[] = {
      cmocka_unit_test(shipped_size_and_kinds),
      cmocka_unit_test(shipped_zones_are_well_formed),
      cmocka_unit_test(shipped_default_set),
      cmocka_unit_test(shipped_has_no_dead_zones),
      cmocka_unit_test(shipped_limit_groups),
      cmocka_unit_test(shipped_spamhaus_refusals),
      cmocka_unit_test(shipped_uribl_multi),
  };
  int failed;

  tu_init();
  failed = cmocka_run_group_tests(tests, NULL, tu_cleanup);
  failed += cmocka_run_group_tests_name("shipped catalog", shipped_tests,
                                        load_shipped, free_shipped);
  return failed;
}
