/* cycle_zone_stride(): how far a zone with max_daily is stretched.  A day
 * costs cycles * (ceil(targets / stride) + test points) queries there. */
#include "testutil.h"

#include "cli.h"
#include "cycle.h"

/* main.c's, which statuscmd.c (linked in through the poller library)
 * calls; the stride never does. */
int cli_load_config(const struct cli *cli, bool required, struct config *cfg) {
  (void)cli;
  (void)required;
  (void)cfg;
  fail_msg("cli_load_config called");
  return 78;
}

static uint64_t per_day(uint64_t n, uint64_t stride, uint64_t interval_ms,
                        bool testpoints) {
  uint64_t cycles = (86400000 + interval_ms - 1) / interval_ms;

  return cycles * ((n + stride - 1) / stride + (testpoints ? 2 : 0));
}

/* The stride keeps the day within the limit, and no smaller one would,
 * whenever the test points leave room for at least one target a cycle. */
static void stride_is_the_smallest_that_fits(void **state) {
  static const uint64_t intervals[] = {60000,   300000,   3600000,
                                       7000000, 86400000, 7 * 86400000ULL};
  static const uint64_t limits[] = {50, 150, 1000, 10000, 300000};
  struct zone z = {.max_daily = 0};

  (void)state;
  for (int tp = 0; tp < 2; tp++)
    for (size_t i = 0; i < sizeof(intervals) / sizeof(*intervals); i++)
      for (size_t l = 0; l < sizeof(limits) / sizeof(*limits); l++)
        for (uint64_t n = 1; n <= 5000; n = n * 3 + 1) {
          uint64_t iv = intervals[i], s;
          z.testpoints = tp;
          z.max_daily = limits[l];
          s = cycle_zone_stride(&z, n, iv);
          assert_true(s >= 1);
          if (per_day(1, 1, iv, tp) > z.max_daily) {
            assert_int_equal(s, n); /* stretched as far as it goes */
            continue;
          }
          assert_true(per_day(n, s, iv, tp) <= z.max_daily);
          if (s > 1)
            assert_true(per_day(n, s - 1, iv, tp) > z.max_daily);
        }
}

static void no_limit_no_stride(void **state) {
  struct zone z = {.max_daily = 0, .testpoints = true};

  (void)state;
  assert_int_equal(cycle_zone_stride(&z, 1000000, 60000), 1);
  z.max_daily = 150;
  assert_int_equal(cycle_zone_stride(&z, 0, 3600000), 1);
  /* 10 targets hourly with test points: 4 targets a cycle fit in 150. */
  assert_int_equal(cycle_zone_stride(&z, 10, 3600000), 3);
}

/* Two zones of one limit_group share the smaller limit and one stride;
 * a zone outside it, or not enabled, keeps its own. */
static void group_shares_one_limit(void **state) {
  struct zone zones[4] = {
      {.id = "zen", .max_daily = 300, .testpoints = true,
       .limit_group = "sh"},
      {.id = "dbl", .max_daily = 200, .testpoints = true,
       .limit_group = "sh"},
      {.id = "other", .max_daily = 300, .testpoints = true},
      {.id = "off", .max_daily = 10, .testpoints = true,
       .limit_group = "sh"},
  };
  bool enabled[4] = {true, true, true, false};
  struct config cfg = {.cat = {.zones = zones, .n = 4}, .enabled = enabled,
                       .interval_ms = 3600000};
  uint64_t nt[4] = {20, 10, 20, 1000}, stride[4], per_cycle[4], limit[4];

  (void)state;
  assert_true(cycle_strides(&cfg, nt, stride, per_cycle, limit));
  /* Alone, zen would need 24 * (20/2 + 2) = 288 <= 300: stride 2.  With
   * dbl against 200 a day (8 a cycle): ceil(20/k) + 2 + ceil(10/k) + 2
   * <= 8 first holds at k = 10. */
  assert_int_equal(cycle_zone_stride(&zones[0], 20, 3600000), 2);
  assert_int_equal(stride[0], 10);
  assert_int_equal(stride[1], 10);
  assert_int_equal(limit[0], 200);
  assert_int_equal(per_cycle[0], 20 + 2 + 10 + 2);
  /* (k = 10: 24 * (2 + 2 + 1 + 2) = 168 fits; k = 9: 24 * 9 = 216 not.) */
  /* Outside the group: its own limit. */
  assert_int_equal(stride[2], cycle_zone_stride(&zones[2], 20, 3600000));
  assert_int_equal(limit[2], 300);
  /* Not enabled: not limited, and not counted in the group above. */
  assert_int_equal(stride[3], 1);
  assert_int_equal(limit[3], 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(stride_is_the_smallest_that_fits),
      cmocka_unit_test(no_limit_no_stride),
      cmocka_unit_test(group_shares_one_limit),
  };

  tu_init();
  return cmocka_run_group_tests_name("cycle", tests, NULL, tu_cleanup);
}
