#include "scan.h"

#include <ares.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum phase { PH_PAIR, PH_TXT, PH_TP_POS, PH_TP_NEG };

struct scan_req {
  struct dns_request dns; /* first: requests are found from dns_request */
  struct scan *scan;
  uint32_t target;
  uint32_t zone;
  enum phase phase;
  struct zone_answer answer;
  int status;
  uint64_t took_ns; /* of the A query, kept across the TXT query */
  struct scan_req *free_next;
};

struct scan {
  struct dns_engine *engine;
  struct zone *const *zones;
  size_t nzones;
  const struct scan_ops *ops;
  void *arg;
  struct scan_target cur; /* the target being turned into pairs */
  bool have_cur;
  bool started;
  bool targets_done;
  bool finished;
  size_t zone_cursor;
  unsigned outstanding; /* pairs and test points not yet final */
  unsigned tp_outstanding;
  uint64_t queries;
  struct scan_req *free_reqs;
  enum zone_health *health;
  struct zone_answer *tp; /* 2 per zone: positive, negative */
};

static const char *const health_names[] = {
    [ZH_UNTESTED] = "untested", [ZH_OK] = "ok",   [ZH_WILDCARD] = "wildcard",
    [ZH_DEAD] = "dead",         [ZH_REFUSED] = "refused", [ZH_ERROR] = "error",
};

const char *zone_health_name(enum zone_health h) { return health_names[h]; }

enum zone_health zone_health_parse(const char *name) {
  for (size_t h = 0; h < sizeof(health_names) / sizeof(*health_names); h++)
    if (strcmp(health_names[h], name) == 0)
      return (enum zone_health)h;
  return ZH_UNTESTED;
}

bool zone_health_untrusted(enum zone_health h) {
  return h == ZH_WILDCARD || h == ZH_DEAD;
}

static struct scan_req *req_get(struct scan *s) {
  struct scan_req *r = s->free_reqs;

  if (r != NULL)
    s->free_reqs = r->free_next;
  else if ((r = malloc(sizeof(*r))) == NULL)
    return NULL;
  memset(r, 0, sizeof(*r));
  r->scan = s;
  return r;
}

static void req_put(struct scan *s, struct scan_req *r) {
  r->free_next = s->free_reqs;
  s->free_reqs = r;
}

/* The answer to an A query as a result: NXDOMAIN and empty answers are
 * clear, transport and server failures are errors. */
static void decode_status(const struct zone *z, const struct dns_request *d,
                          struct zone_answer *out) {
  out->ncodes = 0;
  if (d->status == ARES_SUCCESS)
    zone_decode(z, d->u.a, d->naddr, out);
  else if (d->status == ARES_ENOTFOUND || d->status == ARES_ENODATA)
    out->result = ZR_CLEAR;
  else
    out->result = ZR_ERROR;
}

static enum zone_health tp_health(const struct zone_answer *pos,
                                  const struct zone_answer *neg) {
  if (neg->result == ZR_LISTED)
    return ZH_WILDCARD;
  if (pos->result == ZR_CLEAR)
    return ZH_DEAD;
  if (pos->result == ZR_REFUSED || neg->result == ZR_REFUSED)
    return ZH_REFUSED;
  if (pos->result != ZR_LISTED || neg->result != ZR_CLEAR)
    return ZH_ERROR;
  return ZH_OK;
}

static void maybe_finish(struct scan *s) {
  if (s->finished || !s->targets_done || s->outstanding > 0)
    return;
  s->finished = true;
  s->ops->finished(s->arg);
}

/* Once both answers of every zone are in: the zones' health. */
static void testpoints_done(struct scan *s) {
  for (size_t i = 0; i < s->nzones; i++)
    if (s->zones[i]->testpoints)
      s->health[i] = tp_health(&s->tp[2 * i], &s->tp[2 * i + 1]);
  if (s->ops->health_ready != NULL)
    s->ops->health_ready(s->arg);
}

static void emit(struct scan *s, struct scan_req *r, const char *reason) {
  struct scan_result res = {
      .target = r->target,
      .zone = r->zone,
      .answer = r->answer,
      .status = r->status,
      .reason = reason,
      .qname = r->dns.name,
      .took_ns = r->took_ns,
  };

  s->ops->result(s->arg, &res);
}

static void on_done(struct dns_request *d) {
  struct scan_req *r = (struct scan_req *)d;
  struct scan *s = r->scan;
  const struct zone *z = s->zones[r->zone];

  if (d->status == ARES_ECANCELLED || d->status == ARES_EDESTRUCTION) {
    free(d->txt);
    req_put(s, r);
    return; /* the scan is being torn down */
  }
  switch (r->phase) {
  case PH_PAIR:
    r->status = d->status;
    r->took_ns = d->took_ns;
    decode_status(z, d, &r->answer);
    if (r->answer.result == ZR_LISTED) {
      r->phase = PH_TXT;
      d->type = DNS_TXT;
      s->queries++;
      dns_submit(s->engine, d);
      return;
    }
    emit(s, r, NULL);
    break;
  case PH_TXT:
    emit(s, r, d->status == ARES_SUCCESS ? d->txt : NULL);
    free(d->txt);
    break;
  case PH_TP_POS:
  case PH_TP_NEG:
    decode_status(z, d, &s->tp[2 * r->zone + (r->phase == PH_TP_NEG)]);
    if (--s->tp_outstanding == 0)
      testpoints_done(s);
    break;
  }
  req_put(s, r);
  s->outstanding--;
  maybe_finish(s);
}

bool scan_applies(const struct zone *z, const struct scan_target *t) {
  unsigned need = t->is_domain ? ZONE_DOMAIN : t->is_v6 ? ZONE_IP6 : ZONE_IP4;

  return (z->kinds & need) != 0;
}

static uint32_t ip4_host(const uint8_t *a) {
  return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 |
         a[3];
}

/* The query name of a target in a zone; -1 when it would be too long. */
static int pair_name(char *buf, size_t size, const struct scan_target *t,
                     const char *zone) {
  if (t->is_domain)
    return qname_join(buf, size, t->name, zone);
  if (t->is_v6)
    return qname_ip6(buf, size, t->addr, zone);
  return qname_ip4(buf, size, ip4_host(t->addr), zone);
}

/* Builds the request for the next applicable (target, zone) pair. */
static struct scan_req *next_pair(struct scan *s) {
  while (s->zone_cursor < s->nzones) {
    uint32_t zi = (uint32_t)s->zone_cursor++;
    const struct zone *z = s->zones[zi];
    struct scan_req *r;
    if (!scan_applies(z, &s->cur) ||
        (s->ops->want != NULL && !s->ops->want(s->arg, &s->cur, zi)))
      continue;
    if ((r = req_get(s)) == NULL) {
      s->zone_cursor--; /* out of memory: retry on the next pump */
      return NULL;
    }
    r->target = s->cur.id;
    r->zone = zi;
    r->phase = PH_PAIR;
    r->dns.type = DNS_A;
    r->dns.done = on_done;
    if (zone_health_untrusted(s->health[zi])) {
      r->answer.result = ZR_UNTRUSTED; /* set aside without a query */
    } else if (pair_name(r->dns.name, sizeof(r->dns.name), &s->cur,
                         z->query_zone) == 0) {
      s->outstanding++;
      s->queries++;
      return r;
    } else {
      /* A domain too long for this zone can never be looked up. */
      r->answer.result = ZR_ERROR;
      r->status = ARES_EBADNAME;
    }
    r->dns.name[0] = '\0';
    emit(s, r, NULL);
    req_put(s, r);
  }
  return NULL;
}

static struct dns_request *next_request(void *arg) {
  struct scan *s = arg;
  struct scan_req *r;

  if (!s->started || s->tp_outstanding > 0)
    return NULL;
  while (!s->targets_done) {
    if (!s->have_cur) {
      enum scan_next n = s->ops->next_target(s->arg, &s->cur);
      if (n == SCAN_WAIT)
        return NULL;
      if (n == SCAN_END) {
        s->targets_done = true;
        break;
      }
      s->have_cur = true;
      s->zone_cursor = 0;
    }
    if ((r = next_pair(s)) != NULL)
      return &r->dns;
    if (s->zone_cursor < s->nzones)
      return NULL; /* out of memory: try again on the next pump */
    s->have_cur = false;
  }
  maybe_finish(s);
  return NULL;
}

/* The RFC 5782 test point names of a zone, by the first kind it has. */
static int testpoint_name(char *buf, size_t size, const struct zone *z,
                          bool positive) {
  uint8_t v6[16] = {[10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1};

  if (z->kinds & ZONE_IP4)
    return qname_ip4(buf, size, positive ? 0x7f000002 : 0x7f000001,
                     z->query_zone);
  if (z->kinds & ZONE_IP6) {
    v6[15] = positive ? 2 : 1;
    return qname_ip6(buf, size, v6, z->query_zone);
  }
  return qname_join(buf, size, positive ? "test" : "invalid", z->query_zone);
}

static void submit_testpoints(struct scan *s) {
  for (uint32_t i = 0; i < s->nzones; i++) {
    if (!s->zones[i]->testpoints)
      continue;
    for (int neg = 0; neg < 2; neg++) {
      struct scan_req *r = req_get(s);
      if (r == NULL)
        continue; /* the zone stays untested */
      r->zone = i;
      r->phase = neg ? PH_TP_NEG : PH_TP_POS;
      r->dns.type = DNS_A;
      r->dns.done = on_done;
      if (testpoint_name(r->dns.name, sizeof(r->dns.name), s->zones[i],
                         !neg) != 0) {
        req_put(s, r);
        continue;
      }
      s->outstanding++;
      s->tp_outstanding++;
      s->queries++;
      dns_submit(s->engine, &r->dns);
    }
  }
}

enum bw_err scan_open(struct dns_engine *e, struct zone *const *zones,
                      size_t nzones, const struct scan_ops *ops, void *arg,
                      struct scan **out, char *err) {
  struct scan *s = calloc(1, sizeof(*s));

  if (s == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  s->engine = e;
  s->zones = zones;
  s->nzones = nzones;
  s->ops = ops;
  s->arg = arg;
  s->health = calloc(nzones + 1, sizeof(*s->health));
  s->tp = calloc(2 * nzones + 1, sizeof(*s->tp));
  if (s->health == NULL || s->tp == NULL) {
    scan_free(s);
    return bw_fail(err, BW_ENOMEM, "out of memory");
  }
  *out = s;
  return BW_OK;
}

void scan_start(struct scan *s) {
  s->started = true;
  dns_set_source(s->engine, next_request, s);
  submit_testpoints(s);
  if (s->tp_outstanding == 0)
    testpoints_done(s);
  dns_pump(s->engine);
}

void scan_resume(struct scan *s) { dns_pump(s->engine); }

enum zone_health scan_health(const struct scan *s, size_t i) {
  return s->health[i];
}

uint64_t scan_queries(const struct scan *s) { return s->queries; }

void scan_free(struct scan *s) {
  struct scan_req *r;

  if (s == NULL)
    return;
  if (s->engine != NULL && s->started)
    dns_set_source(s->engine, NULL, NULL);
  while ((r = s->free_reqs) != NULL) {
    s->free_reqs = r->free_next;
    free(r);
  }
  free(s->health);
  free(s->tp);
  free(s);
}
