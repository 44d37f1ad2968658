/* One pass of lookups: every target against every enabled zone that fits
 * its kind, plus the RFC 5782 test points of every zone that honours them.
 * Used by `check`; the poller's cycle reuses it.
 *
 * Targets are pulled one at a time from the caller, so memory is bounded
 * by the engine's window.  For each pair the caller's result callback is
 * called once, on the loop, after the TXT reason of a listing was fetched.
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
  const char *name; /* domain; must live until the scan ends */
  uint32_t id;      /* the caller's index, passed back in results */
};

struct scan_result {
  uint32_t target; /* scan_target.id */
  uint32_t zone;   /* index into the scan's zone array */
  struct zone_answer answer;
  int status;   /* the ARES_* status of the A query */
  const char *reason; /* TXT reason of a listing, or NULL; valid during
                         the callback only */
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
/* Results of a zone in this health are set aside as `untrusted`. */
bool zone_health_untrusted(enum zone_health h);

struct scan_ops {
  /* Fills the next target; false when there are no more. */
  bool (*next_target)(void *arg, struct scan_target *out);
  void (*result)(void *arg, const struct scan_result *r);
  /* Called once when every pair and test point is done.  It runs inside
   * the engine's callbacks: it may stop the loop, never free the scan. */
  void (*finished)(void *arg);
};

struct scan;

/* Starts a scan of zones[0..nzones) on engine e.  The scan feeds e
 * through its pull function, so e must have been opened with
 * scan_next_request / the scan as its source: use scan_open(). */
enum bw_err scan_open(uv_loop_t *loop, const struct dns_options *opt,
                      struct zone *const *zones, size_t nzones,
                      const struct scan_ops *ops, void *arg,
                      struct scan **out, char *err);

/* Begins: test points first, then the pairs.  Until then the engine
 * only sends what is given to dns_submit() (host name lookups). */
void scan_start(struct scan *s);

/* The engine, for resolving host names through the same resolver. */
struct dns_engine *scan_engine(struct scan *s);

/* Health of zone i once the scan finished (ZH_UNTESTED before). */
enum zone_health scan_health(const struct scan *s, size_t i);
/* The test point answers behind it, for messages. */
const struct zone_answer *scan_testpoint(const struct scan *s, size_t i,
                                         bool positive);

void scan_get_stats(const struct scan *s, struct dns_stats *out);

/* Frees the scan; closes the engine.  Run the loop afterwards so libuv
 * can finish closing handles. */
void scan_free(struct scan *s);

#endif
