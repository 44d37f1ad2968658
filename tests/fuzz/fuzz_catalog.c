/* Fuzz target: the zone catalog (zones/catalog.c).
 *
 * The bytes are written to a temporary file and loaded twice with
 * zone_catalog_load(): into an empty catalog, and as an `extra` file on
 * top of a small base catalog (the merge path, where a known id replaces a
 * zone).  Every zone loaded must be complete and valid; each then decodes
 * a fixed set of answers plus the bounds of its own codes and refusals,
 * checked against an independent model (fuzzutil.c), and gives a meaning
 * for every code.  A failed load must name FILE:LINE (or the file, for a
 * catalog with no zone) and leave the catalog as it was.  Finally a DQS key
 * is applied and the query names must stay within 253 characters.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "qname.h"

static const char base_catalog[] =
    "[base-ip]\n"
    "zone = ip.bl.test\n"
    "kind = ip4, ip6\n"
    "code = 127.0.0.2 listed\n"
    "refusal = 127.255.255.254 refused\n"
    "dqs = ip.dq.test\n"
    "\n"
    "[base-dom]\n"
    "zone = dom.bl.test\n"
    "kind = domain\n"
    "bitmask = 2 black\n";

static const char *base_path(void) {
  static const char *path;

  if (path == NULL)
    path = fuzz_write("base.conf", base_catalog, sizeof(base_catalog) - 1);
  return path;
}

static void check_catalog(const struct catalog *cat) {
  for (size_t i = 0; i < cat->n; i++) {
    const struct zone *z = &cat->zones[i];
    fuzz_check_zone(z);
    FUZZ_CHECK(zone_find(cat, z->id) == z, "zone id [%s] appears twice",
               z->id);
  }
}

static void check_load_error(const char *err, const char *path) {
  size_t n = strlen(path);

  FUZZ_CHECK(fuzz_err_has_line(err, path) ||
                 (strncmp(err, path, n) == 0 &&
                  strcmp(err + n, ": no zones defined") == 0),
             "catalog error without FILE:LINE: %s", err);
}

static void apply_dqs(struct catalog *cat) {
  /* The longest key a config allows: one 63-character label. */
  static const char key[] =
      "k123456789012345678901234567890123456789012345678901234567890ab";
  char err[BW_ERRLEN];

  if (zone_catalog_apply_dqs(cat, key, err) != BW_OK)
    return;
  for (size_t i = 0; i < cat->n; i++) {
    const struct zone *z = &cat->zones[i];
    FUZZ_CHECK(strlen(z->query_zone) <= QNAME_MAX,
               "zone [%s]: DQS query zone longer than %d", z->id, QNAME_MAX);
    if (z->dqs != NULL)
      FUZZ_CHECK(strncmp(z->query_zone, key, sizeof(key) - 1) == 0,
                 "zone [%s]: DQS key not applied", z->id);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[BW_ERRLEN];
  struct catalog cat = {0};
  const char *path = fuzz_write("catalog.conf", data, size);
  enum bw_err rc;

  /* 1. On its own. */
  err[0] = '\0';
  rc = zone_catalog_load(&cat, path, err);
  if (rc != BW_OK) {
    check_load_error(err, path);
    FUZZ_CHECK(cat.n == 0 && cat.zones == NULL,
               "a failed load changed the catalog");
  } else {
    FUZZ_CHECK(cat.n > 0, "a catalog with no zone loaded");
    check_catalog(&cat);
    for (size_t i = 0; i < cat.n; i++)
      fuzz_exercise_zone(&cat.zones[i]);
    apply_dqs(&cat);
  }
  zone_catalog_free(&cat);

  /* 2. As an extra file on top of the base catalog. */
  rc = zone_catalog_load(&cat, base_path(), err);
  FUZZ_CHECK(rc == BW_OK, "base catalog: %s", err);
  size_t before = cat.n;
  err[0] = '\0';
  rc = zone_catalog_load(&cat, path, err);
  if (rc != BW_OK) {
    check_load_error(err, path);
    FUZZ_CHECK(cat.n == before && strcmp(cat.zones[0].zone, "ip.bl.test") == 0 &&
                   strcmp(cat.zones[1].zone, "dom.bl.test") == 0,
               "a failed load changed the catalog");
  } else {
    FUZZ_CHECK(cat.n >= before, "zones lost in the merge");
    check_catalog(&cat);
    apply_dqs(&cat);
  }
  zone_catalog_free(&cat);
  return 0;
}
