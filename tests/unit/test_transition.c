/* The pair state machine: what a fresh result does to a stored pair. */
#include "testutil.h"

#include "transition.h"

static const char *C2 = "[\"127.0.0.2\"]";
static const char *C4 = "[\"127.0.0.4\"]";

static struct pair_decision decide(enum zone_result stored,
                                   const char *codes, enum zone_result fresh,
                                   const char *fresh_codes, bool first,
                                   bool confirm) {
  struct pair_stored s = {stored, codes};

  return transition_decide(&s, fresh, fresh_codes, first, confirm);
}

static void assert_decision(struct pair_decision d, enum pair_action a,
                            enum event_type e) {
  assert_int_equal(d.action, a);
  assert_int_equal(d.event, e);
}

static void first_listing_is_recorded_at_once(void **state) {
  (void)state;
  assert_decision(decide(ZR_CLEAR, "[]", ZR_LISTED, C2, true, true),
                  PA_RECORD, EV_LISTED);
}

static void later_listing_is_confirmed(void **state) {
  (void)state;
  assert_decision(decide(ZR_CLEAR, "[]", ZR_LISTED, C2, false, true),
                  PA_CONFIRM, EV_LISTED);
  assert_decision(decide(ZR_CLEAR, "[]", ZR_LISTED, C2, false, false),
                  PA_RECORD, EV_LISTED);
}

static void listing_after_unknown_is_a_listing(void **state) {
  (void)state;
  assert_decision(decide(ZR_ERROR, "[]", ZR_LISTED, C2, false, true),
                  PA_CONFIRM, EV_LISTED);
}

static void clear_after_listing_is_a_delisting(void **state) {
  (void)state;
  assert_decision(decide(ZR_LISTED, C2, ZR_CLEAR, "[]", false, true),
                  PA_CONFIRM, EV_DELISTED);
  assert_decision(decide(ZR_LISTED, C2, ZR_CLEAR, "[]", false, false),
                  PA_RECORD, EV_DELISTED);
}

static void new_codes_are_a_change(void **state) {
  (void)state;
  assert_decision(decide(ZR_LISTED, C2, ZR_LISTED, C4, false, true),
                  PA_CONFIRM, EV_CHANGED);
  assert_decision(decide(ZR_LISTED, C2, ZR_LISTED, C2, false, true), PA_NONE,
                  EV_NONE);
}

/* Refused, bogus, error and untrusted say nothing about the target. */
static void unknown_never_delists_or_lists(void **state) {
  enum zone_result unknown[] = {ZR_REFUSED, ZR_BOGUS, ZR_ERROR,
                                ZR_UNTRUSTED};

  (void)state;
  for (size_t i = 0; i < 4; i++) {
    struct pair_decision d =
        decide(ZR_LISTED, C2, unknown[i], "[]", false, true);
    assert_int_equal(d.event, EV_NONE);
    assert_int_equal(d.action, PA_NONE);
    d = decide(ZR_CLEAR, "[]", unknown[i], "[]", true, true);
    assert_int_equal(d.event, EV_NONE);
  }
}

static void unknown_rows_come_and_go_without_events(void **state) {
  (void)state;
  assert_decision(decide(ZR_CLEAR, "[]", ZR_ERROR, "[]", false, true),
                  PA_STORE_UNKNOWN, EV_NONE);
  assert_decision(decide(ZR_ERROR, "[]", ZR_ERROR, "[]", false, true),
                  PA_NONE, EV_NONE);
  assert_decision(decide(ZR_ERROR, "[]", ZR_REFUSED, "[]", false, true),
                  PA_STORE_UNKNOWN, EV_NONE);
  assert_decision(decide(ZR_ERROR, "[]", ZR_CLEAR, "[]", false, true),
                  PA_DELETE_UNKNOWN, EV_NONE);
  /* Untrusted is set aside entirely, not stored. */
  assert_decision(decide(ZR_CLEAR, "[]", ZR_UNTRUSTED, "[]", false, true),
                  PA_NONE, EV_NONE);
}

static void clear_stays_clear(void **state) {
  (void)state;
  assert_decision(decide(ZR_CLEAR, "[]", ZR_CLEAR, "[]", true, true), PA_NONE,
                  EV_NONE);
}

static void confirmation_rules(void **state) {
  (void)state;
  assert_true(transition_confirmed(EV_LISTED, "[]", ZR_LISTED, C4));
  assert_false(transition_confirmed(EV_LISTED, "[]", ZR_CLEAR, "[]"));
  assert_false(transition_confirmed(EV_LISTED, "[]", ZR_ERROR, "[]"));
  assert_true(transition_confirmed(EV_DELISTED, C2, ZR_CLEAR, "[]"));
  assert_false(transition_confirmed(EV_DELISTED, C2, ZR_LISTED, C2));
  /* A timeout on the re-query is never read as a delisting. */
  assert_false(transition_confirmed(EV_DELISTED, C2, ZR_ERROR, "[]"));
  assert_true(transition_confirmed(EV_CHANGED, C2, ZR_LISTED, C4));
  assert_false(transition_confirmed(EV_CHANGED, C2, ZR_LISTED, C2));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(first_listing_is_recorded_at_once),
      cmocka_unit_test(later_listing_is_confirmed),
      cmocka_unit_test(listing_after_unknown_is_a_listing),
      cmocka_unit_test(clear_after_listing_is_a_delisting),
      cmocka_unit_test(new_codes_are_a_change),
      cmocka_unit_test(unknown_never_delists_or_lists),
      cmocka_unit_test(unknown_rows_come_and_go_without_events),
      cmocka_unit_test(clear_stays_clear),
      cmocka_unit_test(confirmation_rules),
  };

  tu_init();
  return cmocka_run_group_tests_name("transition", tests, NULL, tu_cleanup);
}
