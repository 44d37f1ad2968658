/* The parts of the HTTP endpoint that need no server: the listen
 * address and the token check (config.c and the unit tests use them
 * without libmicrohttpd's thread). */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "ini.h"

/* ---- the listen address ------------------------------------------------ */

enum bw_err http_parse_listen(const char *text, struct http_addr *out,
                              char *err) {
  char host[64];
  const char *colon, *port;
  uint64_t p;
  size_t n;

  memset(out, 0, sizeof(*out));
  if (text[0] == '[') {
    const char *end = strchr(text, ']');
    if (end == NULL || end[1] != ':')
      return bw_fail(err, BW_EINVAL, "'%s' is not [IPV6]:PORT", text);
    n = (size_t)(end - text - 1);
    colon = end + 1;
    text++;
  } else {
    colon = strrchr(text, ':');
    if (colon == NULL)
      return bw_fail(err, BW_EINVAL, "'%s' lacks :PORT (e.g. "
                     "127.0.0.1:9850)", text);
    n = (size_t)(colon - text);
  }
  port = colon + 1;
  if (n == 0 || n >= sizeof(host))
    return bw_fail(err, BW_EINVAL, "bad address in '%s'", text);
  memcpy(host, text, n);
  host[n] = '\0';
  if (ini_uint(port, 65535, &p, err) != BW_OK || p == 0)
    return bw_fail(err, BW_EINVAL, "bad port '%s' (1-65535)", port);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)p);
    out->len = sizeof(*v4);
    out->loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)p);
    out->len = sizeof(*v6);
    out->loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
  } else {
    return bw_fail(err, BW_EINVAL, "'%s' is not an IPv4 or IPv6 address "
                   "(names are not resolved)", host);
  }
  return BW_OK;
}

/* ---- the token --------------------------------------------------------- */

/* Hashing both sides first makes the comparison's time independent of
 * the lengths as well as of the contents. */
bool http_token_ok(const char *authorization, const char *token) {
  unsigned char a[32], b[32];
  const char *given;

  if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
    return false;
  given = authorization + 7;
  while (*given == ' ')
    given++;
  if (!EVP_Digest(given, strlen(given), a, NULL, EVP_sha256(), NULL) ||
      !EVP_Digest(token, strlen(token), b, NULL, EVP_sha256(), NULL))
    return false;
  return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}
