/* Sender identity checks through the DNS engine.  See identity.h. */
#include "identity.h"

#include <ares.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "store_identity.h"
#include "target.h"

static const char *const fact_names[IDF_COUNT] = {
    [IDF_PTR] = "ptr",         [IDF_FCRDNS] = "fcrdns",
    [IDF_GENERIC] = "generic", [IDF_MX] = "mx",
    [IDF_SPF] = "spf",         [IDF_SPF_LIMIT] = "spf_limit",
    [IDF_DMARC] = "dmarc",     [IDF_MTA_STS] = "mta_sts",
    [IDF_TLS_RPT] = "tls_rpt",
};

const char *identity_fact_name(enum id_fact f) { return fact_names[f]; }

int identity_fact_from_name(const char *name) {
  for (int f = 0; f < IDF_COUNT; f++)
    if (strcmp(fact_names[f], name) == 0)
      return f;
  return -1;
}

bool identity_definitive(int status) {
  return status == ARES_SUCCESS || status == ARES_ENOTFOUND ||
         status == ARES_ENODATA;
}

/* ---- facts ----------------------------------------------------------------
 */

bool identity_fact_applies(const struct identity_result *r, enum id_fact f) {
  return r->is_domain ? f >= IDF_MX : f < IDF_MX;
}

static const char *yes_no(bool v) { return v ? "yes" : "no"; }

/* "ok", "over", "none" or NULL (unknown). */
static const char *spf_limit(const struct identity_result *r) {
  if (!identity_definitive(r->txt_status))
    return NULL;
  if (r->nspf != 1 || !r->spf_parsed.valid)
    return "none";
  if (r->spf_lookups > SPF_LOOKUP_LIMIT)
    return "over"; /* more answers could only add lookups */
  return r->spf_lookups_known ? "ok" : NULL;
}

static bool put(char *buf, size_t size, const char *v) {
  snprintf(buf, size, "%s", v != NULL ? v : "");
  return true;
}

bool identity_fact(const struct identity_result *r, enum id_fact f, char *buf,
                   size_t size) {
  const char *limit;

  buf[0] = '\0';
  switch (f) {
  case IDF_PTR:
    if (!identity_definitive(r->ptr_status))
      return false;
    for (size_t i = 0, used = 0; i < r->nptr && used < size; i++)
      used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "\n" : "",
                               r->ptr[i]);
    return true;
  case IDF_FCRDNS:
    return r->fcrdns >= 0 && put(buf, size, yes_no(r->fcrdns == 1));
  case IDF_GENERIC:
    return identity_definitive(r->ptr_status) &&
           put(buf, size, yes_no(r->generic));
  case IDF_MX:
    return identity_definitive(r->mx_status) && put(buf, size, r->mx);
  case IDF_SPF:
    return identity_definitive(r->txt_status) && put(buf, size, r->spf);
  case IDF_SPF_LIMIT:
    limit = spf_limit(r);
    return limit != NULL && put(buf, size, limit);
  case IDF_DMARC:
    return identity_definitive(r->dmarc_status) && put(buf, size, r->dmarc);
  case IDF_MTA_STS:
    return identity_definitive(r->sts_status) &&
           put(buf, size, yes_no(r->mta_sts));
  case IDF_TLS_RPT:
    return identity_definitive(r->tlsrpt_status) &&
           put(buf, size, yes_no(r->tls_rpt));
  default:
    return false;
  }
}

/* ---- notes ------------------------------------------------------------------
 */

static void note(struct identity_notes *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(struct identity_notes *n, const char *fmt, ...) {
  va_list ap;

  if (n == NULL || n->n == IDENTITY_MAX_NOTES)
    return;
  va_start(ap, fmt);
  vsnprintf(n->text[n->n++], sizeof(n->text[0]), fmt, ap);
  va_end(ap);
}

static void address_notes(const struct identity_result *r,
                          struct identity_notes *p, struct identity_notes *w,
                          struct identity_notes *e) {
  if (!identity_definitive(r->ptr_status)) {
    note(e, "PTR lookup failed: %s", dns_status_name(r->ptr_status));
    return;
  }
  if (r->nptr == 0) {
    note(p, "no PTR record for %s", r->key);
    return;
  }
  if (r->fcrdns == 0)
    note(p, "PTR %s does not resolve back to %s (not forward-confirmed)",
         r->ptr[0], r->key);
  else if (r->fcrdns < 0)
    note(e, "forward lookup of the PTR name failed: %s",
         dns_status_name(r->fwd_status));
  if (r->generic)
    note(w, "PTR %s looks generic (%s)", r->ptr[0], r->generic_why);
  if (r->ptr_total > 1)
    note(w, "%zu PTR records (one is best)", r->ptr_total);
}

static void spf_notes(const struct identity_result *r, struct identity_notes *p,
                      struct identity_notes *w, struct identity_notes *e) {
  const struct spf_record *s = &r->spf_parsed;

  if (!identity_definitive(r->txt_status)) {
    note(e, "SPF (TXT) lookup failed: %s", dns_status_name(r->txt_status));
    return;
  }
  if (r->nspf == 0) {
    note(p, "no SPF record");
    return;
  }
  if (r->nspf > 1) {
    note(p, "%zu SPF records (there must be one: RFC 7208 permerror)", r->nspf);
    return;
  }
  if (!s->valid) {
    note(p, "SPF record does not parse: %s", s->problem);
    return;
  }
  if (r->spf_problem[0] != '\0')
    note(p, "%s", r->spf_problem);
  if (r->spf_lookups > SPF_LOOKUP_LIMIT)
    note(p, "SPF needs %s%u DNS lookups, more than %d (RFC 7208 permerror)",
         r->spf_capped ? "at least " : "", r->spf_lookups, SPF_LOOKUP_LIMIT);
  else if (!r->spf_lookups_known)
    note(e, "SPF lookup of %s failed: %s", r->spf_fetch_name,
         dns_status_name(r->spf_fetch_status));
  if (s->has_all && s->all_qualifier == '+')
    note(w, "SPF ends in +all: anyone may send as this domain");
  if (s->has_ptr)
    note(w, "SPF uses the ptr mechanism (RFC 7208 5.5: do not use)");
  if (s->has_macro)
    note(w, "SPF uses macros: their lookups are counted, not followed");
}

static void dmarc_notes(const struct identity_result *r,
                        struct identity_notes *p, struct identity_notes *w,
                        struct identity_notes *e) {
  const struct dmarc_record *d = &r->dmarc_parsed;

  if (!identity_definitive(r->dmarc_status)) {
    note(e, "DMARC lookup failed: %s", dns_status_name(r->dmarc_status));
    return;
  }
  if (r->ndmarc == 0) {
    note(p, "no DMARC record");
    return;
  }
  if (r->ndmarc > 1) {
    note(p, "%zu DMARC records (there must be one)", r->ndmarc);
    return;
  }
  if (!d->valid) {
    note(p, "DMARC record does not parse: %s", d->problem);
    return;
  }
  if (strcmp(d->policy, "none") == 0)
    note(w, "DMARC policy is none (monitoring only)");
  if (d->nrua == 0)
    note(w, "DMARC record has no rua (no aggregate reports)");
  if (d->pct < 100)
    note(w, "DMARC policy applies to %d%% of mail (pct)", d->pct);
}

static void domain_notes(const struct identity_result *r,
                         struct identity_notes *p, struct identity_notes *w,
                         struct identity_notes *e) {
  if (!identity_definitive(r->mx_status))
    note(e, "MX lookup failed: %s", dns_status_name(r->mx_status));
  else if (r->mx == NULL)
    note(p, "no MX record");
  else if (strcmp(r->mx, "0 .") == 0)
    note(w, "null MX: the domain says it accepts no mail (RFC 7505)");
  spf_notes(r, p, w, e);
  dmarc_notes(r, p, w, e);
  if (!identity_definitive(r->sts_status))
    note(e, "MTA-STS lookup failed: %s", dns_status_name(r->sts_status));
  if (!identity_definitive(r->tlsrpt_status))
    note(e, "TLS-RPT lookup failed: %s", dns_status_name(r->tlsrpt_status));
}

void identity_notes(const struct identity_result *r, enum id_part part,
                    struct identity_notes *problems,
                    struct identity_notes *warnings,
                    struct identity_notes *errors) {
  struct identity_notes *lists[] = {problems, warnings, errors};

  for (size_t i = 0; i < 3; i++)
    if (lists[i] != NULL)
      lists[i]->n = 0;
  if (part == IDP_SPF)
    spf_notes(r, problems, warnings, errors);
  else if (part == IDP_DMARC)
    dmarc_notes(r, problems, warnings, errors);
  else if (r->is_domain)
    domain_notes(r, problems, warnings, errors);
  else
    address_notes(r, problems, warnings, errors);
}

/* ---- JSON and text
 * ----------------------------------------------------------- */

static void json_notes(FILE *out, const char *name,
                       const struct identity_notes *n) {
  fprintf(out, ",\"%s\":[", name);
  for (size_t i = 0; i < n->n; i++) {
    fputs(i ? "," : "", out);
    json_str(out, n->text[i]);
  }
  fputs("]", out);
}

static void json_bool(FILE *out, const char *name, bool known, bool v) {
  fprintf(out, ",\"%s\":%s", name, !known ? "null" : v ? "true" : "false");
}

/* The host names of the MX lines ("10 mx.example.com"), in order. */
static void json_mx(FILE *out, const struct identity_result *r) {
  const char *p = r->mx;

  if (!identity_definitive(r->mx_status)) {
    fputs("\"mx\":null", out);
    return;
  }
  fputs("\"mx\":[", out);
  for (bool first = true; p != NULL && *p != '\0'; first = false) {
    const char *host = strchr(p, ' '), *end = strchr(p, '\n');
    char name[IDP_NAME_MAX];
    size_t len;
    host = host != NULL && (end == NULL || host < end) ? host + 1 : p;
    len = end != NULL ? (size_t)(end - host) : strlen(host);
    snprintf(name, sizeof(name), "%.*s", (int)len, host);
    fputs(first ? "" : ",", out);
    json_str(out, name);
    p = end != NULL ? end + 1 : NULL;
  }
  fputs("]", out);
}

static void json_domain(FILE *out, const struct identity_result *r) {
  struct identity_notes p;
  const struct dmarc_record *d = &r->dmarc_parsed;
  bool one_spf = r->nspf == 1, one_dmarc = r->ndmarc == 1;

  fputs("{", out);
  json_mx(out, r);
  fputs(",\"spf\":{\"record\":", out);
  json_str(out, one_spf ? r->spf : NULL);
  if (one_spf && r->spf_parsed.valid &&
      (r->spf_lookups_known || r->spf_lookups > SPF_LOOKUP_LIMIT))
    fprintf(out, ",\"lookups\":%u", r->spf_lookups);
  else
    fputs(",\"lookups\":null", out);
  identity_notes(r, IDP_SPF, &p, NULL, NULL);
  json_notes(out, "problems", &p);
  fputs("},\"dmarc\":{\"record\":", out);
  json_str(out, one_dmarc ? r->dmarc : NULL);
  fputs(",\"policy\":", out);
  json_str(out, one_dmarc && d->valid ? d->policy : NULL);
  fputs(",\"rua\":[", out);
  for (size_t i = 0; one_dmarc && d->valid && i < d->nrua; i++) {
    fputs(i ? "," : "", out);
    json_str(out, d->rua[i]);
  }
  fputs("]", out);
  identity_notes(r, IDP_DMARC, &p, NULL, NULL);
  json_notes(out, "problems", &p);
  fputs("}", out);
  json_bool(out, "mta_sts", identity_definitive(r->sts_status), r->mta_sts);
  json_bool(out, "tls_rpt", identity_definitive(r->tlsrpt_status), r->tls_rpt);
}

void identity_json(FILE *out, const struct identity_result *r) {
  struct identity_notes p, w, e;

  if (r->is_domain) {
    json_domain(out, r);
  } else {
    bool known = identity_definitive(r->ptr_status);
    fputs("{\"ptr\":", out);
    json_str(out, known && r->nptr > 0 ? r->ptr[0] : NULL);
    json_bool(out, "fcrdns", r->fcrdns >= 0, r->fcrdns == 1);
    json_bool(out, "generic", known, r->generic);
  }
  identity_notes(r, IDP_ALL, &p, &w, &e);
  json_notes(out, "problems", &p);
  json_notes(out, "warnings", &w);
  json_notes(out, "errors", &e);
  fputs("}", out);
}

/* "10 a.example, 20 b.example" */
static void text_lines(FILE *out, const char *s, const char *sep) {
  for (; *s != '\0'; s++) {
    if (*s == '\n')
      fputs(sep, out);
    else
      fputc(*s, out);
  }
}

static void text_domain(FILE *out, const struct identity_result *r,
                        const char *in) {
  fprintf(out, "%sMX:      ", in);
  if (!identity_definitive(r->mx_status))
    fputs("unknown", out);
  else
    text_lines(out, r->mx ? r->mx : "none", ", ");
  fprintf(out, "\n%sSPF:     ", in);
  if (!identity_definitive(r->txt_status))
    fputs("unknown", out);
  else
    text_lines(out, r->spf ? r->spf : "none", "\n         ");
  if (r->nspf == 1 && r->spf_parsed.valid && r->spf_lookups_known)
    fprintf(out, " (%u DNS lookup%s)", r->spf_lookups,
            r->spf_lookups == 1 ? "" : "s");
  fprintf(out, "\n%sDMARC:   ", in);
  if (!identity_definitive(r->dmarc_status))
    fputs("unknown", out);
  else
    text_lines(out, r->dmarc ? r->dmarc : "none", "\n         ");
  fprintf(out, "\n%sMTA-STS: %s   TLS-RPT: %s\n", in,
          !identity_definitive(r->sts_status) ? "unknown" : yes_no(r->mta_sts),
          !identity_definitive(r->tlsrpt_status) ? "unknown"
                                                 : yes_no(r->tls_rpt));
}

void identity_text(FILE *out, const struct identity_result *r, const char *in) {
  struct identity_notes p, w, e;
  const struct identity_notes *lists[] = {&p, &w, &e};
  static const char *const words[] = {"problem", "warning", "unknown"};

  if (r->is_domain) {
    text_domain(out, r, in);
  } else {
    fprintf(out, "%sPTR:     %s", in,
            !identity_definitive(r->ptr_status) ? "unknown"
            : r->nptr > 0                       ? r->ptr[0]
                                                : "none");
    if (r->nptr > 0 && r->fcrdns >= 0)
      fprintf(out, " (%sforward-confirmed)", r->fcrdns ? "" : "not ");
    fputs("\n", out);
  }
  identity_notes(r, IDP_ALL, &p, &w, &e);
  for (size_t k = 0; k < 3; k++)
    for (size_t i = 0; i < lists[k]->n; i++)
      fprintf(out, "%s%s: %s\n", in, words[k], lists[k]->text[i]);
}

/* ---- one target's checks
 * ------------------------------------------------------ */

enum id_what { W_PTR, W_FWD, W_MX, W_TXT, W_DMARC, W_STS, W_TLSRPT, W_SPF };

struct spf_node {
  char name[IDP_NAME_MAX];
  int parent; /* index, -1 for the domain's own record */
};

struct id_check {
  struct identity_runner *run;
  void *target_arg;
  struct identity_result res;
  unsigned inflight;
  bool cancelled;
  bool fwd_failed;
  unsigned fwd_matched;
  size_t nnodes;
  struct spf_node nodes[IDENTITY_MAX_SPF_FETCH];
};

struct id_req {
  struct dns_request dns; /* first: requests are found from dns_request */
  struct id_check *ic;
  enum id_what what;
  int node;
};

struct identity_runner {
  struct dns_engine *engine;
  unsigned max;
  unsigned active;
  const struct identity_ops *ops;
  void *arg;
  bool stopping;
  bool finished;
  bool pumping;
};

static void on_answer(struct dns_request *d);

/* Queues one query; a name too long for DNS is an unknown answer. */
static void submit(struct id_check *c, enum id_what what, enum dns_type type,
                   const char *prefix, const char *name, int node) {
  struct id_req *q = calloc(1, sizeof(*q));
  int n;

  if (q == NULL) {
    c->cancelled = true; /* out of memory: no result for this target */
    return;
  }
  n = snprintf(q->dns.name, sizeof(q->dns.name), "%s%s", prefix, name);
  if (n < 0 || (size_t)n > QNAME_MAX) {
    free(q);
    return; /* the status stays "bad name": unknown */
  }
  q->ic = c;
  q->what = what;
  q->node = node;
  q->dns.type = type;
  q->dns.records = true;
  q->dns.done = on_answer;
  c->inflight++;
  dns_submit(c->run->engine, &q->dns);
}

/* Lines of txt that pass is_rec, joined by '\n' (malloc'd), and how
 * many; NULL when none. */
static char *pick(const char *txt, bool (*is_rec)(const char *), size_t *n) {
  size_t len = txt ? strlen(txt) : 0, used = 0;
  char *out = NULL, line[DNS_MAX_RECORDS_TXT];

  *n = 0;
  for (const char *p = txt; p != NULL && *p != '\0';) {
    const char *end = strchr(p, '\n');
    size_t l = end ? (size_t)(end - p) : strlen(p);
    memcpy(line, p, l);
    line[l] = '\0';
    if (is_rec(line)) {
      if (out == NULL && (out = malloc(len + 1)) == NULL)
        return NULL;
      used += (size_t)snprintf(out + used, len + 1 - used, "%s%s",
                               used ? "\n" : "", line);
      (*n)++;
    }
    p = end ? end + 1 : p + l;
  }
  return out;
}

static bool is_sts(const char *t) { return strncmp(t, "v=STSv1", 7) == 0; }
static bool is_tlsrpt(const char *t) {
  return strncmp(t, "v=TLSRPTv1", 10) == 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

static void on_ptr(struct id_check *c, struct dns_request *d) {
  struct identity_result *r = &c->res;

  r->ptr_status = d->status;
  for (const char *p = d->status == ARES_SUCCESS ? d->txt : NULL;
       p != NULL && *p != '\0';) {
    const char *end = strchr(p, '\n');
    size_t l = end ? (size_t)(end - p) : strlen(p);
    if (r->nptr < IDENTITY_MAX_PTR && l < IDP_NAME_MAX) {
      for (size_t i = 0; i < l; i++)
        r->ptr[r->nptr][i] = (char)tolower((unsigned char)p[i]);
      r->ptr[r->nptr++][l] = '\0';
    }
    r->ptr_total++;
    p = end ? end + 1 : p + l;
  }
  qsort(r->ptr, r->nptr, sizeof(r->ptr[0]), cmp_str);
  for (size_t i = 0; i < r->nptr; i++)
    submit(c, W_FWD, r->is_v6 ? DNS_AAAA : DNS_A, "", r->ptr[i], 0);
}

static void on_fwd(struct id_check *c, struct dns_request *d) {
  const struct identity_result *r = &c->res;
  uint32_t a4 = (uint32_t)r->addr[0] << 24 | (uint32_t)r->addr[1] << 16 |
                (uint32_t)r->addr[2] << 8 | r->addr[3];

  if (!identity_definitive(d->status)) {
    c->fwd_failed = true;
    c->res.fwd_status = d->status;
    return;
  }
  for (unsigned i = 0; d->status == ARES_SUCCESS && i < d->naddr; i++)
    if (r->is_v6 ? memcmp(d->u.aaaa[i], r->addr, 16) == 0 : d->u.a[i] == a4)
      c->fwd_matched++;
}

/* "10 b", "5 a" -> "5 a\n10 b". */
static int cmp_mx(const void *a, const void *b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  long px = strtol(x, NULL, 10), py = strtol(y, NULL, 10);

  return px != py ? (px < py ? -1 : 1) : strcmp(x, y);
}

static void on_mx(struct id_check *c, struct dns_request *d) {
  char *lines[64];
  size_t n = 0, len;

  c->res.mx_status = d->status;
  if (d->status != ARES_SUCCESS || d->txt == NULL)
    return;
  len = strlen(d->txt);
  for (char *p = d->txt; p != NULL && n < 64; n++) {
    lines[n] = p;
    p = strchr(p, '\n');
    if (p != NULL)
      *p++ = '\0';
  }
  qsort(lines, n, sizeof(lines[0]), cmp_mx);
  if ((c->res.mx = malloc(len + 1)) == NULL) {
    c->cancelled = true;
    return;
  }
  for (size_t i = 0, used = 0; i < n; i++)
    used += (size_t)snprintf(c->res.mx + used, len + 1 - used, "%s%s",
                             i ? "\n" : "", lines[i]);
}

/* Follows the includes and redirect of a parsed record (node k). */
static void spf_follow(struct id_check *c, const struct spf_record *s, int k) {
  struct identity_result *r = &c->res;

  r->spf_lookups += s->lookups;
  for (size_t i = 0; i < s->nfollow; i++) {
    bool loop = false;
    for (int a = k; a >= 0 && !loop; a = c->nodes[a].parent)
      loop = strcasecmp(c->nodes[a].name, s->follow[i]) == 0;
    if (loop) {
      if (r->spf_problem[0] == '\0')
        snprintf(r->spf_problem, sizeof(r->spf_problem),
                 "SPF include loop through %.160s", s->follow[i]);
      continue;
    }
    if (c->nnodes == IDENTITY_MAX_SPF_FETCH) {
      r->spf_capped = true;
      continue;
    }
    struct spf_node *nd = &c->nodes[c->nnodes];
    snprintf(nd->name, sizeof(nd->name), "%s", s->follow[i]);
    nd->parent = k;
    submit(c, W_SPF, DNS_TXT, "", nd->name, (int)c->nnodes++);
  }
}

static void on_txt(struct id_check *c, struct dns_request *d) {
  struct identity_result *r = &c->res;

  r->txt_status = d->status;
  if (d->status != ARES_SUCCESS)
    return;
  r->spf = pick(d->txt, spf_is_record, &r->nspf);
  if (r->nspf != 1)
    return;
  spf_parse(r->spf, &r->spf_parsed);
  if (!r->spf_parsed.valid)
    return;
  r->spf_lookups_known = true;
  snprintf(c->nodes[0].name, sizeof(c->nodes[0].name), "%s", r->key);
  c->nodes[0].parent = -1;
  c->nnodes = 1;
  spf_follow(c, &r->spf_parsed, 0);
}

/* The record of an include or redirect target. */
static void on_spf(struct id_check *c, struct dns_request *d, int k) {
  struct identity_result *r = &c->res;
  struct spf_record s;
  size_t n = 0;
  char *recs;

  if (!identity_definitive(d->status)) {
    r->spf_lookups_known = false;
    r->spf_fetch_status = d->status;
    snprintf(r->spf_fetch_name, sizeof(r->spf_fetch_name), "%s",
             c->nodes[k].name);
    return;
  }
  recs = d->status == ARES_SUCCESS ? pick(d->txt, spf_is_record, &n) : NULL;
  if (n == 1) {
    spf_parse(recs, &s);
    if (s.valid)
      spf_follow(c, &s, k);
  }
  if ((n != 1 || !s.valid) && r->spf_problem[0] == '\0')
    snprintf(r->spf_problem, sizeof(r->spf_problem),
             n == 0  ? "SPF include %s has no SPF record (permerror)"
             : n > 1 ? "SPF include %s has several SPF records (permerror)"
                     : "SPF record of include %s does not parse",
             c->nodes[k].name);
  free(recs);
}

static void on_dmarc(struct id_check *c, struct dns_request *d) {
  struct identity_result *r = &c->res;

  r->dmarc_status = d->status;
  if (d->status != ARES_SUCCESS)
    return;
  r->dmarc = pick(d->txt, dmarc_is_record, &r->ndmarc);
  if (r->ndmarc == 1)
    dmarc_parse(r->dmarc, &r->dmarc_parsed);
}

static void finish_check(struct id_check *c);

static void on_answer(struct dns_request *d) {
  struct id_req *q = (struct id_req *)d;
  struct id_check *c = q->ic;
  size_t n;
  char *found;

  if (d->status == ARES_ECANCELLED || d->status == ARES_EDESTRUCTION) {
    /* The engine is closing: start nothing more on it. */
    c->cancelled = true;
    c->run->stopping = true;
  } else
    switch (q->what) {
    case W_PTR:
      on_ptr(c, d);
      break;
    case W_FWD:
      on_fwd(c, d);
      break;
    case W_MX:
      on_mx(c, d);
      break;
    case W_TXT:
      on_txt(c, d);
      break;
    case W_SPF:
      on_spf(c, d, q->node);
      break;
    case W_DMARC:
      on_dmarc(c, d);
      break;
    case W_STS:
    case W_TLSRPT:
      found = d->status == ARES_SUCCESS
                  ? pick(d->txt, q->what == W_STS ? is_sts : is_tlsrpt, &n)
                  : NULL;
      *(q->what == W_STS ? &c->res.sts_status : &c->res.tlsrpt_status) =
          d->status;
      *(q->what == W_STS ? &c->res.mta_sts : &c->res.tls_rpt) = found != NULL;
      free(found);
      break;
    }
  free(d->txt);
  free(q);
  if (--c->inflight == 0)
    finish_check(c);
}

/* ---- the runner
 * ------------------------------------------------------------------ */

static void result_free(struct identity_result *r) {
  free(r->mx);
  free(r->spf);
  free(r->dmarc);
}

/* FCrDNS and the generic look, once every answer is in. */
static void conclude(struct id_check *c) {
  struct identity_result *r = &c->res;
  uint32_t a4 = r->is_v6
                    ? 0
                    : (uint32_t)r->addr[0] << 24 | (uint32_t)r->addr[1] << 16 |
                          (uint32_t)r->addr[2] << 8 | r->addr[3];

  if (r->is_domain)
    return;
  if (!identity_definitive(r->ptr_status))
    r->fcrdns = -1;
  else if (r->nptr == 0 || c->fwd_matched > 0)
    r->fcrdns = c->fwd_matched > 0;
  else
    r->fcrdns = c->fwd_failed ? -1 : 0;
  for (size_t i = 0; i < r->nptr && !r->generic; i++)
    r->generic =
        ptr_generic(r->ptr[i], a4, r->generic_why, sizeof(r->generic_why));
}

static void finish_check(struct id_check *c) {
  struct identity_runner *run = c->run;

  conclude(c);
  run->ops->result(run->arg, c->target_arg, c->cancelled ? NULL : &c->res);
  result_free(&c->res);
  free(c);
  run->active--;
  identity_runner_pump(run);
}

static void start_check(struct identity_runner *run,
                        const struct identity_target *t) {
  struct id_check *c = calloc(1, sizeof(*c));
  struct identity_result *r;
  const int unasked = ARES_EBADNAME;

  if (c == NULL) {
    run->ops->result(run->arg, t->arg, NULL);
    return;
  }
  r = &c->res;
  c->run = run;
  c->target_arg = t->arg;
  r->is_domain = t->is_domain;
  r->is_v6 = t->is_v6;
  memcpy(r->addr, t->addr, 16);
  r->ptr_status = r->mx_status = r->txt_status = r->dmarc_status =
      r->sts_status = r->tlsrpt_status = unasked;
  run->active++;
  c->inflight = 1; /* held while submitting */
  if (t->is_domain) {
    snprintf(r->key, sizeof(r->key), "%s", t->name);
    submit(c, W_MX, DNS_MX, "", r->key, 0);
    submit(c, W_TXT, DNS_TXT, "", r->key, 0);
    submit(c, W_DMARC, DNS_TXT, "_dmarc.", r->key, 0);
    submit(c, W_STS, DNS_TXT, "_mta-sts.", r->key, 0);
    submit(c, W_TLSRPT, DNS_TXT, "_smtp._tls.", r->key, 0);
  } else {
    char rev[QNAME_MAX + 2];
    target_addr_str(t->addr, t->is_v6, r->key);
    if ((t->is_v6 ? qname_ip6(rev, sizeof(rev), t->addr, "ip6.arpa")
                  : qname_ip4(rev, sizeof(rev),
                              (uint32_t)t->addr[0] << 24 |
                                  (uint32_t)t->addr[1] << 16 |
                                  (uint32_t)t->addr[2] << 8 | t->addr[3],
                              "in-addr.arpa")) == 0)
      submit(c, W_PTR, DNS_PTR, "", rev, 0);
  }
  if (--c->inflight == 0) {
    c->cancelled = true; /* nothing could be asked */
    finish_check(c);
  }
}

struct identity_runner *identity_runner_new(struct dns_engine *e,
                                            unsigned max_targets,
                                            const struct identity_ops *ops,
                                            void *arg) {
  struct identity_runner *r = calloc(1, sizeof(*r));

  if (r == NULL)
    return NULL;
  r->engine = e;
  r->max = max_targets > 0 ? max_targets : 1;
  r->ops = ops;
  r->arg = arg;
  return r;
}

void identity_runner_pump(struct identity_runner *r) {
  struct identity_target t;
  bool more = true;

  if (r->pumping || r->finished)
    return; /* a check finished while starting another: the loop goes on */
  r->pumping = true;
  while (!r->stopping && r->active < r->max) {
    memset(&t, 0, sizeof(t));
    if (!(more = r->ops->next(r->arg, &t)))
      break;
    start_check(r, &t);
  }
  r->pumping = false;
  if (r->stopping)
    more = false;
  dns_pump(r->engine);
  if (!more && r->active == 0 && !r->finished) {
    r->finished = true;
    r->ops->finished(r->arg); /* may free r */
  }
}

void identity_runner_stop(struct identity_runner *r) {
  r->stopping = true;
  identity_runner_pump(r);
}

void identity_runner_free(struct identity_runner *r) { free(r); }

/* ---- one-shot: every target of a list (check --identity) -------------------
 */

struct run_all {
  uv_loop_t *loop;
  const struct identity_target *t;
  size_t n, feed;
  bool json;
  char **out;
};

static bool all_next(void *arg, struct identity_target *out) {
  struct run_all *a = arg;

  if (a->feed == a->n)
    return false;
  *out = a->t[a->feed];
  out->arg = (void *)(uintptr_t)a->feed++;
  return true;
}

static void all_result(void *arg, void *targ, const struct identity_result *r) {
  struct run_all *a = arg;
  size_t i = (size_t)(uintptr_t)targ, len = 0;
  FILE *f;

  if (r == NULL || (f = open_memstream(&a->out[i], &len)) == NULL)
    return;
  if (a->json)
    identity_json(f, r);
  else
    identity_text(f, r, "    ");
  fclose(f);
}

static void all_finished(void *arg) {
  struct run_all *a = arg;

  uv_stop(a->loop);
}

static const struct identity_ops all_ops = {all_next, all_result, all_finished};

char **identity_run_all(uv_loop_t *loop, struct dns_engine *e,
                        const struct identity_target *t, size_t n, bool json) {
  struct run_all a = {loop, t, n, 0, json, calloc(n + 1, sizeof(char *))};
  struct identity_runner *run;

  if (a.out == NULL)
    return NULL;
  run = identity_runner_new(e, IDENTITY_TARGETS_IN_FLIGHT, &all_ops, &a);
  if (run == NULL) {
    free(a.out);
    return NULL;
  }
  identity_runner_pump(run);
  if (!run->finished)
    uv_run(loop, UV_RUN_DEFAULT);
  identity_runner_free(run);
  return a.out;
}

void identity_strings_free(char **s, size_t n) {
  for (size_t i = 0; s != NULL && i < n; i++)
    free(s[i]);
  free(s);
}

/* ---- status hooks
 * -------------------------------------------------------------- */

static void put_object_json(void *arg, const struct store_identity_object *o) {
  fprintf(arg, ",\"identity\":%s", o->object);
}

void identity_status_json(struct store *st, int64_t target, FILE *out) {
  char err[BW_ERRLEN];

  if (store_identity_object_get(st, target, put_object_json, out, err) != BW_OK)
    fprintf(stderr, "blwatch: %s\n", err);
}

static void put_lines(FILE *out, const struct store_identity_object *o,
                      const char *word, const char *lines) {
  for (const char *p = lines; p != NULL && *p != '\0';) {
    const char *end = strchr(p, '\n');
    int len = end ? (int)(end - p) : (int)strlen(p);
    fprintf(out, "identity  %s%s%s%s: %s: %.*s\n", o->key, o->label ? " (" : "",
            o->label ? o->label : "", o->label ? ")" : "", word, len, p);
    p = end ? end + 1 : NULL;
  }
}

static void put_object_text(void *arg, const struct store_identity_object *o) {
  put_lines(arg, o, "problem", o->problems);
  put_lines(arg, o, "warning", o->warnings);
}

void identity_status_text(struct store *st, FILE *out) {
  char err[BW_ERRLEN];

  if (store_identity_each(st, put_object_text, out, err) != BW_OK)
    fprintf(stderr, "blwatch: %s\n", err);
}
