/* Prometheus metrics: the poller's in-memory counters, and the text
 * exposition of them and of the database's state. */
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "config.h"
#include "statuscmd.h"
#include "store.h"

/* Upper bounds of the answer-latency buckets, in seconds: local resolvers
 * answer in well under a millisecond from cache, remote lists in tens to
 * hundreds of milliseconds, timeouts are seconds. */
static const double bucket_le[METRICS_NBUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,   0.25,   0.5,   1,    2.5};

struct metrics_zone {
  char list[64];
  char zone[256]; /* the public zone name, never the DQS query zone */
  /* Written by the loop thread only (load, add, store: no locked
   * instruction), read by the HTTP thread. */
  _Atomic uint64_t results[ZR_COUNT];
  _Atomic uint64_t buckets[METRICS_NBUCKETS + 1]; /* last: above all */
  _Atomic uint64_t sum_ns;
};

struct metrics {
  pthread_mutex_t lock; /* guards zones and nzones */
  struct metrics_zone **zones;
  size_t nzones, cap;
  int64_t started;
};

enum bw_err metrics_new(struct metrics **out, char *err) {
  struct metrics *m = calloc(1, sizeof(*m));

  if (m == NULL || pthread_mutex_init(&m->lock, NULL) != 0) {
    free(m);
    return bw_fail(err, BW_ENOMEM, "out of memory");
  }
  m->started = time(NULL);
  *out = m;
  return BW_OK;
}

void metrics_free(struct metrics *m) {
  if (m == NULL)
    return;
  for (size_t i = 0; i < m->nzones; i++)
    free(m->zones[i]);
  free(m->zones);
  pthread_mutex_destroy(&m->lock);
  free(m);
}

/* The counters of a zone, made on first sight.  Called with the lock. */
static struct metrics_zone *zone_slot(struct metrics *m, const struct zone *z) {
  struct metrics_zone *mz;

  for (size_t i = 0; i < m->nzones; i++)
    if (strcmp(m->zones[i]->list, z->id) == 0 &&
        strcmp(m->zones[i]->zone, z->zone) == 0)
      return m->zones[i];
  if (m->nzones == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct metrics_zone **grown = realloc(m->zones, cap * sizeof(*grown));
    if (grown == NULL)
      return NULL;
    m->zones = grown;
    m->cap = cap;
  }
  if ((mz = calloc(1, sizeof(*mz))) == NULL)
    return NULL;
  snprintf(mz->list, sizeof(mz->list), "%s", z->id);
  snprintf(mz->zone, sizeof(mz->zone), "%s", z->zone);
  m->zones[m->nzones++] = mz;
  return mz;
}

enum bw_err metrics_zones(struct metrics *m, const struct config *cfg,
                          struct metrics_zone **out, char *err) {
  enum bw_err rc = BW_OK;
  size_t n = 0;

  pthread_mutex_lock(&m->lock);
  for (size_t i = 0; rc == BW_OK && i < cfg->cat.n; i++) {
    if (!cfg->enabled[i])
      continue;
    if ((out[n++] = zone_slot(m, &cfg->cat.zones[i])) == NULL)
      rc = bw_fail(err, BW_ENOMEM, "out of memory");
  }
  pthread_mutex_unlock(&m->lock);
  return rc;
}

/* Only the loop thread writes, so a relaxed load and store is an exact
 * increment, and readers never see a torn value. */
static void bump(_Atomic uint64_t *c, uint64_t by) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                        memory_order_relaxed);
}

void metrics_observe(struct metrics_zone *z, int result, bool answered,
                     uint64_t took_ns) {
  size_t b = 0;

  if (z == NULL)
    return;
  if (result >= 0 && result < ZR_COUNT)
    bump(&z->results[result], 1);
  if (!answered)
    return;
  while (b < METRICS_NBUCKETS && (double)took_ns > bucket_le[b] * 1e9)
    b++;
  bump(&z->buckets[b], 1);
  bump(&z->sum_ns, took_ns);
}

/* ---- the text format --------------------------------------------------- */

void metrics_label(FILE *out, const char *v) {
  for (const char *p = v ? v : ""; *p != '\0'; p++) {
    if (*p == '\\')
      fputs("\\\\", out);
    else if (*p == '"')
      fputs("\\\"", out);
    else if (*p == '\n')
      fputs("\\n", out);
    else
      fputc(*p, out);
  }
}

static void header(FILE *out, const char *name, const char *type,
                   const char *help) {
  fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{list="...",zone="..." and the caller adds the rest. */
static void zone_labels(FILE *out, const char *name, const char *list,
                        const char *zone) {
  fprintf(out, "%s{list=\"", name);
  metrics_label(out, list);
  fputs("\",zone=\"", out);
  metrics_label(out, zone);
  fputc('"', out);
}

static uint64_t load(_Atomic uint64_t *c) {
  return atomic_load_explicit(c, memory_order_relaxed);
}

static void write_histogram(FILE *out, struct metrics_zone *z) {
  uint64_t cum = 0;
  char le[32];

  for (size_t b = 0; b <= METRICS_NBUCKETS; b++) {
    cum += load(&z->buckets[b]);
    if (b < METRICS_NBUCKETS)
      snprintf(le, sizeof(le), "%g", bucket_le[b]);
    else
      snprintf(le, sizeof(le), "+Inf");
    zone_labels(out, "blwatch_dns_answer_seconds_bucket", z->list, z->zone);
    fprintf(out, ",le=\"%s\"} %llu\n", le, (unsigned long long)cum);
  }
  zone_labels(out, "blwatch_dns_answer_seconds_sum", z->list, z->zone);
  fprintf(out, "} %.9f\n", (double)load(&z->sum_ns) / 1e9);
  zone_labels(out, "blwatch_dns_answer_seconds_count", z->list, z->zone);
  fprintf(out, "} %llu\n", (unsigned long long)cum);
}

void metrics_write_counters(struct metrics *m, FILE *out) {
  pthread_mutex_lock(&m->lock);
  header(out, "blwatch_start_time_seconds", "gauge",
         "When the poller started, in seconds since the epoch.");
  fprintf(out, "blwatch_start_time_seconds %lld\n", (long long)m->started);
  header(out, "blwatch_queries_total", "counter",
         "Lookups of (target, zone) pairs since the poller started, by zone "
         "and result.");
  for (size_t i = 0; i < m->nzones; i++)
    for (int r = 0; r < ZR_COUNT; r++) {
      zone_labels(out, "blwatch_queries_total", m->zones[i]->list,
                  m->zones[i]->zone);
      fprintf(out, ",result=\"%s\"} %llu\n",
              zone_result_name((enum zone_result)r),
              (unsigned long long)load(&m->zones[i]->results[r]));
    }
  header(out, "blwatch_dns_answer_seconds", "histogram",
         "Time from sending a pair's query to the answer, by zone "
         "(timeouts are not answers).");
  for (size_t i = 0; i < m->nzones; i++)
    write_histogram(out, m->zones[i]);
  pthread_mutex_unlock(&m->lock);
}

/* ---- the database's state ---------------------------------------------- */

static void on_target(void *arg, const struct store_target *t,
                      const struct status_result *res, size_t n,
                      size_t applicable) {
  FILE *out = arg;

  (void)applicable;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(res[i].result, "listed") != 0)
      continue;
    fputs("blwatch_listed{target=\"", out);
    metrics_label(out, t->key);
    fputs("\",label=\"", out);
    metrics_label(out, t->label);
    fputs("\",list=\"", out);
    metrics_label(out, res[i].zone->id);
    fputs("\",zone=\"", out);
    metrics_label(out, res[i].zone->zone);
    fputs("\"} 1\n", out);
  }
}

static void write_summary(FILE *out, const struct config *cfg,
                          const struct status_summary *s) {
  header(out, "blwatch_targets", "gauge", "Active targets.");
  fprintf(out, "blwatch_targets %lld\n", (long long)s->targets);
  header(out, "blwatch_zones_enabled", "gauge", "Enabled zones.");
  fprintf(out, "blwatch_zones_enabled %lld\n", (long long)s->zones);
  header(out, "blwatch_pairs", "gauge",
         "(target, zone) pairs by what is known of them: listed, clear or "
         "unknown (refused, bogus, error, untrusted).");
  fprintf(out, "blwatch_pairs{result=\"listed\"} %lld\n"
               "blwatch_pairs{result=\"clear\"} %lld\n"
               "blwatch_pairs{result=\"unknown\"} %lld\n",
          (long long)s->listed, (long long)s->clear, (long long)s->unknown);
  header(out, "blwatch_listed_targets", "gauge",
         "Targets listed on at least one zone.");
  fprintf(out, "blwatch_listed_targets %lld\n", (long long)s->listed_targets);
  header(out, "blwatch_interval_seconds", "gauge",
         "The configured interval between cycles.");
  fprintf(out, "blwatch_interval_seconds %llu\n",
          (unsigned long long)(cfg->interval_ms / 1000));
  if (!s->have_cycle)
    return;
  header(out, "blwatch_last_cycle_end_timestamp_seconds", "gauge",
         "When the last completed cycle ended.");
  fprintf(out, "blwatch_last_cycle_end_timestamp_seconds %lld\n",
          (long long)s->last.ended);
  header(out, "blwatch_last_cycle_duration_seconds", "gauge",
         "How long the last completed cycle took (paced over the "
         "interval).");
  fprintf(out, "blwatch_last_cycle_duration_seconds %lld\n",
          (long long)(s->last.ended - s->last.started));
  header(out, "blwatch_last_cycle_targets", "gauge",
         "Targets checked by the last completed cycle.");
  fprintf(out, "blwatch_last_cycle_targets %lld\n", (long long)s->last.targets);
  header(out, "blwatch_last_cycle_queries", "gauge",
         "DNS queries sent by the last completed cycle.");
  fprintf(out, "blwatch_last_cycle_queries %lld\n", (long long)s->last.queries);
}

static const char *const healths[] = {"ok",      "wildcard", "dead",
                                      "refused", "error",    "untested"};

static bool healthy(const char *h) {
  return strcmp(h, "ok") == 0 || strcmp(h, "untested") == 0;
}

static int write_zones(FILE *out, const struct config *cfg, struct store *st,
                       char *err) {
  static const char *const names[] = {
      "blwatch_zone_healthy", "blwatch_zone_health",
      "blwatch_zone_testpoints", "blwatch_zone_checked_timestamp_seconds"};
  static const char *const helps[] = {
      "1 when the zone passes its RFC 5782 test points (or has none), 0 when "
      "it is wildcard, dead, refused or erring.",
      "The zone's test-point state, one series per state, 1 for the current "
      "one.",
      "1 when the zone honours RFC 5782 test points.",
      "When the zone's test points were last queried (0: never)."};

  struct store_zone *sz = calloc(cfg->cat.n + 1, sizeof(*sz));
  bool found;
  int rc = 0;

  if (sz == NULL) {
    bw_fail(err, BW_ENOMEM, "out of memory");
    return 1;
  }
  /* Each zone's health is read once; the four families print it. */
  for (size_t i = 0; i < cfg->cat.n; i++)
    if (cfg->enabled[i] &&
        store_zone_get(st, cfg->cat.zones[i].id, &sz[i], &found, err) !=
            BW_OK) {
      rc = 1;
      goto out;
    }
  for (int k = 0; k < 4; k++) {
    header(out, names[k], "gauge", helps[k]);
    for (size_t i = 0; i < cfg->cat.n; i++) {
      const struct zone *z = &cfg->cat.zones[i];
      if (!cfg->enabled[i])
        continue;
      for (size_t h = 0; k == 1 && h < sizeof(healths) / sizeof(*healths);
           h++) {
        zone_labels(out, names[k], z->id, z->zone);
        fprintf(out, ",health=\"%s\"} %d\n", healths[h],
                strcmp(sz[i].health, healths[h]) == 0);
      }
      if (k == 1)
        continue;
      zone_labels(out, names[k], z->id, z->zone);
      fprintf(out, "} %lld\n",
              k == 0   ? (long long)healthy(sz[i].health)
              : k == 2 ? (long long)z->testpoints
                       : (long long)sz[i].checked);
    }
  }
out:
  free(sz);
  return rc;
}

/* The outbox, per alert channel. */
struct chan_out {
  FILE *out;
  int pass;
};

static void on_channel(void *arg, const struct store_channel_state *c) {
  struct chan_out *co = arg;
  static const char *const names[] = {
      "blwatch_outbox_pending", "blwatch_notices_failed",
      "blwatch_channel_last_delivered_timestamp_seconds"};
  int64_t v = co->pass == 0   ? c->pending
              : co->pass == 1 ? c->dead
                              : c->last_delivered;

  fprintf(co->out, "%s{channel=\"", names[co->pass]);
  metrics_label(co->out, c->channel);
  fprintf(co->out, "\"} %lld\n", (long long)v);
}

static int write_outbox(FILE *out, struct store *st, char *err) {
  static const char *const names[] = {
      "blwatch_outbox_pending", "blwatch_notices_failed",
      "blwatch_channel_last_delivered_timestamp_seconds"};
  static const char *const helps[] = {
      "Outbox rows (events) waiting for delivery, per alert channel.",
      ("Outbox rows given up after failing delivery until give_up, per "
       "channel."),
      "When a notice was last delivered on the channel (0: never)."};
  struct chan_out co = {out, 0};

  for (co.pass = 0; co.pass < 3; co.pass++) {
    header(out, names[co.pass], "gauge", helps[co.pass]);
    if (store_outbox_channels(st, on_channel, &co, err) != BW_OK)
      return 1;
  }
  return 0;
}

int metrics_write(struct metrics *m, const struct config *cfg,
                  struct store *st, FILE *out, char *err) {
  struct status_summary sum;

  header(out, "blwatch_build_info", "gauge", "The blwatch version.");
  fprintf(out, "blwatch_build_info{version=\"%s\"} 1\n", BLWATCH_VERSION);
  if (m != NULL)
    metrics_write_counters(m, out);
  header(out, "blwatch_listed", "gauge",
         "1 for each (target, list) pair listed now; pairs not listed have "
         "no series.");
  if (statuscmd_each(cfg, st, on_target, out, &sum, err) != 0)
    return 1;
  write_summary(out, cfg, &sum);
  if (write_zones(out, cfg, st, err) != 0 || write_outbox(out, st, err) != 0)
    return 1;
  return 0;
}
