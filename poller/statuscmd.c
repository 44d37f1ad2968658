#include "statuscmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "identity.h"
#include "ini.h"
#include "json.h"
#include "scan.h"
#include "store.h"

static const char status_usage[] =
    "usage: blwatch [-c FILE] status [--json | --nagios]\n"
    "\n"
    "Current listings and unknown results from the database, with since\n"
    "when, each zone's health and the last cycle.\n"
    "\n"
    "  --json     {\"targets\":[...],\"summary\":{...},\"zones\":[...]}\n"
    "  --nagios   one Nagios/Icinga plugin line: exit 0 OK, 1 WARNING\n"
    "             (unknown results), 2 CRITICAL (listed), 3 UNKNOWN (no\n"
    "             database, or no cycle completed in three intervals)\n"
    "\n"
    "Exit codes: 0 nothing listed, 1 listed, 2 nothing listed but unknown\n"
    "results, 78 config error; 1 also when the database cannot be read.\n";

static const char history_usage[] =
    "usage: blwatch [-c FILE] history [TARGET] [--since DURATION] [--json]\n"
    "\n"
    "Events newest first: listed, delisted, changed (codes differ while\n"
    "listed), zone_unhealthy and zone_healthy (zone events have no\n"
    "target), and identity_changed (PTR, FCrDNS, MX, SPF, DMARC, MTA-STS\n"
    "or TLS-RPT of a target changed; no list).  TARGET limits them to one\n"
    "address or domain; --since 7d to a recent period.\n";

/* A stored state row, copied out of SQLite. */
struct srow {
  int64_t target;
  char *key, *label, *list, *result, *codes, *meanings, *reason, *detail;
  int64_t since;
};

struct zinfo {
  const struct zone *z;
  char health[16];
  int64_t since, checked;
};

struct status {
  struct config own; /* the CLI's config and store; HTTP passes its own */
  bool owned;
  const struct config *cfg;
  struct store *st;
  bool all; /* each_target also visits targets with nothing to report */
  char err[BW_ERRLEN];
  struct srow *rows;
  size_t nrows, cap;
  struct zinfo *zones; /* enabled zones */
  size_t nzones;
  struct store_cycle last;
  bool have_cycle;
  int64_t listed, unknown, pairs, listed_targets, targets;
  bool oom;
};

static char *dup(const char *s) { return s ? strdup(s) : NULL; }

static struct zinfo *zinfo_of(struct status *s, const char *list) {
  for (size_t i = 0; i < s->nzones; i++)
    if (strcmp(s->zones[i].z->id, list) == 0)
      return &s->zones[i];
  return NULL;
}

static void collect_row(void *arg, const struct store_status_row *r) {
  struct status *s = arg;
  const struct store_state_row *st = r->state;
  struct srow *row;

  if (zinfo_of(s, st->list) == NULL)
    return; /* a zone no longer enabled */
  if (s->nrows == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    struct srow *grown = realloc(s->rows, cap * sizeof(*grown));
    if (grown == NULL) {
      s->oom = true;
      return;
    }
    s->rows = grown;
    s->cap = cap;
  }
  row = &s->rows[s->nrows++];
  *row = (struct srow){r->target, dup(r->key), dup(r->label), dup(st->list),
                       dup(st->result), dup(st->codes), dup(st->meanings),
                       dup(st->reason), dup(st->detail), st->since};
}

static void status_free(struct status *s) {
  for (size_t i = 0; i < s->nrows; i++) {
    struct srow *r = &s->rows[i];
    char *strs[] = {r->key, r->label, r->list, r->result, r->codes,
                    r->meanings, r->reason, r->detail};
    for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
      free(strs[k]);
  }
  free(s->rows);
  free(s->zones);
  if (s->owned) {
    store_close(s->st);
    cfg_free(&s->own);
  }
}

/* Zone health from the database, for every enabled zone. */
static int load_zones(struct status *s, char *err) {
  s->zones = calloc(s->cfg->cat.n + 1, sizeof(*s->zones));
  if (s->zones == NULL)
    return 1;
  for (size_t i = 0; i < s->cfg->cat.n; i++) {
    struct store_zone z;
    bool found;
    if (!s->cfg->enabled[i])
      continue;
    struct zinfo *zi = &s->zones[s->nzones++];
    zi->z = &s->cfg->cat.zones[i];
    snprintf(zi->health, sizeof(zi->health), "untested");
    if (store_zone_get(s->st, zi->z->id, &z, &found, err) != BW_OK)
      return 1;
    if (found) {
      snprintf(zi->health, sizeof(zi->health), "%s", z.health);
      zi->since = z.since;
      zi->checked = z.checked;
    }
  }
  return 0;
}

/* Loads everything status shows from the open store. */
static int status_collect(struct status *s) {
  if (load_zones(s, s->err) != 0 ||
      store_status_each(s->st, collect_row, s, s->err) != BW_OK ||
      store_cycle_last(s->st, &s->last, &s->have_cycle, s->err) != BW_OK ||
      store_targets_count(s->st, &s->targets, s->err) != BW_OK)
    return 1;
  if (s->oom)
    snprintf(s->err, sizeof(s->err), "out of memory");
  return s->oom ? 1 : 0;
}

/* Opens the database read-only and loads everything status shows. */
static int status_load(const struct cli *cli, struct status *s) {
  int rc = cli_load_config(cli, false, &s->own);

  if (rc != 0)
    return rc;
  s->owned = true;
  s->cfg = &s->own;
  if (store_open(s->cfg->database, STORE_READONLY, &s->st, s->err) != BW_OK)
    return 1;
  return status_collect(s);
}

/* One result shown for a target: a stored row, or a zone that failed its
 * test points (untrusted) with no stored listing there. */
struct sres {
  const struct srow *row; /* NULL for a synthesized untrusted result */
  const struct zinfo *zi;
  const char *result;
};

typedef void (*target_fn)(struct status *s, const struct store_target *t,
                          const struct sres *res, size_t n, void *arg);

static unsigned kind_bit(const char *kind) {
  return strcmp(kind, "ip4") == 0   ? ZONE_IP4
         : strcmp(kind, "ip6") == 0 ? ZONE_IP6
                                    : ZONE_DOMAIN;
}

/* The results of one target, in zone order. */
static size_t target_results(struct status *s, const struct store_target *t,
                             size_t *cursor, struct sres *out) {
  size_t n = 0, first = *cursor;

  while (*cursor < s->nrows && s->rows[*cursor].target == t->id)
    (*cursor)++;
  for (size_t z = 0; z < s->nzones; z++) {
    const struct zinfo *zi = &s->zones[z];
    const struct srow *row = NULL;
    for (size_t i = first; i < *cursor; i++)
      if (strcmp(s->rows[i].list, zi->z->id) == 0)
        row = &s->rows[i];
    if (!(zi->z->kinds & kind_bit(t->kind)))
      continue;
    if (zone_health_untrusted(zone_health_parse(zi->health)) &&
        (row == NULL || strcmp(row->result, "listed") != 0))
      out[n++] = (struct sres){NULL, zi, "untrusted"};
    else if (row != NULL)
      out[n++] = (struct sres){row, zi, row->result};
  }
  return n;
}

/* Calls fn for every active target that has a result to show. */
static int each_target(struct status *s, target_fn fn, void *arg) {
  struct store_target page[256];
  struct sres *res = calloc(s->nzones + 1, sizeof(*res));
  size_t n, cursor = 0;
  int64_t after = 0;

  if (res == NULL) {
    snprintf(s->err, sizeof(s->err), "out of memory");
    return 1;
  }
  do {
    if (store_targets_next(s->st, after, page, 256, &n, s->err) != BW_OK) {
      free(res);
      return 1;
    }
    for (size_t i = 0; i < n; i++) {
      /* Skips rows of targets that are not active. */
      while (cursor < s->nrows && s->rows[cursor].target < page[i].id)
        cursor++;
      size_t k = target_results(s, &page[i], &cursor, res);
      if (k > 0 || s->all)
        fn(s, &page[i], res, k, arg);
      after = page[i].id;
    }
  } while (n == 256);
  free(res);
  return 0;
}

static void count_target(struct status *s, const struct store_target *t,
                         const struct sres *res, size_t n, void *arg) {
  bool listed = false;

  (void)t;
  (void)arg;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(res[i].result, "listed") == 0) {
      s->listed++;
      listed = true;
    } else {
      s->unknown++;
    }
  }
  s->listed_targets += listed;
}

/* Pairs that apply: every target against each enabled zone of its kind. */
static int count_pairs(struct status *s) {
  static const char *const kinds[] = {"ip4", "ip6", "domain"};

  for (int k = 0; k < 3; k++) {
    int64_t n;
    if (store_targets_count_kind(s->st, kinds[k], &n, s->err) != BW_OK)
      return 1;
    for (size_t z = 0; z < s->nzones; z++)
      if (s->zones[z].z->kinds & kind_bit(kinds[k]))
        s->pairs += n;
  }
  return each_target(s, count_target, NULL);
}

/* ---- status output ------------------------------------------------------ */

/* Where the JSON writers put their text. */
struct jout {
  FILE *out;
  bool first;
};

static void json_target(struct status *s, const struct store_target *t,
                        const struct sres *res, size_t n, void *arg) {
  struct jout *j = arg;
  FILE *out = j->out;
  char when[32];

  (void)s;
  fputs(j->first ? "\n" : ",\n", out);
  j->first = false;
  fputs("{\"target\":", out);
  json_str(out, t->key);
  fputs(",\"label\":", out);
  json_str(out, t->label[0] ? t->label : NULL);
  fputs(",\"results\":[", out);
  for (size_t i = 0; i < n; i++) {
    const struct srow *r = res[i].row;
    const struct zinfo *zi = res[i].zi;
    fputs(i ? ",{\"list\":" : "{\"list\":", out);
    json_str(out, zi->z->id);
    fputs(",\"zone\":", out);
    json_str(out, zi->z->zone);
    fprintf(out, ",\"result\":\"%s\",\"codes\":%s,\"meanings\":%s,\"reason\":",
            res[i].result, r ? r->codes : "[]", r ? r->meanings : "[]");
    json_str(out, r ? r->reason : NULL);
    if (strcmp(res[i].result, "listed") != 0) {
      fputs(",\"detail\":", out);
      json_str(out, r ? r->detail : zi->health);
    }
    fprintf(out, ",\"since\":\"%s\"}", rfc3339(r ? r->since : zi->since, when));
  }
  fputs("]", out);
  identity_status_json(s->st, t->id, out);
  fputs("}", out);
}

/* Outbox state per alert channel, for status. */
struct chan_state {
  FILE *out; /* NULL: text on stdout */
  int n;
};

static void print_channel(void *arg, const struct store_channel_state *c) {
  struct chan_state *cs = arg;
  char when[32];

  if (cs->out != NULL) {
    FILE *out = cs->out;
    fputs(cs->n++ ? ",{\"channel\":" : "{\"channel\":", out);
    json_str(out, c->channel);
    fprintf(out, ",\"pending\":%lld,\"failed\":%lld,\"last_error\":",
            (long long)c->pending, (long long)c->dead);
    json_str(out, c->last_error);
    fputs(",\"last_delivered\":", out);
    json_str(out, c->last_delivered ? rfc3339(c->last_delivered, when)
                                       : NULL);
    fputs("}", out);
    return;
  }
  if (c->pending == 0 && c->dead == 0)
    return;
  printf("notices to %s: %lld pending, %lld given up%s%s\n", c->channel,
         (long long)c->pending, (long long)c->dead,
         c->last_error ? "; last error: " : "",
         c->last_error ? c->last_error : "");
}

static int print_channels(struct status *s, FILE *json) {
  struct chan_state cs = {json, 0};

  return store_outbox_channels(s->st, print_channel, &cs, s->err) != BW_OK;
}

static int print_json(struct status *s, FILE *out) {
  struct jout j = {out, true};
  char when[32];
  int rc;

  fputs("{\"targets\":[", out);
  rc = each_target(s, json_target, &j);
  fprintf(out,
          "],\n\"summary\":{\"targets\":%lld,\"zones\":%zu,\"listed\":%lld,"
          "\"clear\":%lld,\"unknown\":%lld,\"listed_targets\":%lld},\n"
          "\"zones\":[",
          (long long)s->targets, s->nzones, (long long)s->listed,
          (long long)(s->pairs - s->listed - s->unknown),
          (long long)s->unknown, (long long)s->listed_targets);
  for (size_t i = 0; i < s->nzones; i++) {
    fprintf(out, "%s{\"id\":", i ? "," : "");
    json_str(out, s->zones[i].z->id);
    fprintf(out, ",\"health\":\"%s\",\"checked\":", s->zones[i].health);
    json_str(out, s->zones[i].checked ? rfc3339(s->zones[i].checked, when)
                                      : NULL);
    fputs("}", out);
  }
  fputs("],\n\"last_cycle\":", out);
  if (s->have_cycle)
    fprintf(out, "{\"id\":%lld,\"started\":\"%s\",", (long long)s->last.id,
            rfc3339(s->last.started, when));
  if (s->have_cycle)
    fprintf(out, "\"ended\":\"%s\",\"targets\":%lld,\"queries\":%lld}",
            rfc3339(s->last.ended, when), (long long)s->last.targets,
            (long long)s->last.queries);
  else
    fputs("null", out);
  fputs(",\n\"notices\":[", out);
  if (rc == 0)
    rc = print_channels(s, out);
  fputs("]}\n", out);
  return rc;
}

/* Each code of a stored listing with its meaning from the catalog. */
static void print_codes(const struct zone *z, const char *json) {
  char ip[16], meaning[256];
  struct zone_answer a;

  json_parse_codes(json, &a);
  for (size_t i = 0; i < a.ncodes; i++)
    printf("         %s  %s\n", zone_ip4_str(a.codes[i], ip),
           zone_code_meaning(z, a.codes[i], meaning, sizeof(meaning)));
}

static void text_target(struct status *s, const struct store_target *t,
                        const struct sres *res, size_t n, void *arg) {
  char when[32];

  (void)s;
  (void)arg;
  for (size_t i = 0; i < n; i++) {
    const struct srow *r = res[i].row;
    const struct zone *z = res[i].zi->z;
    bool listed = strcmp(res[i].result, "listed") == 0;
    printf("%-9s %s%s%s%s  %s (%s)  since %s", res[i].result, t->key,
           t->label[0] ? " (" : "", t->label, t->label[0] ? ")" : "", z->id,
           z->zone, rfc3339(r ? r->since : res[i].zi->since, when));
    if (!listed) {
      printf(": %s\n", r ? r->detail : "the zone failed its test points");
      continue;
    }
    printf("\n");
    print_codes(z, r->codes);
    if (r->reason != NULL)
      printf("         reason: %s\n", r->reason);
    if (z->delist != NULL)
      printf("         delist: %s\n", z->delist);
  }
}

static void print_text(struct status *s) {
  char when[32];

  each_target(s, text_target, NULL);
  identity_status_text(s->st, stdout);
  for (size_t i = 0; i < s->nzones; i++)
    if (strcmp(s->zones[i].health, "ok") != 0 &&
        strcmp(s->zones[i].health, "untested") != 0)
      printf("zone %s (%s): %s\n", s->zones[i].z->id, s->zones[i].z->zone,
             s->zones[i].health);
  printf("\n%lld targets, %zu zones: %lld listed, %lld clear, %lld unknown\n",
         (long long)s->targets, s->nzones, (long long)s->listed,
         (long long)(s->pairs - s->listed - s->unknown),
         (long long)s->unknown);
  if (s->have_cycle)
    printf("last cycle %lld ended %s\n", (long long)s->last.id,
           rfc3339(s->last.ended, when));
  else
    printf("no cycle has completed yet\n");
  if (print_channels(s, NULL) != 0)
    fprintf(stderr, "blwatch: %s\n", s->err);
}

/* Nagios plugin output (one line; the exit code is the state). */
static int print_nagios(struct status *s) {
  int64_t stale = (int64_t)(3 * s->cfg->interval_ms / 1000);

  if (!s->have_cycle || time(NULL) - s->last.ended > stale) {
    printf("BLWATCH UNKNOWN - no cycle completed in the last %llds\n",
           (long long)stale);
    return 3;
  }
  if (s->listed > 0) {
    printf("BLWATCH CRITICAL - %lld listing%s on %lld target%s:",
           (long long)s->listed, s->listed == 1 ? "" : "s",
           (long long)s->listed_targets, s->listed_targets == 1 ? "" : "s");
    for (size_t i = 0, shown = 0; i < s->nrows && shown < 10; i++)
      if (strcmp(s->rows[i].result, "listed") == 0)
        printf("%s %s on %s", shown++ ? "," : "", s->rows[i].key,
               s->rows[i].list);
    printf(" | listed=%lld unknown=%lld\n", (long long)s->listed,
           (long long)s->unknown);
    return 2;
  }
  printf("BLWATCH %s - %lld targets clean on %zu zones, %lld unknown | "
         "listed=0 unknown=%lld\n", s->unknown ? "WARNING" : "OK",
         (long long)s->targets, s->nzones, (long long)s->unknown,
         (long long)s->unknown);
  return s->unknown ? 1 : 0;
}

int statuscmd_status(const struct cli *cli, int argc, char **argv) {
  static const struct option longopts[] = {
      {"json", no_argument, NULL, 'j'},
      {"nagios", no_argument, NULL, 'n'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  struct status s = {0};
  int c, mode = 0, rc;

  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (c == 'h') {
      fputs(status_usage, stdout);
      return 0;
    }
    if (c != 'j' && c != 'n') {
      fputs(status_usage, stderr);
      return EX_USAGE;
    }
    mode = c;
  }
  if (optind < argc) {
    fputs(status_usage, stderr);
    return EX_USAGE;
  }
  rc = status_load(cli, &s);
  if (rc == 0)
    rc = count_pairs(&s);
  if (rc != 0 && s.err[0] != '\0')
    fprintf(stderr, "blwatch: %s\n", s.err);
  if (rc != 0) {
    if (mode == 'n')
      printf("BLWATCH UNKNOWN - cannot read the database\n");
    status_free(&s);
    return mode == 'n' ? 3 : rc;
  }
  if (mode == 'n')
    rc = print_nagios(&s);
  else if (mode == 'j' && print_json(&s, stdout) != 0)
    fprintf(stderr, "blwatch: %s\n", s.err);
  else if (mode != 'j')
    print_text(&s);
  if (mode != 'n')
    rc = s.listed > 0 ? 1 : s.unknown > 0 ? 2 : 0;
  status_free(&s);
  return rc;
}

/* ---- the same, for the HTTP endpoint ------------------------------------ */

int statuscmd_status_json(const struct config *cfg, struct store *st,
                          FILE *out, char *err) {
  struct status s = {.cfg = cfg, .st = st};
  int rc = status_collect(&s);

  if (rc == 0)
    rc = count_pairs(&s);
  if (rc == 0)
    rc = print_json(&s, out);
  if (rc != 0)
    snprintf(err, BW_ERRLEN, "%s", s.err[0] ? s.err : "out of memory");
  status_free(&s);
  return rc;
}

/* Hands each target's results to the caller's function as status_result. */
struct visit {
  statuscmd_target_fn fn;
  void *arg;
  struct status_result *out;
};

static void visit_target(struct status *s, const struct store_target *t,
                         const struct sres *res, size_t n, void *arg) {
  struct visit *v = arg;
  size_t applicable = 0;

  for (size_t z = 0; z < s->nzones; z++)
    applicable += (s->zones[z].z->kinds & kind_bit(t->kind)) != 0;
  for (size_t i = 0; i < n; i++) {
    const struct srow *r = res[i].row;
    v->out[i] = (struct status_result){
        res[i].zi->z, res[i].result, r ? r->codes : "[]",
        r ? r->meanings : "[]", r ? r->reason : NULL,
        r ? r->detail : res[i].zi->health,
        r ? r->since : res[i].zi->since};
  }
  v->fn(v->arg, t, v->out, n, applicable);
}

int statuscmd_each(const struct config *cfg, struct store *st,
                   statuscmd_target_fn fn, void *arg,
                   struct status_summary *sum, char *err) {
  struct status s = {.cfg = cfg, .st = st};
  struct visit v = {fn, arg, NULL};
  int rc = status_collect(&s);

  if (rc == 0)
    rc = count_pairs(&s);
  if (rc == 0 && (v.out = calloc(s.nzones + 1, sizeof(*v.out))) == NULL) {
    snprintf(s.err, sizeof(s.err), "out of memory");
    rc = 1;
  }
  s.all = true;
  if (rc == 0 && fn != NULL)
    rc = each_target(&s, visit_target, &v);
  if (rc == 0 && sum != NULL)
    *sum = (struct status_summary){
        s.targets, (int64_t)s.nzones, s.listed,
        s.pairs - s.listed - s.unknown, s.unknown, s.listed_targets,
        s.have_cycle, s.last};
  if (rc != 0)
    snprintf(err, BW_ERRLEN, "%s", s.err[0] ? s.err : "out of memory");
  free(v.out);
  status_free(&s);
  return rc;
}

/* ---- history ----------------------------------------------------------- */

struct history {
  FILE *json; /* NULL: text on stdout */
  size_t n;
};

static void text_event(const struct store_event *e) {
  struct zone_answer a;
  char when[32], ip[16];

  printf("%s  %-14s ", rfc3339(e->at, when), e->type);
  if (e->target_key != NULL)
    printf("%s%s%s%s  ", e->target_key, e->label ? " (" : "",
           e->label ? e->label : "", e->label ? ")" : "");
  /* Identity events belong to no list: their detail says it all. */
  if (e->list != NULL || e->zone != NULL)
    printf("%s (%s)", e->list ? e->list : "-", e->zone ? e->zone : "-");
  json_parse_codes(e->codes, &a);
  for (size_t i = 0; i < a.ncodes; i++)
    printf("%s%s", i ? ", " : "  ", zone_ip4_str(a.codes[i], ip));
  if (e->detail != NULL)
    printf("  %s", e->detail);
  printf("\n");
  if (e->reason != NULL)
    printf("%22s reason: %s\n", "", e->reason);
}

static bool on_event(void *arg, const struct store_event *e) {
  struct history *h = arg;

  if (h->json != NULL) {
    fputs(h->n == 0 ? "\n" : ",\n", h->json);
    json_event(h->json, e);
  } else {
    text_event(e);
  }
  h->n++;
  return true;
}

int statuscmd_history_key(const char *text, char *key, size_t size,
                          char *err) {
  struct target_spec t;

  if (target_parse(text, NULL, -1, 1, &t, err) != BW_OK)
    return EX_USAGE;
  if (t.kind == TARGET_DOMAIN)
    snprintf(key, size, "%s", t.name);
  else
    target_addr_str(t.addr, t.kind == TARGET_IP6, key);
  target_spec_free(&t);
  return 0;
}

int statuscmd_history_json(struct store *st, const char *key, int64_t since,
                           FILE *out, char *err) {
  struct history h = {out, 0};
  int rc = 0;

  fputs("{\"events\":[", out);
  if (store_events_each(st, key, since, on_event, &h, err) != BW_OK)
    rc = 1;
  fputs("]}\n", out);
  return rc;
}

int statuscmd_history(const struct cli *cli, int argc, char **argv) {
  static const struct option longopts[] = {
      {"json", no_argument, NULL, 'j'},
      {"since", required_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  struct history h = {0};
  struct config cfg;
  struct store *st = NULL;
  char err[BW_ERRLEN], key[256];
  uint64_t since_ms = 0;
  int64_t since;
  bool json = false;
  int c, rc;

  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (c == 'h') {
      fputs(history_usage, stdout);
      return 0;
    }
    if (c == 's' && ini_duration(optarg, &since_ms, err) != BW_OK) {
      fprintf(stderr, "blwatch: history: --since: %s\n", err);
      return EX_USAGE;
    }
    if (c != 'j' && c != 's') {
      fputs(history_usage, stderr);
      return EX_USAGE;
    }
    json |= c == 'j';
  }
  if (argc - optind > 1) {
    fputs(history_usage, stderr);
    return EX_USAGE;
  }
  if (optind < argc &&
      (rc = statuscmd_history_key(argv[optind], key, sizeof(key), err))) {
    fprintf(stderr, "blwatch: history: %s\n", err);
    return rc;
  }
  if ((rc = cli_load_config(cli, false, &cfg)) != 0)
    return rc;
  since = since_ms ? time(NULL) - (int64_t)(since_ms / 1000) : 0;
  if (store_open(cfg.database, STORE_READONLY, &st, err) != BW_OK) {
    fprintf(stderr, "blwatch: %s\n", err);
    if (json)
      fputs("{\"events\":[]}\n", stdout);
    rc = 1;
  } else if (json) {
    rc = statuscmd_history_json(st, optind < argc ? key : NULL, since,
                                stdout, err);
  } else if (store_events_each(st, optind < argc ? key : NULL, since,
                               on_event, &h, err) != BW_OK) {
    rc = 1;
  }
  if (rc != 0 && st != NULL)
    fprintf(stderr, "blwatch: %s\n", err);
  if (!json && rc == 0 && h.n == 0)
    printf("no events\n");
  store_close(st);
  cfg_free(&cfg);
  return rc;
}
