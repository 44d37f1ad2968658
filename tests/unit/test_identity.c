/* The identity parsers: SPF syntax and lookup counting, DMARC records,
 * the generic-PTR heuristic, and the facts and JSON of a result. */
#include "testutil.h"

#include <ares.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "idparse.h"
#include "notice.h"

/* ---- SPF -------------------------------------------------------------------
 */

static void spf_recognizes_records(void **state) {
  (void)state;
  assert_true(spf_is_record("v=spf1 -all"));
  assert_true(spf_is_record("V=SPF1 -all"));
  assert_true(spf_is_record("v=spf1"));
  assert_false(spf_is_record("v=spf10 -all"));
  assert_false(spf_is_record("spf1 -all"));
  assert_false(spf_is_record("google-site-verification=abc"));
}

static void spf_counts_lookup_terms(void **state) {
  struct spf_record r;

  (void)state;
  spf_parse("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all", &r);
  assert_true(r.valid);
  assert_int_equal(r.lookups, 0);
  assert_true(r.has_all);
  assert_int_equal(r.all_qualifier, '-');

  spf_parse("v=spf1 a mx:mail.example.com/24 ptr exists:%{i}.x.example "
            "include:_spf.example.net ~all",
            &r);
  assert_true(r.valid);
  assert_int_equal(r.lookups, 5);
  assert_true(r.has_ptr);
  assert_true(r.has_macro);
  assert_int_equal(r.nfollow, 1);
  assert_string_equal(r.follow[0], "_spf.example.net");
  assert_int_equal(r.all_qualifier, '~');
}

static void spf_redirect_counts_only_without_all(void **state) {
  struct spf_record r;

  (void)state;
  spf_parse("v=spf1 mx redirect=_spf.example.com", &r);
  assert_true(r.valid);
  assert_int_equal(r.lookups, 2);
  assert_int_equal(r.nfollow, 1);
  assert_string_equal(r.follow[0], "_spf.example.com");
  /* RFC 7208 6.1: redirect is ignored when there is an "all". */
  spf_parse("v=spf1 mx redirect=_spf.example.com -all", &r);
  assert_true(r.valid);
  assert_int_equal(r.lookups, 1);
  assert_int_equal(r.nfollow, 0);
}

static void spf_refuses_bad_syntax(void **state) {
  static const char *const bad[] = {
      "v=spf1 include: -all",
      "v=spf1 ip4:300.1.2.3 -all",
      "v=spf1 ip4:192.0.2.0/33 -all",
      "v=spf1 ip6:zz::1 -all",
      "v=spf1 foo -all",
      "v=spf1 a/40 -all",
      "v=spf1 redirect=a.example redirect=b.example",
      "v=spf1 include:%{z}.example -all",
      "v=spf1 allx",
      "v=spf1 exists -all",
  };
  struct spf_record r;

  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    spf_parse(bad[i], &r);
    if (r.valid)
      fail_msg("accepted: %s", bad[i]);
    assert_true(r.problem[0] != '\0');
  }
  spf_parse("v=spf1 a:mail.example.com/24//64 mx//48 unknown-mod=x "
            "exp=explain.%{d} ?all",
            &r);
  assert_true(r.valid);
  assert_int_equal(r.lookups, 2);
  spf_parse("v=spf1 include:foo -all", &r);
  assert_true(r.valid);
}

static void spf_counts_every_include(void **state) {
  struct spf_record r;
  char rec[1024];
  size_t used;

  (void)state;
  used = (size_t)snprintf(rec, sizeof(rec), "v=spf1");
  for (int i = 0; i < 11; i++)
    used += (size_t)snprintf(rec + used, sizeof(rec) - used,
                             " include:s%d.example", i);
  snprintf(rec + used, sizeof(rec) - used, " -all");
  spf_parse(rec, &r);
  assert_true(r.valid);
  assert_int_equal(r.lookups, 11);
  assert_int_equal(r.nfollow, 11);
  assert_string_equal(r.follow[10], "s10.example");
}

/* ---- DMARC -----------------------------------------------------------------
 */

static void dmarc_parses_policy_and_rua(void **state) {
  struct dmarc_record d;

  (void)state;
  assert_true(dmarc_is_record("v=DMARC1; p=none"));
  assert_true(dmarc_is_record("v = DMARC1;p=none"));
  assert_false(dmarc_is_record("v=DMARC2; p=none"));
  assert_false(dmarc_is_record("p=none; v=DMARC1"));

  dmarc_parse("v=DMARC1; p=reject; sp=quarantine; pct=50; "
              "rua=mailto:a@example.com,mailto:b@example.net!10m; "
              "ruf=mailto:f@example.com; adkim=s",
              &d);
  assert_true(d.valid);
  assert_string_equal(d.policy, "reject");
  assert_string_equal(d.subpolicy, "quarantine");
  assert_int_equal(d.pct, 50);
  assert_int_equal(d.nrua, 2);
  assert_string_equal(d.rua[0], "mailto:a@example.com");
  assert_string_equal(d.rua[1], "mailto:b@example.net!10m");

  dmarc_parse("v=DMARC1;p=Quarantine;", &d);
  assert_true(d.valid);
  assert_string_equal(d.policy, "quarantine");
  assert_int_equal(d.pct, 100);
  assert_int_equal(d.nrua, 0);
}

static void dmarc_refuses_malformed(void **state) {
  static const char *const bad[] = {
      "v=DMARC1; p=rejct",
      "v=DMARC1; p=none; pct=101",
      "v=DMARC1; p=none; rua=dmarc@example.com",
      "v=DMARC1",
      "v=DMARC1; p=none; sp=all",
      "v=DMARC1; p=none; bogus",
      "v=spf1 -all",
  };
  struct dmarc_record d;

  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    dmarc_parse(bad[i], &d);
    if (d.valid)
      fail_msg("accepted: %s", bad[i]);
    assert_true(d.problem[0] != '\0');
  }
  /* RFC 7489 6.6.3: no p= but a valid rua is p=none. */
  dmarc_parse("v=DMARC1; rua=mailto:r@example.com", &d);
  assert_true(d.valid);
  assert_string_equal(d.policy, "none");
}

/* ---- generic PTR names -----------------------------------------------------
 */

static void generic_names(void **state) {
  const uint32_t a = 0xC000020Au; /* 192.0.2.10 */
  static const char *const generic[] = {
      "192-0-2-10.example.net",
      "10.2.0.192.in-addr.example.net",
      "host192000002010.isp.test",
      "c000020a.isp.test",
      "dynamic-pool.isp.test",
      "dsl1.isp.test",
      "x.dhcp.isp.test",
      "ppp-77.isp.test",
      "cable-modem.isp.test",
      "dialup.isp.test",
      "broadbandcustomer.isp.test",
      "client-77.isp.test",
      "static-host.isp.test",
      "pool.isp.test",
  };
  static const char *const fine[] = {
      "mx1.example.com",     "mail.example.org",    "smtp-out.example.net",
      "dslr-camera.example", "cablevision.example", "mx10.example.com",
      "pooling.example",     "relay2.example.com",  "192.example.com",
  };
  char why[96];

  (void)state;
  for (size_t i = 0; i < sizeof(generic) / sizeof(generic[0]); i++)
    if (!ptr_generic(generic[i], a, why, sizeof(why)))
      fail_msg("not generic: %s", generic[i]);
  for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
    if (ptr_generic(fine[i], a, why, sizeof(why)))
      fail_msg("generic: %s (%s)", fine[i], why);
  assert_true(ptr_generic("192-0-2-10.example.net", a, why, sizeof(why)));
  assert_string_equal(why, "it holds the address");
  assert_true(ptr_generic("10-2-0-192.example.net", a, why, sizeof(why)));
  assert_string_equal(why, "it holds the address, reversed");
  assert_true(ptr_generic("x.dynamic.example", a, why, sizeof(why)));
  assert_string_equal(why, "it has the word 'dynamic'");
  /* IPv6: words only. */
  assert_false(ptr_generic("mx6.example.com", 0, why, sizeof(why)));
  assert_true(ptr_generic("pool-6.isp.test", 0, why, sizeof(why)));
  /* Another address's digits are not this one's. */
  assert_false(ptr_generic("192-0-2-11.example.net", a, why, sizeof(why)));
}

/* ---- facts and JSON of a result ---------------------------------------------
 */

static char *render(const struct identity_result *r) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);

  identity_json(f, r);
  fclose(f);
  return buf;
}

static void address_result(void **state) {
  struct identity_result r = {0};
  char v[256];
  char *json;

  (void)state;
  snprintf(r.key, sizeof(r.key), "192.0.2.10");
  r.ptr_status = ARES_SUCCESS;
  r.nptr = r.ptr_total = 1;
  snprintf(r.ptr[0], sizeof(r.ptr[0]), "mx1.example.com");
  r.fcrdns = 1;
  json = render(&r);
  assert_string_equal(json, "{\"ptr\":\"mx1.example.com\",\"fcrdns\":true,"
                            "\"generic\":false,\"problems\":[],"
                            "\"warnings\":[],\"errors\":[]}");
  free(json);
  assert_true(identity_fact(&r, IDF_PTR, v, sizeof(v)));
  assert_string_equal(v, "mx1.example.com");
  assert_true(identity_fact(&r, IDF_FCRDNS, v, sizeof(v)));
  assert_string_equal(v, "yes");

  /* A failed lookup leaves every fact unknown, never "none". */
  r.ptr_status = ARES_ESERVFAIL;
  r.nptr = 0;
  r.fcrdns = -1;
  assert_false(identity_fact(&r, IDF_PTR, v, sizeof(v)));
  assert_false(identity_fact(&r, IDF_FCRDNS, v, sizeof(v)));
  assert_false(identity_fact(&r, IDF_GENERIC, v, sizeof(v)));
  json = render(&r);
  assert_string_equal(json, "{\"ptr\":null,\"fcrdns\":null,\"generic\":null,"
                            "\"problems\":[],\"warnings\":[],"
                            "\"errors\":[\"PTR lookup failed: SERVFAIL\"]}");
  free(json);
}

static void domain_result(void **state) {
  struct identity_result r = {0};
  char v[256];
  char *json;

  (void)state;
  r.is_domain = true;
  snprintf(r.key, sizeof(r.key), "example.com");
  r.mx_status = r.txt_status = ARES_SUCCESS;
  r.dmarc_status = ARES_ENOTFOUND;
  r.sts_status = r.tlsrpt_status = ARES_ENOTFOUND;
  r.mx = strdup("10 mx1.example.com\n20 mx2.example.com");
  r.spf = strdup("v=spf1 mx -all\nv=spf1 a -all");
  r.nspf = 2;
  json = render(&r);
  assert_string_equal(
      json,
      "{\"mx\":[\"mx1.example.com\",\"mx2.example.com\"],"
      "\"spf\":{\"record\":null,\"lookups\":null,\"problems\":[\"2 SPF "
      "records (there must be one: RFC 7208 permerror)\"]},"
      "\"dmarc\":{\"record\":null,\"policy\":null,\"rua\":[],\"problems\":"
      "[\"no DMARC record\"]},\"mta_sts\":false,\"tls_rpt\":false,"
      "\"problems\":[\"2 SPF records (there must be one: RFC 7208 "
      "permerror)\",\"no DMARC record\"],\"warnings\":[],\"errors\":[]}");
  free(json);
  assert_true(identity_fact(&r, IDF_SPF_LIMIT, v, sizeof(v)));
  assert_string_equal(v, "none");
  assert_true(identity_fact(&r, IDF_DMARC, v, sizeof(v)));
  assert_string_equal(v, "");
  assert_false(identity_fact_applies(&r, IDF_PTR));
  free(r.mx);
  free(r.spf);
}

/* ---- notices
 * ------------------------------------------------------------------ */

static void identity_notice(void **state) {
  struct notice n = {.id = 7, .host = "mx.example.net", .sent = 0};
  struct store_event e = {
      .at = 1795950000,
      .type = "identity_changed",
      .target = 1,
      .target_key = "192.0.2.10",
      .label = "mx-out",
      .result = "ptr",
      .detail = "PTR for 192.0.2.10 removed (was: mx1.example.com)"};
  char *subject, *slack;

  (void)state;
  assert_true(notice_add(&n, &e));
  subject = notice_subject(&n);
  assert_string_equal(subject, "blwatch: PTR for 192.0.2.10 removed (was: "
                               "mx1.example.com)");
  slack = notice_slack(&n);
  assert_non_null(strstr(slack, "IDENTITY   192.0.2.10 (mx-out): PTR for "
                                "192.0.2.10 removed"));
  free(subject);
  free(slack);
  assert_true(notice_add(&n, &e));
  subject = notice_subject(&n);
  assert_string_equal(subject, "blwatch: 2 identity changes");
  free(subject);
  notice_free(&n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(spf_recognizes_records),
      cmocka_unit_test(spf_counts_lookup_terms),
      cmocka_unit_test(spf_redirect_counts_only_without_all),
      cmocka_unit_test(spf_refuses_bad_syntax),
      cmocka_unit_test(spf_counts_every_include),
      cmocka_unit_test(dmarc_parses_policy_and_rua),
      cmocka_unit_test(dmarc_refuses_malformed),
      cmocka_unit_test(generic_names),
      cmocka_unit_test(address_result),
      cmocka_unit_test(domain_result),
      cmocka_unit_test(identity_notice),
  };

  tu_init();
  return cmocka_run_group_tests_name("identity", tests, NULL, tu_cleanup);
}
