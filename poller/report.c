/* The evidence report.  Everything comes from the store: one target at a
 * time, its state rows, its events and its identity; the zones from the
 * config (which lists apply) and their stored health. */
#include "report.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "identity.h"
#include "ini.h"
#include "json.h"
#include "notice.h"
#include "scan.h"
#include "statuscmd.h"
#include "store_identity.h"
#include "target.h"

static const char report_usage[] =
    "usage: blwatch [-c FILE] report TARGET... [--since DURATION] [--json]\n"
    "\n"
    "Prints an evidence packet for a postmaster or delisting request, in\n"
    "Markdown (--json for scripts), from the database: each target's\n"
    "current listings (codes, meanings, reasons, delisting links), its\n"
    "listing timeline over the period (first seen, cleared, durations),\n"
    "its sender identity (PTR and FCrDNS, or MX, SPF, DMARC), which zones\n"
    "cover it and which could not be checked, and since when blwatch has\n"
    "watched it.  Reads the database only; looks nothing up.\n"
    "\n"
    "TARGET is an address or a domain that blwatch watches.\n"
    "  --since DURATION  the timeline's period (default 90d)\n"
    "  --json            print {\"targets\":[...]} instead of Markdown\n"
    "\n"
    "Exit codes: 0 done, 1 a target is not in the database (or the\n"
    "database cannot be read), 64 usage error, 78 config error.\n";

#define MAX_EVENTS 4096

/* An event copied out of SQLite (the report holds one target's). */
struct rev {
  int64_t at;
  char *type, *list, *zone, *codes, *meanings, *reason, *detail, *result;
};

/* A state row copied out of SQLite. */
struct rstate {
  char *list, *result, *codes, *meanings, *reason, *detail;
  int64_t since;
};

struct rtarget {
  char key[256];
  bool found;
  struct store_target_info info;
  struct rstate *st;
  size_t nst;
  struct rev *ev;
  size_t nev;
  bool oom;
  char *object, *problems, *warnings; /* identity */
  int64_t id_since;
  char *facts[IDF_COUNT];
};

struct report {
  struct config cfg;
  struct store *store;
  int64_t now, since;
  bool json;
  struct store_cycle last;
  bool have_cycle;
  int64_t first_cycle;
  char err[BW_ERRLEN];
};

static char *dup(const char *s) { return s ? strdup(s) : NULL; }

/* ---- loading --------------------------------------------------------------
 */

static void on_state(void *arg, const struct store_state_row *r) {
  struct rtarget *t = arg;
  struct rstate *grown = realloc(t->st, (t->nst + 1) * sizeof(*grown));

  if (grown == NULL) {
    t->oom = true;
    return;
  }
  t->st = grown;
  t->st[t->nst++] = (struct rstate){
      dup(r->list),   dup(r->result), dup(r->codes), dup(r->meanings),
      dup(r->reason), dup(r->detail), r->since};
}

static bool on_event(void *arg, const struct store_event *e) {
  struct rtarget *t = arg;
  struct rev *grown;

  if (t->nev == MAX_EVENTS)
    return false;
  if ((grown = realloc(t->ev, (t->nev + 1) * sizeof(*grown))) == NULL) {
    t->oom = true;
    return false;
  }
  t->ev = grown;
  t->ev[t->nev++] =
      (struct rev){e->at,          dup(e->type),   dup(e->list),
                   dup(e->zone),   dup(e->codes),  dup(e->meanings),
                   dup(e->reason), dup(e->detail), dup(e->result)};
  return true;
}

static void on_object(void *arg, const struct store_identity_object *o) {
  struct rtarget *t = arg;

  t->object = dup(o->object);
  t->problems = dup(o->problems);
  t->warnings = dup(o->warnings);
  t->id_since = o->since;
}

static void on_fact(void *arg, const char *fact, const char *value,
                    int64_t since) {
  struct rtarget *t = arg;
  int f = identity_fact_from_name(fact);

  (void)since;
  if (f >= 0 && t->facts[f] == NULL)
    t->facts[f] = dup(value);
}

static void rtarget_free(struct rtarget *t) {
  for (size_t i = 0; i < t->nst; i++) {
    struct rstate *s = &t->st[i];
    char *strs[] = {s->list,     s->result, s->codes,
                    s->meanings, s->reason, s->detail};
    for (size_t k = 0; k < 6; k++)
      free(strs[k]);
  }
  for (size_t i = 0; i < t->nev; i++) {
    struct rev *e = &t->ev[i];
    char *strs[] = {e->type,     e->list,   e->zone,   e->codes,
                    e->meanings, e->reason, e->detail, e->result};
    for (size_t k = 0; k < 8; k++)
      free(strs[k]);
  }
  for (int f = 0; f < IDF_COUNT; f++)
    free(t->facts[f]);
  free(t->st);
  free(t->ev);
  free(t->object);
  free(t->problems);
  free(t->warnings);
}

static enum bw_err load_target(struct report *r, struct rtarget *t) {
  struct store *st = r->store;
  enum bw_err rc;

  rc = store_target_find(st, t->key, &t->info, &t->found, r->err);
  if (rc != BW_OK || !t->found)
    return rc;
  rc = store_target_states(st, t->info.id, on_state, t, r->err);
  /* Every event of the target: a listing that began before the period
   * still shows when it began. */
  if (rc == BW_OK)
    rc = store_events_each(st, t->key, 0, on_event, t, r->err);
  if (rc == BW_OK)
    rc = store_identity_object_get(st, t->info.id, on_object, t, r->err);
  if (rc == BW_OK)
    rc = store_identity_facts(st, t->info.id, on_fact, t, r->err);
  if (rc == BW_OK && t->oom)
    rc = bw_fail(r->err, BW_ENOMEM, "out of memory");
  return rc;
}

/* ---- what the timeline and the coverage say
 * ---------------------------------- */

/* One listing period on one list. */
struct span {
  const char *list, *zone, *codes;
  int64_t from, to; /* to 0: still listed */
};

/* Listing periods from the events (oldest first), those that overlap the
 * report's period; *n is the count.  The caller frees the array. */
static struct span *timeline(const struct report *r, const struct rtarget *t,
                             size_t *n) {
  struct span *s = calloc(t->nev + 1, sizeof(*s));
  size_t k = 0;

  *n = 0;
  if (s == NULL)
    return NULL;
  for (size_t i = t->nev; i-- > 0;) { /* events are newest first */
    const struct rev *e = &t->ev[i];
    if (e->list == NULL)
      continue;
    if (strcmp(e->type, "listed") == 0) {
      s[k++] = (struct span){e->list, e->zone, e->codes, e->at, 0};
      continue;
    }
    if (strcmp(e->type, "delisted") != 0 && strcmp(e->type, "changed") != 0)
      continue;
    for (size_t j = k; j-- > 0;) {
      if (strcmp(s[j].list, e->list) != 0 || s[j].to != 0)
        continue;
      if (strcmp(e->type, "delisted") == 0)
        s[j].to = e->at;
      else
        s[j].codes = e->codes;
      break;
    }
  }
  for (size_t i = 0; i < k; i++)
    if (s[i].to == 0 || s[i].to >= r->since)
      s[(*n)++] = s[i];
  return s;
}

/* "3d 4h", "2h 5m", "45s" */
static const char *duration(int64_t secs, char *buf, size_t size) {
  int64_t d = secs / 86400, h = secs % 86400 / 3600, m = secs % 3600 / 60;

  if (d > 0)
    snprintf(buf, size, "%lldd %lldh", (long long)d, (long long)h);
  else if (h > 0)
    snprintf(buf, size, "%lldh %lldm", (long long)h, (long long)m);
  else if (m > 0)
    snprintf(buf, size, "%lldm", (long long)m);
  else
    snprintf(buf, size, "%llds", (long long)(secs > 0 ? secs : 0));
  return buf;
}

static unsigned kind_bit(const char *kind) {
  return strcmp(kind, "ip4") == 0   ? ZONE_IP4
         : strcmp(kind, "ip6") == 0 ? ZONE_IP6
                                    : ZONE_DOMAIN;
}

/* The zone's stored health, "untested" when none. */
static void zone_health(struct report *r, const struct zone *z,
                        struct store_zone *out) {
  bool found = false;

  if (store_zone_get(r->store, z->id, out, &found, r->err) != BW_OK || !found) {
    memset(out, 0, sizeof(*out));
    snprintf(out->health, sizeof(out->health), "untested");
  }
}

static const struct rstate *state_of(const struct rtarget *t,
                                     const char *list) {
  for (size_t i = 0; i < t->nst; i++)
    if (strcmp(t->st[i].list, list) == 0)
      return &t->st[i];
  return NULL;
}

struct coverage {
  size_t zones, listed, clear, unknown;
};

/* Per enabled zone of the target's kind: listed, unknown (a stored
 * unknown row, or a zone that failed its test points) or clear. */
static void cover(struct report *r, const struct rtarget *t,
                  struct coverage *c) {
  memset(c, 0, sizeof(*c));
  for (size_t i = 0; i < r->cfg.cat.n; i++) {
    const struct zone *z = &r->cfg.cat.zones[i];
    const struct rstate *s;
    struct store_zone h;
    if (!r->cfg.enabled[i] || !(z->kinds & kind_bit(t->info.kind)))
      continue;
    c->zones++;
    s = state_of(t, z->id);
    zone_health(r, z, &h);
    if (s != NULL && strcmp(s->result, "listed") == 0)
      c->listed++;
    else if (s != NULL || zone_health_untrusted(zone_health_parse(h.health)))
      c->unknown++;
    else
      c->clear++;
  }
}

/* A number after "name": in a JSON object ("lookups":12), or -1. */
static long json_number(const char *object, const char *name) {
  const char *p = object ? strstr(object, name) : NULL;

  return p != NULL && p[strlen(name)] >= '0' && p[strlen(name)] <= '9'
             ? strtol(p + strlen(name), NULL, 10)
             : -1;
}

/* ---- Markdown
 * ----------------------------------------------------------------- */

/* Text for a Markdown table cell: no newlines, pipes escaped. */
static void cell(FILE *out, const char *s) {
  for (; s != NULL && *s != '\0'; s++) {
    if (*s == '|')
      fputs("\\|", out);
    else
      fputc(*s == '\n' ? ' ' : *s, out);
  }
}

/* The strings of a JSON array, joined by sep. */
static void md_strings(FILE *out, const char *json, const char *sep) {
  char buf[512];
  bool first = true;

  while (json != NULL && json_next_string(&json, buf, sizeof(buf))) {
    fputs(first ? "" : sep, out);
    cell(out, buf);
    first = false;
  }
  if (first)
    fputs("-", out);
}

static void md_listings(struct report *r, const struct rtarget *t, FILE *out,
                        const struct coverage *c) {
  char when[32];
  bool any = false;

  fputs("\n### Current listings\n\n", out);
  for (size_t i = 0; i < t->nst; i++) {
    const struct rstate *s = &t->st[i];
    const struct zone *z = zone_find(&r->cfg.cat, s->list);
    if (strcmp(s->result, "listed") != 0)
      continue;
    if (!any)
      fputs("| List | Zone | Codes | Meaning | Listed since | Reason | "
            "Delisting |\n|---|---|---|---|---|---|---|\n",
            out);
    any = true;
    fprintf(out, "| %s | %s | ", s->list, z ? z->zone : "-");
    md_strings(out, s->codes, ", ");
    fputs(" | ", out);
    md_strings(out, s->meanings, "; ");
    fprintf(out, " | %s | ", rfc3339(s->since, when));
    cell(out, s->reason ? s->reason : "-");
    fprintf(out, " | %s |\n", z && z->delist ? z->delist : "-");
  }
  if (!any && c->zones == 0)
    fputs("No enabled zone lists targets of this kind.\n", out);
  else if (!any)
    fprintf(out,
            "Not listed on any of the %zu zone%s that answered for it "
            "(of %zu that apply).\n",
            c->clear, c->clear == 1 ? "" : "s", c->zones);
}

static void md_timeline(struct report *r, const struct rtarget *t, FILE *out) {
  char a[32], b[32], d[32];
  size_t n;
  struct span *s = timeline(r, t, &n);

  fprintf(out, "\n### Listing timeline since %s\n\n", rfc3339(r->since, a));
  if (n == 0)
    fputs("No listing began or ended in this period.\n", out);
  else
    fputs("| List | Zone | Listed | Cleared | Duration | Codes |\n"
          "|---|---|---|---|---|---|\n",
          out);
  for (size_t i = 0; i < n; i++) {
    fprintf(out, "| %s | %s | %s | %s | %s%s | ", s[i].list,
            s[i].zone ? s[i].zone : "-", rfc3339(s[i].from, a),
            s[i].to ? rfc3339(s[i].to, b) : "still listed",
            duration((s[i].to ? s[i].to : r->now) - s[i].from, d, sizeof(d)),
            s[i].to ? "" : " so far");
    md_strings(out, s[i].codes, ", ");
    fputs(" |\n", out);
  }
  free(s);
}

static void md_lines(FILE *out, const char *title, const char *lines) {
  if (lines == NULL || *lines == '\0') {
    fprintf(out, "- %s: none\n", title);
    return;
  }
  fprintf(out, "- %s:\n", title);
  for (const char *p = lines; p != NULL && *p != '\0';) {
    const char *end = strchr(p, '\n');
    int len = end ? (int)(end - p) : (int)strlen(p);
    fprintf(out, "  - %.*s\n", len, p);
    p = end ? end + 1 : NULL;
  }
}

static const char *fact(const struct rtarget *t, enum id_fact f) {
  return t->facts[f] != NULL ? t->facts[f] : "";
}

static void md_identity_facts(const struct rtarget *t, FILE *out) {
  long lookups = json_number(t->object, "\"lookups\":");

  if (strcmp(t->info.kind, "domain") != 0) {
    fprintf(out, "- PTR: %s\n", *fact(t, IDF_PTR) ? fact(t, IDF_PTR) : "none");
    fprintf(out, "- Forward-confirmed (FCrDNS): %s\n", fact(t, IDF_FCRDNS));
    fprintf(out, "- Generic-looking PTR name: %s\n", fact(t, IDF_GENERIC));
    return;
  }
  fputs("- MX: ", out);
  if (*fact(t, IDF_MX) == '\0')
    fputs("none", out);
  for (const char *p = fact(t, IDF_MX); *p != '\0'; p++) {
    if (*p == '\n')
      fputs(", ", out);
    else
      fputc(*p, out);
  }
  fputs("\n- SPF: ", out);
  if (*fact(t, IDF_SPF))
    fprintf(out, "`%s`", fact(t, IDF_SPF));
  else
    fputs("none", out);
  if (lookups >= 0)
    fprintf(out, " (%ld DNS lookup%s; the limit is %d)", lookups,
            lookups == 1 ? "" : "s", SPF_LOOKUP_LIMIT);
  fputs("\n- DMARC: ", out);
  if (*fact(t, IDF_DMARC))
    fprintf(out, "`%s`", fact(t, IDF_DMARC));
  else
    fputs("none", out);
  fprintf(out, "\n- MTA-STS: %s; TLS-RPT: %s\n", fact(t, IDF_MTA_STS),
          fact(t, IDF_TLS_RPT));
}

static void md_identity(struct report *r, const struct rtarget *t, FILE *out) {
  char when[32];
  bool changes = false;

  fputs("\n### Sender identity\n\n", out);
  if (t->object == NULL) {
    fputs("Not checked yet (or [identity] enabled = no).\n", out);
    return;
  }
  fprintf(out, "As found by the last complete check; unchanged since %s.\n\n",
          rfc3339(t->id_since, when));
  md_identity_facts(t, out);
  md_lines(out, "Problems", t->problems);
  md_lines(out, "Warnings", t->warnings);
  for (size_t i = t->nev; i-- > 0;) {
    const struct rev *e = &t->ev[i];
    if (strcmp(e->type, "identity_changed") != 0 || e->at < r->since)
      continue;
    if (!changes)
      fputs("- Changes in the period:\n", out);
    changes = true;
    fprintf(out, "  - %s: %s\n", rfc3339(e->at, when),
            e->detail ? e->detail : "changed");
  }
}

static void md_coverage(struct report *r, const struct rtarget *t, FILE *out,
                        const struct coverage *c) {
  char when[32];
  bool any = false;

  if (c->zones == 0) {
    fputs("\n### Zone coverage\n\nNo enabled zone lists targets of this "
          "kind.\n",
          out);
    return;
  }
  fprintf(out,
          "\n### Zone coverage\n\n%zu enabled zone%s list%s targets of "
          "this kind: listed on %zu, clean on %zu, could not be checked "
          "on %zu.\n",
          c->zones, c->zones == 1 ? "" : "s", c->zones == 1 ? "s" : "",
          c->listed, c->clear, c->unknown);
  for (size_t i = 0; i < r->cfg.cat.n; i++) {
    const struct zone *z = &r->cfg.cat.zones[i];
    const struct rstate *s = state_of(t, z->id);
    struct store_zone h;
    if (!r->cfg.enabled[i] || !(z->kinds & kind_bit(t->info.kind)))
      continue;
    zone_health(r, z, &h);
    bool listed = s != NULL && strcmp(s->result, "listed") == 0;
    if (listed ||
        (s == NULL && !zone_health_untrusted(zone_health_parse(h.health))))
      continue;
    if (!any)
      fputs("\nCould not be checked:\n\n", out);
    any = true;
    if (s != NULL)
      fprintf(out, "- %s (%s): %s: %s (since %s)\n", z->id, z->zone, s->result,
              s->detail ? s->detail : "-", rfc3339(s->since, when));
    else
      fprintf(out, "- %s (%s): the zone failed its test points (%s)\n", z->id,
              z->zone, h.health);
  }
}

static void md_target(struct report *r, const struct rtarget *t, FILE *out) {
  char a[32], b[32];
  struct coverage c;

  fprintf(out, "\n## %s%s%s%s\n\n", t->key, t->info.label[0] ? " (" : "",
          t->info.label, t->info.label[0] ? ")" : "");
  if (!t->found) {
    fputs("Not in the database: blwatch does not watch this target.\n", out);
    return;
  }
  cover(r, t, &c);
  fprintf(out, "- Watched by blwatch since %s", rfc3339(t->info.added, a));
  if (t->info.first_checked)
    fprintf(out, " (first checked %s)", rfc3339(t->info.first_checked, b));
  fputs("\n", out);
  if (t->info.retired)
    fprintf(out, "- No longer watched since %s\n", rfc3339(t->info.retired, a));
  if (c.zones > 0)
    fprintf(out,
            "- Now: listed on %zu of %zu zones, clean on %zu, %zu "
            "could not be checked\n",
            c.listed, c.zones, c.clear, c.unknown);
  md_listings(r, t, out, &c);
  md_timeline(r, t, out);
  md_identity(r, t, out);
  md_coverage(r, t, out, &c);
}

static void md_report(struct report *r, struct rtarget *t, size_t n,
                      FILE *out) {
  char a[32], b[32];

  fprintf(out,
          "# blwatch evidence report\n\nGenerated %s by blwatch %s on "
          "%s, from its database.\n",
          rfc3339(r->now, a), BLWATCH_VERSION, notice_hostname());
  if (r->have_cycle)
    fprintf(out, "Last complete check: cycle %lld, %s to %s.\n",
            (long long)r->last.id, rfc3339(r->last.started, a),
            rfc3339(r->last.ended, b));
  else
    fputs("No check cycle has completed yet.\n", out);
  for (size_t i = 0; i < n; i++)
    md_target(r, &t[i], out);
}

/* ---- JSON
 * --------------------------------------------------------------------- */

static void js_time(FILE *out, const char *name, int64_t t, bool first) {
  char when[32];

  fprintf(out, "%s\"%s\":", first ? "" : ",", name);
  json_str(out, t ? rfc3339(t, when) : NULL);
}

static void js_listings(struct report *r, const struct rtarget *t, FILE *out,
                        bool listed) {
  bool first = true;

  fprintf(out, ",\"%s\":[", listed ? "listings" : "unchecked");
  for (size_t i = 0; i < t->nst; i++) {
    const struct rstate *s = &t->st[i];
    const struct zone *z = zone_find(&r->cfg.cat, s->list);
    if ((strcmp(s->result, "listed") == 0) != listed)
      continue;
    fputs(first ? "{\"list\":" : ",{\"list\":", out);
    first = false;
    json_str(out, s->list);
    fputs(",\"zone\":", out);
    json_str(out, z ? z->zone : NULL);
    fputs(",\"result\":", out);
    json_str(out, s->result);
    fprintf(out, ",\"codes\":%s,\"meanings\":%s,\"reason\":", s->codes,
            s->meanings);
    json_str(out, s->reason);
    fputs(",\"detail\":", out);
    json_str(out, s->detail);
    fputs(",\"delist\":", out);
    json_str(out, z ? z->delist : NULL);
    js_time(out, "since", s->since, false);
    fputs("}", out);
  }
  fputs("]", out);
}

static void js_timeline(struct report *r, const struct rtarget *t, FILE *out) {
  size_t n;
  struct span *s = timeline(r, t, &n);

  fputs(",\"timeline\":[", out);
  for (size_t i = 0; i < n; i++) {
    fputs(i ? ",{\"list\":" : "{\"list\":", out);
    json_str(out, s[i].list);
    fputs(",\"zone\":", out);
    json_str(out, s[i].zone);
    js_time(out, "listed", s[i].from, false);
    js_time(out, "cleared", s[i].to, false);
    fprintf(out, ",\"seconds\":%lld,\"codes\":%s}",
            (long long)((s[i].to ? s[i].to : r->now) - s[i].from),
            s[i].codes ? s[i].codes : "[]");
  }
  fputs("]", out);
  free(s);
}

static void js_target(struct report *r, const struct rtarget *t, FILE *out) {
  struct coverage c;
  bool first = true;

  fputs("{\"target\":", out);
  json_str(out, t->key);
  fprintf(out, ",\"found\":%s", t->found ? "true" : "false");
  if (!t->found) {
    fputs("}", out);
    return;
  }
  cover(r, t, &c);
  fputs(",\"label\":", out);
  json_str(out, t->info.label[0] ? t->info.label : NULL);
  fprintf(out, ",\"kind\":\"%s\"", t->info.kind);
  js_time(out, "watched_since", t->info.added, false);
  js_time(out, "first_checked", t->info.first_checked, false);
  js_time(out, "retired", t->info.retired, false);
  fprintf(out,
          ",\"coverage\":{\"zones\":%zu,\"listed\":%zu,\"clear\":%zu,"
          "\"unknown\":%zu}",
          c.zones, c.listed, c.clear, c.unknown);
  js_listings(r, t, out, true);
  js_listings(r, t, out, false);
  js_timeline(r, t, out);
  fprintf(out, ",\"identity\":%s", t->object ? t->object : "null");
  js_time(out, "identity_since", t->id_since, false);
  fputs(",\"identity_changes\":[", out);
  for (size_t i = t->nev; i-- > 0;) {
    const struct rev *e = &t->ev[i];
    if (strcmp(e->type, "identity_changed") != 0 || e->at < r->since)
      continue;
    fputs(first ? "{" : ",{", out);
    first = false;
    js_time(out, "at", e->at, true);
    fputs(",\"fact\":", out);
    json_str(out, e->result);
    fputs(",\"detail\":", out);
    json_str(out, e->detail);
    fputs("}", out);
  }
  fputs("]}", out);
}

static void js_report(struct report *r, struct rtarget *t, size_t n,
                      FILE *out) {
  fputs("{", out);
  js_time(out, "generated", r->now, true);
  js_time(out, "since", r->since, false);
  fputs(",\"host\":", out);
  json_str(out, notice_hostname());
  fputs(",\"version\":\"" BLWATCH_VERSION "\",\"last_cycle\":", out);
  if (r->have_cycle) {
    fprintf(out, "{\"id\":%lld", (long long)r->last.id);
    js_time(out, "started", r->last.started, false);
    js_time(out, "ended", r->last.ended, false);
    fputs("}", out);
  } else {
    fputs("null", out);
  }
  fputs(",\"targets\":[", out);
  for (size_t i = 0; i < n; i++) {
    fputs(i ? ",\n" : "\n", out);
    js_target(r, &t[i], out);
  }
  fputs("]}\n", out);
}

/* ---- the command
 * ---------------------------------------------------------------- */

/* The stored key of a target on the command line, as history takes it;
 * a usage error when it is not a single address or a domain. */
static int target_key(const char *text, char *key, size_t size) {
  char err[BW_ERRLEN];
  int rc = statuscmd_history_key(text, key, size, err);

  if (rc != 0)
    fprintf(stderr, "blwatch: report: %s\n", err);
  return rc;
}

static int parse_args(int argc, char **argv, struct report *r) {
  static const struct option longopts[] = {
      {"json", no_argument, NULL, 'j'},
      {"since", required_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  uint64_t since_ms = 90ULL * 86400 * 1000;
  int c;

  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (c == 'h') {
      fputs(report_usage, stdout);
      return -1;
    }
    if (c == 's' && ini_duration(optarg, &since_ms, r->err) != BW_OK) {
      fprintf(stderr, "blwatch: report: --since: %s\n", r->err);
      return EX_USAGE;
    }
    if (c != 'j' && c != 's') {
      fputs(report_usage, stderr);
      return EX_USAGE;
    }
    r->json |= c == 'j';
  }
  if (optind >= argc) {
    fprintf(stderr, "blwatch: report: no targets given\n%s", report_usage);
    return EX_USAGE;
  }
  r->now = time(NULL);
  r->since = r->now - (int64_t)(since_ms / 1000);
  return 0;
}

static int run(struct report *r, struct rtarget *t, size_t n) {
  int rc = 0;

  if (store_open(r->cfg.database, STORE_READONLY, &r->store, r->err) != BW_OK ||
      store_cycle_last(r->store, &r->last, &r->have_cycle, r->err) != BW_OK) {
    fprintf(stderr, "blwatch: %s\n", r->err);
    return 1;
  }
  for (size_t i = 0; i < n; i++) {
    if (load_target(r, &t[i]) != BW_OK) {
      fprintf(stderr, "blwatch: %s\n", r->err);
      return 1;
    }
    if (!t[i].found) {
      fprintf(stderr, "blwatch: report: %s is not in the database\n", t[i].key);
      rc = 1;
    }
  }
  if (r->json)
    js_report(r, t, n, stdout);
  else
    md_report(r, t, n, stdout);
  return rc;
}

int report_command(const struct cli *cli, int argc, char **argv) {
  struct report r = {0};
  struct rtarget *t = NULL;
  size_t n = 0;
  int rc = parse_args(argc, argv, &r);

  if (rc != 0)
    return rc < 0 ? 0 : rc;
  n = (size_t)(argc - optind);
  if ((t = calloc(n, sizeof(*t))) == NULL)
    return EX_OSERR;
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = target_key(argv[optind + (int)i], t[i].key, sizeof(t[i].key));
  if (rc == 0 && (rc = cli_load_config(cli, false, &r.cfg)) == 0) {
    rc = run(&r, t, n);
    store_close(r.store);
    cfg_free(&r.cfg);
  }
  for (size_t i = 0; i < n; i++)
    rtarget_free(&t[i]);
  free(t);
  return rc;
}
