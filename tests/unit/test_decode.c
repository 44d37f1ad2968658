/* Unit tests for zones/decode.c: turning A records into a result, and
 * codes into meanings.  The zones are built in memory so that these tests
 * depend on the decoder only, not on the catalog parser. */
#include "testutil.h"

#include <string.h>

#include "catalog.h"

#define IP(a, b, c, d)                                                        \
  (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) |     \
   (uint32_t)(d))
#define N(arr) (sizeof(arr) / sizeof((arr)[0]))

/* A Spamhaus-like zone: code lines and refusal lines. */
static struct zone_code zen_codes[] = {
    {IP(127, 0, 0, 2), IP(127, 0, 0, 2), "SBL: spam source"},
    {IP(127, 0, 0, 4), IP(127, 0, 0, 7), "XBL: exploited host"},
    {IP(127, 0, 0, 10), IP(127, 0, 0, 11), "PBL: end-user range"},
    /* Overlaps the line above: the first matching line wins. */
    {IP(127, 0, 0, 11), IP(127, 0, 0, 11), "never used"},
};
static struct zone_code zen_refusals[] = {
    {IP(127, 255, 255, 254), IP(127, 255, 255, 254), "public resolver"},
    {IP(127, 255, 255, 255), IP(127, 255, 255, 255), "query limit"},
    {IP(127, 255, 255, 0), IP(127, 255, 255, 255), "Spamhaus error code"},
};
static struct zone zen = {
    .id = "zen",
    .zone = "zen.example",
    .query_zone = "zen.example",
    .kinds = ZONE_IP4 | ZONE_IP6,
    .codes = zen_codes,
    .ncodes = N(zen_codes),
    .refusals = zen_refusals,
    .nrefusals = N(zen_refusals),
};

/* A URIBL-like zone: bitmask meanings and 127.0.0.1 as refusal. */
static struct zone_bit multi_bits[] = {
    {2, "black"},
    {4, "grey"},
    {8, "red"},
};
static struct zone_code multi_refusals[] = {
    {IP(127, 0, 0, 1), IP(127, 0, 0, 1), "query refused"},
};
static struct zone multi = {
    .id = "multi",
    .zone = "multi.example",
    .query_zone = "multi.example",
    .kinds = ZONE_DOMAIN,
    .bits = multi_bits,
    .nbits = N(multi_bits),
    .refusals = multi_refusals,
    .nrefusals = N(multi_refusals),
};

/* A list with no codes and no refusals at all. */
static struct zone bare = {
    .id = "bare",
    .zone = "bare.example",
    .query_zone = "bare.example",
    .kinds = ZONE_IP4,
};

/* A list that defines a code inside 127.255.255.0/24 as a listing. */
static struct zone_code odd_codes[] = {
    {IP(127, 255, 255, 1), IP(127, 255, 255, 1), "odd but a listing"},
};
static struct zone odd = {
    .id = "odd",
    .zone = "odd.example",
    .query_zone = "odd.example",
    .kinds = ZONE_IP4,
    .codes = odd_codes,
    .ncodes = N(odd_codes),
};

/* Decodes n records and checks the result and its codes. */
static void expect(const struct zone *z, const uint32_t *addrs, size_t n,
                   enum zone_result result, const uint32_t *codes,
                   size_t ncodes) {
  struct zone_answer out;

  memset(&out, 0xa5, sizeof(out)); /* no stale state may leak through */
  zone_decode(z, addrs, n, &out);
  assert_string_equal(zone_result_name(out.result), zone_result_name(result));
  assert_int_equal(out.ncodes, ncodes);
  for (size_t i = 0; i < ncodes; i++)
    assert_int_equal(out.codes[i], codes[i]);
}

static void no_records_is_clear(void **state) {
  uint32_t dummy = IP(127, 0, 0, 2);

  (void)state;
  expect(&zen, NULL, 0, ZR_CLEAR, NULL, 0);
  expect(&zen, &dummy, 0, ZR_CLEAR, NULL, 0);
  expect(&multi, NULL, 0, ZR_CLEAR, NULL, 0);
}

static void one_listing(void **state) {
  uint32_t a[] = {IP(127, 0, 0, 2)};

  (void)state;
  expect(&zen, a, 1, ZR_LISTED, a, 1);
  expect(&bare, a, 1, ZR_LISTED, a, 1);
}

static void several_codes_sorted_and_unique(void **state) {
  uint32_t a[] = {IP(127, 0, 0, 11), IP(127, 0, 0, 2), IP(127, 0, 0, 4),
                  IP(127, 0, 0, 2),  IP(127, 0, 0, 11), IP(127, 0, 0, 3)};
  uint32_t want[] = {IP(127, 0, 0, 2), IP(127, 0, 0, 3), IP(127, 0, 0, 4),
                     IP(127, 0, 0, 11)};

  (void)state;
  expect(&zen, a, N(a), ZR_LISTED, want, N(want));
}

static void unknown_loopback_code_is_a_listing(void **state) {
  uint32_t a[] = {IP(127, 0, 0, 99)};
  uint32_t b[] = {IP(127, 1, 2, 3)};
  char buf[128];

  (void)state;
  expect(&zen, a, 1, ZR_LISTED, a, 1);
  expect(&zen, b, 1, ZR_LISTED, b, 1);
  assert_string_equal(zone_code_meaning(&zen, a[0], buf, sizeof(buf)),
                      "unlisted return code");
}

static void refusal_codes(void **state) {
  uint32_t a[] = {IP(127, 255, 255, 254)};
  uint32_t b[] = {IP(127, 255, 255, 255), IP(127, 255, 255, 254),
                  IP(127, 255, 255, 255)};
  uint32_t bwant[] = {IP(127, 255, 255, 254), IP(127, 255, 255, 255)};
  uint32_t c[] = {IP(127, 0, 0, 1)};

  (void)state;
  expect(&zen, a, 1, ZR_REFUSED, a, 1);
  expect(&zen, b, N(b), ZR_REFUSED, bwant, N(bwant));
  expect(&multi, c, 1, ZR_REFUSED, c, 1);
  /* 127.0.0.1 is only a refusal where the zone says so. */
  expect(&zen, c, 1, ZR_LISTED, c, 1);
}

static void error_range_is_refused_for_every_zone(void **state) {
  uint32_t a[] = {IP(127, 255, 255, 77)};
  uint32_t b[] = {IP(127, 255, 255, 0)};
  uint32_t c[] = {IP(127, 255, 255, 2)};

  (void)state;
  expect(&bare, a, 1, ZR_REFUSED, a, 1);
  expect(&bare, b, 1, ZR_REFUSED, b, 1);
  /* Even where the last octet would match a bitmask. */
  expect(&multi, c, 1, ZR_REFUSED, c, 1);
  assert_string_equal(zone_refusal_meaning(&bare, a[0]),
                      "DNSBL error code (127.255.255.x)");
  /* Unless the zone defines that answer as a listing code. */
  uint32_t d[] = {IP(127, 255, 255, 1)};
  expect(&odd, d, 1, ZR_LISTED, d, 1);
  expect(&odd, a, 1, ZR_REFUSED, a, 1);
}

static void outside_loopback_is_bogus(void **state) {
  uint32_t cases[] = {IP(192, 0, 2, 1), IP(0, 0, 0, 0),
                      IP(126, 255, 255, 255), IP(128, 0, 0, 0),
                      IP(255, 255, 255, 255), IP(10, 0, 0, 2)};

  (void)state;
  for (size_t i = 0; i < N(cases); i++)
    expect(&zen, &cases[i], 1, ZR_BOGUS, &cases[i], 1);
}

static void bogus_wins_over_listings_and_refusals(void **state) {
  uint32_t a[] = {IP(127, 0, 0, 2), IP(198, 51, 100, 7),
                  IP(127, 255, 255, 254), IP(10, 0, 0, 1),
                  IP(198, 51, 100, 7)};
  /* Only the stray answers are kept, sorted and unique. */
  uint32_t want[] = {IP(10, 0, 0, 1), IP(198, 51, 100, 7)};

  (void)state;
  expect(&zen, a, N(a), ZR_BOGUS, want, N(want));
  expect(&multi, a, N(a), ZR_BOGUS, want, N(want));
}

static void listing_and_refusal_is_listed(void **state) {
  uint32_t a[] = {IP(127, 255, 255, 254), IP(127, 0, 0, 4),
                  IP(127, 255, 255, 200), IP(127, 0, 0, 2)};
  uint32_t want[] = {IP(127, 0, 0, 2), IP(127, 0, 0, 4)};
  uint32_t b[] = {IP(127, 0, 0, 1), IP(127, 0, 0, 6)};
  uint32_t bwant[] = {IP(127, 0, 0, 6)};

  (void)state;
  expect(&zen, a, N(a), ZR_LISTED, want, N(want));
  expect(&multi, b, N(b), ZR_LISTED, bwant, N(bwant));
}

static void too_many_records_are_capped(void **state) {
  uint32_t a[ZONE_MAX_CODES + 8];
  struct zone_answer out;

  (void)state;
  for (size_t i = 0; i < N(a); i++)
    a[i] = IP(127, 0, 1, N(a) - i); /* descending */
  zone_decode(&bare, a, N(a), &out);
  assert_int_equal(out.result, ZR_LISTED);
  assert_int_equal(out.ncodes, ZONE_MAX_CODES);
  for (size_t i = 1; i < out.ncodes; i++)
    assert_true(out.codes[i - 1] < out.codes[i]);
  for (size_t i = 0; i < out.ncodes; i++)
    assert_int_equal(out.codes[i] >> 24, 127);

  /* The same number of strays. */
  for (size_t i = 0; i < N(a); i++)
    a[i] = IP(192, 0, 2, i);
  zone_decode(&bare, a, N(a), &out);
  assert_int_equal(out.result, ZR_BOGUS);
  assert_int_equal(out.ncodes, ZONE_MAX_CODES);
}

static void code_meanings(void **state) {
  char buf[128];

  (void)state;
  assert_string_equal(
      zone_code_meaning(&zen, IP(127, 0, 0, 2), buf, sizeof(buf)),
      "SBL: spam source");
  assert_string_equal(
      zone_code_meaning(&zen, IP(127, 0, 0, 6), buf, sizeof(buf)),
      "XBL: exploited host");
  /* First matching line wins. */
  assert_string_equal(
      zone_code_meaning(&zen, IP(127, 0, 0, 11), buf, sizeof(buf)),
      "PBL: end-user range");
  assert_string_equal(
      zone_code_meaning(&zen, IP(127, 0, 0, 3), buf, sizeof(buf)),
      "unlisted return code");
  assert_string_equal(
      zone_code_meaning(&bare, IP(127, 0, 0, 2), buf, sizeof(buf)),
      "unlisted return code");
}

static void bitmask_meanings(void **state) {
  char buf[128];

  (void)state;
  assert_string_equal(
      zone_code_meaning(&multi, IP(127, 0, 0, 2), buf, sizeof(buf)),
      "black");
  assert_string_equal(
      zone_code_meaning(&multi, IP(127, 0, 0, 6), buf, sizeof(buf)),
      "black + grey");
  assert_string_equal(
      zone_code_meaning(&multi, IP(127, 0, 0, 14), buf, sizeof(buf)),
      "black + grey + red");
  assert_string_equal(
      zone_code_meaning(&multi, IP(127, 0, 0, 12), buf, sizeof(buf)),
      "grey + red");
  /* Only the last octet is matched against the masks. */
  assert_string_equal(
      zone_code_meaning(&multi, IP(127, 0, 2, 1), buf, sizeof(buf)),
      "unlisted return code");
  assert_string_equal(
      zone_code_meaning(&multi, IP(127, 0, 0, 16), buf, sizeof(buf)),
      "unlisted return code");
}

static void meaning_fits_small_buffers(void **state) {
  char buf[8];
  char tiny[1];

  (void)state;
  memset(buf, 'x', sizeof(buf));
  zone_code_meaning(&multi, IP(127, 0, 0, 14), buf, sizeof(buf));
  assert_string_equal(buf, "black +");
  memset(buf, 'x', sizeof(buf));
  zone_code_meaning(&zen, IP(127, 0, 0, 2), buf, sizeof(buf));
  assert_string_equal(buf, "SBL: sp");
  memset(buf, 'x', sizeof(buf));
  zone_code_meaning(&zen, IP(127, 0, 0, 3), buf, sizeof(buf));
  assert_string_equal(buf, "unliste");
  zone_code_meaning(&multi, IP(127, 0, 0, 2), tiny, sizeof(tiny));
  assert_int_equal(tiny[0], '\0');
}

static void refusal_meanings(void **state) {
  (void)state;
  assert_string_equal(zone_refusal_meaning(&zen, IP(127, 255, 255, 254)),
                      "public resolver");
  assert_string_equal(zone_refusal_meaning(&zen, IP(127, 255, 255, 255)),
                      "query limit");
  assert_string_equal(zone_refusal_meaning(&zen, IP(127, 255, 255, 9)),
                      "Spamhaus error code");
  assert_string_equal(zone_refusal_meaning(&multi, IP(127, 0, 0, 1)),
                      "query refused");
}

static void result_names(void **state) {
  static const char *names[ZR_COUNT] = {"clear", "listed", "refused",
                                        "bogus", "error",  "untrusted"};

  (void)state;
  for (int r = 0; r < ZR_COUNT; r++)
    assert_string_equal(zone_result_name((enum zone_result)r), names[r]);
  assert_string_equal(zone_result_name(ZR_COUNT), "?");
  assert_string_equal(zone_result_name((enum zone_result)-1), "?");
  /* And back. */
  for (int r = 0; r < ZR_COUNT; r++)
    assert_int_equal(zone_result_from_name(names[r]), r);
  assert_int_equal(zone_result_from_name("Listed"), ZR_COUNT);
  assert_int_equal(zone_result_from_name(""), ZR_COUNT);
  assert_int_equal(zone_result_from_name("?"), ZR_COUNT);
  assert_false(zone_result_unknown(ZR_CLEAR));
  assert_false(zone_result_unknown(ZR_LISTED));
  assert_true(zone_result_unknown(ZR_REFUSED));
  assert_true(zone_result_unknown(ZR_BOGUS));
  assert_true(zone_result_unknown(ZR_ERROR));
  assert_true(zone_result_unknown(ZR_UNTRUSTED));
}

static void address_strings(void **state) {
  char buf[16];

  (void)state;
  assert_string_equal(zone_ip4_str(IP(127, 0, 0, 2), buf), "127.0.0.2");
  assert_string_equal(zone_ip4_str(IP(255, 255, 255, 255), buf),
                      "255.255.255.255");
  assert_string_equal(zone_ip4_str(0, buf), "0.0.0.0");
}

static void parse_ranges(void **state) {
  static const char *bad[] = {"",
                              "x",
                              "127.0.0",
                              "127.0.0.256",
                              "127.0.0.1-",
                              "-127.0.0.1",
                              "127.0.0.1-127.0.0.2-127.0.0.3",
                              "::1",
                              "127.0.0.1 - 127.0.0.2",
                              /* Longer than any address. */
                              ("127.000.000.001.127.000.000.001.127.000.000."
                               "001.127.000.000.001")};
  char err[BW_ERRLEN];
  uint32_t lo = 1, hi = 1;

  (void)state;
  assert_int_equal(zone_parse_range("127.0.0.2", &lo, &hi, err), BW_OK);
  assert_int_equal(lo, IP(127, 0, 0, 2));
  assert_int_equal(hi, IP(127, 0, 0, 2));
  assert_int_equal(zone_parse_range("127.0.0.4-127.0.0.7", &lo, &hi, err),
                   BW_OK);
  assert_int_equal(lo, IP(127, 0, 0, 4));
  assert_int_equal(hi, IP(127, 0, 0, 7));
  assert_int_equal(zone_parse_range("127.0.0.7-127.0.0.4", &lo, &hi, err),
                   BW_EINVAL);
  tu_assert_contains(err, "ends before it starts");
  for (size_t i = 0; i < N(bad); i++) {
    err[0] = '\0';
    if (zone_parse_range(bad[i], &lo, &hi, err) != BW_EINVAL)
      fail_msg("range '%s' should be refused", bad[i]);
    assert_true(err[0] != '\0');
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(no_records_is_clear),
      cmocka_unit_test(one_listing),
      cmocka_unit_test(several_codes_sorted_and_unique),
      cmocka_unit_test(unknown_loopback_code_is_a_listing),
      cmocka_unit_test(refusal_codes),
      cmocka_unit_test(error_range_is_refused_for_every_zone),
      cmocka_unit_test(outside_loopback_is_bogus),
      cmocka_unit_test(bogus_wins_over_listings_and_refusals),
      cmocka_unit_test(listing_and_refusal_is_listed),
      cmocka_unit_test(too_many_records_are_capped),
      cmocka_unit_test(code_meanings),
      cmocka_unit_test(bitmask_meanings),
      cmocka_unit_test(meaning_fits_small_buffers),
      cmocka_unit_test(refusal_meanings),
      cmocka_unit_test(result_names),
      cmocka_unit_test(address_strings),
      cmocka_unit_test(parse_ranges),
  };

  tu_init();
  return cmocka_run_group_tests(tests, NULL, tu_cleanup);
}
