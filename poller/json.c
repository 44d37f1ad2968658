#include "json.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <time.h>

void json_str(FILE *out, const char *s) {
  static const char hex[] = "0123456789abcdef";

  if (s == NULL) {
    fputs("null", out);
    return;
  }
  putc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    switch (*p) {
    case '"':
      fputs("\\\"", out);
      break;
    case '\\':
      fputs("\\\\", out);
      break;
    case '\n':
      fputs("\\n", out);
      break;
    case '\t':
      fputs("\\t", out);
      break;
    default:
      if (*p < 0x20 || *p == 0x7f) {
        fputs("\\u00", out);
        putc(hex[*p >> 4], out);
        putc(hex[*p & 0xf], out);
      } else {
        putc(*p, out);
      }
    }
  }
  putc('"', out);
}

const char *json_code_meaning(const struct zone *z, enum zone_result r,
                              uint32_t code, char *buf, size_t size) {
  if (r == ZR_BOGUS)
    return "not a DNSBL answer (outside 127.0.0.0/8)";
  if (r == ZR_REFUSED)
    return zone_refusal_meaning(z, code);
  return zone_code_meaning(z, code, buf, size);
}

char *json_codes(const struct zone_answer *a, char *buf, size_t size) {
  size_t used = 0;
  char ip[16];

  used += (size_t)snprintf(buf, size, "[");
  for (size_t i = 0; i < a->ncodes && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, "%s\"%s\"",
                             i ? "," : "", zone_ip4_str(a->codes[i], ip));
  if (used < size)
    snprintf(buf + used, size - used, "]");
  return buf;
}

char *json_meanings(const struct zone *z, const struct zone_answer *a) {
  char *text = NULL, meaning[256];
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);

  if (out == NULL)
    return NULL;
  fputs("[", out);
  for (size_t i = 0; i < a->ncodes; i++) {
    fputs(i ? "," : "", out);
    json_str(out, json_code_meaning(z, a->result, a->codes[i], meaning,
                                    sizeof(meaning)));
  }
  fputs("]", out);
  fclose(out);
  return text;
}

void json_parse_codes(const char *json, struct zone_answer *out) {
  const char *p = json;

  out->result = ZR_LISTED;
  out->ncodes = 0;
  while ((p = strchr(p, '"')) != NULL && out->ncodes < ZONE_MAX_CODES) {
    const char *end = strchr(p + 1, '"');
    char ip[16];
    struct in_addr in;
    if (end == NULL)
      break;
    if ((size_t)(end - p - 1) < sizeof(ip)) {
      memcpy(ip, p + 1, (size_t)(end - p - 1));
      ip[end - p - 1] = '\0';
      if (inet_pton(AF_INET, ip, &in) == 1)
        out->codes[out->ncodes++] = ntohl(in.s_addr);
    }
    p = end + 1;
  }
}

char *rfc3339(int64_t t, char *buf) {
  time_t tt = (time_t)t;
  struct tm tm;

  gmtime_r(&tt, &tm);
  strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

static char unescape(const char **p) {
  char c = *(*p)++;
  unsigned v = 0;

  switch (c) {
  case 'n':
    return '\n';
  case 't':
    return '\t';
  case 'r':
    return '\r';
  case 'b':
  case 'f':
    return ' ';
  case 'u':
    for (int i = 0; i < 4 && **p != '\0'; i++, (*p)++)
      v = v * 16 + (unsigned)(isdigit((unsigned char)**p)
                                  ? **p - '0'
                                  : (tolower((unsigned char)**p) - 'a' + 10));
    return v < 0x80 ? (char)v : '?';
  default:
    return c; /* \" \\ \/ */
  }
}

bool json_next_string(const char **p, char *out, size_t size) {
  const char *s = strchr(*p, '"');
  size_t used = 0;

  if (s == NULL)
    return false;
  for (s++; *s != '\0' && *s != '"';) {
    char c = *s == '\\' && s[1] != '\0' ? (s++, unescape(&s)) : *s++;
    if (used + 1 < size)
      out[used++] = c;
  }
  out[used] = '\0';
  *p = *s == '"' ? s + 1 : s;
  return true;
}

void json_event(FILE *out, const struct store_event *e) {
  char when[32];

  fputs("{\"type\":", out);
  json_str(out, e->type);
  fputs(",\"target\":", out);
  json_str(out, e->target_key);
  fputs(",\"label\":", out);
  json_str(out, e->label);
  fputs(",\"list\":", out);
  json_str(out, e->list);
  fputs(",\"zone\":", out);
  json_str(out, e->zone);
  fputs(",\"result\":", out);
  json_str(out, e->result);
  fprintf(out, ",\"codes\":%s,\"meanings\":%s,\"reason\":",
          e->codes ? e->codes : "[]", e->meanings ? e->meanings : "[]");
  json_str(out, e->reason);
  fputs(",\"delist\":", out);
  json_str(out, e->delist);
  fputs(",\"detail\":", out);
  json_str(out, e->detail);
  fprintf(out, ",\"at\":\"%s\"}", rfc3339(e->at, when));
}
