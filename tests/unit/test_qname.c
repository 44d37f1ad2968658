/* Unit tests for zones/qname.c: name validation and the query names of
 * RFC 5782. */
#include "testutil.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include "qname.h"

/* A string of n copies of c (n < size). */
static char *repeat(char *buf, size_t size, size_t n, char c) {
  assert_true(n < size);
  memset(buf, c, n);
  buf[n] = '\0';
  return buf;
}

static void valid_names(void **state) {
  static const char *good[] = {
      "a",
      "com",
      "example.com",
      "example.com.",
      "zen.spamhaus.org",
      "Mixed-Case.Example.ORG",
      "1.2.3.4",
      "_dmarc.example.com",
      "xn--bcher-kva.example",
      "a-b.c-d.e",
      "0spam.org",
  };

  (void)state;
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
    if (!qname_valid(good[i]))
      fail_msg("'%s' should be valid", good[i]);
}

static void invalid_names(void **state) {
  static const char *bad[] = {
      "",
      ".",
      "..",
      ".example.com",
      "a..b",
      "-a.com",
      "a-.com",
      "a.-b.com",
      "a.b-",
      "a.b-.",
      "exa mple.com",
      "exa*mple.com",
      "example.com/24",
      "ex@mple.com",
      "bücher.de",
      "a\tb",
  };

  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (qname_valid(bad[i]))
      fail_msg("'%s' should be invalid", bad[i]);
}

/* Fixed bug, kept as a regression test: only one trailing dot may be dropped; "example.com.." has an empty
 * last label and is not a DNS name, but qname_valid() accepts it. */
static void fixed_double_trailing_dot_is_accepted(void **state) {
  (void)state;
  assert_false(qname_valid("example.com.."));
  assert_false(qname_valid("a.."));
}

static void label_and_name_lengths(void **state) {
  char label[80], name[300];

  (void)state;
  /* Labels: 63 characters, not 64. */
  repeat(label, sizeof(label), 63, 'a');
  snprintf(name, sizeof(name), "%s.com", label);
  assert_true(qname_valid(name));
  repeat(label, sizeof(label), 64, 'a');
  snprintf(name, sizeof(name), "%s.com", label);
  assert_false(qname_valid(name));

  /* Names: 253 characters without the trailing dot. */
  memset(name, 0, sizeof(name));
  for (size_t i = 0; i < 253; i++)
    name[i] = (i % 2 == 0) ? 'a' : '.';
  assert_int_equal(strlen(name), 253);
  assert_true(qname_valid(name));
  name[253] = '.';
  assert_true(qname_valid(name));
  name[253] = 'a';
  name[254] = '\0';
  assert_false(qname_valid(name));
}

static void join_names(void **state) {
  char buf[QNAME_MAX + 1];
  char a[260], b[260];

  (void)state;
  assert_int_equal(qname_join(buf, sizeof(buf), "key", "zen.dq.spamhaus.net"),
                   0);
  assert_string_equal(buf, "key.zen.dq.spamhaus.net");

  /* Exactly QNAME_MAX fits; one more does not. */
  repeat(a, sizeof(a), 100, 'a');
  repeat(b, sizeof(b), 152, 'b');
  assert_int_equal(qname_join(buf, sizeof(buf), a, b), 0);
  assert_int_equal(strlen(buf), QNAME_MAX);
  repeat(b, sizeof(b), 153, 'b');
  assert_int_equal(qname_join(buf, sizeof(buf), a, b), -1);

  /* A buffer too small for the result is refused, not overrun. */
  char small[8] = "xxxxxxx";
  assert_int_equal(qname_join(small, sizeof(small), "abc", "def"), 0);
  assert_string_equal(small, "abc.def");
  assert_int_equal(qname_join(small, sizeof(small), "abcd", "def"), -1);
}

static uint32_t ip4(const char *text) {
  struct in_addr in;

  assert_int_equal(inet_pton(AF_INET, text, &in), 1);
  return ntohl(in.s_addr);
}

static void ip4_query_names(void **state) {
  char buf[QNAME_MAX + 1];

  (void)state;
  assert_int_equal(qname_ip4(buf, sizeof(buf), ip4("192.0.2.99"),
                             "zen.spamhaus.org"),
                   0);
  assert_string_equal(buf, "99.2.0.192.zen.spamhaus.org");
  /* The RFC 5782 test points. */
  assert_int_equal(qname_ip4(buf, sizeof(buf), ip4("127.0.0.2"), "bl.x"), 0);
  assert_string_equal(buf, "2.0.0.127.bl.x");
  assert_int_equal(qname_ip4(buf, sizeof(buf), ip4("0.0.0.0"), "z"), 0);
  assert_string_equal(buf, "0.0.0.0.z");
  assert_int_equal(qname_ip4(buf, sizeof(buf), ip4("255.255.255.255"), "z"),
                   0);
  assert_string_equal(buf, "255.255.255.255.z");
  assert_int_equal(qname_ip4(buf, sizeof(buf), ip4("10.100.9.200"), "z"), 0);
  assert_string_equal(buf, "200.9.100.10.z");
}

static void ip4_buffer_limits(void **state) {
  char buf[QNAME_MAX + 1], zone[300];
  char small[20];

  (void)state;
  /* The longest zone that fits any address: 253 - 16. */
  repeat(zone, sizeof(zone), QNAME_MAX - 16, 'z');
  assert_int_equal(qname_ip4(buf, sizeof(buf), ip4("255.255.255.255"), zone),
                   0);
  assert_int_equal(strlen(buf), QNAME_MAX);
  repeat(zone, sizeof(zone), QNAME_MAX - 15, 'z');
  assert_int_equal(
      qname_ip4(buf, sizeof(buf), ip4("255.255.255.255"), zone), -1);
  /* Too small a buffer is refused, not overrun. */
  memset(small, 'q', sizeof(small));
  assert_int_equal(qname_ip4(small, sizeof(small), ip4("1.2.3.4"), "abcd"),
                   -1);
}

static void ip6(const char *text, uint8_t out[16]) {
  assert_int_equal(inet_pton(AF_INET6, text, out), 1);
}

static void ip6_query_names(void **state) {
  char buf[QNAME_MAX + 1];
  uint8_t a[16];

  (void)state;
  /* The example of RFC 5782 section 2.4. */
  ip6("2001:db8:7ca6:22::45", a);
  assert_int_equal(qname_ip6(buf, sizeof(buf), a, "bl.example"), 0);
  assert_string_equal(buf, "5.4.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                           "2.2.0.0.6.a.c.7.8.b.d.0.1.0.0.2.bl.example");
  /* The IPv6 test point ::FFFF:7F00:2 and the all-ones address. */
  ip6("::ffff:7f00:2", a);
  assert_int_equal(qname_ip6(buf, sizeof(buf), a, "z"), 0);
  assert_string_equal(buf, "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0."
                           "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.z");
  ip6("FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:ABCD", a);
  assert_int_equal(qname_ip6(buf, sizeof(buf), a, "z"), 0);
  assert_string_equal(buf, "d.c.b.a.f.f.f.f.f.f.f.f.f.f.f.f."
                           "f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.f.z");
}

static void ip6_buffer_limits(void **state) {
  char buf[QNAME_MAX + 1], zone[300];
  char small[64];
  uint8_t a[16];

  (void)state;
  ip6("2001:db8::1", a);
  repeat(zone, sizeof(zone), QNAME_MAX - 64, 'z');
  assert_int_equal(qname_ip6(buf, sizeof(buf), a, zone), 0);
  assert_int_equal(strlen(buf), QNAME_MAX);
  repeat(zone, sizeof(zone), QNAME_MAX - 63, 'z');
  assert_int_equal(qname_ip6(buf, sizeof(buf), a, zone), -1);
  assert_int_equal(qname_ip6(small, sizeof(small), a, "z"), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(valid_names),
      cmocka_unit_test(invalid_names),
      cmocka_unit_test(fixed_double_trailing_dot_is_accepted),
      cmocka_unit_test(label_and_name_lengths),
      cmocka_unit_test(join_names),
      cmocka_unit_test(ip4_query_names),
      cmocka_unit_test(ip4_buffer_limits),
      cmocka_unit_test(ip6_query_names),
      cmocka_unit_test(ip6_buffer_limits),
  };

  tu_init();
  return cmocka_run_group_tests(tests, NULL, tu_cleanup);
}
