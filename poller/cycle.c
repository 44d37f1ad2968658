#include "cycle.h"

#include <arpa/inet.h>
#include <ares.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "idpass.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "scan.h"

/* Targets read from SQLite at a time. */
#define FETCH 256

/* A target whose pairs are being looked up. */
struct tctx {
  struct store_target t;
  struct scan_target st;
  unsigned remaining; /* pairs without a result yet */
  struct store_state *states;
  size_t nstates;
};

struct cycle {
  uv_loop_t *loop;
  struct dns_engine *engine;
  struct store *store;
  struct recorder *rec;
  struct confirmer *conf;
  const struct config *cfg;
  struct cycle_opts opts;
  void (*done)(void *arg);
  void *done_arg;

  struct zone **zones;
  size_t nzones;
  bool *zone_new;    /* never recorded before this cycle */
  uint64_t *stride;  /* max_daily: query the zone every stride cycles */
  struct scan *scan;
  struct idpass *idpass; /* the identity checks, after the pairs */

  struct store_target fetched[FETCH];
  size_t nfetched, fetch_pos;
  int64_t last_id;
  bool no_more;
  bool stopping;

  struct tctx **ctx; /* slots, indexed by scan_target.id */
  uint32_t *free_slots;
  size_t nslots, nfree;

  uv_timer_t pace;
  bool pace_open;
  uint64_t started_ms;
  uint64_t pulled;
  int64_t total; /* targets at the start, for pacing */
  int64_t targets_done;
  int64_t counts[ZR_COUNT];
};

/* The queries one cycle of zones z[0..n) makes when each checks its
 * targets every stride-th cycle: its test points every cycle, and
 * ceil(ntargets / stride) targets. */
static uint64_t group_per_cycle(const struct zone *const *z,
                                const uint64_t *ntargets, size_t n,
                                uint64_t stride) {
  uint64_t q = 0;

  for (size_t i = 0; i < n; i++)
    q += (ntargets[i] + stride - 1) / stride + (z[i]->testpoints ? 2 : 0);
  return q;
}

/* The smallest stride that keeps a day of zones z[0..n) within limit.
 * Cycles a day are rounded up, so an interval that does not divide a day
 * errs on the safe side.  When even one target a cycle does not fit (the
 * test points use up the limit), each cycle checks one target: that is
 * as far as stretching goes.  The queries only fall as the stride grows,
 * so a binary search finds it. */
static uint64_t group_stride(const struct zone *const *z,
                             const uint64_t *ntargets, size_t n,
                             uint64_t limit, uint64_t interval_ms) {
  uint64_t cycles = interval_ms ? (86400000 + interval_ms - 1) / interval_ms
                                : 1;
  uint64_t lo = 1, hi = 1; /* lo does not fit, hi does */

  for (size_t i = 0; i < n; i++)
    hi = ntargets[i] > hi ? ntargets[i] : hi;
  if (limit == 0 || cycles * group_per_cycle(z, ntargets, n, 1) <= limit)
    return 1;
  if (cycles * group_per_cycle(z, ntargets, n, hi) > limit)
    return hi;
  while (hi - lo > 1) {
    uint64_t mid = lo + (hi - lo) / 2;
    if (cycles * group_per_cycle(z, ntargets, n, mid) <= limit)
      hi = mid;
    else
      lo = mid;
  }
  return hi;
}

uint64_t cycle_zone_stride(const struct zone *z, uint64_t ntargets,
                           uint64_t interval_ms) {
  return group_stride(&z, &ntargets, 1, z->max_daily, interval_ms);
}

/* Whether zone j counts against the limit of zone i: i itself, or an
 * enabled zone with a limit in the same limit_group. */
static bool same_group(const struct config *cfg, size_t i, size_t j) {
  const struct zone *a = &cfg->cat.zones[i], *b = &cfg->cat.zones[j];

  if (i == j)
    return true;
  return cfg->enabled[j] && b->max_daily > 0 && a->limit_group != NULL &&
         b->limit_group != NULL && strcmp(a->limit_group, b->limit_group) == 0;
}

bool cycle_strides(const struct config *cfg, const uint64_t *ntargets,
                   uint64_t *out, uint64_t *per_cycle, uint64_t *limit) {
  const struct zone **z = calloc(cfg->cat.n + 1, sizeof(*z));
  uint64_t *nt = calloc(cfg->cat.n + 1, sizeof(*nt));

  if (z == NULL || nt == NULL) {
    free(z);
    free(nt);
    return false;
  }
  for (size_t i = 0; i < cfg->cat.n; i++) {
    uint64_t lim = cfg->cat.zones[i].max_daily;
    size_t n = 0;
    for (size_t j = 0; j < cfg->cat.n; j++) {
      if (!same_group(cfg, i, j))
        continue;
      z[n] = &cfg->cat.zones[j];
      nt[n++] = ntargets[j];
      lim = z[n - 1]->max_daily < lim ? z[n - 1]->max_daily : lim;
    }
    bool limited = cfg->enabled[i] && lim > 0;
    out[i] = limited ? group_stride(z, nt, n, lim, cfg->interval_ms) : 1;
    if (per_cycle != NULL)
      per_cycle[i] = group_per_cycle(z, nt, n, 1);
    if (limit != NULL)
      limit[i] = limited ? lim : 0;
  }
  free(z);
  free(nt);
  return true;
}

/* ---- target contexts --------------------------------------------------- */

static struct tctx *ctx_new(struct cycle *c, uint32_t *slot) {
  struct tctx *t = calloc(1, sizeof(*t));

  if (t == NULL)
    return NULL;
  if (c->nfree > 0) {
    *slot = c->free_slots[--c->nfree];
  } else {
    size_t n = c->nslots + 1;
    struct tctx **grown = realloc(c->ctx, n * sizeof(*grown));
    uint32_t *fs = grown ? realloc(c->free_slots, n * sizeof(*fs)) : NULL;
    if (grown != NULL)
      c->ctx = grown;
    if (fs == NULL) {
      free(t);
      return NULL;
    }
    c->free_slots = fs;
    *slot = (uint32_t)c->nslots++;
  }
  c->ctx[*slot] = t;
  return t;
}

static void ctx_release(struct cycle *c, uint32_t slot) {
  struct tctx *t = c->ctx[slot];

  free(t->states);
  free(t);
  c->ctx[slot] = NULL;
  c->free_slots[c->nfree++] = slot;
}

/* All pairs of a target are in. */
static void target_done(struct cycle *c, uint32_t slot) {
  struct tctx *t = c->ctx[slot];

  if (t->t.first_checked == 0)
    record_target_checked(c->rec, t->t.id, time(NULL));
  c->targets_done++;
  ctx_release(c, slot);
}

/* Fills the scan target from the stored key. */
static bool parse_key(struct tctx *t) {
  t->st.is_domain = strcmp(t->t.kind, "domain") == 0;
  t->st.is_v6 = strcmp(t->t.kind, "ip6") == 0;
  t->st.name = t->t.key;
  if (t->st.is_domain)
    return true;
  return inet_pton(t->st.is_v6 ? AF_INET6 : AF_INET, t->t.key,
                   t->st.addr) == 1;
}

static bool wanted(void *arg, const struct scan_target *t, uint32_t zone) {
  struct cycle *c = arg;
  struct tctx *x = c->ctx[t->id];

  return c->stride[zone] <= 1 ||
         (uint64_t)(x->t.id + c->opts.id) % c->stride[zone] == 0;
}

static unsigned count_pairs(struct cycle *c, const struct scan_target *t) {
  unsigned n = 0;

  for (uint32_t z = 0; z < c->nzones; z++)
    n += scan_applies(c->zones[z], t) && wanted(c, t, z);
  return n;
}

/* ---- pulling targets --------------------------------------------------- */

static void on_pace(uv_timer_t *t) {
  struct cycle *c = t->data;

  scan_resume(c->scan);
}

/* With pacing, target i is due at start + i * span / total. */
static bool wait_for_pace(struct cycle *c) {
  uint64_t due, span, now = uv_now(c->loop);

  if (c->opts.pace_until_ms <= c->started_ms || c->total <= 1)
    return false;
  span = c->opts.pace_until_ms - c->started_ms;
  due = c->started_ms + c->pulled * span / (uint64_t)c->total;
  if (due <= now)
    return false;
  uv_timer_start(&c->pace, on_pace, due - now, 0);
  return true;
}

static bool fetch(struct cycle *c) {
  char err[BW_ERRLEN];

  c->fetch_pos = 0;
  if (store_targets_next(c->store, c->last_id, c->fetched, FETCH,
                         &c->nfetched, err) != BW_OK) {
    log_err("%s", err);
    c->nfetched = 0;
  }
  if (c->nfetched == 0)
    c->no_more = true;
  return !c->no_more;
}

/* The next stored target to look up, with its stored states loaded. */
static struct tctx *take_target(struct cycle *c, uint32_t *slot) {
  char err[BW_ERRLEN];

  while (!c->no_more) {
    if (c->fetch_pos == c->nfetched && !fetch(c))
      break;
    const struct store_target *st = &c->fetched[c->fetch_pos++];
    c->last_id = st->id;
    if (c->opts.only_new && st->first_checked != 0)
      continue;
    struct tctx *t = ctx_new(c, slot);
    if (t == NULL)
      return NULL;
    t->t = *st;
    t->st.id = *slot;
    t->states = calloc(c->nzones + 1, sizeof(*t->states));
    if (!parse_key(t) || t->states == NULL ||
        store_state_get(c->store, st->id, t->states, c->nzones + 1,
                        &t->nstates, err) != BW_OK) {
      log_err("target %s: cannot load its state", st->key);
      ctx_release(c, *slot);
      continue;
    }
    return t;
  }
  return NULL;
}

static enum scan_next next_target(void *arg, struct scan_target *out) {
  struct cycle *c = arg;
  uint32_t slot;
  struct tctx *t;

  for (;;) {
    if (c->stopping)
      return SCAN_END;
    if (wait_for_pace(c))
      return SCAN_WAIT;
    if ((t = take_target(c, &slot)) == NULL)
      return SCAN_END;
    c->pulled++;
    t->remaining = count_pairs(c, &t->st);
    if (t->remaining > 0) {
      *out = t->st;
      return SCAN_TARGET;
    }
    target_done(c, slot); /* no enabled zone lists this kind */
  }
}

/* ---- results ----------------------------------------------------------- */

static const struct store_state *stored_state(const struct tctx *t,
                                              const char *list) {
  for (size_t i = 0; i < t->nstates; i++)
    if (strcmp(t->states[i].list, list) == 0)
      return &t->states[i];
  return NULL;
}

/* Why an unknown result is unknown, stored with it. */
static const char *unknown_detail(const struct zone *z,
                                  const struct scan_result *r) {
  switch (r->answer.result) {
  case ZR_REFUSED:
    return r->answer.ncodes ? zone_refusal_meaning(z, r->answer.codes[0])
                            : "refused";
  case ZR_BOGUS:
    return "answer outside 127.0.0.0/8 (a resolver rewriting NXDOMAIN?)";
  default:
    return dns_status_name(r->status);
  }
}

static void act(struct cycle *c, struct tctx *t, const struct zone *z,
                size_t zi, const struct scan_result *r) {
  const struct store_state *s = stored_state(t, z->id);
  struct pair_stored ps = {ZR_CLEAR, "[]"};
  struct record_pair p = {t->t.id, t->t.key,
                          t->t.label[0] ? t->t.label : NULL, c->opts.id};
  int64_t now = time(NULL);
  char codes[512];
  struct pair_decision d;

  if (s != NULL) {
    ps.result = zone_result_from_name(s->result);
    ps.codes = s->codes;
  }
  json_codes(&r->answer, codes, sizeof(codes));
  d = transition_decide(&ps, r->answer.result, codes,
                        t->t.first_checked == 0 || c->zone_new[zi],
                        c->cfg->confirm_ms > 0);
  switch (d.action) {
  case PA_NONE:
    break;
  case PA_STORE_UNKNOWN:
    record_unknown(c->rec, &p, z, &r->answer, unknown_detail(z, r), now);
    break;
  case PA_DELETE_UNKNOWN:
    record_unknown_clear(c->rec, t->t.id, z->id);
    break;
  case PA_RECORD: {
    struct zone_answer ended;
    bool delisted = d.event == EV_DELISTED;
    if (delisted)
      json_parse_codes(ps.codes, &ended);
    record_pair_event(c->rec, &p, z, d.event, delisted ? &ended : &r->answer,
                      delisted ? NULL : r->reason,
                      d.event == EV_CHANGED ? s->since : now, now);
    break;
  }
  case PA_CONFIRM: {
    struct confirm_req q = {t->t.id, t->t.key, p.label, z->id, r->qname,
                            d.event, ps.codes, s ? s->since : now,
                            c->opts.id};
    if (!confirm_add(c->conf, &q, c->cfg->confirm_ms))
      log_err("out of memory: %s on %s not confirmed", t->t.key, z->id);
    break;
  }
  }
}

static void on_result(void *arg, const struct scan_result *r) {
  struct cycle *c = arg;
  struct tctx *t = c->ctx[r->target];

  c->counts[r->answer.result]++;
  if (c->opts.metrics != NULL)
    metrics_observe(c->opts.metrics[r->zone], r->answer.result,
                    r->took_ns != 0 && r->status != ARES_ETIMEOUT,
                    r->took_ns);
  act(c, t, c->zones[r->zone], r->zone, r);
  if (--t->remaining == 0)
    target_done(c, r->target);
}

/* ---- zone health ------------------------------------------------------- */

static bool unhealthy(const char *health) {
  return strcmp(health, "wildcard") == 0 || strcmp(health, "dead") == 0 ||
         strcmp(health, "refused") == 0;
}

static const char *health_detail(enum zone_health h) {
  switch (h) {
  case ZH_WILDCARD:
    return "lists 127.0.0.1 (or INVALID): it lists everything; its answers "
           "are set aside";
  case ZH_DEAD:
    return "does not list 127.0.0.2 (or TEST): dead or blocking this "
           "resolver; its answers are set aside";
  case ZH_REFUSED:
    return "answers its test points with a refusal code (public resolver "
           "or query limit?)";
  case ZH_OK:
    return "passes its test points again";
  default:
    return NULL;
  }
}

/* Records each zone's health, with an event when it turns bad or good. */
static void on_health(void *arg) {
  struct cycle *c = arg;
  int64_t now = time(NULL);
  char err[BW_ERRLEN];

  for (size_t i = 0; i < c->nzones; i++) {
    enum zone_health h = scan_health(c->scan, i);
    const char *name = zone_health_name(h);
    struct store_zone old;
    bool found = false;
    enum event_type ev = EV_NONE;
    if (store_zone_get(c->store, c->zones[i]->id, &old, &found, err) != BW_OK)
      log_err("%s", err);
    c->zone_new[i] = !found;
    if (unhealthy(name) && (!found || strcmp(old.health, name) != 0))
      ev = EV_ZONE_UNHEALTHY;
    else if (h == ZH_OK && found && unhealthy(old.health))
      ev = EV_ZONE_HEALTHY;
    record_zone(c->rec, c->zones[i], name, ev, health_detail(h),
                found && strcmp(old.health, name) == 0 ? old.since : now,
                now, c->opts.id);
  }
}

static void on_done_timer(uv_timer_t *t) {
  struct cycle *c = t->data;

  c->done(c->done_arg);
}

/* The identity pass reports on a later loop turn already. */
static void identity_done(void *arg) {
  struct cycle *c = arg;

  c->done(c->done_arg);
}

/* Reported on the next loop turn: the scan is still on the stack here,
 * and the owner frees it from done(). */
static void on_finished(void *arg) {
  struct cycle *c = arg;
  char err[BW_ERRLEN];

  /* Identity checks follow the pairs of a full cycle (or of its resumed
   * part), so they never slow the blocklist lookups down. */
  if (c->cfg->identity && !c->stopping && !c->opts.only_new) {
    if (idpass_start(c->loop, c->engine, c->store, c->rec, c->cfg, c->opts.id,
                     c->opts.after_id, identity_done, c, &c->idpass,
                     err) == BW_OK)
      return;
    log_err("identity checks: %s", err);
  }
  uv_timer_start(&c->pace, on_done_timer, 0, 0);
}

static const struct scan_ops cycle_ops = {
    .next_target = next_target,
    .want = wanted,
    .health_ready = on_health,
    .result = on_result,
    .finished = on_finished,
};

/* ---- start, stop, free ------------------------------------------------- */

/* Active targets that zone z lists. */
/* How many active targets there are of each kind (ip4, ip6, domain: the
 * zone_kind bits), read once a cycle for every zone's stride. */
static void count_kinds(struct store *st, uint64_t counts[3]) {
  static const char *const kinds[] = {"ip4", "ip6", "domain"};
  char err[BW_ERRLEN];

  for (int i = 0; i < 3; i++) {
    int64_t n = 0;
    if (store_targets_count_kind(st, kinds[i], &n, err) != BW_OK)
      log_err("%s", err);
    counts[i] = (uint64_t)n;
  }
}

/* The targets zone z applies to. */
static uint64_t targets_of(const struct zone *z, const uint64_t counts[3]) {
  uint64_t total = 0;

  for (int i = 0; i < 3; i++)
    if (z->kinds & (1u << i))
      total += counts[i];
  return total;
}

/* Logs, at start and after a reload, that zone z is stretched. */
static void announce_stride(const struct config *cfg, const struct zone *z,
                            uint64_t n, uint64_t stride, uint64_t limit) {
  log_warn("zone %s: %llu targets every %llus would exceed its free limit "
           "of %llu queries a day%s%s%s; each target is checked there every "
           "%llu cycles instead",
           z->id, (unsigned long long)n,
           (unsigned long long)(cfg->interval_ms / 1000),
           (unsigned long long)limit, z->limit_group ? " (shared by its '" : "",
           z->limit_group ? z->limit_group : "",
           z->limit_group ? "' zones)" : "", (unsigned long long)stride);
}

static enum bw_err setup_zones(struct cycle *c, char *err) {
  const struct config *cfg = c->cfg;
  uint64_t *nt = calloc(cfg->cat.n + 1, sizeof(*nt));
  uint64_t *limit = calloc(cfg->cat.n + 1, sizeof(*limit));
  uint64_t counts[3];
  enum bw_err rc = BW_OK;

  c->zones = calloc(cfg->cat.n + 1, sizeof(*c->zones));
  c->zone_new = calloc(cfg->cat.n + 1, sizeof(*c->zone_new));
  c->stride = calloc(cfg->cat.n + 1, sizeof(*c->stride));
  if (nt == NULL || limit == NULL || c->zones == NULL ||
      c->zone_new == NULL || c->stride == NULL) {
    rc = bw_fail(err, BW_ENOMEM, "out of memory");
    goto out;
  }
  count_kinds(c->store, counts);
  for (size_t i = 0; i < cfg->cat.n; i++)
    nt[i] = cfg->enabled[i] ? targets_of(&cfg->cat.zones[i], counts) : 0;
  /* Strides by catalog zone first, then packed with the enabled zones. */
  if (!cycle_strides(cfg, nt, c->stride, NULL, limit)) {
    rc = bw_fail(err, BW_ENOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < cfg->cat.n; i++) {
    if (!cfg->enabled[i])
      continue;
    struct zone *z = &cfg->cat.zones[i];
    c->stride[c->nzones] = c->stride[i];
    if (c->opts.announce && c->stride[i] > 1)
      announce_stride(cfg, z, nt[i], c->stride[i], limit[i]);
    c->zones[c->nzones++] = z;
  }
out:
  free(nt);
  free(limit);
  return rc;
}

enum bw_err cycle_start(uv_loop_t *loop, struct dns_engine *e,
                        struct store *st, struct recorder *rec,
                        struct confirmer *conf, const struct config *cfg,
                        const struct cycle_opts *opts,
                        void (*done)(void *arg), void *arg,
                        struct cycle **out, char *err) {
  struct cycle *c = calloc(1, sizeof(*c));
  enum bw_err rc;

  if (c == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  *c = (struct cycle){.loop = loop, .engine = e, .store = st, .rec = rec,
                      .conf = conf, .cfg = cfg, .opts = *opts, .done = done,
                      .done_arg = arg, .last_id = opts->after_id};
  uv_timer_init(loop, &c->pace);
  c->pace.data = c;
  c->pace_open = true;
  c->started_ms = uv_now(loop);
  rc = setup_zones(c, err);
  if (rc == BW_OK)
    rc = store_targets_count_after(st, opts->after_id, &c->total, err);
  if (rc == BW_OK)
    rc = scan_open(e, c->zones, c->nzones, &cycle_ops, c, &c->scan, err);
  if (rc != BW_OK) {
    cycle_free(c);
    return rc;
  }
  *out = c;
  scan_start(c->scan);
  return BW_OK;
}

void cycle_stop(struct cycle *c) {
  c->stopping = true;
  uv_timer_stop(&c->pace);
  scan_resume(c->scan); /* a paced scan learns that nothing more comes */
  if (c->idpass != NULL)
    idpass_stop(c->idpass);
}

int64_t cycle_last_id(const struct cycle *c) { return c->last_id; }

bool cycle_interrupted(const struct cycle *c) {
  return c->stopping && !c->no_more;
}

void cycle_figures(const struct cycle *c, struct store_cycle *out) {
  memset(out, 0, sizeof(*out));
  out->id = c->opts.id;
  out->targets = c->targets_done;
  out->queries = c->scan ? (int64_t)scan_queries(c->scan) : 0;
  for (int i = 0; i < ZR_COUNT && i < 6; i++)
    out->counts[i] = c->counts[i];
}

static void free_on_close(uv_handle_t *h) { free(h->data); }

void cycle_free(struct cycle *c) {
  if (c == NULL)
    return;
  idpass_free(c->idpass);
  scan_free(c->scan);
  for (size_t i = 0; i < c->nslots; i++)
    if (c->ctx[i] != NULL) {
      free(c->ctx[i]->states);
      free(c->ctx[i]);
    }
  free(c->ctx);
  free(c->free_slots);
  free(c->zones);
  free(c->zone_new);
  free(c->stride);
  uv_close((uv_handle_t *)&c->pace, free_on_close);
}
