/* The check command: expand targets, resolve host names, scan, print. */
#include "check.h"

#include <ares.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "identity.h"
#include "json.h"
#include "scan.h"

#define NOT_APPLICABLE 0xff
#define PLURAL(n) ((n) == 1 ? "" : "s")

struct check_target {
  bool is_domain;
  bool is_v6;
  uint8_t addr[16];
  const char *name;  /* domain; points into a spec */
  const char *label; /* points into a spec; NULL when none */
};

/* Codes, reason and status of a pair that is not plainly clear. */
struct detail {
  uint64_t pair;
  int status;
  struct zone_answer answer;
  char *reason;
};

/* Addresses a host name resolved to. */
struct resolved {
  size_t n;
  struct {
    bool v6;
    uint8_t addr[16];
  } *a;
  int status[2]; /* of the A and AAAA queries */
};

struct host_req {
  struct dns_request dns;
  struct check *check;
  size_t spec;
};

struct check {
  struct config *cfg;
  const struct check_opts *opts;
  uv_loop_t loop;
  struct zone **zones;
  size_t nzones;
  struct target_spec *specs;
  size_t nspecs;
  struct resolved *resolved; /* per spec */
  unsigned hosts_pending;
  struct check_target *targets;
  size_t ntargets;
  size_t feed;
  uint8_t *results; /* ntargets * nzones */
  struct detail *details;
  size_t ndetails;
  size_t dcap;
  struct dns_engine *engine;
  struct scan *scan;
  char **identity; /* per target, with --identity: JSON or text */
  bool failed; /* out of memory */
};

/* ---- collecting -------------------------------------------------------- */

static bool push_detail(struct check *c, uint64_t pair,
                        const struct scan_result *r) {
  struct detail *d;

  if (c->ndetails == c->dcap) {
    size_t cap = c->dcap ? c->dcap * 2 : 64;
    struct detail *grown = realloc(c->details, cap * sizeof(*grown));
    if (grown == NULL)
      return false;
    c->details = grown;
    c->dcap = cap;
  }
  d = &c->details[c->ndetails++];
  d->pair = pair;
  d->status = r->status;
  d->answer = r->answer;
  d->reason = r->reason ? strdup(r->reason) : NULL;
  return true;
}

static void on_result(void *arg, const struct scan_result *r) {
  struct check *c = arg;
  uint64_t pair = (uint64_t)r->target * c->nzones + r->zone;

  c->results[pair] = (uint8_t)r->answer.result;
  if (r->answer.result != ZR_CLEAR && !push_detail(c, pair, r))
    c->failed = true;
}

static enum scan_next next_target(void *arg, struct scan_target *out) {
  struct check *c = arg;
  const struct check_target *t;

  if (c->feed == c->ntargets)
    return SCAN_END;
  t = &c->targets[c->feed];
  out->is_domain = t->is_domain;
  out->is_v6 = t->is_v6;
  memcpy(out->addr, t->addr, 16);
  out->name = t->name;
  out->id = (uint32_t)c->feed++;
  return SCAN_TARGET;
}

static void on_finished(void *arg) {
  struct check *c = arg;

  uv_stop(&c->loop);
}

static const struct scan_ops check_ops = {
    .next_target = next_target,
    .result = on_result,
    .finished = on_finished,
};

/* ---- targets ----------------------------------------------------------- */

static bool wants_lookup(const struct target_spec *t) {
  return t->kind == TARGET_HOST;
}

static void on_host(struct dns_request *d) {
  struct host_req *h = (struct host_req *)d;
  struct check *c = h->check;
  struct resolved *r = &c->resolved[h->spec];
  bool v6 = d->type == DNS_AAAA;
  void *grown;

  r->status[v6] = d->status;
  if (d->status == ARES_SUCCESS) {
    grown = realloc(r->a, (r->n + d->naddr) * sizeof(*r->a));
    if (grown == NULL) {
      c->failed = true;
    } else {
      r->a = grown;
      for (unsigned i = 0; i < d->naddr; i++) {
        r->a[r->n].v6 = v6;
        memset(r->a[r->n].addr, 0, 16);
        if (v6)
          memcpy(r->a[r->n].addr, d->u.aaaa[i], 16);
        else
          for (int b = 0; b < 4; b++)
            r->a[r->n].addr[b] = (uint8_t)(d->u.a[i] >> (24 - 8 * b));
        r->n++;
      }
    }
  }
  bool cancelled = d->status == ARES_ECANCELLED;
  free(h);
  if (--c->hosts_pending == 0 && !cancelled)
    uv_stop(&c->loop);
}

/* Submits A and AAAA queries for every name to resolve; returns how many
 * were submitted. */
static unsigned submit_hosts(struct check *c) {
  struct dns_engine *e = c->engine;
  unsigned n = 0;

  for (size_t i = 0; i < c->nspecs; i++) {
    if (!wants_lookup(&c->specs[i]))
      continue;
    for (int v6 = 0; v6 < 2; v6++) {
      struct host_req *h = calloc(1, sizeof(*h));
      if (h == NULL) {
        c->failed = true;
        continue;
      }
      h->check = c;
      h->spec = i;
      h->dns.type = v6 ? DNS_AAAA : DNS_A;
      h->dns.done = on_host;
      snprintf(h->dns.name, sizeof(h->dns.name), "%s", c->specs[i].name);
      c->hosts_pending++;
      dns_submit(e, &h->dns);
      n++;
    }
  }
  return n;
}

static bool push_target(struct check *c, size_t *cap,
                        const struct check_target *t) {
  if (c->ntargets == *cap) {
    size_t n = *cap ? *cap * 2 : 64;
    struct check_target *grown = realloc(c->targets, n * sizeof(*grown));
    if (grown == NULL)
      return false;
    c->targets = grown;
    *cap = n;
  }
  c->targets[c->ntargets++] = *t;
  return true;
}

/* The concrete targets of one spec: the addresses of a range, the domain
 * itself, or what a host name resolved to (labelled with the name). */
static bool expand_spec(struct check *c, size_t i, size_t *cap) {
  const struct target_spec *s = &c->specs[i];
  struct check_target t = {.label = s->label};
  bool ok = true;

  if (s->kind == TARGET_IP4 || s->kind == TARGET_IP6) {
    t.is_v6 = s->kind == TARGET_IP6;
    for (uint64_t k = 0; ok && k < target_count(s); k++) {
      target_nth(s, k, t.addr);
      ok = push_target(c, cap, &t);
    }
    return ok;
  }
  if (s->kind == TARGET_DOMAIN) {
    t.is_domain = true;
    t.name = s->name;
    ok = push_target(c, cap, &t);
  }
  t.is_domain = false;
  t.name = NULL;
  t.label = s->label ? s->label : s->name;
  for (size_t k = 0; ok && c->resolved && k < c->resolved[i].n; k++) {
    t.is_v6 = c->resolved[i].a[k].v6;
    memcpy(t.addr, c->resolved[i].a[k].addr, 16);
    ok = push_target(c, cap, &t);
  }
  return ok;
}

static bool build_targets(struct check *c) {
  size_t cap = 0;

  for (size_t i = 0; i < c->nspecs; i++)
    if (!expand_spec(c, i, &cap))
      return false;
  if (c->ntargets > UINT32_MAX / (c->nzones + 1))
    return false;
  c->results = malloc(c->ntargets * c->nzones + 1);
  if (c->results == NULL)
    return false;
  memset(c->results, NOT_APPLICABLE, c->ntargets * c->nzones + 1);
  return true;
}

static bool lookup_failed(int status) {
  return status != ARES_SUCCESS && status != ARES_ENOTFOUND &&
         status != ARES_ENODATA;
}

/* Host names that gave no address make the answer incomplete: nothing
 * was looked up for them. */
static bool report_hosts(const struct check *c) {
  bool incomplete = false;

  for (size_t i = 0; c->resolved && i < c->nspecs; i++) {
    const struct resolved *r = &c->resolved[i];
    if (!wants_lookup(&c->specs[i]) || r->n > 0)
      continue;
    int bad = lookup_failed(r->status[0]) ? r->status[0] : r->status[1];
    bool failed = lookup_failed(bad);
    fprintf(stderr, "blwatch: %s: %s\n", c->specs[i].name,
            failed ? dns_status_name(bad) : "no A or AAAA records");
    incomplete = true;
  }
  return incomplete;
}

/* ---- reading results back ---------------------------------------------- */

static int cmp_detail(const void *a, const void *b) {
  const struct detail *x = a, *y = b;

  return x->pair < y->pair ? -1 : x->pair > y->pair;
}

static const struct detail *find_detail(const struct check *c,
                                        uint64_t pair) {
  struct detail key = {.pair = pair};

  if (c->ndetails == 0)
    return NULL;
  return bsearch(&key, c->details, c->ndetails, sizeof(key), cmp_detail);
}

/* The result that stands: a zone that failed its test points has its
 * answers set aside. */
static enum zone_result final_result(const struct check *c, size_t t,
                                     size_t z) {
  uint8_t r = c->results[t * c->nzones + z];

  if (r != NOT_APPLICABLE && zone_health_untrusted(scan_health(c->scan, z)))
    return ZR_UNTRUSTED;
  return (enum zone_result)r;
}

/* Why a pair is unknown, in a few words. */
static const char *unknown_why(const struct check *c, size_t z,
                               enum zone_result r, const struct detail *d) {
  const struct zone *zone = c->zones[z];
  bool dom = !(zone->kinds & (ZONE_IP4 | ZONE_IP6));

  switch (r) {
  case ZR_UNTRUSTED:
    if (scan_health(c->scan, z) == ZH_WILDCARD)
      return dom ? "zone lists INVALID: it lists everything (wildcard)"
                 : "zone lists 127.0.0.1: it lists everything (wildcard)";
    return dom ? "zone does not list TEST: dead or blocking this resolver"
               : "zone does not list 127.0.0.2: dead or blocking this "
                 "resolver";
  case ZR_REFUSED:
    return d && d->answer.ncodes
               ? zone_refusal_meaning(zone, d->answer.codes[0])
               : "refused";
  case ZR_BOGUS:
    return "answer outside 127.0.0.0/8 (a resolver rewriting NXDOMAIN?)";
  case ZR_ERROR:
    return d ? dns_status_name(d->status) : "error";
  default:
    return NULL;
  }
}

static const char *target_text(const struct check_target *t, char *buf) {
  return t->is_domain ? t->name : target_addr_str(t->addr, t->is_v6, buf);
}

struct summary {
  size_t listed, clear, unknown, listed_targets;
  size_t unchecked; /* targets no enabled zone applies to */
};

static void count(const struct check *c, struct summary *s) {
  memset(s, 0, sizeof(*s));
  for (size_t t = 0; t < c->ntargets; t++) {
    bool listed = false, applies = false;
    for (size_t z = 0; z < c->nzones; z++) {
      enum zone_result r = final_result(c, t, z);
      if ((uint8_t)r == NOT_APPLICABLE)
        continue;
      applies = true;
      if (r == ZR_LISTED) {
        s->listed++;
        listed = true;
      } else if (r == ZR_CLEAR) {
        s->clear++;
      } else {
        s->unknown++;
      }
    }
    s->listed_targets += listed;
    s->unchecked += !applies;
  }
}

/* ---- JSON -------------------------------------------------------------- */

static void print_codes(FILE *out, const struct zone *z, enum zone_result r,
                       const struct detail *d) {
  char ip[16], meaning[256];
  size_t n = d ? d->answer.ncodes : 0;

  fputs(",\"codes\":[", out);
  for (size_t i = 0; i < n; i++)
    fprintf(out, "%s\"%s\"", i ? "," : "", zone_ip4_str(d->answer.codes[i], ip));
  fputs("],\"meanings\":[", out);
  for (size_t i = 0; i < n; i++) {
    fputs(i ? "," : "", out);
    json_str(out, json_code_meaning(z, r, d->answer.codes[i], meaning,
                               sizeof(meaning)));
  }
  fputs("]", out);
}

static void json_result(const struct check *c, FILE *out, size_t t,
                        size_t zi, bool first) {
  const struct zone *z = c->zones[zi];
  enum zone_result r = final_result(c, t, zi);
  const struct detail *d = find_detail(c, (uint64_t)t * c->nzones + zi);

  fputs(first ? "" : ",", out);
  fputs("{\"list\":", out);
  json_str(out, z->id);
  fputs(",\"zone\":", out);
  json_str(out, z->zone);
  fprintf(out, ",\"result\":\"%s\"", zone_result_name(r));
  /* A listing set aside still shows what the zone answered. */
  print_codes(out, z, d ? (enum zone_result)d->answer.result : r, d);
  fputs(",\"reason\":", out);
  json_str(out, d ? d->reason : NULL);
  if (zone_result_unknown(r)) {
    fputs(",\"detail\":", out);
    json_str(out, unknown_why(c, zi, r, d));
  }
  fputs("}", out);
}

static void print_json(const struct check *c, FILE *out) {
  struct summary s;
  char buf[64];

  fputs("{\"targets\":[", out);
  for (size_t t = 0; t < c->ntargets; t++) {
    const struct check_target *ct = &c->targets[t];
    bool first = true;
    fputs(t ? ",\n" : "\n", out);
    fputs("{\"target\":", out);
    json_str(out, target_text(ct, buf));
    fputs(",\"label\":", out);
    json_str(out, ct->label);
    fputs(",\"results\":[", out);
    for (size_t z = 0; z < c->nzones; z++) {
      if (c->results[t * c->nzones + z] == NOT_APPLICABLE)
        continue;
      json_result(c, out, t, z, first);
      first = false;
    }
    fputs("]", out);
    if (c->identity != NULL)
      fprintf(out, ",\"identity\":%s",
              c->identity[t] ? c->identity[t] : "null");
    fputs("}", out);
  }
  count(c, &s);
  fprintf(out,
          "],\n\"summary\":{\"targets\":%zu,\"zones\":%zu,\"listed\":%zu,"
          "\"clear\":%zu,\"unknown\":%zu,\"listed_targets\":%zu}}\n",
          c->ntargets, c->nzones, s.listed, s.clear, s.unknown,
          s.listed_targets);
}

/* ---- text -------------------------------------------------------------- */

static void text_listing(const struct check *c, FILE *out, size_t t,
                         size_t zi) {
  const struct zone *z = c->zones[zi];
  const struct detail *d = find_detail(c, (uint64_t)t * c->nzones + zi);
  const struct check_target *ct = &c->targets[t];
  char buf[64], ip[16], meaning[256];

  fprintf(out, "  %s%s%s%s  %s (%s)\n", target_text(ct, buf),
          ct->label ? " (" : "", ct->label ? ct->label : "",
          ct->label ? ")" : "", z->id, z->zone);
  for (size_t i = 0; d != NULL && i < d->answer.ncodes; i++)
    fprintf(out, "      %s  %s\n", zone_ip4_str(d->answer.codes[i], ip),
            zone_code_meaning(z, d->answer.codes[i], meaning,
                              sizeof(meaning)));
  if (d != NULL && d->reason != NULL)
    fprintf(out, "      reason: %s\n", d->reason);
  if (z->delist != NULL)
    fprintf(out, "      delist: %s\n", z->delist);
}

/* "192.0.2.10: listed on 1 (bl); clean on 38 of 41 zones; 2 unknown:
 * a refused (...), b untrusted (...)" */
static void text_coverage(const struct check *c, FILE *out, size_t t) {
  size_t applicable = 0, clear = 0, unknown = 0, listed = 0, shown = 0;
  char buf[64];

  for (size_t z = 0; z < c->nzones; z++) {
    enum zone_result r = final_result(c, t, z);
    if ((uint8_t)r == NOT_APPLICABLE)
      continue;
    applicable++;
    clear += r == ZR_CLEAR;
    listed += r == ZR_LISTED;
    unknown += zone_result_unknown(r);
  }
  fprintf(out, "%s: ", target_text(&c->targets[t], buf));
  if (applicable == 0) {
    /* Nothing looked it up: it is not clean, it is unknown. */
    fprintf(out, "not checked: no enabled zone lists %s\n",
            c->targets[t].is_domain ? "domains"
            : c->targets[t].is_v6   ? "IPv6 addresses"
                                    : "IPv4 addresses");
    return;
  }
  if (listed > 0) {
    fprintf(out, "listed on %zu (", listed);
    for (size_t z = 0, n = 0; z < c->nzones; z++)
      if (final_result(c, t, z) == ZR_LISTED)
        fprintf(out, "%s%s", n++ ? ", " : "", c->zones[z]->id);
    fputs("); ", out);
  }
  fprintf(out, "clean on %zu of %zu zones", clear, applicable);
  if (unknown > 0)
    fprintf(out, "; %zu unknown:", unknown);
  for (size_t z = 0; z < c->nzones && unknown > 0; z++) {
    enum zone_result r = final_result(c, t, z);
    if ((uint8_t)r == NOT_APPLICABLE || !zone_result_unknown(r))
      continue;
    if (shown++ == 5) {
      fprintf(out, ", and %zu more", unknown - 5);
      break;
    }
    const struct detail *d = find_detail(c, (uint64_t)t * c->nzones + z);
    fprintf(out, "%s %s %s (%s)", shown > 1 ? "," : "", c->zones[z]->id,
            zone_result_name(r), unknown_why(c, z, r, d));
  }
  fputs("\n", out);
}

static void text_zone_health(const struct check *c, FILE *out) {
  bool header = false;

  for (size_t z = 0; z < c->nzones; z++) {
    enum zone_health h = scan_health(c->scan, z);
    if (h == ZH_OK || h == ZH_UNTESTED)
      continue;
    if (!header)
      fputs("Zone health (RFC 5782 test points):\n", out);
    header = true;
    fprintf(out, "  %s (%s): %s%s\n", c->zones[z]->id, c->zones[z]->zone,
            zone_health_name(h),
            zone_health_untrusted(h) ? ", its answers are set aside" : "");
  }
  if (header)
    fputs("\n", out);
}

/* check --identity: each target's identity after its coverage lines. */
static void text_identity(const struct check *c, FILE *out) {
  char buf[64];

  for (size_t t = 0; c->identity != NULL && t < c->ntargets; t++) {
    const struct check_target *ct = &c->targets[t];
    fprintf(out, "%sIdentity of %s%s%s%s:\n%s", t ? "" : "\n",
            target_text(ct, buf), ct->label ? " (" : "",
            ct->label ? ct->label : "", ct->label ? ")" : "",
            c->identity[t] ? c->identity[t]
                           : "    (the checks could not run)\n");
  }
}

/* Runs the identity checks of every target (after the zone lookups). */
static bool run_identity(struct check *c) {
  struct identity_target *t = calloc(c->ntargets + 1, sizeof(*t));

  if (t == NULL)
    return false;
  for (size_t i = 0; i < c->ntargets; i++) {
    t[i].is_domain = c->targets[i].is_domain;
    t[i].is_v6 = c->targets[i].is_v6;
    memcpy(t[i].addr, c->targets[i].addr, 16);
    t[i].name = c->targets[i].name;
  }
  c->identity = identity_run_all(&c->loop, c->engine, t, c->ntargets,
                                 c->opts->json);
  free(t);
  return c->identity != NULL;
}

static void print_text(const struct check *c, FILE *out) {
  struct summary s;
  size_t clean_targets = 0;

  count(c, &s);
  if (s.listed > 0) {
    fputs("LISTED\n", out);
    for (size_t t = 0; t < c->ntargets; t++)
      for (size_t z = 0; z < c->nzones; z++)
        if (final_result(c, t, z) == ZR_LISTED)
          text_listing(c, out, t, z);
    fputs("\n", out);
  }
  text_zone_health(c, out);
  for (size_t t = 0; t < c->ntargets; t++) {
    bool all_clear = true, applies = false;
    for (size_t z = 0; z < c->nzones; z++) {
      enum zone_result r = final_result(c, t, z);
      applies |= (uint8_t)r != NOT_APPLICABLE;
      if ((uint8_t)r != NOT_APPLICABLE && r != ZR_CLEAR)
        all_clear = false;
    }
    if (all_clear && applies && c->ntargets > 20)
      clean_targets++;
    else
      text_coverage(c, out, t);
  }
  if (clean_targets > 0)
    fprintf(out, "%zu more targets clean on every zone that applies\n",
            clean_targets);
  text_identity(c, out);
  fprintf(out, "\n%zu target%s, %zu zone%s: %zu listing%s on %zu target%s, "
               "%zu clean, %zu unknown\n",
          c->ntargets, PLURAL(c->ntargets), c->nzones, PLURAL(c->nzones),
          s.listed, PLURAL(s.listed), s.listed_targets,
          PLURAL(s.listed_targets), s.clear, s.unknown);
}

/* ---- running ----------------------------------------------------------- */

static size_t enabled_zones(const struct config *cfg, struct zone ***out) {
  size_t n = 0;

  *out = calloc(cfg->cat.n + 1, sizeof(**out));
  if (*out == NULL)
    return 0;
  for (size_t i = 0; i < cfg->cat.n; i++)
    if (cfg->enabled[i])
      (*out)[n++] = &cfg->cat.zones[i];
  return n;
}

static void print_stats(const struct check *c, double wall) {
  struct dns_stats st;
  struct rusage ru;

  dns_get_stats(c->engine, &st);
  getrusage(RUSAGE_SELF, &ru);
  double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  fprintf(stderr,
          "stats: queries=%llu retries=%llu timeouts=%llu window=%u "
          "window_low=%u wall=%.3fs qps=%.0f cpu=%.3fs cpu_us_per_query=%.2f "
          "maxrss_kb=%ld\n",
          (unsigned long long)st.sent, (unsigned long long)st.retries,
          (unsigned long long)st.timeouts, st.window, st.window_low, wall,
          wall > 0 ? (double)st.sent / wall : 0, cpu,
          st.sent ? cpu * 1e6 / (double)st.sent : 0, ru.ru_maxrss);
}

static double monotonic(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Resolves names, then scans; false on a failure already reported. */
static bool run_lookups(struct check *c, bool *incomplete) {
  c->resolved = calloc(c->nspecs + 1, sizeof(*c->resolved));
  if (c->resolved == NULL)
    return false;
  if (submit_hosts(c) > 0) {
    dns_pump(c->engine);
    uv_run(&c->loop, UV_RUN_DEFAULT);
  }
  *incomplete = report_hosts(c);
  if (!build_targets(c))
    return false;
  scan_start(c->scan);
  uv_run(&c->loop, UV_RUN_DEFAULT);
  if (c->ndetails > 0)
    qsort(c->details, c->ndetails, sizeof(*c->details), cmp_detail);
  return !c->failed;
}

static void check_free(struct check *c) {
  if (c->engine != NULL)
    dns_close(c->engine);
  scan_free(c->scan);
  uv_run(&c->loop, UV_RUN_DEFAULT); /* lets libuv finish closing handles */
  uv_loop_close(&c->loop);
  for (size_t i = 0; i < c->ndetails; i++)
    free(c->details[i].reason);
  for (size_t i = 0; c->resolved && i < c->nspecs; i++)
    free(c->resolved[i].a);
  free(c->resolved);
  identity_strings_free(c->identity, c->ntargets);
  free(c->details);
  free(c->results);
  free(c->targets);
  free(c->zones);
}

int check_run(struct config *cfg, struct target_spec *specs, size_t nspecs,
              const struct check_opts *opts) {
  struct check c = {.cfg = cfg, .opts = opts};
  struct dns_options dopt = {
      .servers = cfg->servers,
      .timeout_ms = (unsigned)cfg->timeout_ms,
      .tries = (unsigned)cfg->tries,
      .window = (unsigned)cfg->concurrency,
      .rate = (unsigned)cfg->rate,
  };
  char err[BW_ERRLEN];
  bool incomplete = false;
  double start = monotonic();
  int rc = 1;

  c.specs = nspecs > 0 ? specs : cfg->targets;
  c.nspecs = nspecs > 0 ? nspecs : cfg->ntargets;
  c.nzones = enabled_zones(cfg, &c.zones);
  uv_loop_init(&c.loop);
  if (c.zones == NULL ||
      dns_open(&c.loop, &dopt, &c.engine, err) != BW_OK ||
      scan_open(c.engine, c.zones, c.nzones, &check_ops, &c, &c.scan, err) !=
          BW_OK) {
    fprintf(stderr, "blwatch: %s\n", c.zones ? err : "out of memory");
  } else if (!run_lookups(&c, &incomplete) ||
             (opts->identity && !run_identity(&c))) {
    fprintf(stderr, "blwatch: out of memory\n");
  } else {
    struct summary s;
    if (opts->json)
      print_json(&c, stdout);
    else
      print_text(&c, stdout);
    if (opts->stats)
      print_stats(&c, monotonic() - start);
    count(&c, &s);
    /* A target no zone applies to was not looked up: incomplete. */
    rc = s.listed > 0                                      ? 1
         : (s.unknown > 0 || s.unchecked > 0 || incomplete) ? 2
                                                            : 0;
  }
  check_free(&c);
  return rc;
}
