/* Fuzz target: what poller/dns.c does with a DNS server's answer, and its
 * servers list parser.
 *
 * The answer parsers are c-ares's own (ares_parse_a_reply and friends);
 * what blwatch adds is in static functions of dns.c (parse_a, parse_aaaa,
 * parse_txt and txt_append), so this file includes dns.c itself and links
 * only the libraries dns.c needs (bwzones, c-ares, libuv), not bwpoller.
 * parse_records (PTR, MX and TXT records one per line, for the identity
 * checks) gets the same bytes.
 *
 * The bytes are one DNS message, handed to each parser as c-ares hands a
 * successful answer to on_answer().  Checked: at most DNS_MAX_ADDRS /
 * DNS_MAX_ADDRS6 records kept; a TXT reason shorter than DNS_MAX_TXT, and
 * holding only printable ASCII (a hostile reason must not reach a log, a
 * terminal or JSON with control bytes).  Then the bytes as a string go to
 * dns_servers_normalize(), whose output must normalize to itself.
 */
#include "dns.c"

#include "fuzz.h"

/* A parsed text (a TXT reason, or records one per line): NULL on
 * failure, else terminated within max bytes and printable ASCII (a
 * hostile answer must not reach a log, a terminal or JSON with control
 * bytes), with '\n' only between records. */
static void check_text(const struct dns_request *req, size_t max,
                       bool lines) {
  size_t n;

  if (req->status != ARES_SUCCESS) {
    FUZZ_CHECK(req->txt == NULL, "failed parse left text");
    return;
  }
  FUZZ_CHECK(req->txt != NULL, "success without text");
  n = strnlen(req->txt, max);
  FUZZ_CHECK(n < max, "text not terminated within %zu bytes", max);
  for (size_t i = 0; i < n; i++)
    FUZZ_CHECK((lines && req->txt[i] == '\n') ||
                   ((unsigned char)req->txt[i] >= 0x20 &&
                    (unsigned char)req->txt[i] < 0x7f),
               "text holds byte 0x%02x", (unsigned char)req->txt[i]);
}

static void parse_all(const uint8_t *data, size_t size) {
  struct dns_request req;
  int alen = size > INT32_MAX ? INT32_MAX : (int)size;

  memset(&req, 0, sizeof(req));
  req.type = DNS_A;
  req.status = ARES_SUCCESS;
  parse_a(&req, data, alen);
  if (req.status == ARES_SUCCESS)
    FUZZ_CHECK(req.naddr <= DNS_MAX_ADDRS, "%u A records kept",
               (unsigned)req.naddr);

  memset(&req, 0, sizeof(req));
  req.type = DNS_AAAA;
  req.status = ARES_SUCCESS;
  parse_aaaa(&req, data, alen);
  if (req.status == ARES_SUCCESS)
    FUZZ_CHECK(req.naddr <= DNS_MAX_ADDRS6, "%u AAAA records kept",
               (unsigned)req.naddr);

  memset(&req, 0, sizeof(req));
  req.type = DNS_TXT;
  req.status = ARES_SUCCESS;
  parse_txt(&req, data, alen);
  check_text(&req, DNS_MAX_TXT, false);
  free(req.txt);

  /* Whole records for the identity checks: PTR, MX, TXT one per line. */
  static const enum dns_type types[] = {DNS_PTR, DNS_MX, DNS_TXT};
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
    memset(&req, 0, sizeof(req));
    req.type = types[i];
    req.records = true;
    req.status = ARES_SUCCESS;
    parse_records(&req, data, alen);
    check_text(&req, DNS_MAX_RECORDS_TXT, true);
    free(req.txt);
  }
}

static void check_servers(const uint8_t *data, size_t size) {
  char *s = fuzz_strndup(data, size);
  char err[BW_ERRLEN];
  char *norm = NULL, *again = NULL;

  err[0] = '\0';
  if (dns_servers_normalize(s, &norm, err) == BW_OK) {
    FUZZ_CHECK(dns_servers_normalize(norm, &again, err) == BW_OK,
               "normalized servers '%s' refused: %s", norm, err);
    FUZZ_CHECK(strcmp(norm, again) == 0, "'%s' normalizes to '%s'", norm,
               again);
    FUZZ_CHECK(strpbrk(norm, " \t") == NULL, "blank in '%s'", norm);
  } else {
    FUZZ_CHECK(err[0] != '\0', "servers refused without a message");
  }
  free(norm);
  free(again);
  free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  parse_all(data, size);
  check_servers(data, size);
  return 0;
}
