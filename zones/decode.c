/* Turning a DNSBL's A records into a result with meanings.  This runs once
 * per answer on the poller's hot path, so it allocates nothing. */
#include <stdio.h>
#include <string.h>

#include "catalog.h"

static const char *const result_names[ZR_COUNT] = {
    [ZR_CLEAR] = "clear",   [ZR_LISTED] = "listed", [ZR_REFUSED] = "refused",
    [ZR_BOGUS] = "bogus",   [ZR_ERROR] = "error",
    [ZR_UNTRUSTED] = "untrusted",
};

const char *zone_result_name(enum zone_result r) {
  return (unsigned)r < ZR_COUNT ? result_names[r] : "?";
}

enum zone_result zone_result_from_name(const char *name) {
  for (int i = 0; i < ZR_COUNT; i++)
    if (strcmp(result_names[i], name) == 0)
      return (enum zone_result)i;
  return ZR_COUNT;
}

bool zone_result_unknown(enum zone_result r) {
  return r != ZR_CLEAR && r != ZR_LISTED;
}

static const struct zone_code *find_range(const struct zone_code *arr,
                                          size_t n, uint32_t addr) {
  for (size_t i = 0; i < n; i++)
    if (addr >= arr[i].lo && addr <= arr[i].hi)
      return &arr[i];
  return NULL;
}

static bool in_loopback(uint32_t addr) { return (addr >> 24) == 127; }

/* 127.255.255.0/24: Spamhaus's error range, refused for every zone unless
 * the zone says the code is a listing. */
static bool generic_refusal(const struct zone *z, uint32_t addr) {
  return (addr >> 8) == 0x7fffff &&
         find_range(z->codes, z->ncodes, addr) == NULL;
}

static bool is_refusal(const struct zone *z, uint32_t addr) {
  return find_range(z->refusals, z->nrefusals, addr) != NULL ||
         generic_refusal(z, addr);
}

/* Inserts addr into the sorted, unique code list. */
static void add_sorted(struct zone_answer *out, uint32_t addr) {
  size_t i = 0;

  while (i < out->ncodes && out->codes[i] < addr)
    i++;
  if (i < out->ncodes && out->codes[i] == addr)
    return;
  if (out->ncodes == ZONE_MAX_CODES)
    return;
  memmove(&out->codes[i + 1], &out->codes[i],
          (out->ncodes - i) * sizeof(out->codes[0]));
  out->codes[i] = addr;
  out->ncodes++;
}

/* Keeps the addresses that pass keep() as the answer's codes. */
static void collect(struct zone_answer *out, const struct zone *z,
                    const uint32_t *addrs, size_t n,
                    bool (*keep)(const struct zone *, uint32_t)) {
  out->ncodes = 0;
  for (size_t i = 0; i < n; i++)
    if (keep(z, addrs[i]))
      add_sorted(out, addrs[i]);
}

static bool is_bogus(const struct zone *z, uint32_t addr) {
  (void)z;
  return !in_loopback(addr);
}

static bool is_listing(const struct zone *z, uint32_t addr) {
  return in_loopback(addr) && !is_refusal(z, addr);
}

void zone_decode(const struct zone *z, const uint32_t *addrs, size_t n,
                 struct zone_answer *out) {
  out->ncodes = 0;
  out->result = ZR_CLEAR;
  if (n == 0)
    return;
  collect(out, z, addrs, n, is_bogus);
  if (out->ncodes > 0) {
    out->result = ZR_BOGUS;
    return;
  }
  collect(out, z, addrs, n, is_listing);
  if (out->ncodes > 0) {
    out->result = ZR_LISTED;
    return;
  }
  collect(out, z, addrs, n, is_refusal);
  out->result = ZR_REFUSED;
}

const char *zone_code_meaning(const struct zone *z, uint32_t code, char *buf,
                              size_t size) {
  const struct zone_code *c = find_range(z->codes, z->ncodes, code);
  size_t used = 0;

  buf[0] = '\0';
  if (c != NULL) {
    snprintf(buf, size, "%s", c->meaning);
    return buf;
  }
  for (size_t i = 0; i < z->nbits && used < size; i++) {
    if ((code & z->bits[i].mask) == 0)
      continue;
    int w = snprintf(buf + used, size - used, "%s%s", used ? " + " : "",
                     z->bits[i].meaning);
    if (w < 0)
      break;
    used += (size_t)w;
  }
  if (buf[0] == '\0')
    snprintf(buf, size, "unlisted return code");
  return buf;
}

const char *zone_refusal_meaning(const struct zone *z, uint32_t code) {
  const struct zone_code *c = find_range(z->refusals, z->nrefusals, code);

  if (c != NULL)
    return c->meaning;
  return "DNSBL error code (127.255.255.x)";
}
