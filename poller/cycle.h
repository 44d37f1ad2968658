/* One poller cycle: every active target in the store against every
 * enabled zone, compared with the stored state, changes recorded or sent
 * for confirmation.  Targets stream from SQLite in id order, so memory
 * holds only the targets whose queries are in flight. */
#ifndef BW_CYCLE_H
#define BW_CYCLE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "confirm.h"
#include "config.h"
#include "dns.h"
#include "record.h"
#include "store.h"

struct cycle_opts {
  int64_t id;             /* the cycles row */
  int64_t after_id;       /* start after this target id (resuming) */
  uint64_t pace_until_ms; /* loop time by which every target should have
                             been started; 0: no pacing */
  bool only_new;          /* only targets never checked (after a reload) */
  bool announce;          /* log zones stretched to fit max_daily */
  /* Optional: each enabled zone's counters (metrics_zones() order), for
   * the HTTP endpoint's /metrics; must outlive the cycle. */
  struct metrics_zone *const *metrics;
};

struct cycle;

/* Starts a cycle; done(arg) is called once every pair has a result (it
 * may free the cycle).  Everything passed in must outlive the cycle. */
enum bw_err cycle_start(uv_loop_t *loop, struct dns_engine *e,
                        struct store *st, struct recorder *rec,
                        struct confirmer *conf, const struct config *cfg,
                        const struct cycle_opts *opts,
                        void (*done)(void *arg), void *arg,
                        struct cycle **out, char *err);

/* Stops pulling targets (shutdown); done still comes once the queries in
 * flight are answered or cancelled. */
void cycle_stop(struct cycle *c);

/* The last target id taken, and whether the cycle was stopped before it
 * took every target (so a later cycle can resume after that id). */
int64_t cycle_last_id(const struct cycle *c);
bool cycle_interrupted(const struct cycle *c);

/* Figures for the cycles row and the log. */
void cycle_figures(const struct cycle *c, struct store_cycle *out);

/* Frees a finished cycle (or one whose engine was closed). */
void cycle_free(struct cycle *c);

/* How many cycles apart a zone must be queried for each target to stay
 * under its max_daily limit with ntargets targets of its kind (1: every
 * cycle). */
uint64_t cycle_zone_stride(const struct zone *z, uint64_t ntargets,
                           uint64_t interval_ms);

/* The same for every zone of cfg: out[i] for catalog zone i (1 for zones
 * not enabled or without a limit), given ntargets[i], the targets zone i
 * applies to.  The enabled zones of one limit_group share one limit (the
 * smallest max_daily among them) and one stride.  With per_cycle and
 * limit (either may be NULL) it also gives, per zone, the queries a cycle
 * of its group makes at stride 1 and the group's limit.  False when out
 * of memory.  Used by the cycle and by config-check's warning. */
bool cycle_strides(const struct config *cfg, const uint64_t *ntargets,
                   uint64_t *out, uint64_t *per_cycle, uint64_t *limit);

#endif
