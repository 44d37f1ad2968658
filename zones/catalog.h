/* The zone catalog: which DNSBLs exist, how to query them and what their
 * answers mean.  The file format is documented in SPEC.md and
 * blwatch.conf(5); this module parses it and decodes answers.
 */
#ifndef BW_CATALOG_H
#define BW_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum zone_kind {
  ZONE_IP4 = 1 << 0,
  ZONE_IP6 = 1 << 1,
  ZONE_DOMAIN = 1 << 2,
};

/* An inclusive range of answer addresses (host byte order) and what it
 * means.  Used for both listing codes and refusal answers. */
struct zone_code {
  uint32_t lo, hi;
  char *meaning;
};

struct zone_bit {
  uint8_t mask;
  char *meaning;
};

struct zone {
  char *id;
  char *name;
  char *zone;       /* the public zone, e.g. zen.spamhaus.org */
  char *query_zone; /* what is queried: zone, or <key>.<dqs> with DQS */
  char *delist;
  char *dqs;
  unsigned kinds; /* enum zone_kind bits */
  bool is_default;
  bool testpoints;
  uint64_t max_daily; /* 0: no published limit */
  char *limit_group;  /* zones that share one max_daily (Spamhaus), or NULL */
  struct zone_code *codes;
  size_t ncodes;
  struct zone_code *refusals;
  size_t nrefusals;
  struct zone_bit *bits;
  size_t nbits;
  char *file; /* where the section was defined, for messages */
  int line;
};

struct catalog {
  struct zone *zones;
  size_t n;
};

/* Adds the zones of one catalog file to cat.  A section whose id already
 * came from an earlier file replaces that zone (so an `extra` file can
 * override the default); the same id twice in one file is an error.  On
 * error cat keeps what it had before the call and err says
 * "FILE:LINE: problem". */
enum bw_err zone_catalog_load(struct catalog *cat, const char *path,
                              char *err);

/* Frees everything the catalog owns; cat may then be reused. */
void zone_catalog_free(struct catalog *cat);

/* Points every zone that has a DQS variant at "<key>.<dqs>". */
enum bw_err zone_catalog_apply_dqs(struct catalog *cat, const char *key,
                                   char *err);

/* The zone with this id, or NULL. */
struct zone *zone_find(const struct catalog *cat, const char *id);

/* Parses "ADDR" or "ADDR-ADDR" (IPv4, lo <= hi) into host order. */
enum bw_err zone_parse_range(const char *text, uint32_t *lo, uint32_t *hi,
                             char *err);

/* Most A records one answer may carry that are kept; more are ignored.
 * No list uses more than a handful at once. */
#define ZONE_MAX_CODES 32

enum zone_result {
  ZR_CLEAR,
  ZR_LISTED,
  ZR_REFUSED,
  ZR_BOGUS,
  ZR_ERROR,
  ZR_UNTRUSTED,
  ZR_COUNT
};

/* "clear", "listed", ... as in SPEC.md. */
const char *zone_result_name(enum zone_result r);
/* The result named name ("listed", ...); ZR_COUNT when unknown. */
enum zone_result zone_result_from_name(const char *name);
/* True for the results that say nothing about the target. */
bool zone_result_unknown(enum zone_result r);

/* The decoded answer to one A query.  codes are sorted and unique: the
 * listing codes for ZR_LISTED, the refusal answers for ZR_REFUSED and the
 * stray answers for ZR_BOGUS. */
struct zone_answer {
  enum zone_result result;
  uint8_t ncodes;
  uint32_t codes[ZONE_MAX_CODES];
};

/* Decodes the A records (host byte order) of a NOERROR answer.  No records
 * means clear.  Any record outside 127.0.0.0/8 makes the answer bogus;
 * otherwise any record that is not a refusal makes it a listing;
 * otherwise it is refused.  An answer in 127.255.255.0/24 that the zone
 * does not define as a listing code is a refusal for every zone (the
 * Spamhaus error convention other lists have adopted). */
void zone_decode(const struct zone *z, const uint32_t *addrs, size_t n,
                 struct zone_answer *out);

/* Writes the meaning of a listing code into buf: the first matching code
 * line, the meanings of the matching bits joined by " + ", or
 * "unlisted return code".  Returns buf. */
const char *zone_code_meaning(const struct zone *z, uint32_t code, char *buf,
                              size_t size);
/* The meaning of a refusal answer (never NULL). */
const char *zone_refusal_meaning(const struct zone *z, uint32_t code);

/* Formats an IPv4 address in host order; buf needs 16 bytes. */
char *zone_ip4_str(uint32_t addr, char *buf);

#endif
