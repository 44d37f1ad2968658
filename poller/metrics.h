/* Prometheus metrics (text exposition format 0.0.4).
 *
 * Two kinds of figures: counters the poller keeps in memory (pair lookups
 * by zone and result, and each zone's answer-latency histogram), and
 * gauges read from the database when /metrics is scraped (listings, zone
 * health, the last cycle, the outbox).
 *
 * Threads: the counters of a zone are written by the loop thread only and
 * read by the HTTP thread, as relaxed C11 atomics, so the hot path takes
 * no lock.  The list of zones is guarded by a mutex: metrics_zones() (loop
 * thread) adds to it, the writers read it.
 */
#ifndef BW_METRICS_H
#define BW_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

struct config;
struct store;
struct metrics;
struct metrics_zone; /* one zone's counters; lives as long as the metrics */

/* The histogram's upper bounds, in seconds (+Inf is implicit). */
#define METRICS_NBUCKETS 12

enum bw_err metrics_new(struct metrics **out, char *err);
/* Frees m and every zone's counters.  No thread may use them any more. */
void metrics_free(struct metrics *m);

/* The counters of cfg's enabled zones, in catalog order (the order a cycle
 * numbers its zones), in out[0..cfg->nenabled).  A zone is known by its id
 * and public zone name; one seen before keeps its counters, so counters
 * never go back across reloads.  Loop thread. */
enum bw_err metrics_zones(struct metrics *m, const struct config *cfg,
                          struct metrics_zone **out, char *err);

/* Counts one pair result (enum zone_result) of zone z; when answered, the
 * query's time goes into the histogram.  Loop thread only; no lock. */
void metrics_observe(struct metrics_zone *z, int result, bool answered,
                     uint64_t took_ns);

/* Writes v as the inside of a label value: backslash, double quote and
 * newline escaped as the exposition format wants. */
void metrics_label(FILE *out, const char *v);

/* Writes the in-memory counters with their HELP and TYPE lines. */
void metrics_write_counters(struct metrics *m, FILE *out);

/* Writes the whole exposition: the in-memory counters (m may be NULL) and
 * the state of the database st (read-only, the caller's) as cfg sees it.
 * Returns 0, or 1 with err (BW_ERRLEN) when the database could not be
 * read; out then holds part of the text. */
int metrics_write(struct metrics *m, const struct config *cfg,
                  struct store *st, FILE *out, char *err);

#endif
