/* DNS names: validation and the query names DNSBLs expect (RFC 5782). */
#ifndef BW_QNAME_H
#define BW_QNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest name in text form without the trailing dot. */
#define QNAME_MAX 253

/* True for a syntactically valid host/zone name: labels of 1-63 letters,
 * digits, '-' and '_', not starting or ending with '-', at most QNAME_MAX
 * characters, an optional trailing dot. */
bool qname_valid(const char *name);

/* Writes "a.b" into buf.  Returns 0, or -1 when the result would be
 * longer than QNAME_MAX or does not fit in size. */
int qname_join(char *buf, size_t size, const char *a, const char *b);

/* "d.c.b.a.<zone>" for IPv4 address a.b.c.d (host byte order).  The same
 * return convention as qname_join. */
int qname_ip4(char *buf, size_t size, uint32_t addr, const char *zone);

/* The 32 reversed lowercase nibbles of an IPv6 address, then the zone. */
int qname_ip6(char *buf, size_t size, const uint8_t addr[16],
              const char *zone);

#endif
