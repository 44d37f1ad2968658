/* Unit tests for poller/target.c: parsing targets and walking ranges. */
#include "testutil.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include "target.h"

#define DEF TARGET_DEFAULT_MAX_RANGE
#define ANY (-1)

static void expect_line(const char *line, enum target_kind kind,
                        const char *text, const char *label);

static const char *addr_str(const struct target_spec *t, const uint8_t *a,
                            char *buf) {
  return target_addr_str(a, t->kind == TARGET_IP6, buf);
}

/* Parses text and checks kind, network address and prefix. */
static void expect_addr(const char *text, int hint, enum target_kind kind,
                        const char *net, unsigned prefix, uint64_t count) {
  struct target_spec t;
  char err[BW_ERRLEN] = "";
  char buf[64];

  if (target_parse(text, NULL, hint, DEF, &t, err) != BW_OK)
    fail_msg("'%s': %s", text, err);
  assert_int_equal(t.kind, kind);
  assert_string_equal(addr_str(&t, t.addr, buf), net);
  assert_int_equal(t.prefix, prefix);
  assert_true(target_count(&t) == count);
  assert_null(t.name);
  assert_null(t.label);
  target_spec_free(&t);
}

/* Parses text, expects rc and an error mentioning word. */
static void expect_fail(const char *text, int hint, uint64_t max_range,
                        enum bw_err rc, const char *word) {
  struct target_spec t;
  char err[BW_ERRLEN] = "";

  enum bw_err got = target_parse(text, "label", hint, max_range, &t, err);
  if (got != rc) {
    if (got == BW_OK)
      target_spec_free(&t); /* no leak report on top of the failure */
    fail_msg("'%s' should fail with %d, got %d (%s)", text, rc, got, err);
  }
  tu_assert_contains(err, word);
  assert_null(t.name);
  assert_null(t.label);
}

static void single_addresses(void **state) {
  (void)state;
  expect_addr("192.0.2.10", ANY, TARGET_IP4, "192.0.2.10", 32, 1);
  expect_addr("192.0.2.10", TARGET_IP4, TARGET_IP4, "192.0.2.10", 32, 1);
  expect_addr("2001:db8::25", ANY, TARGET_IP6, "2001:db8::25", 128, 1);
  /* `ip =` takes either family. */
  expect_addr("2001:DB8::25", TARGET_IP4, TARGET_IP6, "2001:db8::25", 128,
              1);
  expect_addr("::ffff:192.0.2.1", ANY, TARGET_IP6, "::ffff:192.0.2.1", 128,
              1);
  expect_addr("192.0.2.1/32", ANY, TARGET_IP4, "192.0.2.1", 32, 1);
  expect_addr("2001:db8::1/128", ANY, TARGET_IP6, "2001:db8::1", 128, 1);
}

static void ranges_mask_host_bits(void **state) {
  (void)state;
  expect_addr("198.51.100.0/28", ANY, TARGET_IP4, "198.51.100.0", 28, 16);
  expect_addr("192.0.2.7/24", ANY, TARGET_IP4, "192.0.2.0", 24, 256);
  expect_addr("192.0.2.77/27", ANY, TARGET_IP4, "192.0.2.64", 27, 32);
  expect_addr("192.0.2.255/31", ANY, TARGET_IP4, "192.0.2.254", 31, 2);
  expect_addr("10.1.255.255/16", ANY, TARGET_IP4, "10.1.0.0", 16, 65536);
  expect_addr("2001:db8::1234/120", ANY, TARGET_IP6, "2001:db8::1200", 120,
              256);
  expect_addr("2001:db8::abcd/126", ANY, TARGET_IP6, "2001:db8::abcc", 126,
              4);
  expect_addr("2001:db8::ffff:ffff/112", ANY, TARGET_IP6,
              "2001:db8::ffff:0", 112, 65536);
  /* A leading zero in the prefix is still a number. */
  expect_addr("192.0.2.9/030", ANY, TARGET_IP4, "192.0.2.8", 30, 4);
}

static void max_range_cap(void **state) {
  struct target_spec t;
  char err[BW_ERRLEN] = "";
  char buf[64];

  (void)state;
  /* 65,536 addresses is the default cap, for both families. */
  expect_fail("10.0.0.0/15", ANY, DEF, BW_ERANGE, "max_range");
  expect_fail("2001:db8::/111", ANY, DEF, BW_ERANGE, "max_range");
  expect_fail("2001:db8::/64", ANY, DEF, BW_ERANGE, "max_range");
  expect_fail("0.0.0.0/0", ANY, DEF, BW_ERANGE, "max_range");
  expect_fail("::/0", ANY, DEF, BW_ERANGE, "max_range");
  expect_fail("192.0.2.0/24", ANY, 255, BW_ERANGE, "max_range");
  expect_fail("192.0.2.0/31", ANY, 1, BW_ERANGE, "more than 1 addresses");

  /* Raising the cap lets them through. */
  assert_int_equal(target_parse("10.0.0.0/15", NULL, ANY, 131072, &t, err),
                   BW_OK);
  assert_true(target_count(&t) == 131072);
  target_spec_free(&t);
  assert_int_equal(
      target_parse("10.9.8.7/0", NULL, ANY, 1ULL << 32, &t, err), BW_OK);
  assert_string_equal(addr_str(&t, t.addr, buf), "0.0.0.0");
  assert_int_equal(t.prefix, 0);
  assert_true(target_count(&t) == 1ULL << 32);
  target_spec_free(&t);
  assert_int_equal(target_parse("192.0.2.0/24", NULL, ANY, 256, &t, err),
                   BW_OK);
  target_spec_free(&t);
  /* IPv6 ranges too large to count are never below a cap. */
  expect_fail("2001:db8::/32", ANY, 1ULL << 32, BW_ERANGE, "max_range");
}

static void bad_prefixes(void **state) {
  static const char *bad[] = {"192.0.2.0/33", "192.0.2.0/", "192.0.2.0/-1",
                              "192.0.2.0/x",  "192.0.2.0/24/24",
                              "192.0.2.0/+8", "2001:db8::/129",
                              "2001:db8::/",  "192.0.2.0/99999999999999999"};

  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    expect_fail(bad[i], ANY, DEF, BW_EINVAL, "prefix length must be 0-");
}

static void bad_addresses(void **state) {
  static const char *bad[] = {"300.1.1.1", "192.0.2",     "192.0.2.1.5",
                              "1.2.3.4a",  "2001:db8:::1", "::g",
                              "",          "/24",          "192.0.2.1 x"};

  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    expect_fail(bad[i], TARGET_IP4, DEF, BW_EINVAL, "not an");
  /* `ip =` never takes a name. */
  expect_fail("example.com", TARGET_IP4, DEF, BW_EINVAL,
              "not an IP address");
  /* Guessing: a number-only last label is an address. */
  expect_fail("192.0.2.300", ANY, DEF, BW_EINVAL, "not an IP address");
  expect_fail("12345", ANY, DEF, BW_EINVAL, "not an IP address");
  /* Very long input is refused without overflowing anything. */
  char longtext[600];
  memset(longtext, '1', sizeof(longtext) - 1);
  longtext[sizeof(longtext) - 1] = '\0';
  expect_fail(longtext, ANY, DEF, BW_EINVAL, "not an");
}

static void expect_name(const char *text, int hint, enum target_kind kind,
                        const char *name) {
  struct target_spec t;
  char err[BW_ERRLEN] = "";

  if (target_parse(text, NULL, hint, DEF, &t, err) != BW_OK)
    fail_msg("'%s': %s", text, err);
  assert_int_equal(t.kind, kind);
  assert_string_equal(t.name, name);
  target_spec_free(&t);
  assert_null(t.name);
}

static void names(void **state) {
  (void)state;
  expect_name("example.com", ANY, TARGET_DOMAIN, "example.com");
  expect_name("Example.COM.", TARGET_DOMAIN, TARGET_DOMAIN, "example.com");
  expect_name("mail.example.com", TARGET_DOMAIN, TARGET_DOMAIN,
              "mail.example.com");
  expect_name("MX1.Example.com", TARGET_HOST, TARGET_HOST,
              "mx1.example.com");
  expect_name("host:MX1.Example.com.", ANY, TARGET_HOST, "mx1.example.com");
  expect_name("HOST:mx1.example.com", ANY, TARGET_HOST, "mx1.example.com");
  expect_name("1.2.3.example", ANY, TARGET_DOMAIN, "1.2.3.example");
  expect_name("xn--bcher-kva.example", ANY, TARGET_DOMAIN,
              "xn--bcher-kva.example");
}

static void invalid_names(void **state) {
  static const char *bad[] = {"localhost", "example",   "-bad.example",
                              "bad-.example", "a..b",   "exa mple.com",
                              "exa_mple.com/24", "",    ".",
                              "host:",     "host:-x.example"};

  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    expect_fail(bad[i], strncmp(bad[i], "host:", 5) == 0 ? ANY
                                                          : TARGET_DOMAIN,
                DEF, BW_EINVAL, "not a valid domain name");
  expect_fail("localhost", TARGET_HOST, DEF, BW_EINVAL,
              "not a valid domain name");
  /* Without a hint, a lone word with letters is a name, and invalid. */
  expect_fail("localhost", ANY, DEF, BW_EINVAL, "not a valid domain name");
}

/* Fixed bug, kept as a regression test: qname_valid() accepts two trailing dots, so `domain =
 * example.com..` is taken and stored as "example.com." (then queried as
 * "example.com..dbl.spamhaus.org"). */
static void fixed_domain_with_two_trailing_dots(void **state) {
  (void)state;
  expect_fail("example.com..", TARGET_DOMAIN, DEF, BW_EINVAL,
              "not a valid domain name");
}

/* Fixed bug, kept as a regression test: without a hint (command line, target files) a fully qualified name
 * with its trailing dot is taken for an address: looks_like_addr() looks
 * at the empty label after the last dot, finds no letter, and the name is
 * refused with "'example.com.' is not an IP address". */
static void fixed_trailing_dot_name_without_hint(void **state) {
  (void)state;
  expect_name("Example.COM.", ANY, TARGET_DOMAIN, "example.com");
  expect_line("mail.example.com. sending-domain", TARGET_DOMAIN,
              "mail.example.com", "sending-domain");
}

static void labels(void **state) {
  struct target_spec t;
  char err[BW_ERRLEN] = "";

  (void)state;
  assert_int_equal(target_parse("192.0.2.10", "mx-out-1", ANY, DEF, &t, err),
                   BW_OK);
  assert_string_equal(t.label, "mx-out-1");
  target_spec_free(&t);
  assert_null(t.label);
  assert_int_equal(target_parse("example.com", "", ANY, DEF, &t, err),
                   BW_OK);
  assert_null(t.label);
  target_spec_free(&t);
}

/* ---- ranges ------------------------------------------------------------ */

static void parse_ok(const char *text, uint64_t max, struct target_spec *t) {
  char err[BW_ERRLEN] = "";

  if (target_parse(text, NULL, ANY, max, t, err) != BW_OK)
    fail_msg("'%s': %s", text, err);
}

static void expect_nth(const struct target_spec *t, uint64_t i,
                       const char *want) {
  uint8_t a[16];
  char buf[64];

  memset(a, 0xee, sizeof(a));
  target_nth(t, i, a);
  assert_string_equal(addr_str(t, a, buf), want);
}

static void walk_ipv4_28(void **state) {
  struct target_spec t;
  uint8_t a[16];
  char buf[64], want[64];

  (void)state;
  parse_ok("198.51.100.21/28", DEF, &t);
  assert_true(target_count(&t) == 16);
  for (uint64_t i = 0; i < 16; i++) {
    snprintf(want, sizeof(want), "198.51.100.%u", (unsigned)(16 + i));
    target_nth(&t, i, a);
    assert_string_equal(addr_str(&t, a, buf), want);
  }
  /* A single address is its own 0th. */
  target_spec_free(&t);
  parse_ok("203.0.113.5", DEF, &t);
  expect_nth(&t, 0, "203.0.113.5");
  target_spec_free(&t);
}

static void walk_ipv6_120(void **state) {
  struct target_spec t;

  (void)state;
  parse_ok("2001:db8:7ca6:22::45/120", DEF, &t);
  assert_true(target_count(&t) == 256);
  expect_nth(&t, 0, "2001:db8:7ca6:22::");
  expect_nth(&t, 1, "2001:db8:7ca6:22::1");
  expect_nth(&t, 0x45, "2001:db8:7ca6:22::45");
  expect_nth(&t, 255, "2001:db8:7ca6:22::ff");
  target_spec_free(&t);
}

static void walk_carries_across_octets(void **state) {
  struct target_spec t;

  (void)state;
  parse_ok("192.0.2.0/23", DEF, &t);
  expect_nth(&t, 255, "192.0.2.255");
  expect_nth(&t, 256, "192.0.3.0");
  expect_nth(&t, 511, "192.0.3.255");
  target_spec_free(&t);

  /* The network address itself has bits set below the carry. */
  parse_ok("10.0.255.128/25", DEF, &t);
  expect_nth(&t, 127, "10.0.255.255");
  target_spec_free(&t);

  parse_ok("10.0.0.0/8", 1ULL << 24, &t);
  expect_nth(&t, 65536 + 256 + 1, "10.1.1.1");
  expect_nth(&t, (1 << 24) - 1, "10.255.255.255");
  target_spec_free(&t);

  parse_ok("0.0.0.0/0", 1ULL << 32, &t);
  expect_nth(&t, 0xC0000201u, "192.0.2.1");
  expect_nth(&t, 0xFFFFFFFFu, "255.255.255.255");
  target_spec_free(&t);

  parse_ok("2001:db8::ff00/112", DEF, &t);
  expect_nth(&t, 0x1ff, "2001:db8::1ff");
  expect_nth(&t, 0xffff, "2001:db8::ffff");
  target_spec_free(&t);

  parse_ok("2001:db8::/104", 1ULL << 24, &t);
  expect_nth(&t, 0x010203, "2001:db8::1:203");
  expect_nth(&t, 0xffffff, "2001:db8::ff:ffff");
  target_spec_free(&t);
}

/* ---- target file lines ------------------------------------------------- */

/* Parses a copy of line and checks kind, text form and label. */
static void expect_line(const char *line, enum target_kind kind,
                        const char *text, const char *label) {
  struct target_spec t;
  char copy[256], err[BW_ERRLEN] = "", buf[64];

  snprintf(copy, sizeof(copy), "%s", line);
  if (target_parse_line(copy, DEF, &t, err) != BW_OK)
    fail_msg("'%s': %s", line, err);
  assert_int_equal(t.kind, kind);
  if (t.name != NULL) {
    assert_string_equal(t.name, text);
  } else {
    target_addr_str(t.addr, kind == TARGET_IP6, buf);
    if (t.prefix != (kind == TARGET_IP6 ? 128u : 32u))
      snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%u",
               t.prefix);
    assert_string_equal(buf, text);
  }
  if (label == NULL)
    assert_null(t.label);
  else
    assert_string_equal(t.label, label);
  target_spec_free(&t);
}

static void file_lines(void **state) {
  (void)state;
  expect_line("192.0.2.10", TARGET_IP4, "192.0.2.10", NULL);
  expect_line("192.0.2.10 mx-out-1", TARGET_IP4, "192.0.2.10", "mx-out-1");
  expect_line("192.0.2.10\tmx-out-1", TARGET_IP4, "192.0.2.10", "mx-out-1");
  expect_line("198.51.100.3/28   outbound pool  ", TARGET_IP4,
              "198.51.100.0/28", "outbound pool");
  expect_line("2001:db8::25 v6", TARGET_IP6, "2001:db8::25", "v6");
  expect_line("example.com", TARGET_DOMAIN, "example.com", NULL);
  expect_line("Example.com sending-domain", TARGET_DOMAIN, "example.com",
              "sending-domain");
  expect_line("host mx1.example.com", TARGET_HOST, "mx1.example.com", NULL);
  expect_line("host mx1.example.com mx-out-1", TARGET_HOST,
              "mx1.example.com", "mx-out-1");
  expect_line("HOST\tMX1.example.com  edge", TARGET_HOST, "mx1.example.com",
              "edge");
  expect_line("host:mx2.example.com lab", TARGET_HOST, "mx2.example.com",
              "lab");
  /* "host" is only the keyword as a word of its own. */
  expect_line("hostname.example.com", TARGET_DOMAIN, "hostname.example.com",
              NULL);
  expect_line("host.example.com x", TARGET_DOMAIN, "host.example.com", "x");
}

static void file_line_errors(void **state) {
  static const struct {
    const char *line;
    enum bw_err rc;
    const char *word;
  } bad[] = {
      {"host", BW_EINVAL, "'host' needs a name"},
      {"host  ", BW_EINVAL, "'host' needs a name"},
      {"host localhost", BW_EINVAL, "not a valid domain name"},
      {"host 2001:db8::1", BW_EINVAL, "not a valid domain name"},
      {"10.0.0.0/8 big", BW_ERANGE, "max_range"},
      {"192.0.2.0/40 x", BW_EINVAL, "prefix length"},
      {"not_a_name x", BW_EINVAL, "not a valid domain name"},
      {"300.0.0.1", BW_EINVAL, "not an IP address"},
  };
  struct target_spec t;
  char copy[64], err[BW_ERRLEN];

  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(copy, sizeof(copy), "%s", bad[i].line);
    err[0] = '\0';
    enum bw_err got = target_parse_line(copy, DEF, &t, err);
    if (got != bad[i].rc) {
      if (got == BW_OK)
        target_spec_free(&t);
      fail_msg("'%s' should fail with %d, got %d (%s)", bad[i].line,
               bad[i].rc, got, err);
    }
    tu_assert_contains(err, bad[i].word);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(single_addresses),
      cmocka_unit_test(ranges_mask_host_bits),
      cmocka_unit_test(max_range_cap),
      cmocka_unit_test(bad_prefixes),
      cmocka_unit_test(bad_addresses),
      cmocka_unit_test(names),
      cmocka_unit_test(invalid_names),
      cmocka_unit_test(fixed_domain_with_two_trailing_dots),
      cmocka_unit_test(fixed_trailing_dot_name_without_hint),
      cmocka_unit_test(labels),
      cmocka_unit_test(walk_ipv4_28),
      cmocka_unit_test(walk_ipv6_120),
      cmocka_unit_test(walk_carries_across_octets),
      cmocka_unit_test(file_lines),
      cmocka_unit_test(file_line_errors),
  };

  tu_init();
  return cmocka_run_group_tests(tests, NULL, tu_cleanup);
}
