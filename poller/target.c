#include "target.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ini.h"
#include "qname.h"

void target_spec_free(struct target_spec *t) {
  free(t->name);
  free(t->label);
  t->name = NULL;
  t->label = NULL;
}

char *target_addr_str(const uint8_t addr[16], bool is_v6, char *buf) {
  inet_ntop(is_v6 ? AF_INET6 : AF_INET, addr, buf, 46);
  return buf;
}

uint64_t target_count(const struct target_spec *t) {
  unsigned bits = (t->kind == TARGET_IP4 ? 32 : 128) - t->prefix;

  return bits >= 64 ? UINT64_MAX : (uint64_t)1 << bits;
}

void target_nth(const struct target_spec *t, uint64_t i, uint8_t addr[16]) {
  int len = t->kind == TARGET_IP4 ? 4 : 16;
  unsigned carry = 0;

  memcpy(addr, t->addr, 16);
  /* Adds i to the network address, byte by byte from the end. */
  for (int b = len - 1; b >= 0 && (i > 0 || carry); b--) {
    unsigned sum = addr[b] + (unsigned)(i & 0xff) + carry;
    addr[b] = (uint8_t)sum;
    carry = sum >> 8;
    i >>= 8;
  }
}

/* Zeroes the host bits, so 192.0.2.7/24 means 192.0.2.0/24. */
static void mask_host_bits(uint8_t *addr, int len, unsigned prefix) {
  for (int b = 0; b < len; b++) {
    int keep = (int)prefix - b * 8;
    if (keep >= 8)
      continue;
    addr[b] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
  }
}

static enum bw_err parse_addr(const char *text, uint64_t max_range,
                              struct target_spec *out, char *err) {
  char buf[64];
  char *slash;
  uint64_t prefix;
  int len;

  if (strlen(text) >= sizeof(buf))
    return bw_fail(err, BW_EINVAL, "'%.60s' is not an address", text);
  memcpy(buf, text, strlen(text) + 1);
  slash = strchr(buf, '/');
  if (slash != NULL)
    *slash = '\0';
  memset(out->addr, 0, sizeof(out->addr));
  if (inet_pton(AF_INET, buf, out->addr) == 1) {
    out->kind = TARGET_IP4;
    len = 4;
  } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
    out->kind = TARGET_IP6;
    len = 16;
  } else {
    return bw_fail(err, BW_EINVAL, "'%.60s' is not an IP address", text);
  }
  out->prefix = (unsigned)len * 8;
  if (slash != NULL) {
    if (ini_uint(slash + 1, (uint64_t)len * 8, &prefix, err) != BW_OK)
      return bw_fail(err, BW_EINVAL, "'%.60s': prefix length must be 0-%d",
                     text, len * 8);
    out->prefix = (unsigned)prefix;
  }
  if (target_count(out) > max_range)
    return bw_fail(err, BW_ERANGE,
                   "range %.60s has more than %llu addresses; raise "
                   "[targets] max_range to allow it",
                   text, (unsigned long long)max_range);
  mask_host_bits(out->addr, len, out->prefix);
  return BW_OK;
}

static enum bw_err parse_name(const char *text, enum target_kind kind,
                              struct target_spec *out, char *err) {
  size_t len = strlen(text);
  struct in_addr a4;
  char *name;

  /* A trailing dot (the fully qualified form) is dropped before the name
   * is judged, so "example." is one label and "1.2.3.4." an address. */
  if (!qname_valid(text) || (name = strdup(text)) == NULL)
    return bw_fail(err, BW_EINVAL, "'%.60s' is not a valid domain name",
                   text);
  if (len > 0 && name[len - 1] == '.')
    name[len - 1] = '\0';
  for (char *p = name; *p != '\0'; p++)
    *p = (char)tolower((unsigned char)*p);
  if (strchr(name, '.') == NULL || inet_pton(AF_INET, name, &a4) == 1) {
    free(name);
    return bw_fail(err, BW_EINVAL,
                   strchr(text, '.') && strchr(text, '.')[1] != '\0'
                       ? "'%.60s' is an address, not a name (use ip =)"
                       : "'%.60s' is not a valid domain name (it needs a "
                         "dot)",
                   text);
  }
  out->kind = kind;
  out->name = name;
  return BW_OK;
}

static bool looks_like_addr(const char *text) {
  /* A name has a letter in its last label; an address never does except
   * in IPv6, which always has a ':'.  A trailing dot ends a name. */
  size_t len = strlen(text);
  const char *last;

  if (strchr(text, ':') != NULL)
    return true;
  if (len > 0 && text[len - 1] == '.')
    return false;
  last = strrchr(text, '.');
  last = last != NULL ? last + 1 : text;
  for (; *last != '\0' && *last != '/'; last++)
    if (isalpha((unsigned char)*last))
      return false;
  return true;
}

enum bw_err target_parse(const char *text, const char *label, int kind_hint,
                         uint64_t max_range, struct target_spec *out,
                         char *err) {
  enum bw_err rc;

  memset(out, 0, sizeof(*out));
  if (kind_hint == -1 && strncasecmp(text, "host:", 5) == 0) {
    kind_hint = TARGET_HOST;
    text += 5;
  }
  if (kind_hint == TARGET_HOST || kind_hint == TARGET_DOMAIN)
    rc = parse_name(text, (enum target_kind)kind_hint, out, err);
  else if (kind_hint == TARGET_IP4 || looks_like_addr(text))
    rc = parse_addr(text, max_range, out, err);
  else
    rc = parse_name(text, TARGET_DOMAIN, out, err);
  if (rc == BW_OK && label != NULL && *label != '\0') {
    out->label = strdup(label);
    if (out->label == NULL)
      rc = bw_fail(err, BW_ENOMEM, "out of memory");
  }
  if (rc != BW_OK)
    target_spec_free(out);
  return rc;
}

enum bw_err target_parse_line(char *line, uint64_t max_range,
                              struct target_spec *out, char *err) {
  int hint = -1;
  char *word = line, *rest;
  size_t n = strcspn(word, " \t");

  if (n == 4 && strncasecmp(word, "host", 4) == 0) {
    hint = TARGET_HOST;
    word = ini_trim(word + 4);
    n = strcspn(word, " \t");
  }
  rest = word + n;
  if (*rest != '\0')
    *rest++ = '\0';
  rest = ini_trim(rest);
  if (*word == '\0')
    return bw_fail(err, BW_EINVAL, "'host' needs a name");
  return target_parse(word, rest, hint, max_range, out, err);
}
