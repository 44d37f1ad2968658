/* A cycle's identity checks and what they change in the store.  See
 * idpass.h for the rules. */
#include "idpass.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "identity.h"
#include "log.h"
#include "store_identity.h"

/* Targets read from SQLite at a time. */
#define PAGE 64
/* Writes between commits when a pass writes much (its first cycle). */
#define COMMIT_OPS 1000

/* A target being checked, or a change waiting for its confirmation. */
struct idtarget {
  int64_t id;
  char key[256];
  char label[128];
  char kind[8];
  unsigned mask; /* facts that changed (confirmation items) */
  struct idtarget *next;
};

struct idpass {
  uv_loop_t *loop;
  struct dns_engine *engine;
  struct store *store;
  struct recorder *rec;
  const struct config *cfg;
  int64_t cycle;
  int64_t last_id;
  struct store_target page[PAGE];
  size_t npage, pos;
  bool no_more;
  struct identity_runner *run;
  bool confirming;
  struct idtarget *queue, *qtail, *cursor; /* awaiting confirmation */
  uv_timer_t timer;
  uint64_t confirm_due;
  bool stopping;
  bool over;
  unsigned ops;
  void (*done)(void *arg);
  void *done_arg;
};

/* The stored facts of one target. */
struct stored {
  bool have[IDF_COUNT];
  char *value[IDF_COUNT];
  int64_t since[IDF_COUNT];
  size_t n;
  bool oom;
};

static void on_fact(void *arg, const char *fact, const char *value,
                    int64_t since) {
  struct stored *s = arg;
  int f = identity_fact_from_name(fact);

  if (f < 0 || s->have[f])
    return;
  s->value[f] = strdup(value ? value : "");
  s->oom |= s->value[f] == NULL;
  s->have[f] = s->value[f] != NULL;
  s->since[f] = since;
  s->n++;
}

static void stored_free(struct stored *s) {
  for (int f = 0; f < IDF_COUNT; f++)
    free(s->value[f]);
}

/* ---- writing ----------------------------------------------------------------
 */

/* Opens the recorder's batch when none is open; false after logging. */
static bool writable(struct idpass *p) {
  char err[BW_ERRLEN];

  if (store_in_transaction(p->store))
    return true;
  if (store_begin(p->store, err) == BW_OK)
    return true;
  log_err("%s", err);
  p->rec->failed = true;
  return false;
}

/* Counts a write; a failed one rolls the batch back (the next cycle finds
 * the same facts again), as the recorder does. */
static bool wrote(struct idpass *p, enum bw_err rc, const char *err) {
  if (rc != BW_OK) {
    log_err("%s", err);
    p->rec->failed = true;
    store_rollback(p->store);
    p->ops = 0;
    return false;
  }
  if (++p->ops >= COMMIT_OPS) {
    p->ops = 0;
    return record_commit(p->rec);
  }
  return true;
}

static size_t channels(const struct config *cfg, const char **out, size_t max) {
  size_t n = 0;

  for (size_t i = 0; i < cfg->nalerts && n < max; i++)
    if (cfg->alerts[i].event_mask & (1u << CFG_EV_IDENTITY_CHANGED))
      out[n++] = cfg->alerts[i].name;
  return n;
}

/* A value for a sentence: lines joined with ", ". */
static const char *flat(const char *v, char *buf, size_t size) {
  size_t i = 0;

  for (; *v != '\0' && i + 3 < size; v++) {
    if (*v == '\n') {
      buf[i++] = ',';
      buf[i++] = ' ';
    } else {
      buf[i++] = *v;
    }
  }
  buf[i] = '\0';
  return buf;
}

static size_t lines(const char *v) {
  size_t n = *v != '\0';

  for (; *v != '\0'; v++)
    n += *v == '\n';
  return n;
}

/* "SPF record", "DMARC record", "MX", "MTA-STS record"... */
static const char *what(enum id_fact f) {
  switch (f) {
  case IDF_MX:
    return "MX";
  case IDF_SPF:
    return "SPF record";
  case IDF_DMARC:
    return "DMARC record";
  case IDF_MTA_STS:
    return "MTA-STS record";
  case IDF_TLS_RPT:
    return "TLS-RPT record";
  default:
    return "PTR";
  }
}

/* The sentence of an identity_changed event ("PTR for 192.0.2.10
 * removed", "DMARC record added for example.com: ..."). */
static void sentence(enum id_fact f, const char *key, const char *old,
                     const char *now, const struct identity_result *r,
                     char *buf, size_t size) {
  char a[600], b[600];
  bool yes = strcmp(now, "yes") == 0;
  const char *w = what(f), *for_ = f == IDF_PTR || f == IDF_MX ? " for" : "";

  flat(old, a, sizeof(a));
  flat(now, b, sizeof(b));
  switch (f) {
  case IDF_FCRDNS:
    snprintf(buf, size, "PTR for %s %s forward-confirmed", key,
             yes ? "now" : "no longer");
    return;
  case IDF_GENERIC:
    snprintf(buf, size, "PTR for %s %s generic", key,
             yes ? "now looks" : "no longer looks");
    return;
  case IDF_SPF_LIMIT:
    if (strcmp(now, "over") == 0)
      snprintf(buf, size, "SPF for %s now exceeds %d lookups (%u)", key,
               SPF_LOOKUP_LIMIT, r->spf_lookups);
    else
      snprintf(buf, size, "SPF for %s back within %d lookups (%u)", key,
               SPF_LOOKUP_LIMIT, r->spf_lookups);
    return;
  case IDF_MTA_STS:
  case IDF_TLS_RPT:
    snprintf(buf, size, "%s %s for %s", w, yes ? "added" : "removed", key);
    return;
  default:
    break;
  }
  if (f == IDF_SPF && lines(now) > 1)
    snprintf(buf, size, "%s now has %zu SPF records: %s", key, lines(now), b);
  else if (*old == '\0')
    snprintf(buf, size, "%s%s %s added: %s", w, for_, key, b);
  else if (*now == '\0')
    snprintf(buf, size, "%s%s %s removed (was: %s)", w, for_, key, a);
  else
    snprintf(buf, size, "%s%s %s changed from %s to %s", w, for_, key, a, b);
}

/* The SPF word order differs: "SPF record removed for example.com". */
static void event_detail(enum id_fact f, const char *key, const char *old,
                         const char *now, const struct identity_result *r,
                         char *buf, size_t size) {
  char a[600], b[600];

  if (f != IDF_SPF && f != IDF_DMARC) {
    sentence(f, key, old, now, r, buf, size);
    return;
  }
  flat(old, a, sizeof(a));
  flat(now, b, sizeof(b));
  if (f == IDF_SPF && lines(now) > 1)
    sentence(f, key, old, now, r, buf, size);
  else if (*old == '\0')
    snprintf(buf, size, "%s added for %s: %s", what(f), key, b);
  else if (*now == '\0')
    snprintf(buf, size, "%s removed for %s (was: %s)", what(f), key, a);
  else
    snprintf(buf, size, "%s changed for %s from %s to %s", what(f), key, a, b);
}

/* Records one confirmed change: the fact, its event and the outbox rows,
 * in the recorder's transaction. */
static bool record_change(struct idpass *p, const struct idtarget *t,
                          enum id_fact f, const char *old, const char *now,
                          const struct identity_result *r, bool quiet) {
  char detail[1600], err[BW_ERRLEN];
  const char *chan[64];
  int64_t at = time(NULL);
  struct store_event e = {
      .at = at,
      .type = "identity_changed",
      .target = t->id,
      .target_key = t->key,
      .label = t->label[0] ? t->label : NULL,
      .result = identity_fact_name(f),
      .detail = detail,
      .cycle = p->cycle,
  };
  enum bw_err rc;

  event_detail(f, t->key, old, now, r, detail, sizeof(detail));
  if (!writable(p))
    return false;
  rc = store_identity_fact_put(p->store, t->id, identity_fact_name(f), now, at,
                               err);
  if (rc == BW_OK && !quiet)
    rc = store_event_add(p->store, &e, chan, channels(p->cfg, chan, 64), err);
  if (rc == BW_OK && !quiet)
    log_notice("%s%s%s%s identity_changed: %s", t->key, t->label[0] ? " (" : "",
               t->label, t->label[0] ? ")" : "", detail);
  return wrote(p, rc, err);
}

static bool store_first(struct idpass *p, const struct idtarget *t,
                        enum id_fact f, const char *value) {
  char err[BW_ERRLEN];

  if (!writable(p))
    return false;
  return wrote(p,
               store_identity_fact_put(p->store, t->id, identity_fact_name(f),
                                       value, time(NULL), err),
               err);
}

/* ---- the object status and report show
 * ---------------------------------------- */

struct obj_cmp {
  const char *object;
  bool same;
};

static void on_object(void *arg, const struct store_identity_object *o) {
  struct obj_cmp *c = arg;

  c->same = strcmp(o->object, c->object) == 0;
}

static char *join_notes(const struct identity_notes *n) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);

  if (f == NULL)
    return NULL;
  for (size_t i = 0; i < n->n; i++)
    fprintf(f, "%s%s", i ? "\n" : "", n->text[i]);
  fclose(f);
  return text;
}

/* Rewrites the stored object when it changed. */
static void put_object(struct idpass *p, const struct idtarget *t,
                       const struct identity_result *r) {
  struct identity_notes pr, wa;
  char *json = NULL, *problems, *warnings, err[BW_ERRLEN];
  size_t len = 0;
  FILE *f = open_memstream(&json, &len);
  struct obj_cmp cmp = {NULL, false};

  if (f == NULL)
    return;
  identity_json(f, r);
  fclose(f);
  cmp.object = json;
  identity_notes(r, IDP_ALL, &pr, &wa, NULL);
  problems = join_notes(&pr);
  warnings = join_notes(&wa);
  if (json != NULL && problems != NULL && warnings != NULL &&
      store_identity_object_get(p->store, t->id, on_object, &cmp, err) ==
          BW_OK &&
      !cmp.same && writable(p))
    wrote(p,
          store_identity_object_put(p->store, t->id, json, problems, warnings,
                                    time(NULL), err),
          err);
  free(json);
  free(problems);
  free(warnings);
}

/* ---- judging a result
 * ----------------------------------------------------------- */

static bool queue_confirm(struct idpass *p, const struct idtarget *t,
                          unsigned mask) {
  struct idtarget *q = malloc(sizeof(*q));

  if (q == NULL)
    return false;
  *q = *t;
  q->mask = mask;
  q->next = NULL;
  if (p->qtail != NULL)
    p->qtail->next = q;
  else
    p->queue = q;
  p->qtail = q;
  p->confirm_due = uv_now(p->loop) + p->cfg->confirm_ms;
  return true;
}

/* Compares a fresh result with the stored facts and acts: stores first
 * results, records confirmed changes, queues the rest for confirmation.
 * confirming is set for the second look, with t->mask the facts that
 * changed in the first. */
static void judge(struct idpass *p, const struct idtarget *t,
                  const struct identity_result *r, bool confirming) {
  struct stored s = {0};
  char fresh[IDF_COUNT][DNS_MAX_RECORDS_TXT / 4], err[BW_ERRLEN];
  bool known[IDF_COUNT] = {0}, complete = true;
  unsigned changed = 0, recorded = 0, differ;

  if (store_identity_facts(p->store, t->id, on_fact, &s, err) != BW_OK ||
      s.oom) {
    log_err("%s: cannot read its identity: %s", t->key,
            s.oom ? "out of "
                    "memory"
                  : err);
    stored_free(&s);
    return;
  }
  for (int f = 0; f < IDF_COUNT; f++) {
    if (!identity_fact_applies(r, (enum id_fact)f))
      continue;
    known[f] = identity_fact(r, (enum id_fact)f, fresh[f], sizeof(fresh[f]));
    complete &= known[f];
    if (!known[f])
      continue;
    if (!s.have[f])
      store_first(p, t, (enum id_fact)f, fresh[f]);
    else if (strcmp(s.value[f], fresh[f]) != 0)
      changed |= 1u << f;
  }
  differ = changed;
  if (confirming)
    changed &= t->mask;
  if (changed != 0 && !confirming && p->cfg->confirm_ms > 0 && !p->stopping) {
    if (!queue_confirm(p, t, changed))
      log_err("out of memory: identity change of %s not confirmed", t->key);
  } else if (changed != 0) {
    /* A new PTR name says it all: its FCrDNS and look are stored, quietly. */
    bool ptr = changed & (1u << IDF_PTR);
    for (int f = 0; f < IDF_COUNT; f++) {
      if (!(changed & (1u << f)))
        continue;
      bool quiet = (ptr && (f == IDF_FCRDNS || f == IDF_GENERIC)) ||
                   (f == IDF_SPF_LIMIT && (strcmp(s.value[f], "none") == 0 ||
                                           strcmp(fresh[f], "none") == 0));
      if (record_change(p, t, (enum id_fact)f, s.value[f], fresh[f], r, quiet))
        recorded |= 1u << f;
    }
  }
  /* The object shows what the facts say: not a change still to confirm. */
  if (complete && recorded == differ)
    put_object(p, t, r);
  if (confirming && (t->mask & ~changed) != 0)
    log_info("%s: identity change not confirmed (asked again)", t->key);
  stored_free(&s);
}

/* ---- the runner's callbacks
 * ------------------------------------------------------ */

static void complete(struct idpass *p);

static bool fetch(struct idpass *p) {
  char err[BW_ERRLEN];

  p->pos = 0;
  if (store_targets_next(p->store, p->last_id, p->page, PAGE, &p->npage, err) !=
      BW_OK) {
    log_err("%s", err);
    p->npage = 0;
  }
  p->no_more = p->npage == 0;
  return !p->no_more;
}

static bool fill(struct identity_target *out, struct idtarget *t) {
  out->is_domain = strcmp(t->kind, "domain") == 0;
  out->is_v6 = strcmp(t->kind, "ip6") == 0;
  out->name = t->key;
  out->arg = t;
  return out->is_domain ||
         inet_pton(out->is_v6 ? AF_INET6 : AF_INET, t->key, out->addr) == 1;
}

static bool next_target(void *arg, struct identity_target *out) {
  struct idpass *p = arg;

  while (!p->no_more && !p->stopping) {
    if (p->pos == p->npage && !fetch(p))
      break;
    const struct store_target *st = &p->page[p->pos++];
    struct idtarget *t = calloc(1, sizeof(*t));
    p->last_id = st->id;
    if (t == NULL)
      return false;
    t->id = st->id;
    memcpy(t->key, st->key, sizeof(t->key));
    memcpy(t->label, st->label, sizeof(t->label));
    memcpy(t->kind, st->kind, sizeof(t->kind));
    if (fill(out, t))
      return true;
    free(t);
  }
  return false;
}

static void on_result(void *arg, void *targ, const struct identity_result *r) {
  struct idpass *p = arg;
  struct idtarget *t = targ;

  if (r != NULL && !p->stopping)
    judge(p, t, r, false);
  free(t);
}

static bool next_confirm(void *arg, struct identity_target *out) {
  struct idpass *p = arg;

  while (p->cursor != NULL && !p->stopping) {
    struct idtarget *t = p->cursor;
    p->cursor = t->next;
    if (fill(out, t))
      return true;
  }
  return false;
}

static void on_confirmed(void *arg, void *targ,
                         const struct identity_result *r) {
  struct idpass *p = arg;

  if (r != NULL && !p->stopping)
    judge(p, targ, r, true);
}

static void on_finished(void *arg);

static const struct identity_ops pass_ops = {next_target, on_result,
                                             on_finished};
static const struct identity_ops confirm_ops = {next_confirm, on_confirmed,
                                                on_finished};

static void on_confirm_timer(uv_timer_t *h) {
  struct idpass *p = h->data;

  p->confirming = true;
  p->cursor = p->queue;
  p->run = identity_runner_new(p->engine, IDENTITY_TARGETS_IN_FLIGHT,
                               &confirm_ops, p);
  if (p->run == NULL) {
    log_err("out of memory: identity changes not confirmed");
    complete(p);
    return;
  }
  identity_runner_pump(p->run);
}

/* A runner is done: wait for the confirmations, or end. */
static void on_finished(void *arg) {
  struct idpass *p = arg;
  uint64_t now = uv_now(p->loop);

  identity_runner_free(p->run);
  p->run = NULL;
  if (!p->confirming && p->queue != NULL && !p->stopping) {
    uv_timer_start(&p->timer, on_confirm_timer,
                   p->confirm_due > now ? p->confirm_due - now : 0, 0);
    return;
  }
  complete(p);
}

static void on_done_timer(uv_timer_t *h) {
  struct idpass *p = h->data;

  p->done(p->done_arg);
}

/* Reported on a later loop turn: the engine may be on the stack. */
static void complete(struct idpass *p) {
  if (p->over)
    return;
  p->over = true;
  uv_timer_start(&p->timer, on_done_timer, 0, 0);
}

/* ---- start, stop, free
 * ------------------------------------------------------------- */

enum bw_err idpass_start(uv_loop_t *loop, struct dns_engine *e,
                         struct store *st, struct recorder *rec,
                         const struct config *cfg, int64_t cycle,
                         int64_t after_id, void (*done)(void *arg), void *arg,
                         struct idpass **out, char *err) {
  struct idpass *p = calloc(1, sizeof(*p));

  if (p == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  *p = (struct idpass){.loop = loop,
                       .engine = e,
                       .store = st,
                       .rec = rec,
                       .cfg = cfg,
                       .cycle = cycle,
                       .last_id = after_id,
                       .done = done,
                       .done_arg = arg};
  p->run = identity_runner_new(e, IDENTITY_TARGETS_IN_FLIGHT, &pass_ops, p);
  if (p->run == NULL) {
    free(p);
    return bw_fail(err, BW_ENOMEM, "out of memory");
  }
  uv_timer_init(loop, &p->timer);
  p->timer.data = p;
  *out = p;
  identity_runner_pump(p->run);
  return BW_OK;
}

void idpass_stop(struct idpass *p) {
  p->stopping = true;
  if (p->run != NULL) {
    identity_runner_stop(p->run); /* finished comes when in flight is done */
    return;
  }
  if (!p->over) { /* waiting for the confirmation delay */
    uv_timer_stop(&p->timer);
    complete(p);
  }
}

static void free_on_close(uv_handle_t *h) { free(h->data); }

void idpass_free(struct idpass *p) {
  struct idtarget *q;

  if (p == NULL)
    return;
  identity_runner_free(p->run);
  while ((q = p->queue) != NULL) {
    p->queue = q->next;
    free(q);
  }
  uv_close((uv_handle_t *)&p->timer, free_on_close);
}
