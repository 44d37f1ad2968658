/* One pass of lookups: the RFC 5782 test points of every zone that honours
 * them, then every target against every zone that fits its kind.  Used by
 * `check`, `zones --probe` and each cycle of the poller.
 *
 * Targets are pulled from the caller one at a time, so memory is bounded
 * by the engine's window.  Pairs of a zone that failed its test points are
 * not queried: they are reported as ZR_UNTRUSTED.  For each pair the
 * result callback is called once, on the loop, after the TXT reason of a
 * listing was fetched.
 */
#ifndef BW_SCAN_H
#define BW_SCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "dns.h"

/* A concrete target: an address or a domain. */
struct scan_target {
  bool is_domain;
  bool is_v6;
  uint8_t addr[16];
  const char *name; /* domain; must live until its results are in */
  uint32_t id;      /* the caller's handle, passed back in results */
};

struct scan_result {
  uint32_t target; /* scan_target.id */
  uint32_t zone;   /* index into the scan's zone array */
  struct zone_answer answer;
  int status;         /* the ARES_* status of the A query */
  const char *reason; /* TXT reason of a listing, or NULL; valid during
                         the callback only */
  const char *qname;  /* the name that was queried */
  uint64_t took_ns;   /* how long the A query's last try took; 0 when no
                         query was sent */
};

enum zone_health {
  ZH_UNTESTED,
  ZH_OK,
  ZH_WILDCARD, /* lists 127.0.0.1 / INVALID */
  ZH_DEAD,     /* does not list 127.0.0.2 / TEST */
  ZH_REFUSED,
  ZH_ERROR,
};

const char *zone_health_name(enum zone_health h);
/* The health a stored name stands for; ZH_UNTESTED for any other text. */
enum zone_health zone_health_parse(const char *name);
/* Results of a zone in this health are set aside as `untrusted`. */
bool zone_health_untrusted(enum zone_health h);

enum scan_next {
  SCAN_TARGET, /* *out was filled */
  SCAN_WAIT,   /* none now: the caller calls scan_resume() later */
  SCAN_END,    /* no more targets */
};

struct scan_ops {
  enum scan_next (*next_target)(void *arg, struct scan_target *out);
  /* Optional: false skips the pair (no query, no result). */
  bool (*want)(void *arg, const struct scan_target *t, uint32_t zone);
  /* Optional: called once the test points are in, before any pair. */
  void (*health_ready)(void *arg);
  void (*result)(void *arg, const struct scan_result *r);
  /* Called once when every pair and test point is done.  It runs inside
   * the engine's callbacks: it may stop the loop, never free the scan. */
  void (*finished)(void *arg);
};

struct scan;

/* Whether zone z lists targets of t's kind. */
bool scan_applies(const struct zone *z, const struct scan_target *t);

/* Prepares a scan of zones[0..nzones) on engine e (not owned).  The
 * caller frees it with scan_free() once finished, or after closing e. */
enum bw_err scan_open(struct dns_engine *e, struct zone *const *zones,
                      size_t nzones, const struct scan_ops *ops, void *arg,
                      struct scan **out, char *err);

/* Begins: test points first, then the pairs. */
void scan_start(struct scan *s);

/* Tells the scan that next_target may have a target again. */
void scan_resume(struct scan *s);

/* Health of zone i once the test points are in (ZH_UNTESTED before). */
enum zone_health scan_health(const struct scan *s, size_t i);

/* Queries this scan sent: test points, pairs, reasons. */
uint64_t scan_queries(const struct scan *s);

void scan_free(struct scan *s);

#endif
