/* Targets: what blwatch watches.  Parsing of "192.0.2.0/28", "2001:db8::1",
 * "example.com" and "host NAME" entries, and expansion of ranges. */
#ifndef BW_TARGET_H
#define BW_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

enum target_kind {
  TARGET_IP4,    /* one IPv4 address or range */
  TARGET_IP6,    /* one IPv6 address or range */
  TARGET_DOMAIN, /* checked on domain lists */
  TARGET_HOST,   /* resolved to A and AAAA; each address checked */
};

/* Ranges larger than this are refused unless [targets] max_range says. */
#define TARGET_DEFAULT_MAX_RANGE 65536

struct target_spec {
  enum target_kind kind;
  uint8_t addr[16]; /* IPv4 in the first 4 bytes, network order */
  unsigned prefix;  /* 32 or 128 for a single address */
  char *name;       /* domain or host name, lowercase, no trailing dot */
  char *label;      /* NULL when none */
};

/* Parses one target in text.  kind_hint is TARGET_HOST for `host =` lines
 * (text must then be a name), TARGET_DOMAIN for `domain =` lines, and
 * TARGET_IP4 for `ip =` lines (text must be an address or range, either
 * family).  Pass -1 to accept anything: addresses and ranges become IP
 * targets, names become domains.  max_range caps the addresses in a range.
 * The caller owns out's strings and frees them with target_spec_free(). */
enum bw_err target_parse(const char *text, const char *label, int kind_hint,
                         uint64_t max_range, struct target_spec *out,
                         char *err);

void target_spec_free(struct target_spec *t);

/* Number of addresses in an address target (1 for a single address). */
uint64_t target_count(const struct target_spec *t);

/* Writes the i-th address of an address target into addr (16 bytes, IPv4
 * in the first 4). */
void target_nth(const struct target_spec *t, uint64_t i, uint8_t addr[16]);

/* Parses a line of a target file: "ADDR|RANGE|DOMAIN [LABEL]" or
 * "host NAME [LABEL]". */
enum bw_err target_parse_line(char *line, uint64_t max_range,
                              struct target_spec *out, char *err);

/* Formats an address of the given family (AF_INET/AF_INET6 semantics via
 * is_v6) into buf (46 bytes). */
char *target_addr_str(const uint8_t addr[16], bool is_v6, char *buf);

#endif
