#include "record.h"

#include <stdlib.h>

#include "json.h"
#include "log.h"

/* A batch is committed after this many writes or after a second,
 * whichever comes first: few fsyncs, and readers see news promptly. */
#define BATCH_OPS 2000
#define BATCH_MS 1000

static void on_timer(uv_timer_t *t) { record_commit(t->data); }

void record_init(struct recorder *r, uv_loop_t *loop, struct store *st,
                 const struct config *cfg) {
  r->store = st;
  r->cfg = cfg;
  r->ops = 0;
  r->failed = false;
  uv_timer_init(loop, &r->timer);
  r->timer.data = r;
}

void record_close(struct recorder *r) {
  record_commit(r);
  uv_close((uv_handle_t *)&r->timer, NULL);
}

bool record_commit(struct recorder *r) {
  char err[BW_ERRLEN];

  uv_timer_stop(&r->timer);
  if (!store_in_transaction(r->store))
    return true;
  r->ops = 0;
  if (store_commit(r->store, err) != BW_OK) {
    log_err("%s", err);
    r->failed = true;
    return false;
  }
  r->commits++;
  return true;
}

/* Opens a batch if none is open. */
static bool batch(struct recorder *r) {
  char err[BW_ERRLEN];

  if (store_in_transaction(r->store))
    return true;
  if (store_begin(r->store, err) != BW_OK) {
    log_err("%s", err);
    r->failed = true;
    return false;
  }
  uv_timer_start(&r->timer, on_timer, BATCH_MS, 0);
  return true;
}

/* Counts a write and commits a full batch. */
static bool done(struct recorder *r, enum bw_err rc, const char *err) {
  if (rc != BW_OK) {
    log_err("%s", err);
    r->failed = true;
    /* Nothing of a failed batch is kept; the next cycle finds the same
     * facts again. */
    store_rollback(r->store);
    r->ops = 0;
    return false;
  }
  if (++r->ops >= BATCH_OPS)
    return record_commit(r);
  return true;
}

/* The alert channels that take events of this type. */
static size_t channels(const struct config *cfg, enum event_type ev,
                       const char **out, size_t max) {
  size_t n = 0;

  for (size_t i = 0; i < cfg->nalerts && n < max; i++)
    if (cfg->alerts[i].event_mask & (1u << ev))
      out[n++] = cfg->alerts[i].name;
  return n;
}

bool record_pair_event(struct recorder *r, const struct record_pair *p,
                       const struct zone *z, enum event_type ev,
                       const struct zone_answer *a, const char *reason,
                       int64_t since, int64_t now) {
  char codes[512], err[BW_ERRLEN];
  const char *chan[64];
  char *meanings = json_meanings(z, a);
  struct store_event e = {
      .at = now, .type = event_type_name(ev), .target = p->target,
      .target_key = p->key, .label = p->label, .list = z->id,
      .zone = z->zone,
      .result = ev == EV_DELISTED ? "clear" : zone_result_name(a->result),
      .codes = json_codes(a, codes, sizeof(codes)), .meanings = meanings,
      .reason = reason, .delist = z->delist, .cycle = p->cycle,
  };
  struct store_state_row row = {
      .target = p->target, .list = z->id, .result = "listed",
      .codes = codes, .meanings = meanings, .reason = reason,
      .since = since, .checked = now,
  };
  enum bw_err rc;

  if (meanings == NULL || !batch(r)) {
    free(meanings);
    return false;
  }
  rc = ev == EV_DELISTED ? store_state_delete(r->store, p->target, z->id, err)
                         : store_state_put(r->store, &row, err);
  if (rc == BW_OK)
    rc = store_event_add(r->store, &e, chan,
                         channels(r->cfg, ev, chan, 64), err);
  free(meanings);
  if (rc == BW_OK)
    log_notice("%s%s%s%s %s %s %s (%s) %s", p->key, p->label ? " (" : "",
               p->label ? p->label : "", p->label ? ")" : "",
               event_type_name(ev), ev == EV_DELISTED ? "from" : "on", z->id,
               z->zone, codes);
  return done(r, rc, err);
}

bool record_unknown(struct recorder *r, const struct record_pair *p,
                    const struct zone *z, const struct zone_answer *a,
                    const char *detail, int64_t now) {
  char codes[512], err[BW_ERRLEN];
  char *meanings = json_meanings(z, a);
  struct store_state_row row = {
      .target = p->target, .list = z->id, .result = zone_result_name(a->result),
      .codes = json_codes(a, codes, sizeof(codes)), .meanings = meanings,
      .detail = detail, .since = now, .checked = now,
  };
  enum bw_err rc;

  if (meanings == NULL || !batch(r)) {
    free(meanings);
    return false;
  }
  rc = store_state_put(r->store, &row, err);
  free(meanings);
  return done(r, rc, err);
}

bool record_unknown_clear(struct recorder *r, int64_t target,
                          const char *list) {
  char err[BW_ERRLEN];

  if (!batch(r))
    return false;
  return done(r, store_state_delete(r->store, target, list, err), err);
}

bool record_zone(struct recorder *r, const struct zone *z,
                 const char *health, enum event_type ev, const char *detail,
                 int64_t since, int64_t now, int64_t cycle) {
  char err[BW_ERRLEN];
  const char *chan[64];
  struct store_event e = {
      .at = now, .type = event_type_name(ev), .list = z->id,
      .zone = z->zone, .result = health, .detail = detail,
      .delist = z->delist, .cycle = cycle,
  };
  enum bw_err rc;

  if (!batch(r))
    return false;
  rc = store_zone_put(r->store, z->id, z->zone, health, now, since, err);
  if (rc == BW_OK && ev != EV_NONE) {
    rc = store_event_add(r->store, &e, chan, channels(r->cfg, ev, chan, 64),
                         err);
    if (rc == BW_OK)
      log_warn("zone %s (%s): %s: %s", z->id, z->zone, health, detail);
  }
  return done(r, rc, err);
}

bool record_target_checked(struct recorder *r, int64_t target, int64_t now) {
  char err[BW_ERRLEN];

  if (!batch(r))
    return false;
  return done(r, store_target_checked(r->store, target, now, err), err);
}
