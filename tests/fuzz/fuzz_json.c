/* Fuzz target: the JSON helpers (poller/json.c).
 *
 * The bytes, as a string (up to the first NUL), are read with
 * json_next_string() into buffers of several sizes until none is left
 * (every call must end the string inside the buffer and move forward), and
 * with json_parse_codes() (at most ZONE_MAX_CODES codes, each written back
 * by json_codes() and read again unchanged).  Then the string is written
 * by json_str(): the output must hold no raw control character, and
 * json_next_string() must read back exactly the original string.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json.h"

static void read_strings(const char *s, size_t size) {
  char *out = malloc(size);
  const char *p = s;
  size_t len = strlen(s);
  size_t rounds = 0;

  if (out == NULL)
    abort();
  while (true) {
    const char *before = p;
    memset(out, 'x', size);
    if (!json_next_string(&p, out, size))
      break;
    FUZZ_CHECK(memchr(out, '\0', size) != NULL,
               "json_next_string left a %zu-byte buffer unterminated", size);
    FUZZ_CHECK(p > before && p <= s + len,
               "json_next_string did not move forward");
    FUZZ_CHECK(++rounds <= len, "more strings than bytes");
  }
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const size_t sizes[] = {1, 2, 5, 16, 256, 4096};
  char *s = fuzz_strndup(data, size);
  struct zone_answer a;
  char codes[ZONE_MAX_CODES * 20 + 8];
  char *written = NULL;
  size_t wlen = 0;
  FILE *out;

  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
    read_strings(s, sizes[i]);

  memset(&a, 0xa5, sizeof(a));
  json_parse_codes(s, &a);
  FUZZ_CHECK(a.result == ZR_LISTED && a.ncodes <= ZONE_MAX_CODES,
             "json_parse_codes: %u codes", (unsigned)a.ncodes);
  json_codes(&a, codes, sizeof(codes));
  struct zone_answer back;
  json_parse_codes(codes, &back);
  FUZZ_CHECK(back.ncodes == a.ncodes &&
                 memcmp(back.codes, a.codes,
                        a.ncodes * sizeof(a.codes[0])) == 0,
             "codes do not survive json_codes: %s", codes);

  /* json_str() then json_next_string() gives the string back. */
  out = open_memstream(&written, &wlen);
  if (out == NULL)
    abort();
  json_str(out, s);
  fclose(out);
  FUZZ_CHECK(wlen >= 2 && written[0] == '"' && written[wlen - 1] == '"',
             "json_str output not quoted");
  for (size_t i = 0; i < wlen; i++)
    FUZZ_CHECK((unsigned char)written[i] >= 0x20 &&
                   (unsigned char)written[i] != 0x7f,
               "json_str wrote a raw control character 0x%02x",
               (unsigned char)written[i]);
  char *back_str = malloc(strlen(s) + 1);
  const char *p = written;
  if (back_str == NULL)
    abort();
  FUZZ_CHECK(json_next_string(&p, back_str, strlen(s) + 1),
             "json_str output has no string");
  FUZZ_CHECK(strcmp(back_str, s) == 0 && *p == '\0',
             "json_str/json_next_string round trip changed the string");
  free(back_str);
  free(written);
  free(s);
  return 0;
}
