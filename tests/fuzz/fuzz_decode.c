/* Fuzz target: the answer decoder (zone_decode in zones/decode.c).
 *
 * Input: byte 0 picks a zone of a small fixed catalog, byte 1 is a mode,
 * then every 4 bytes are one A record (network order).  Mode bit 0 puts
 * every record inside 127.0.0.0/8; bit 1 then moves it to 127.0.0.x or
 * 127.255.255.x (by the record's lowest bit), where the codes and the
 * refusal answers are.  The answer must match an independent model of the
 * rules in catalog.h (fuzzutil.c), survive the JSON round trip the store
 * uses, and every code must have a meaning that fits any buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json.h"

/* Spamhaus-style codes and refusals, URIBL-style bitmasks with a refusal,
 * a zone with nothing, overlapping ranges, and a zone that lists inside
 * 127.255.255.0/24 (which then is no refusal for it). */
static const char fixed_catalog[] =
    "[zen]\n"
    "zone = zen.bl.test\n"
    "kind = ip4, ip6\n"
    "code = 127.0.0.2 SBL\n"
    "code = 127.0.0.3 CSS\n"
    "code = 127.0.0.4-127.0.0.7 XBL\n"
    "code = 127.0.0.10-127.0.0.11 PBL\n"
    "refusal = 127.255.255.252 typo\n"
    "refusal = 127.255.255.254 public resolver\n"
    "refusal = 127.255.255.255 rate limited\n"
    "\n"
    "[uribl]\n"
    "zone = uribl.bl.test\n"
    "kind = domain\n"
    "bitmask = 2 black\n"
    "bitmask = 4 grey\n"
    "bitmask = 8 red\n"
    "bitmask = 255 any\n"
    "refusal = 127.0.0.1 query refused\n"
    "\n"
    "[bare]\n"
    "zone = bare.bl.test\n"
    "kind = ip4\n"
    "\n"
    "[overlap]\n"
    "zone = overlap.bl.test\n"
    "kind = ip4\n"
    "code = 127.0.0.0-127.0.0.255 wide\n"
    "code = 127.0.0.2 narrow (never reached)\n"
    "refusal = 127.0.0.2-127.0.0.3 refused and listed\n"
    "\n"
    "[errlist]\n"
    "zone = err.bl.test\n"
    "kind = ip4\n"
    "code = 127.255.255.0-127.255.255.253 listed in the error range\n"
    "refusal = 127.0.0.0-127.0.0.1 low\n"
    "refusal = 127.255.255.255 limit\n";

static struct catalog cat;

static void setup(void) {
  char err[BW_ERRLEN];
  const char *path;

  if (cat.n > 0)
    return;
  path = fuzz_write("decode.conf", fixed_catalog, sizeof(fixed_catalog) - 1);
  if (zone_catalog_load(&cat, path, err) != BW_OK) {
    fprintf(stderr, "fuzz_decode: %s\n", err);
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint32_t addrs[64];
  struct zone_answer a;
  char buf[256];
  size_t n = 0;
  const struct zone *z;
  uint8_t mode;

  setup();
  if (size < 2)
    return 0;
  z = &cat.zones[data[0] % cat.n];
  mode = data[1];
  for (size_t i = 2; i + 4 <= size && n < sizeof(addrs) / sizeof(addrs[0]);
       i += 4) {
    uint8_t o[4] = {data[i], data[i + 1], data[i + 2], data[i + 3]};
    if (mode & 1)
      o[0] = 127;
    if (mode & 2) {
      bool high = o[3] & 1;
      o[1] = o[2] = high ? 255 : 0;
      o[3] = high ? (uint8_t)(o[3] | 0xf0) : (uint8_t)(o[3] & 0x0f);
    }
    addrs[n++] = (uint32_t)o[0] << 24 | (uint32_t)o[1] << 16 |
                 (uint32_t)o[2] << 8 | o[3];
  }
  zone_decode(z, addrs, n, &a);
  fuzz_check_answer(z, addrs, n, &a);
  for (size_t i = 0; i < a.ncodes; i++) {
    const char *m = json_code_meaning(z, a.result, a.codes[i], buf,
                                      sizeof(buf));
    FUZZ_CHECK(m != NULL && m[0] != '\0', "empty meaning");
  }
  char *meanings = json_meanings(z, &a);
  FUZZ_CHECK(meanings != NULL, "json_meanings failed");
  free(meanings);
  return 0;
}
