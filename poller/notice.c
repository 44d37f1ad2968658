#include "notice.h"

#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

bool notice_add(struct notice *n, const struct store_event *e) {
  struct notice_event *x;

  if (n->n == n->cap) {
    size_t cap = n->cap ? n->cap * 2 : 16;
    struct notice_event *grown = realloc(n->ev, cap * sizeof(*grown));
    if (grown == NULL)
      return false;
    n->ev = grown;
    n->cap = cap;
  }
  x = &n->ev[n->n++];
  *x = (struct notice_event){
      dup_or_null(e->type),   dup_or_null(e->target_key), dup_or_null(e->label),  dup_or_null(e->list),
      dup_or_null(e->zone),   dup_or_null(e->result),     dup_or_null(e->codes ? e->codes : "[]"),
      dup_or_null(e->meanings ? e->meanings : "[]"), dup_or_null(e->reason),
      dup_or_null(e->delist), dup_or_null(e->detail),     e->at,
  };
  return true;
}

void notice_free(struct notice *n) {
  for (size_t i = 0; i < n->n; i++) {
    struct notice_event *x = &n->ev[i];
    char *strs[] = {x->type,  x->target,   x->label,  x->list,
                    x->zone,  x->result,   x->codes,  x->meanings,
                    x->reason, x->delist,  x->detail};
    for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
      free(strs[k]);
  }
  free(n->ev);
  n->ev = NULL;
  n->n = n->cap = 0;
}

const char *notice_hostname(void) {
  static char name[256];
  struct addrinfo hints = {.ai_flags = AI_CANONNAME}, *ai = NULL;

  if (name[0] != '\0')
    return name;
  if (gethostname(name, sizeof(name) - 1) != 0)
    snprintf(name, sizeof(name), "localhost");
  /* A short name is looked up once for its canonical (FQDN) form. */
  if (strchr(name, '.') == NULL && getaddrinfo(name, NULL, &hints, &ai) == 0) {
    if (ai->ai_canonname != NULL && strchr(ai->ai_canonname, '.') != NULL)
      snprintf(name, sizeof(name), "%s", ai->ai_canonname);
    freeaddrinfo(ai);
  }
  return name;
}

char *notice_rfc5322_date(int64_t t, char *buf) {
  time_t tt = (time_t)t;
  struct tm tm;

  gmtime_r(&tt, &tm);
  strftime(buf, 40, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

/* The human name of a list, falling back to its id. */
static const char *list_name(const struct notice *n, const char *list) {
  const struct zone *z = n->cat && list ? zone_find(n->cat, list) : NULL;

  return z ? z->name : list ? list : "?";
}

static bool is_zone_event(const struct notice_event *e) {
  return strncmp(e->type, "zone_", 5) == 0;
}

/* ---- JSON -------------------------------------------------------------- */

char *notice_json(const struct notice *n) {
  char *text = NULL, when[32];
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);

  if (out == NULL)
    return NULL;
  fputs("{\"source\":\"blwatch\",\"host\":", out);
  json_str(out, n->host);
  fprintf(out, ",\"sent\":\"%s\",\"notice\":%lld,\"events\":[",
          rfc3339(n->sent, when), (long long)n->id);
  for (size_t i = 0; i < n->n; i++) {
    const struct notice_event *x = &n->ev[i];
    struct store_event e = {
        .at = x->at, .type = x->type, .target_key = x->target,
        .label = x->label, .list = x->list, .zone = x->zone,
        .result = x->result, .codes = x->codes, .meanings = x->meanings,
        .reason = x->reason, .delist = x->delist, .detail = x->detail,
    };
    fputs(i ? "," : "", out);
    json_event(out, &e);
  }
  fputs("]}", out);
  fclose(out);
  return text;
}

/* ---- text -------------------------------------------------------------- */

static size_t count_type(const struct notice *n, const char *type,
                         const char **one_target, const char **one_list) {
  size_t k = 0;

  for (size_t i = 0; i < n->n; i++) {
    if (strcmp(n->ev[i].type, type) != 0)
      continue;
    if (k == 0) {
      *one_target = n->ev[i].target;
      *one_list = n->ev[i].list;
    }
    k++;
  }
  return k;
}

static size_t distinct_targets(const struct notice *n, const char *type) {
  size_t k = 0;

  for (size_t i = 0; i < n->n; i++) {
    bool seen = false;
    if (strcmp(n->ev[i].type, type) != 0 || n->ev[i].target == NULL)
      continue;
    for (size_t j = 0; j < i && !seen; j++)
      seen = strcmp(n->ev[j].type, type) == 0 && n->ev[j].target != NULL &&
             strcmp(n->ev[j].target, n->ev[i].target) == 0;
    k += !seen;
  }
  return k;
}

static void part(FILE *out, bool *first, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Identity changes in a subject: the sentence of a lone one, else how
 * many. */
static void identity_subject(const struct notice *n, FILE *out,
                             bool *first) {
  const char *t = NULL, *l = NULL;
  size_t k = count_type(n, "identity_changed", &t, &l);

  for (size_t i = 0; k == 1 && i < n->n; i++)
    if (strcmp(n->ev[i].type, "identity_changed") == 0 &&
        n->ev[i].detail != NULL) {
      part(out, first, "%s", n->ev[i].detail);
      return;
    }
  if (k > 0)
    part(out, first, "%zu identity change%s", k, k == 1 ? "" : "s");
}
static void part(FILE *out, bool *first, const char *fmt, ...) {
  va_list ap;

  fputs(*first ? "" : ", ", out);
  *first = false;
  va_start(ap, fmt);
  vfprintf(out, fmt, ap);
  va_end(ap);
}

char *notice_subject(const struct notice *n) {
  const char *t = NULL, *l = NULL, *dt = NULL, *dl = NULL, *zt, *zl = NULL;
  size_t listed = count_type(n, "listed", &t, &l);
  size_t cleared = count_type(n, "delisted", &dt, &dl);
  size_t changed = count_type(n, "changed", &zt, &zl);
  size_t bad = count_type(n, "zone_unhealthy", &zt, &zl);
  size_t good = count_type(n, "zone_healthy", &zt, &zl);
  size_t tl = distinct_targets(n, "listed");
  char *text = NULL;
  size_t len = 0;
  bool first = true;
  FILE *out = open_memstream(&text, &len);

  if (out == NULL)
    return NULL;
  fputs("blwatch: ", out);
  if (listed == 1)
    part(out, &first, "%s listed on %s", t, list_name(n, l));
  else if (listed > 1 && tl == 1)
    part(out, &first, "%s listed on %zu lists", t, listed);
  else if (listed > 1)
    part(out, &first, "%zu targets listed", tl);
  if (cleared == 1 && first)
    part(out, &first, "%s cleared from %s", dt, list_name(n, dl));
  else if (cleared > 0)
    part(out, &first, "%zu cleared", cleared);
  if (changed > 0)
    part(out, &first, "%zu changed", changed);
  if (bad > 0)
    part(out, &first, "%zu zone%s unhealthy", bad, bad == 1 ? "" : "s");
  if (good > 0)
    part(out, &first, "%zu zone%s healthy again", good, good == 1 ? "" : "s");
  identity_subject(n, out, &first);
  if (first && n->n > 0 && strcmp(n->ev[0].type, "test") == 0)
    part(out, &first, "test notice from %s", n->host);
  else if (first)
    part(out, &first, "%s", n->n > 0 ? n->ev[0].type : "no events");
  fclose(out);
  /* Nothing from DNS may break the header apart. */
  for (char *p = text; p && *p; p++)
    if (*p == '\r' || *p == '\n')
      *p = ' ';
  return text;
}

/* Each code with its meaning, one per line. */
static void text_codes(FILE *out, const struct notice_event *e,
                       const char *eol) {
  const char *pc = e->codes, *pm = e->meanings;
  char code[64], meaning[512];

  while (json_next_string(&pc, code, sizeof(code))) {
    if (!json_next_string(&pm, meaning, sizeof(meaning)))
      meaning[0] = '\0';
    fprintf(out, "           %s  %s%s", code, meaning, eol);
  }
}

static void text_event(FILE *out, const struct notice *n,
                       const struct notice_event *e, const char *eol) {
  char when[32];
  const char *name = list_name(n, e->list);

  if (strcmp(e->type, "identity_changed") == 0) {
    /* The detail is the whole sentence ("PTR for 192.0.2.10 removed"). */
    fprintf(out, "IDENTITY   %s%s%s%s: %s%s", e->target ? e->target : "?",
            e->label ? " (" : "", e->label ? e->label : "",
            e->label ? ")" : "", e->detail ? e->detail : "changed", eol);
  } else if (is_zone_event(e)) {
    fprintf(out, "%s  %s (%s): %s%s", strcmp(e->type, "zone_healthy") == 0
                                          ? "ZONE HEALTHY"
                                          : "ZONE UNHEALTHY",
            name, e->zone ? e->zone : "?", e->result ? e->result : "", eol);
    if (e->detail != NULL)
      fprintf(out, "           %s%s", e->detail, eol);
  } else {
    const char *verb = strcmp(e->type, "delisted") == 0  ? "CLEARED"
                       : strcmp(e->type, "changed") == 0 ? "CHANGED"
                       : strcmp(e->type, "listed") == 0  ? "LISTED"
                                                          : e->type;
    fprintf(out, "%-9s  %s%s%s%s %s %s (%s)%s%s", verb,
            e->target ? e->target : "?", e->label ? " (" : "",
            e->label ? e->label : "", e->label ? ")" : "",
            strcmp(e->type, "delisted") == 0 ? "from" : "on", name,
            e->zone ? e->zone : "?",
            strcmp(e->type, "delisted") == 0 ? ", was:" : "", eol);
    text_codes(out, e, eol);
    if (e->reason != NULL)
      fprintf(out, "           reason: %s%s", e->reason, eol);
  }
  if (e->delist != NULL && strcmp(e->type, "delisted") != 0)
    fprintf(out, "           delist: %s%s", e->delist, eol);
  fprintf(out, "           at: %s%s%s", rfc3339(e->at, when), eol, eol);
}

static void text_body(FILE *out, const struct notice *n, const char *eol) {
  fprintf(out, "blwatch on %s, notice %lld: %zu event%s.%s%s", n->host,
          (long long)n->id, n->n, n->n == 1 ? "" : "s", eol, eol);
  for (size_t i = 0; i < n->n; i++)
    text_event(out, n, &n->ev[i], eol);
}

char *notice_slack(const struct notice *n) {
  char *subject = notice_subject(n), *body = NULL, *text = NULL;
  size_t blen = 0, len = 0;
  FILE *b = open_memstream(&body, &blen), *out;

  if (subject == NULL || b == NULL) {
    free(subject);
    if (b != NULL)
      fclose(b);
    free(body);
    return NULL;
  }
  fprintf(b, "*%s*\n```\n", subject);
  text_body(b, n, "\n");
  fputs("```", b);
  fclose(b);
  out = open_memstream(&text, &len);
  if (out != NULL) {
    fputs("{\"text\":", out);
    json_str(out, body);
    fputs("}", out);
    fclose(out);
  }
  free(subject);
  free(body);
  return text;
}

/* ---- email ------------------------------------------------------------- */

/* A header line: value stripped of CR and LF. */
static void header(FILE *out, const char *name, const char *value) {
  fprintf(out, "%s: ", name);
  for (const char *p = value; *p != '\0'; p++)
    putc(*p == '\r' || *p == '\n' ? ' ' : *p, out);
  fputs("\r\n", out);
}

/* The configured recipients (commas and/or spaces) as an RFC 5322
 * address list: "a@example.com, b@example.com". */
static const char *to_list(const char *to, char *buf, size_t size) {
  size_t used = 0;

  buf[0] = '\0';
  while (*to != '\0') {
    size_t skip = strspn(to, ", \t"), len;
    to += skip;
    len = strcspn(to, ", \t");
    if (len > 0 && used + len + 3 < size) {
      used += (size_t)snprintf(buf + used, size - used, "%s%.*s",
                               used ? ", " : "", (int)len, to);
    }
    to += len;
  }
  return buf;
}

char *notice_email(const struct notice *n, const struct alert_cfg *a) {
  char *subject = notice_subject(n), *text = NULL, date[40], id[320];
  char to[2048];
  size_t len = 0;
  FILE *out;

  if (subject == NULL || (out = open_memstream(&text, &len)) == NULL) {
    free(subject);
    return NULL;
  }
  snprintf(id, sizeof(id), "<blwatch-%lld-%s@%s>", (long long)n->id,
           a->name, n->host);
  header(out, "Date", notice_rfc5322_date(n->sent, date));
  header(out, "From", a->from);
  header(out, "To", to_list(a->to, to, sizeof(to)));
  header(out, "Subject", subject);
  header(out, "Message-ID", id);
  header(out, "MIME-Version", "1.0");
  header(out, "Content-Type", "text/plain; charset=utf-8");
  header(out, "Content-Transfer-Encoding", "8bit");
  header(out, "Auto-Submitted", "auto-generated");
  fputs("\r\n", out);
  text_body(out, n, "\r\n");
  fclose(out);
  free(subject);
  return text;
}
