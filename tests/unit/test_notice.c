/* Unit tests for poller/notice.c: the email message (line lengths,
 * folding, charset, Message-ID), the subject, the test notice in every
 * format. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "notice.h"

#define N(arr) (sizeof(arr) / sizeof((arr)[0]))

static const struct alert_cfg mail = {
    .name = "ops", .from = "blwatch@example.com", .to = "ops@example.com"};

/* A notice of one listed event whose reason and label are given. */
static void one_listing(struct notice *n, const char *reason,
                        const char *label) {
  struct store_event ev = {
      .at = 1700000000, .type = "listed", .target_key = "192.0.2.10",
      .label = label, .list = "spamhaus-zen", .zone = "zen.spamhaus.org",
      .result = "listed", .codes = "[\"127.0.0.2\"]",
      .meanings = "[\"SBL: spam source\"]", .reason = reason,
      .delist = "https://check.spamhaus.org/"};

  *n = (struct notice){.id = 7, .host = "mx1.example.com",
                       .sent = 1700000000};
  assert_true(notice_add(n, &ev));
}

/* The body of an RFC 5322 message (after the first empty line). */
static const char *body_of(const char *msg) {
  const char *b = strstr(msg, "\r\n\r\n");

  assert_non_null(b);
  return b + 4;
}

/* Every line ends in CRLF, has no bare CR or LF and at most max octets;
 * returns how many lines are longer than cols. */
static size_t check_lines(const char *text, size_t max, size_t cols) {
  size_t over = 0;

  while (*text != '\0') {
    const char *end = strstr(text, "\r\n");
    assert_non_null(end);
    assert_true((size_t)(end - text) <= max);
    assert_null(memchr(text, '\n', (size_t)(end - text)));
    assert_null(memchr(text, '\r', (size_t)(end - text)));
    over += (size_t)(end - text) > cols;
    text = end + 2;
  }
  return over;
}

/* text with each line break and the blanks around it made one space. */
static char *unfold(const char *text) {
  char *out = malloc(strlen(text) + 1), *o = out;

  assert_non_null(out);
  for (const char *p = text; *p != '\0';) {
    if (*p == '\r' || *p == '\n' || *p == ' ') {
      while (*p == '\r' || *p == '\n' || *p == ' ')
        p++;
      *o++ = ' ';
      continue;
    }
    *o++ = *p++;
  }
  *o = '\0';
  return out;
}

/* A 1,000-character reason of words: folded at spaces to 78 columns,
 * every word kept in order. */
static void long_reason_is_folded(void **state) {
  char reason[1001], *msg, *flat;
  struct notice n;

  (void)state;
  for (size_t i = 0; i < 1000; i++)
    reason[i] = i % 10 == 9 ? ' ' : (char)('a' + i % 26);
  reason[1000] = '\0';
  one_listing(&n, reason, "mx-out-1");
  msg = notice_email(&n, &mail);
  assert_non_null(msg);
  assert_int_equal(check_lines(msg, 998, 78), 0);
  flat = unfold(body_of(msg));
  reason[999] = '\0'; /* the trailing space goes with the fold */
  tu_assert_contains(flat, reason);
  free(flat);
  free(msg);
  notice_free(&n);
}

/* A reason without a space longer than 998 octets is split there; a
 * shorter one (a link) stays on one line. */
static void long_word_is_split(void **state) {
  char reason[1025], *msg;
  struct notice n;

  (void)state;
  memset(reason, 'x', 1024);
  reason[1024] = '\0';
  one_listing(&n, reason, NULL);
  msg = notice_email(&n, &mail);
  assert_non_null(msg);
  check_lines(msg, 998, 998);
  free(msg);
  notice_free(&n);

  memcpy(reason, "https://", 8);
  reason[900] = '\0';
  one_listing(&n, reason, NULL);
  msg = notice_email(&n, &mail);
  assert_non_null(msg);
  check_lines(msg, 998, 998);
  tu_assert_contains(msg, reason); /* whole, on one line */
  free(msg);
  notice_free(&n);
}

/* ASCII text is declared 7bit; UTF-8 text 8bit; bytes that are not UTF-8
 * and control characters never reach the message. */
static void charset_and_encoding(void **state) {
  struct notice n;
  char *msg;

  (void)state;
  one_listing(&n, "plain reason", "mx");
  msg = notice_email(&n, &mail);
  tu_assert_contains(msg, "Content-Type: text/plain; charset=utf-8\r\n");
  tu_assert_contains(msg, "Content-Transfer-Encoding: 7bit\r\n");
  free(msg);
  notice_free(&n);

  one_listing(&n, "reason", "Z\xc3\xbcrich \xff\xfe bad\x1b[31m");
  msg = notice_email(&n, &mail);
  tu_assert_contains(msg, "Content-Transfer-Encoding: 8bit\r\n");
  tu_assert_contains(msg, "Z\xc3\xbcrich ?? bad?[31m");
  assert_null(strchr(msg, '\x1b'));
  assert_null(strchr(msg, '\xff'));
  free(msg);
  notice_free(&n);
}

/* A long To list is folded before a space, never inside an address. */
static void long_header_is_folded(void **state) {
  char to[2048] = "", *msg, *flat;
  struct alert_cfg many = mail;
  struct notice n;
  size_t used = 0;

  (void)state;
  for (int i = 0; i < 60; i++)
    used += (size_t)snprintf(to + used, sizeof(to) - used,
                             "%sops%02d@example.com", i ? ", " : "", i);
  many.to = to;
  one_listing(&n, "r", NULL);
  msg = notice_email(&n, &many);
  assert_int_equal(check_lines(msg, 998, 78), 0);
  /* Folding is CRLF before a space: unfolded, the list is whole. */
  flat = unfold(msg);
  tu_assert_contains(flat, "To: ops00@example.com, ops01@example.com");
  tu_assert_contains(flat, "ops58@example.com, ops59@example.com Subject:");
  free(flat);
  free(msg);
  notice_free(&n);
}

/* The test notice reads as a sentence in email and Slack, and is an
 * event of type "test" with that detail in JSON. */
static void test_notice_text(void **state) {
  static const char sentence[] =
      "This is a test notice from blwatch on mx1.example.com: this channel "
      "works.";
  struct store_event ev = {.at = 1700000000, .type = "test",
                           .detail = sentence};
  struct notice n = {.id = 1700000000123456, .host = "mx1.example.com",
                     .sent = 1700000000};
  char *texts[3];

  (void)state;
  assert_true(notice_add(&n, &ev));
  texts[0] = notice_email(&n, &mail);
  texts[1] = notice_slack(&n);
  texts[2] = notice_json(&n);
  tu_assert_contains(texts[0], "Subject: blwatch: test notice from "
                               "mx1.example.com\r\n");
  tu_assert_contains(texts[0], "\r\n\r\nThis is a test notice from blwatch "
                               "on mx1.example.com: this channel works."
                               "\r\n");
  tu_assert_contains(texts[0], "<blwatch-1700000000123456.1700000000-ops@");
  tu_assert_contains(texts[1], sentence);
  tu_assert_contains(texts[2], "\"type\":\"test\"");
  tu_assert_contains(texts[2], sentence);
  tu_assert_contains(texts[2], "\"notice\":1700000000123456");
  for (size_t i = 0; i < N(texts); i++) {
    tu_assert_not_contains(texts[i], "?");
    free(texts[i]);
  }
  notice_free(&n);
}

/* A listed event of target on list, for the subject tests. */
static void add_listing(struct notice *n, const char *target,
                        const char *list, int64_t at) {
  struct store_event ev = {.at = at, .type = "listed", .target_key = target,
                           .list = list, .zone = "z.example",
                           .result = "listed", .codes = "[\"127.0.0.2\"]"};

  assert_true(notice_add(n, &ev));
}

/* The subject names the target, else the list, else counts. */
static void subject_summarizes(void **state) {
  static const struct {
    const char *events[4][2]; /* target, list */
    const char *subject;
  } cases[] = {
      {{{"192.0.2.10", "zen"}}, "blwatch: 192.0.2.10 listed on zen"},
      {{{"192.0.2.10", "zen"}, {"192.0.2.10", "brbl"}},
       "blwatch: 192.0.2.10 listed on zen and 1 more list"},
      {{{"192.0.2.10", "zen"}, {"192.0.2.10", "brbl"}, {"192.0.2.10", "sc"}},
       "blwatch: 192.0.2.10 listed on zen and 2 more lists"},
      {{{"192.0.2.1", "ucep"}, {"192.0.2.2", "ucep"}, {"192.0.2.3", "ucep"}},
       "blwatch: 3 targets listed on ucep"},
      {{{"192.0.2.1", "zen"}, {"192.0.2.2", "brbl"}, {"192.0.2.2", "zen"}},
       "blwatch: 2 targets listed on 2 lists"},
  };

  (void)state;
  for (size_t i = 0; i < N(cases); i++) {
    struct notice n = {.id = 3, .host = "h.example", .sent = 1700000000};
    for (size_t k = 0; k < 4 && cases[i].events[k][0] != NULL; k++)
      add_listing(&n, cases[i].events[k][0], cases[i].events[k][1],
                  1700000000 + (int64_t)k);
    char *subject = notice_subject(&n);
    assert_string_equal(subject, cases[i].subject);
    free(subject);
    notice_free(&n);
  }
}

/* Notice ids restart at 1 with a new database: the Message-ID also holds
 * the time of the first event, so a reinstall's notice 1 is a new one. */
static void message_id_is_unique_per_database(void **state) {
  struct notice a = {.id = 1, .host = "h.example", .sent = 1700000100};
  struct notice b = {.id = 1, .host = "h.example", .sent = 1800000100};
  char *ma, *mb;

  (void)state;
  add_listing(&a, "192.0.2.10", "zen", 1700000000);
  add_listing(&b, "192.0.2.10", "zen", 1800000000);
  ma = notice_email(&a, &mail);
  mb = notice_email(&b, &mail);
  tu_assert_contains(ma, "Message-ID: <blwatch-1.1700000000-ops@h.example>");
  tu_assert_contains(mb, "Message-ID: <blwatch-1.1800000000-ops@h.example>");
  free(ma);
  free(mb);
  notice_free(&a);
  notice_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(long_reason_is_folded),
      cmocka_unit_test(long_word_is_split),
      cmocka_unit_test(charset_and_encoding),
      cmocka_unit_test(long_header_is_folded),
      cmocka_unit_test(test_notice_text),
      cmocka_unit_test(subject_summarizes),
      cmocka_unit_test(message_id_is_unique_per_database),
  };

  tu_init();
  return cmocka_run_group_tests(tests, NULL, tu_cleanup);
}
