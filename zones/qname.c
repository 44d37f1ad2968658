#include "qname.h"

#include <ctype.h>
#include <string.h>

bool qname_valid(const char *name) {
  size_t len = strlen(name), label = 0;

  if (len > 0 && name[len - 1] == '.')
    len--;
  if (len == 0 || len > QNAME_MAX)
    return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c == '.') {
      if (label == 0 || name[i - 1] == '-')
        return false;
      label = 0;
      continue;
    }
    if (!isalnum(c) && c != '-' && c != '_')
      return false;
    if (c == '-' && label == 0)
      return false;
    if (++label > 63)
      return false;
  }
  return label > 0 && name[len - 1] != '-';
}

int qname_join(char *buf, size_t size, const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);

  if (la + 1 + lb > QNAME_MAX || la + 1 + lb + 1 > size)
    return -1;
  memcpy(buf, a, la);
  buf[la] = '.';
  memcpy(buf + la + 1, b, lb + 1);
  return 0;
}

/* Appends the decimal form of an octet; returns the new end. */
static char *put_octet(char *p, unsigned v) {
  if (v >= 100)
    *p++ = (char)('0' + v / 100);
  if (v >= 10)
    *p++ = (char)('0' + v / 10 % 10);
  *p++ = (char)('0' + v % 10);
  return p;
}

/* Called on the poller's hot path for every query: no stdio. */
int qname_ip4(char *buf, size_t size, uint32_t addr, const char *zone) {
  size_t lz = strlen(zone);
  char *p = buf;

  if (16 + lz > QNAME_MAX || 16 + lz + 1 > size)
    return -1;
  for (int shift = 0; shift < 32; shift += 8) {
    p = put_octet(p, (addr >> shift) & 0xff);
    *p++ = '.';
  }
  memcpy(p, zone, lz + 1);
  return 0;
}

int qname_ip6(char *buf, size_t size, const uint8_t addr[16],
              const char *zone) {
  static const char hex[] = "0123456789abcdef";
  size_t lz = strlen(zone);
  char *p = buf;

  if (64 + lz > QNAME_MAX || 64 + lz + 1 > size)
    return -1;
  for (int i = 15; i >= 0; i--) {
    *p++ = hex[addr[i] & 0xf];
    *p++ = '.';
    *p++ = hex[addr[i] >> 4];
    *p++ = '.';
  }
  memcpy(p, zone, lz + 1);
  return 0;
}
