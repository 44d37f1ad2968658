#include "confirm.h"

#include <ares.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "log.h"

struct citem {
  struct dns_request dns; /* first: items are found from their request */
  struct confirmer *c;
  int64_t target;
  int64_t since;
  int64_t cycle;
  char *key;
  char *label;
  char *list;
  char *stored_codes;
  enum event_type event;
  uint64_t due;
  struct zone_answer again;
  struct citem *next;
};

struct confirmer {
  uv_loop_t *loop;
  struct recorder *rec;
  struct dns_engine *engine;
  const struct config *cfg;
  uv_timer_t timer;
  struct citem *head, *tail; /* waiting, in due order */
  size_t waiting;
  size_t inflight;
  void (*idle_fn)(void *);
  void *idle_arg;
};

static void item_free(struct citem *it) {
  free(it->key);
  free(it->label);
  free(it->list);
  free(it->stored_codes);
  free(it->dns.txt);
  free(it);
}

static void check_idle(struct confirmer *c) {
  void (*fn)(void *) = c->idle_fn;

  if (fn == NULL || c->waiting > 0 || c->inflight > 0)
    return;
  c->idle_fn = NULL;
  fn(c->idle_arg);
}

void confirm_on_idle(struct confirmer *c, void (*fn)(void *), void *arg) {
  c->idle_fn = fn;
  c->idle_arg = arg;
  check_idle(c);
}

size_t confirm_pending(const struct confirmer *c) {
  return c->waiting + c->inflight;
}

static const struct zone *find_zone(const struct confirmer *c,
                                    const char *list) {
  const struct zone *z = zone_find(&c->cfg->cat, list);

  if (z == NULL || !c->cfg->enabled[z - c->cfg->cat.zones])
    return NULL;
  return z;
}

static void finish(struct citem *it) {
  struct confirmer *c = it->c;

  c->inflight--;
  item_free(it);
  check_idle(c);
}

static void record(struct citem *it, const struct zone *z) {
  struct record_pair p = {it->target, it->key, it->label, it->cycle};
  int64_t now = time(NULL);
  struct zone_answer ended;

  if (it->event == EV_DELISTED) {
    json_parse_codes(it->stored_codes, &ended);
    record_pair_event(it->c->rec, &p, z, it->event, &ended, NULL, now, now);
    return;
  }
  record_pair_event(it->c->rec, &p, z, it->event, &it->again,
                    it->dns.status == ARES_SUCCESS ? it->dns.txt : NULL,
                    it->event == EV_CHANGED ? it->since : now, now);
}

static void on_answer(struct dns_request *d) {
  struct citem *it = (struct citem *)d;
  const struct zone *z = find_zone(it->c, it->list);
  char codes[512];

  if (d->status == ARES_ECANCELLED || z == NULL) {
    finish(it); /* shutting down, or the zone went away in a reload */
    return;
  }
  if (d->type == DNS_TXT) {
    record(it, z);
    finish(it);
    return;
  }
  if (d->status == ARES_SUCCESS)
    zone_decode(z, d->u.a, d->naddr, &it->again);
  else
    it->again.result = d->status == ARES_ENOTFOUND ||
                               d->status == ARES_ENODATA
                           ? ZR_CLEAR
                           : ZR_ERROR;
  json_codes(&it->again, codes, sizeof(codes));
  if (!transition_confirmed(it->event, it->stored_codes, it->again.result,
                            codes)) {
    log_info("%s on %s: %s not confirmed (asked again: %s)", it->key,
             it->list, event_type_name(it->event),
             zone_result_name(it->again.result));
    finish(it);
    return;
  }
  if (it->again.result == ZR_LISTED) {
    d->type = DNS_TXT; /* fetch the reason, then record */
    dns_submit(it->c->engine, d);
    return;
  }
  record(it, z);
  finish(it);
}

static void on_timer(uv_timer_t *t) {
  struct confirmer *c = t->data;
  uint64_t now = uv_now(c->loop);

  while (c->head != NULL && c->head->due <= now) {
    struct citem *it = c->head;
    c->head = it->next;
    if (c->head == NULL)
      c->tail = NULL;
    c->waiting--;
    c->inflight++;
    dns_submit(c->engine, &it->dns);
  }
  if (c->head != NULL)
    uv_timer_start(&c->timer, on_timer, c->head->due - now, 0);
  dns_pump(c->engine);
}

enum bw_err confirm_new(uv_loop_t *loop, struct recorder *rec,
                        struct confirmer **out, char *err) {
  struct confirmer *c = calloc(1, sizeof(*c));

  if (c == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  c->loop = loop;
  c->rec = rec;
  uv_timer_init(loop, &c->timer);
  c->timer.data = c;
  *out = c;
  return BW_OK;
}

void confirm_use(struct confirmer *c, struct dns_engine *e,
                 const struct config *cfg) {
  c->engine = e;
  c->cfg = cfg;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

bool confirm_add(struct confirmer *c, const struct confirm_req *req,
                 uint64_t delay_ms) {
  struct citem *it = calloc(1, sizeof(*it));

  if (it == NULL)
    return false;
  it->c = c;
  it->target = req->target;
  it->since = req->since;
  it->cycle = req->cycle;
  it->event = req->event;
  it->key = strdup(req->key);
  it->label = dup_or_null(req->label);
  it->list = strdup(req->list);
  it->stored_codes = strdup(req->stored_codes);
  if (it->key == NULL || it->list == NULL || it->stored_codes == NULL) {
    item_free(it);
    return false;
  }
  snprintf(it->dns.name, sizeof(it->dns.name), "%s", req->qname);
  it->dns.type = DNS_A;
  it->dns.done = on_answer;
  it->due = uv_now(c->loop) + delay_ms;
  if (c->tail != NULL)
    c->tail->next = it;
  else
    c->head = it;
  c->tail = it;
  c->waiting++;
  if (!uv_is_active((uv_handle_t *)&c->timer))
    uv_timer_start(&c->timer, on_timer, delay_ms, 0);
  return true;
}

static void on_closed(uv_handle_t *h) { free(h->data); }

void confirm_free(struct confirmer *c) {
  struct citem *it;

  if (c == NULL)
    return;
  while ((it = c->head) != NULL) {
    c->head = it->next;
    item_free(it);
  }
  uv_close((uv_handle_t *)&c->timer, on_closed);
}
