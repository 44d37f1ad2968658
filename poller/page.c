/* The status page: listings, coverage, zone health and a timeline. */
#include "page.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "config.h"
#include "err.h"
#include "json.h"
#include "statuscmd.h"
#include "store.h"

#define DAY 86400
#define WINDOW_DAYS 90
/* Bounds on what one page shows, so a /16 of targets stays a page. */
#define MAX_COVERAGE_ROWS 500
#define MAX_EVENTS 20000
#define MAX_TIMELINE_TARGETS 200

static const char style[] =
    ":root{color-scheme:light dark;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;"
    "--mute:#6e7781;--line:#d0d7de}"
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "margin:0 auto;max-width:1000px;padding:12px}"
    "h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:1.4em 0 .4em;"
    "border-bottom:1px solid var(--line)}"
    ".sum{color:var(--mute)}.card{border:1px solid var(--line);"
    "border-left:5px solid var(--bad);border-radius:6px;padding:8px 12px;"
    "margin:8px 0;overflow-wrap:anywhere}.card h3{margin:0;font-size:1.05em}"
    ".label{color:var(--mute);font-weight:normal}ul{margin:.2em 0;"
    "padding-left:1.2em}code{font-size:.95em}.ok{color:var(--ok)}"
    ".bad{color:var(--bad)}.warn{color:var(--warn)}.mute{color:var(--mute)}"
    "table{border-collapse:collapse;width:100%}td,th{text-align:left;"
    "padding:4px 6px;border-bottom:1px solid var(--line);"
    "vertical-align:top;overflow-wrap:break-word}.nw{white-space:nowrap}"
    ".scroll{overflow-x:auto}svg{width:100%;height:auto;display:block}"
    "figure{margin:10px 0}figcaption{font-weight:600}"
    "@media (max-width:600px){body{font-size:14px;padding:8px}"
    "td,th{padding:3px 4px}}";

void page_escape(FILE *out, const char *s) {
  for (; s != NULL && *s != '\0'; s++) {
    switch (*s) {
    case '&':
      fputs("&amp;", out);
      break;
    case '<':
      fputs("&lt;", out);
      break;
    case '>':
      fputs("&gt;", out);
      break;
    case '"':
      fputs("&quot;", out);
      break;
    case '\'':
      fputs("&#39;", out);
      break;
    default:
      fputc(*s, out);
    }
  }
}

static bool http_url(const char *u) {
  return u != NULL && (strncasecmp(u, "http://", 7) == 0 ||
                       strncasecmp(u, "https://", 8) == 0);
}

static void when(FILE *out, int64_t t) {
  char buf[32];

  if (t <= 0)
    fputs("never", out);
  else
    fputs(rfc3339(t, buf), out);
}

/* ---- what one pass over the targets collects --------------------------- */

struct listed {
  char *key, *label, *list;
  int64_t since;
};

struct page {
  const struct config *cfg;
  int64_t now;
  FILE *listings, *coverage; /* written in one pass, shown in order */
  char *ltext, *ctext;
  size_t llen, clen;
  struct listed *listed;
  size_t nlisted, cap;
  size_t rows, more;
  bool oom;
};

static void write_codes(FILE *out, const struct status_result *r) {
  const char *c = r->codes, *m = r->meanings;
  char code[64], meaning[512];

  fputs("<ul>", out);
  while (json_next_string(&c, code, sizeof(code))) {
    if (!json_next_string(&m, meaning, sizeof(meaning)))
      meaning[0] = '\0';
    fputs("<li><code>", out);
    page_escape(out, code);
    fputs("</code> ", out);
    page_escape(out, meaning);
    fputs("</li>", out);
  }
  fputs("</ul>", out);
}

static void write_listing(struct page *p, const struct store_target *t,
                          const struct status_result *r) {
  FILE *out = p->listings;
  const struct zone *z = r->zone;

  fputs("<div class=\"card\"><h3>", out);
  page_escape(out, t->key);
  if (t->label[0] != '\0') {
    fputs(" <span class=\"label\">", out);
    page_escape(out, t->label);
    fputs("</span>", out);
  }
  fputs("</h3><div>listed on <b>", out);
  page_escape(out, z->id);
  fputs("</b> (", out);
  page_escape(out, z->zone);
  fputs(") since ", out);
  when(out, r->since);
  fputs("</div>", out);
  write_codes(out, r);
  if (r->reason != NULL) {
    fputs("<div>reason: ", out);
    page_escape(out, r->reason);
    fputs("</div>", out);
  }
  if (http_url(z->delist)) {
    fputs("<div>delist: <a class=\"delist\" rel=\"noopener noreferrer\" "
          "href=\"", out);
    page_escape(out, z->delist);
    fputs("\">", out);
    page_escape(out, z->delist);
    fputs("</a></div>", out);
  } else if (z->delist != NULL) {
    fputs("<div>delist: ", out);
    page_escape(out, z->delist);
    fputs("</div>", out);
  }
  fputs("</div>\n", out);
}

static bool keep_listed(struct page *p, const struct store_target *t,
                        const struct status_result *r) {
  struct listed *l;

  if (p->nlisted == p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 32;
    struct listed *grown = realloc(p->listed, cap * sizeof(*grown));
    if (grown == NULL)
      return false;
    p->listed = grown;
    p->cap = cap;
  }
  l = &p->listed[p->nlisted];
  *l = (struct listed){strdup(t->key), strdup(t->label), strdup(r->zone->id),
                       r->since};
  if (l->key == NULL || l->label == NULL || l->list == NULL) {
    free(l->key);
    free(l->label);
    free(l->list);
    return false;
  }
  p->nlisted++;
  return true;
}

static void write_coverage(struct page *p, const struct store_target *t,
                           const struct status_result *res, size_t n,
                           size_t applicable) {
  FILE *out = p->coverage;
  size_t listed = 0, unknown;

  for (size_t i = 0; i < n; i++)
    listed += strcmp(res[i].result, "listed") == 0;
  unknown = n - listed;
  fputs("<tr><td class=\"nw\">", out);
  page_escape(out, t->key);
  if (t->label[0] != '\0') {
    fputs("<br><span class=\"label\">", out);
    page_escape(out, t->label);
    fputs("</span>", out);
  }
  if (t->first_checked == 0) {
    fputs("</td><td colspan=\"2\" class=\"mute\">not checked yet</td></tr>\n",
          out);
    return;
  }
  fprintf(out, "</td><td class=\"%s\">%s</td><td>clean on %zu of %zu",
          listed ? "bad" : unknown ? "warn" : "ok",
          listed ? "listed" : unknown ? "unknown" : "clean",
          applicable - listed - unknown, applicable);
  if (listed)
    fprintf(out, "; listed on %zu", listed);
  for (size_t i = 0, first = 1; i < n; i++) {
    if (strcmp(res[i].result, "listed") == 0)
      continue;
    fputs(first ? "; unknown: " : ", ", out);
    first = 0;
    page_escape(out, res[i].zone->id);
    fputc(' ', out);
    page_escape(out, res[i].result);
    if (res[i].detail != NULL) {
      fputs(" (", out);
      page_escape(out, res[i].detail);
      fputc(')', out);
    }
  }
  fputs("</td></tr>\n", out);
}

static void on_target(void *arg, const struct store_target *t,
                      const struct status_result *res, size_t n,
                      size_t applicable) {
  struct page *p = arg;

  for (size_t i = 0; i < n; i++)
    if (strcmp(res[i].result, "listed") == 0) {
      write_listing(p, t, &res[i]);
      if (!keep_listed(p, t, &res[i]))
        p->oom = true;
    }
  if (p->rows >= MAX_COVERAGE_ROWS) {
    p->more++;
    return;
  }
  p->rows++;
  write_coverage(p, t, res, n, applicable);
}

/* ---- the timeline ------------------------------------------------------ */

struct span {
  int64_t from, to;
};

/* The listing periods of one (target, list) pair within the window. */
struct trow {
  char *key, *label, *list;
  struct span *spans;
  size_t n, cap;
  bool open;
  int64_t since;
};

struct timeline {
  int64_t start, now;
  struct trow *rows;
  size_t n, cap;
  struct store_event *ev; /* pair events, newest first; strings copied */
  size_t nev, evcap;
  bool oom;
};

static struct trow *trow_get(struct timeline *tl, const char *key,
                             const char *label, const char *list) {
  struct trow *r;

  for (size_t i = 0; i < tl->n; i++)
    if (strcmp(tl->rows[i].key, key) == 0 &&
        strcmp(tl->rows[i].list, list) == 0)
      return &tl->rows[i];
  if (tl->n == tl->cap) {
    size_t cap = tl->cap ? 2 * tl->cap : 32;
    struct trow *grown = realloc(tl->rows, cap * sizeof(*grown));
    if (grown == NULL)
      return NULL;
    tl->rows = grown;
    tl->cap = cap;
  }
  r = &tl->rows[tl->n];
  *r = (struct trow){strdup(key), strdup(label ? label : ""), strdup(list),
                     NULL, 0, 0, false, 0};
  if (r->key == NULL || r->label == NULL || r->list == NULL) {
    free(r->key);
    free(r->label);
    free(r->list);
    return NULL;
  }
  tl->n++;
  return r;
}

static bool span_add(struct trow *r, int64_t from, int64_t to) {
  if (r->n == r->cap) {
    size_t cap = r->cap ? 2 * r->cap : 4;
    struct span *grown = realloc(r->spans, cap * sizeof(*grown));
    if (grown == NULL)
      return false;
    r->spans = grown;
    r->cap = cap;
  }
  r->spans[r->n++] = (struct span){from, to};
  return true;
}

static bool on_event(void *arg, const struct store_event *e) {
  struct timeline *tl = arg;
  struct store_event *c;

  if (e->target_key == NULL || e->list == NULL ||
      (strcmp(e->type, "listed") != 0 && strcmp(e->type, "delisted") != 0 &&
       strcmp(e->type, "changed") != 0))
    return true;
  if (tl->nev == tl->evcap) {
    size_t cap = tl->evcap ? 2 * tl->evcap : 256;
    struct store_event *grown = realloc(tl->ev, cap * sizeof(*grown));
    if (grown == NULL) {
      tl->oom = true;
      return false;
    }
    tl->ev = grown;
    tl->evcap = cap;
  }
  c = &tl->ev[tl->nev];
  *c = (struct store_event){.at = e->at, .type = strdup(e->type),
                            .target_key = strdup(e->target_key),
                            .label = strdup(e->label ? e->label : ""),
                            .list = strdup(e->list)};
  if (c->type == NULL || c->target_key == NULL || c->label == NULL ||
      c->list == NULL) {
    free((char *)c->type);
    free((char *)c->target_key);
    free((char *)c->label);
    free((char *)c->list);
    tl->oom = true;
    return false;
  }
  tl->nev++;
  return tl->nev < MAX_EVENTS;
}

/* Listing periods from the events (oldest first) and the listings now. */
static void build_spans(struct timeline *tl, const struct page *p) {
  for (size_t i = tl->nev; i-- > 0 && !tl->oom;) {
    const struct store_event *e = &tl->ev[i];
    struct trow *r = trow_get(tl, e->target_key, e->label, e->list);
    if (r == NULL) {
      tl->oom = true;
      break;
    }
    if (strcmp(e->type, "delisted") == 0) {
      if (!span_add(r, r->open ? r->since : tl->start, e->at))
        tl->oom = true;
      r->open = false;
    } else if (!r->open) { /* listed, or changed: listed before the window */
      r->open = true;
      r->since = strcmp(e->type, "listed") == 0 ? e->at : tl->start;
    }
  }
  for (size_t i = 0; i < p->nlisted && !tl->oom; i++) {
    const struct listed *l = &p->listed[i];
    struct trow *r = trow_get(tl, l->key, l->label, l->list);
    if (r == NULL)
      tl->oom = true;
    else if (!r->open) {
      r->open = true;
      r->since = l->since > tl->start ? l->since : tl->start;
    }
  }
  for (size_t i = 0; i < tl->n && !tl->oom; i++)
    if (tl->rows[i].open && !span_add(&tl->rows[i], tl->rows[i].since,
                                      tl->now))
      tl->oom = true;
}

static int trow_cmp(const void *a, const void *b) {
  const struct trow *x = a, *y = b;
  int c = strcmp(x->key, y->key);

  return c != 0 ? c : strcmp(x->list, y->list);
}

/* SVG geometry, in viewBox units: a label column, then the bars. */
#define SVG_W 400
#define SVG_X0 104
#define SVG_BAR_W (SVG_W - SVG_X0 - 4)
#define SVG_ROW 18

static double xpos(const struct timeline *tl, int64_t t) {
  if (t < tl->start)
    t = tl->start;
  return SVG_X0 + (double)(t - tl->start) * SVG_BAR_W /
                      (double)(tl->now - tl->start);
}

static void svg_axis(FILE *out, const struct timeline *tl, int height) {
  for (int d = WINDOW_DAYS; d >= 0; d -= 30) {
    double x = xpos(tl, tl->now - (int64_t)d * DAY);
    fprintf(out, "<line x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\" "
            "stroke=\"#8c959f\" stroke-width=\"0.5\"/>"
            "<text x=\"%.1f\" y=\"%d\" font-size=\"9\" fill=\"#6e7781\" "
            "text-anchor=\"%s\">%s%d%s</text>",
            x, x, height - 12, x, height - 2,
            d == 0 ? "end" : d == WINDOW_DAYS ? "start" : "middle",
            d ? "-" : "", d, d ? "d" : " (now)");
  }
}

static void svg_target(FILE *out, const struct timeline *tl,
                       const struct trow *rows, size_t n) {
  int height = (int)n * SVG_ROW + 16;
  char a[32], b[32];

  fputs("<figure><figcaption>", out);
  page_escape(out, rows[0].key);
  if (rows[0].label[0] != '\0') {
    fputs(" <span class=\"label\">", out);
    page_escape(out, rows[0].label);
    fputs("</span>", out);
  }
  fprintf(out, "</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" "
          "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"listings of ",
          SVG_W, height);
  page_escape(out, rows[0].key);
  fputs(" over the last 90 days\">", out);
  svg_axis(out, tl, height);
  for (size_t i = 0; i < n; i++) {
    int y = (int)i * SVG_ROW;
    fprintf(out, "<text x=\"0\" y=\"%d\" font-size=\"11\" "
            "fill=\"currentColor\">", y + 13);
    page_escape(out, rows[i].list);
    fputs("</text>", out);
    for (size_t k = 0; k < rows[i].n; k++) {
      const struct span *s = &rows[i].spans[k];
      double x0 = xpos(tl, s->from), x1 = xpos(tl, s->to);
      fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"12\" "
              "rx=\"2\" fill=\"#cf222e\"><title>", x0, y + 3,
              x1 - x0 < 1.5 ? 1.5 : x1 - x0);
      page_escape(out, rows[i].list);
      fprintf(out, ": listed %s to %s</title></rect>", rfc3339(s->from, a),
              s->to >= tl->now ? "now" : rfc3339(s->to, b));
    }
  }
  fputs("</svg></figure>\n", out);
}

static void timeline_free(struct timeline *tl) {
  for (size_t i = 0; i < tl->nev; i++) {
    free((char *)tl->ev[i].type);
    free((char *)tl->ev[i].target_key);
    free((char *)tl->ev[i].label);
    free((char *)tl->ev[i].list);
  }
  for (size_t i = 0; i < tl->n; i++) {
    free(tl->rows[i].key);
    free(tl->rows[i].label);
    free(tl->rows[i].list);
    free(tl->rows[i].spans);
  }
  free(tl->ev);
  free(tl->rows);
}

static int write_timeline(FILE *out, const struct page *p, struct store *st,
                          char *err) {
  struct timeline tl = {.start = p->now - WINDOW_DAYS * DAY, .now = p->now};
  size_t shown = 0;
  int rc = 0;

  if (store_events_each(st, NULL, tl.start, on_event, &tl, err) != BW_OK)
    rc = 1;
  if (rc == 0)
    build_spans(&tl, p);
  if (rc == 0 && tl.oom)
    rc = bw_fail(err, BW_ENOMEM, "out of memory") != BW_OK;
  if (rc == 0) {
    fputs("<section id=\"timeline\"><h2>Listings in the last 90 days</h2>\n",
          out);
    if (tl.n == 0)
      fputs("<p class=\"ok\">No listing in the last 90 days.</p>\n", out);
    qsort(tl.rows, tl.n, sizeof(*tl.rows), trow_cmp);
    for (size_t i = 0, j; i < tl.n; i = j) {
      for (j = i + 1; j < tl.n && strcmp(tl.rows[j].key, tl.rows[i].key) == 0;
           j++)
        ;
      if (shown++ < MAX_TIMELINE_TARGETS)
        svg_target(out, &tl, &tl.rows[i], j - i);
    }
    if (shown > MAX_TIMELINE_TARGETS)
      fprintf(out, "<p class=\"mute\">and %zu more targets</p>\n",
              shown - MAX_TIMELINE_TARGETS);
    fputs("</section>\n", out);
  }
  timeline_free(&tl);
  return rc;
}

/* ---- zone health ------------------------------------------------------- */

static const char *health_class(const char *h) {
  return strcmp(h, "ok") == 0         ? "ok"
         : strcmp(h, "untested") == 0 ? "mute"
         : strcmp(h, "error") == 0    ? "warn"
                                      : "bad";
}

static int write_zones(FILE *out, const struct config *cfg, struct store *st,
                       char *err) {
  fputs("<section id=\"zones\"><h2>Zone health</h2><div class=\"scroll\">"
        "<table><tr><th>list</th><th>zone</th><th>test points</th>"
        "<th>checked</th></tr>\n", out);
  for (size_t i = 0; i < cfg->cat.n; i++) {
    const struct zone *z = &cfg->cat.zones[i];
    struct store_zone sz;
    bool found;
    if (!cfg->enabled[i])
      continue;
    if (store_zone_get(st, z->id, &sz, &found, err) != BW_OK)
      return 1;
    fputs("<tr><td class=\"nw\">", out);
    page_escape(out, z->id);
    fputs("</td><td>", out);
    page_escape(out, z->zone);
    fprintf(out, "</td><td class=\"%s\">", health_class(sz.health));
    page_escape(out, sz.health);
    fputs("</td><td>", out);
    when(out, sz.checked);
    fputs("</td></tr>\n", out);
  }
  fputs("</table></div></section>\n", out);
  return 0;
}

/* ---- the page ---------------------------------------------------------- */

static void write_head(FILE *out, const struct status_summary *s,
                       int64_t now) {
  fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
          "<meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, "
          "initial-scale=1\">"
          "<title>blwatch: %lld listed</title><style>%s</style></head>\n"
          "<body><header><h1>blwatch</h1><p class=\"sum\">%lld targets, "
          "%lld zones: <span class=\"%s\">%lld listed</span> on %lld "
          "targets, %lld clear, %lld unknown. ",
          (long long)s->listed, style, (long long)s->targets,
          (long long)s->zones, s->listed ? "bad" : "ok",
          (long long)s->listed, (long long)s->listed_targets,
          (long long)s->clear, (long long)s->unknown);
  if (s->have_cycle) {
    fputs("Last cycle ended ", out);
    when(out, s->last.ended);
  } else {
    fputs("No cycle has completed yet.", out);
  }
  fputs(". Page made ", out);
  when(out, now);
  fputs(".</p></header>\n", out);
}

static void page_free(struct page *p) {
  if (p->listings != NULL)
    fclose(p->listings);
  if (p->coverage != NULL)
    fclose(p->coverage);
  free(p->ltext);
  free(p->ctext);
  for (size_t i = 0; i < p->nlisted; i++) {
    free(p->listed[i].key);
    free(p->listed[i].label);
    free(p->listed[i].list);
  }
  free(p->listed);
}

int page_write(const struct config *cfg, struct store *st, int64_t now,
               FILE *out, char *err) {
  struct page p = {.cfg = cfg, .now = now};
  struct status_summary sum;
  int rc = 1;

  p.listings = open_memstream(&p.ltext, &p.llen);
  p.coverage = open_memstream(&p.ctext, &p.clen);
  if (p.listings == NULL || p.coverage == NULL) {
    bw_fail(err, BW_ENOMEM, "out of memory");
    goto out;
  }
  if (statuscmd_each(cfg, st, on_target, &p, &sum, err) != 0)
    goto out;
  if (p.oom) {
    bw_fail(err, BW_ENOMEM, "out of memory");
    goto out;
  }
  fclose(p.listings);
  fclose(p.coverage);
  p.listings = p.coverage = NULL;
  write_head(out, &sum, now);
  fputs("<section id=\"listings\"><h2>Listed now</h2>\n", out);
  if (p.llen == 0)
    fputs("<p class=\"ok\">Nothing is listed.</p>\n", out);
  fwrite(p.ltext, 1, p.llen, out);
  fputs("</section>\n<section id=\"coverage\"><h2>Coverage</h2>"
        "<div class=\"scroll\"><table><tr><th>target</th><th>state</th>"
        "<th>zones</th></tr>\n", out);
  fwrite(p.ctext, 1, p.clen, out);
  fputs("</table></div>", out);
  if (p.more > 0)
    fprintf(out, "<p class=\"mute\">and %zu more targets (see "
            "/api/status)</p>", p.more);
  fputs("</section>\n", out);
  if (write_zones(out, cfg, st, err) != 0 ||
      write_timeline(out, &p, st, err) != 0)
    goto out;
  fprintf(out, "<footer class=\"mute\"><p>blwatch %s &middot; "
          "<a href=\"metrics\">metrics</a> &middot; "
          "<a href=\"api/status\">status JSON</a> &middot; "
          "<a href=\"api/history\">history JSON</a></p></footer>"
          "</body></html>\n", BLWATCH_VERSION);
  rc = 0;
out:
  page_free(&p);
  return rc;
}
