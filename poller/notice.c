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
      dup_or_null(e->type),     dup_or_null(e->target_key),
      dup_or_null(e->label),    dup_or_null(e->list),
      dup_or_null(e->zone),     dup_or_null(e->result),
      dup_or_null(e->codes ? e->codes : "[]"),
      dup_or_null(e->meanings ? e->meanings : "[]"),
      dup_or_null(e->reason),   dup_or_null(e->delist),
      dup_or_null(e->detail),   e->at,
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

/* A test notice (test-alert) is its sentence, not an event report. */
static bool is_test(const struct notice *n) {
  return n->n == 1 && strcmp(n->ev[0].type, "test") == 0;
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

/* The target or (by_list) the list of event i. */
static const char *event_key(const struct notice *n, size_t i, bool by_list) {
  return by_list ? n->ev[i].list : n->ev[i].target;
}

/* How many different targets (or lists) the events of one type name.
 * Quadratic, on at most one notice's events (500). */
static size_t distinct(const struct notice *n, const char *type,
                       bool by_list) {
  size_t k = 0;

  for (size_t i = 0; i < n->n; i++) {
    const char *key = event_key(n, i, by_list);
    bool seen = false;
    if (strcmp(n->ev[i].type, type) != 0 || key == NULL)
      continue;
    for (size_t j = 0; j < i && !seen; j++)
      seen = strcmp(n->ev[j].type, type) == 0 &&
             event_key(n, j, by_list) != NULL &&
             strcmp(event_key(n, j, by_list), key) == 0;
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
  size_t tl = distinct(n, "listed", false), ll = distinct(n, "listed", true);
  char *text = NULL;
  size_t len = 0;
  bool first = true;
  FILE *out = open_memstream(&text, &len);

  if (out == NULL)
    return NULL;
  fputs("blwatch: ", out);
  /* The names that matter most: the target, else the list, else counts. */
  if (listed == 1)
    part(out, &first, "%s listed on %s", t, list_name(n, l));
  else if (listed > 1 && tl == 1)
    part(out, &first, "%s listed on %s and %zu more list%s", t,
         list_name(n, l), ll - 1, ll == 2 ? "" : "s");
  else if (listed > 1 && ll == 1)
    part(out, &first, "%zu targets listed on %s", tl, list_name(n, l));
  else if (listed > 1)
    part(out, &first, "%zu targets listed on %zu lists", tl, ll);
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
  if (first && is_test(n))
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
  char when[32];

  if (is_test(n)) {
    fprintf(out, "%s%s%snotice %lld, sent %s%s",
            n->ev[0].detail ? n->ev[0].detail : "A test notice.", eol, eol,
            (long long)n->id, rfc3339(n->sent, when), eol);
    return;
  }
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

/* RFC 5322 2.1.1: lines SHOULD be at most 78 characters, MUST be at most
 * 998 octets. */
#define FOLD_COLS 78
#define LINE_MAX_OCTETS 998

/* The length of the valid UTF-8 sequence at p, or 0 (a stray or
 * overlong byte, a surrogate, past U+10FFFF).  Stops at the NUL. */
static size_t utf8_len(const unsigned char *p) {
  if (p[0] < 0x80)
    return 1;
  if (p[0] >= 0xc2 && p[0] <= 0xdf)
    return (p[1] & 0xc0) == 0x80 ? 2 : 0;
  if (p[0] >= 0xe0 && p[0] <= 0xef)
    return (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 &&
                   !(p[0] == 0xe0 && p[1] < 0xa0) &&
                   !(p[0] == 0xed && p[1] > 0x9f)
               ? 3
               : 0;
  if (p[0] >= 0xf0 && p[0] <= 0xf4)
    return (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 &&
                   (p[3] & 0xc0) == 0x80 && !(p[0] == 0xf0 && p[1] < 0x90) &&
                   !(p[0] == 0xf4 && p[1] > 0x8f)
               ? 4
               : 0;
  return 0;
}

/* Makes s valid text for a message declared UTF-8, in place: control
 * characters (but LF, and tab in a body) and bytes that are not UTF-8
 * become '?'; with ascii, every non-ASCII character too (a header is
 * ASCII unless RFC 2047-encoded).  DNS text is already ASCII; this covers
 * labels and catalog text.  Returns whether anything non-ASCII is left. */
static bool clean_text(char *s, bool ascii) {
  bool eight = false;

  for (unsigned char *p = (unsigned char *)s; *p != '\0';) {
    size_t n = utf8_len(p);
    if (n == 1 && ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f))
      *p = '?';
    if (n == 0 || (n > 1 && ascii)) {
      memset(p, '?', n ? n : 1);
      n = n ? n : 1;
    } else {
      eight |= n > 1;
    }
    p += n;
  }
  return eight;
}

/* Where the line p (len bytes, no line end) is cut for its first room
 * columns: at the last space that leaves some text before it (after
 * skip bytes of indent), else at the first space after, at most max
 * octets in and on a character boundary. */
static size_t fold_at(const char *p, size_t len, size_t skip, size_t room,
                      size_t max) {
  size_t cut;

  if (len <= room)
    return len;
  for (cut = room; cut > skip; cut--)
    if (p[cut] == ' ')
      return cut;
  for (cut = room; cut < len && p[cut] != ' '; cut++)
    ;
  if (cut > max) {
    cut = max;
    while (cut > 1 && ((unsigned char)p[cut] & 0xc0) == 0x80)
      cut--;
  }
  return cut;
}

/* Writes one body line, folded at spaces to FOLD_COLS where a space
 * allows, each continuation indented 4 past the line's own indent; a
 * run without spaces stays whole up to LINE_MAX_OCTETS (a long link must
 * stay clickable), and is split there. */
static void fold_line(FILE *out, const char *p, size_t len) {
  size_t indent = strspn(p, " "), cont, cut;
  bool first = true;

  indent = indent > len ? len : indent;
  cont = indent + 4 > 40 ? 40 : indent + 4;
  do {
    size_t pad = first ? 0 : cont;
    size_t keep;
    cut = fold_at(p, len, first ? indent : 0, FOLD_COLS - pad,
                  LINE_MAX_OCTETS - pad);
    for (keep = cut; keep > (first ? indent : 0) && p[keep - 1] == ' ';)
      keep--; /* no trailing blanks before the fold */
    fprintf(out, "%*s%.*s\r\n", (int)pad, "", (int)keep, p);
    for (p += cut, len -= cut; len > 0 && *p == ' '; p++, len--)
      ;
    first = false;
  } while (len > 0);
}

/* The body, LF-separated, as CRLF lines folded by fold_line(). */
static void write_body(FILE *out, const char *body) {
  while (*body != '\0') {
    size_t len = strcspn(body, "\n");
    fold_line(out, body, len);
    body += len + (body[len] == '\n');
  }
}

/* A header field, its value made ASCII and without CR or LF, folded
 * before a space (RFC 5322 2.2.3) where it would pass FOLD_COLS.  A word
 * longer than WORD_MAX (none of ours is) is cut, so that no line passes
 * LINE_MAX_OCTETS. */
#define WORD_MAX 900
static void header(FILE *out, const char *name, const char *value) {
  size_t col = strlen(name) + 1;
  char *v = strdup(value), *p;
  bool first = true;

  if (v == NULL)
    return;
  for (p = v; *p != '\0'; p++)
    if (*p == '\r' || *p == '\n' || *p == '\t')
      *p = ' ';
  clean_text(v, true);
  fprintf(out, "%s:", name);
  /* Each step writes a word with the space before it (the first word's
   * space is added); a fold goes before that space. */
  for (p = v + strspn(v, " "); *p != '\0'; first = false) {
    size_t word = 1 + strcspn(p + 1, " ");
    if (!first && word > 1 && col + word > FOLD_COLS) {
      fputs("\r\n", out);
      col = 0;
    }
    fprintf(out, "%s%.*s", first ? " " : "",
            (int)(word > WORD_MAX ? WORD_MAX : word), p);
    col += word + first;
    p += word;
  }
  fputs("\r\n", out);
  free(v);
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

/* The plain-text body with LF line ends, cleaned (clean_text); *eight
 * says whether it holds anything but ASCII. */
static char *email_body(const struct notice *n, bool *eight) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);

  if (out == NULL)
    return NULL;
  text_body(out, n, "\n");
  fclose(out);
  if (text != NULL)
    *eight = clean_text(text, false);
  return text;
}

char *notice_email(const struct notice *n, const struct alert_cfg *a) {
  char *subject = notice_subject(n), *text = NULL, date[40], id[320];
  char to[2048], *body;
  bool eight = false;
  size_t len = 0;
  FILE *out;

  body = email_body(n, &eight);
  if (subject == NULL || body == NULL ||
      (out = open_memstream(&text, &len)) == NULL) {
    free(subject);
    free(body);
    return NULL;
  }
  /* The notice id restarts at 1 with a new database (a reinstall), and
   * mail systems drop a Message-ID they have seen: the time of the first
   * event, the same on every retry, keeps it unique. */
  snprintf(id, sizeof(id), "<blwatch-%lld.%lld-%s@%s>", (long long)n->id,
           (long long)(n->n > 0 ? n->ev[0].at : n->sent), a->name, n->host);
  header(out, "Date", notice_rfc5322_date(n->sent, date));
  header(out, "From", a->from);
  header(out, "To", to_list(a->to, to, sizeof(to)));
  header(out, "Subject", subject);
  header(out, "Message-ID", id);
  header(out, "MIME-Version", "1.0");
  header(out, "Content-Type", "text/plain; charset=utf-8");
  /* 7bit unless the text needs 8 (a label or catalog text in UTF-8). */
  header(out, "Content-Transfer-Encoding", eight ? "8bit" : "7bit");
  header(out, "Auto-Submitted", "auto-generated");
  fputs("\r\n", out);
  write_body(out, body);
  fclose(out);
  free(subject);
  free(body);
  return text;
}
