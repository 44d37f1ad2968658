/* SPF and DMARC record syntax, and the generic-PTR heuristic.  Only what
 * a postmaster needs to know is checked: whether a record parses, what it
 * costs in DNS lookups and what it says; not how a message would fare. */
#include "idparse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void problem(char *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void problem(char *buf, const char *fmt, ...) {
  va_list ap;

  if (buf[0] != '\0')
    return; /* the first problem is the one worth showing */
  va_start(ap, fmt);
  vsnprintf(buf, IDP_PROBLEM_MAX, fmt, ap);
  va_end(ap);
}

/* ---- SPF ---------------------------------------------------------------- */

bool spf_is_record(const char *txt) {
  return strncasecmp(txt, "v=spf1", 6) == 0 &&
         (txt[6] == '\0' || txt[6] == ' ');
}

/* A macro-string (RFC 7208 7.1): "%%", "%_", "%-" and "%{...}" are the
 * only uses of '%'.  Sets *macro when it expands anything. */
static bool macro_ok(const char *s, size_t n, bool *macro) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%') {
      if (i + 1 >= n)
        return false;
      char c = s[++i];
      if (c == '%' || c == '_' || c == '-')
        continue;
      if (c != '{' || i + 2 >= n || !strchr("slodiphcrtvSLODIPHCRTV", s[i + 1]))
        return false;
      const char *end = memchr(s + i, '}', n - i);
      if (end == NULL)
        return false;
      *macro = true;
      i = (size_t)(end - s);
    } else if (s[i] < 0x21 || s[i] > 0x7e) {
      return false;
    }
  }
  return true;
}

/* A domain-spec: a macro-string that is not empty. */
static bool domain_ok(const char *s, size_t n, struct spf_record *r) {
  return n > 0 && n < IDP_NAME_MAX && macro_ok(s, n, &r->has_macro);
}

static bool cidr_ok(const char *s, size_t n, unsigned max) {
  unsigned v = 0;

  if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
    return false;
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i]))
      return false;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  return v <= max;
}

/* "/N", "//N6" or "/N//N6" after a or mx (RFC 7208 5.3, 5.4). */
static bool dual_cidr_ok(const char *s, size_t n) {
  const char *dd;

  if (n == 0)
    return true;
  if (s[0] != '/')
    return false;
  dd = n >= 2 ? strstr(s, "//") : NULL;
  if (dd != NULL && (size_t)(dd - s) < n) {
    size_t v4 = (size_t)(dd - s);
    return (v4 == 0 || cidr_ok(s + 1, v4 - 1, 32)) &&
           cidr_ok(dd + 2, n - v4 - 2, 128);
  }
  return cidr_ok(s + 1, n - 1, 32);
}

static bool ip_ok(const char *s, size_t n, bool v6) {
  char buf[64];
  unsigned char bin[16];
  const char *slash = memchr(s, '/', n);
  size_t alen = slash ? (size_t)(slash - s) : n;

  if (alen == 0 || alen >= sizeof(buf))
    return false;
  memcpy(buf, s, alen);
  buf[alen] = '\0';
  if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, bin) != 1)
    return false;
  return slash == NULL || cidr_ok(slash + 1, n - alen - 1, v6 ? 128 : 32);
}

static void follow(struct spf_record *r, const char *s, size_t n) {
  if (r->nfollow < SPF_MAX_FOLLOW && memchr(s, '%', n) == NULL) {
    memcpy(r->follow[r->nfollow], s, n);
    r->follow[r->nfollow++][n] = '\0';
  }
}

/* One mechanism (after its qualifier).  Returns false on a syntax error,
 * with the problem set. */
static bool mechanism(struct spf_record *r, const char *t, size_t n,
                      char qual) {
  const char *colon = memchr(t, ':', n), *slash = memchr(t, '/', n);
  size_t nlen = colon ? (size_t)(colon - t) : slash ? (size_t)(slash - t) : n;
  const char *arg = colon ? colon + 1 : t + n;
  size_t alen = (size_t)(t + n - arg);

#define IS(word) (nlen == strlen(word) && strncasecmp(t, word, nlen) == 0)
  if (IS("all")) {
    r->has_all = true;
    r->all_qualifier = qual;
    return nlen == n;
  }
  if (IS("include") || IS("exists")) {
    r->lookups++;
    if (colon == NULL || !domain_ok(arg, alen, r))
      return false;
    if (IS("include"))
      follow(r, arg, alen);
    return true;
  }
  if (IS("a") || IS("mx")) {
    const char *cs = colon ? memchr(arg, '/', alen) : slash;
    size_t dlen = cs ? (size_t)(cs - arg) : alen;
    r->lookups++;
    if (colon != NULL && !domain_ok(arg, dlen, r))
      return false;
    return cs == NULL || dual_cidr_ok(cs, (size_t)(t + n - cs));
  }
  if (IS("ptr")) {
    r->lookups++;
    r->has_ptr = true;
    return slash == NULL && (colon == NULL || domain_ok(arg, alen, r));
  }
  if (IS("ip4") || IS("ip6"))
    return colon != NULL && ip_ok(arg, alen, IS("ip6"));
#undef IS
  return false;
}

/* name=value: redirect and exp once each; other names are ignored
 * (RFC 7208 6). */
static bool modifier(struct spf_record *r, const char *t, size_t n,
                     const char *eq, const char **redirect, size_t *rlen,
                     bool *seen_exp) {
  size_t nlen = (size_t)(eq - t), vlen = n - nlen - 1;

  if (nlen == 0 || !isalpha((unsigned char)t[0]))
    return false;
  for (size_t i = 1; i < nlen; i++)
    if (!isalnum((unsigned char)t[i]) && !strchr("-_.", t[i]))
      return false;
  if (nlen == 8 && strncasecmp(t, "redirect", 8) == 0) {
    if (*redirect != NULL || !domain_ok(eq + 1, vlen, r))
      return false;
    *redirect = eq + 1;
    *rlen = vlen;
  } else if (nlen == 3 && strncasecmp(t, "exp", 3) == 0) {
    if (*seen_exp || !domain_ok(eq + 1, vlen, r))
      return false;
    *seen_exp = true;
  } else {
    bool ignored = false;
    return macro_ok(eq + 1, vlen, &ignored);
  }
  return true;
}

void spf_parse(const char *record, struct spf_record *r) {
  const char *p = record + 6, *redirect = NULL;
  size_t rlen = 0;
  bool seen_exp = false;

  memset(r, 0, sizeof(*r));
  r->valid = true;
  if (!spf_is_record(record)) {
    r->valid = false;
    problem(r->problem, "not an SPF record (no v=spf1)");
    return;
  }
  while (*p != '\0') {
    while (*p == ' ')
      p++;
    if (*p == '\0')
      break;
    size_t n = strcspn(p, " ");
    const char *eq = memchr(p, '=', n), *colon = memchr(p, ':', n);
    bool ok;
    if (eq != NULL && (colon == NULL || eq < colon)) {
      ok = modifier(r, p, n, eq, &redirect, &rlen, &seen_exp);
    } else {
      char qual = strchr("+-~?", *p) ? *p : '+';
      size_t q = strchr("+-~?", *p) ? 1 : 0;
      ok = n > q && mechanism(r, p + q, n - q, qual);
    }
    if (!ok && r->valid) {
      r->valid = false;
      problem(r->problem, "bad term '%.*s'", (int)(n > 60 ? 60 : n), p);
    }
    p += n;
  }
  /* RFC 7208 6.1: redirect is ignored when the record has "all". */
  if (redirect != NULL && !r->has_all) {
    r->lookups++;
    follow(r, redirect, rlen);
  }
}

/* ---- DMARC -------------------------------------------------------------- */

bool dmarc_is_record(const char *txt) {
  size_t n = strspn(txt, " \t");

  if (strncmp(txt + n, "v", 1) != 0)
    return false;
  n++;
  n += strspn(txt + n, " \t");
  if (txt[n] != '=')
    return false;
  n++;
  n += strspn(txt + n, " \t");
  return strncmp(txt + n, "DMARC1", 6) == 0 &&
         (txt[n + 6] == '\0' || txt[n + 6] == ';' || txt[n + 6] == ' ' ||
          txt[n + 6] == '\t');
}

/* Trims spaces and tabs around [*s, *s + *n). */
static void trim(const char **s, size_t *n) {
  while (*n > 0 && (**s == ' ' || **s == '\t'))
    (*s)++, (*n)--;
  while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
    (*n)--;
}

static bool policy_word(const char *v, size_t n, char *out) {
  static const char *const words[] = {"none", "quarantine", "reject"};

  for (size_t i = 0; i < 3; i++)
    if (n == strlen(words[i]) && strncasecmp(v, words[i], n) == 0) {
      snprintf(out, 16, "%s", words[i]);
      return true;
    }
  return false;
}

static void rua_list(struct dmarc_record *r, const char *v, size_t n) {
  while (n > 0) {
    const char *comma = memchr(v, ',', n);
    size_t len = comma ? (size_t)(comma - v) : n;
    const char *u = v;
    size_t ulen = len;
    trim(&u, &ulen);
    if (ulen == 0 || memchr(u, ':', ulen) == NULL) {
      r->valid = false;
      problem(r->problem, "bad rua address '%.*s'",
              (int)(ulen > 60 ? 60 : ulen), u);
    } else if (r->nrua < DMARC_MAX_RUA && ulen < IDP_NAME_MAX) {
      memcpy(r->rua[r->nrua], u, ulen);
      r->rua[r->nrua++][ulen] = '\0';
    }
    v += comma ? len + 1 : len;
    n -= comma ? len + 1 : len;
  }
}

/* One tag=value pair. */
static void dmarc_tag(struct dmarc_record *r, const char *t, size_t n,
                      bool *seen_p) {
  const char *eq = memchr(t, '=', n), *v;
  size_t klen, vlen;

  if (eq == NULL) {
    r->valid = false;
    problem(r->problem, "bad tag '%.*s'", (int)(n > 60 ? 60 : n), t);
    return;
  }
  klen = (size_t)(eq - t);
  v = eq + 1;
  vlen = n - klen - 1;
  trim(&t, &klen);
  trim(&v, &vlen);
#define KEY(k) (klen == strlen(k) && strncasecmp(t, k, klen) == 0)
  if (KEY("p")) {
    *seen_p = true;
    if (!policy_word(v, vlen, r->policy)) {
      r->valid = false;
      problem(r->problem, "bad policy p=%.*s", (int)(vlen > 30 ? 30 : vlen), v);
    }
  } else if (KEY("sp")) {
    if (!policy_word(v, vlen, r->subpolicy)) {
      r->valid = false;
      problem(r->problem, "bad policy sp=%.*s", (int)(vlen > 30 ? 30 : vlen),
              v);
    }
  } else if (KEY("pct")) {
    int pct = 0;
    bool ok = vlen > 0 && vlen <= 3;
    for (size_t i = 0; ok && i < vlen; i++) {
      ok = isdigit((unsigned char)v[i]);
      pct = pct * 10 + (v[i] - '0');
    }
    if (!ok || pct > 100) {
      r->valid = false;
      problem(r->problem, "bad pct=%.*s", (int)(vlen > 30 ? 30 : vlen), v);
    } else {
      r->pct = pct;
    }
  } else if (KEY("rua")) {
    rua_list(r, v, vlen);
  }
#undef KEY
}

void dmarc_parse(const char *record, struct dmarc_record *r) {
  const char *p = record;
  bool seen_p = false;

  memset(r, 0, sizeof(*r));
  r->valid = true;
  r->pct = 100;
  if (!dmarc_is_record(record)) {
    r->valid = false;
    problem(r->problem, "not a DMARC record (no v=DMARC1 first)");
    return;
  }
  p = strchr(record, ';');
  while (p != NULL && *p != '\0') {
    const char *t = p + 1;
    size_t n = strcspn(t, ";");
    const char *s = t;
    size_t sn = n;
    trim(&s, &sn);
    if (sn > 0)
      dmarc_tag(r, s, sn, &seen_p);
    p = t[n] == ';' ? t + n : NULL;
  }
  /* RFC 7489 6.6.3: without p= a record with a valid rua counts as
   * p=none; with neither it is no record at all. */
  if (!seen_p && r->nrua == 0) {
    r->valid = false;
    problem(r->problem, "no policy (p=)");
  } else if (!seen_p) {
    snprintf(r->policy, sizeof(r->policy), "none");
  }
}

/* ---- generic PTR names -------------------------------------------------- */

/* Words ISPs put in the names of end-user and dynamic addresses.  A label
 * part matches when it starts with one of them ("dynamic", "dsl-pool"). */
static const char *const generic_words[] = {
    "dynamic",   "dyn",         "dhcp",     "pool",  "dsl",
    "adsl",      "vdsl",        "xdsl",     "cable", "dialup",
    "dial-up",   "dial",        "ppp",      "pppoe", "client",
    "broadband", "residential", "customer", "cust",  "unassigned",
    "static",    "nat",         "user",     "host-", "ip-",
};

/* lower is the name in lower case. */
static bool has_word(const char *lower, char *why, size_t size) {
  for (size_t i = 0; i < sizeof(generic_words) / sizeof(generic_words[0]);
       i++) {
    const char *w = generic_words[i];
    size_t wl = strlen(w);
    for (const char *p = lower; (p = strstr(p, w)) != NULL; p++) {
      /* Word start: the name's start or after a separator or digit. */
      bool start = p == lower || !isalpha((unsigned char)p[-1]);
      /* Short words must end at a separator or digit ("dsl1", not
       * "dslr"); long ones may run on ("dynamicip"). */
      bool end = wl >= 7 || w[wl - 1] == '-' || !isalpha((unsigned char)p[wl]);
      if (start && end) {
        snprintf(why, size, "it has the word '%s'", w);
        return true;
      }
    }
  }
  return false;
}

/* The decimal numbers in name, in order (up to max). */
static size_t numbers(const char *name, unsigned *out, size_t max) {
  size_t n = 0;

  for (const char *p = name; *p != '\0' && n < max;) {
    if (!isdigit((unsigned char)*p)) {
      p++;
      continue;
    }
    unsigned v = 0;
    size_t len = 0;
    while (isdigit((unsigned char)*p)) {
      v = len < 4 ? v * 10 + (unsigned)(*p - '0') : 1000;
      p++, len++;
    }
    out[n++] = v;
  }
  return n;
}

static bool has_digits(const char *name, uint32_t a, char *why, size_t size) {
  unsigned oct[4] = {a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255};
  unsigned nums[64];
  size_t n = numbers(name, nums, 64);
  char pad[16], hex[16];

  for (size_t i = 0; i + 4 <= n; i++) {
    bool fwd = true, rev = true;
    for (int k = 0; k < 4; k++) {
      fwd = fwd && nums[i + (size_t)k] == oct[k];
      rev = rev && nums[i + (size_t)k] == oct[3 - k];
    }
    if (fwd || rev) {
      snprintf(why, size, "it holds the address%s", fwd ? "" : ", reversed");
      return true;
    }
  }
  snprintf(pad, sizeof(pad), "%03u%03u%03u%03u", oct[0], oct[1], oct[2],
           oct[3]);
  snprintf(hex, sizeof(hex), "%08x", (unsigned)a);
  if (strstr(name, pad) != NULL || strstr(name, hex) != NULL) {
    snprintf(why, size, "it holds the address as %s",
             strstr(name, pad) ? pad : hex);
    return true;
  }
  return false;
}

bool ptr_generic(const char *name, uint32_t addr4, char *why, size_t size) {
  char dummy[8], lower[IDP_NAME_MAX];
  size_t n = strlen(name);

  if (why == NULL || size == 0) {
    why = dummy;
    size = sizeof(dummy);
  }
  why[0] = '\0';
  if (n >= sizeof(lower))
    n = sizeof(lower) - 1;
  for (size_t i = 0; i < n; i++)
    lower[i] = (char)tolower((unsigned char)name[i]);
  lower[n] = '\0';
  if (addr4 != 0 && has_digits(lower, addr4, why, size))
    return true;
  return has_word(lower, why, size);
}
