/* Parsing of zone catalog files. */
#include "catalog.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"
#include "qname.h"

struct load_state {
  struct catalog *cat; /* zones of this file only */
  struct zone *cur;    /* the section being read, NULL outside */
  const char *path;
};

static void zone_free(struct zone *z) {
  for (size_t i = 0; i < z->ncodes; i++)
    free(z->codes[i].meaning);
  for (size_t i = 0; i < z->nrefusals; i++)
    free(z->refusals[i].meaning);
  for (size_t i = 0; i < z->nbits; i++)
    free(z->bits[i].meaning);
  free(z->codes);
  free(z->refusals);
  free(z->bits);
  free(z->id);
  free(z->name);
  free(z->zone);
  free(z->query_zone);
  free(z->delist);
  free(z->dqs);
  free(z->limit_group);
  free(z->file);
  memset(z, 0, sizeof(*z));
}

void zone_catalog_free(struct catalog *cat) {
  for (size_t i = 0; i < cat->n; i++)
    zone_free(&cat->zones[i]);
  free(cat->zones);
  cat->zones = NULL;
  cat->n = 0;
}

struct zone *zone_find(const struct catalog *cat, const char *id) {
  for (size_t i = 0; i < cat->n; i++)
    if (strcmp(cat->zones[i].id, id) == 0)
      return &cat->zones[i];
  return NULL;
}

/* Replaces *slot with a copy of value. */
static bool valid_id(const char *s);

static enum bw_err set_str(char **slot, const char *value, char *err) {
  char *copy = strdup(value);

  if (copy == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  free(*slot);
  *slot = copy;
  return BW_OK;
}

char *zone_ip4_str(uint32_t addr, char *buf) {
  struct in_addr in = {.s_addr = htonl(addr)};

  inet_ntop(AF_INET, &in, buf, 16);
  return buf;
}

static enum bw_err parse_ip4(const char *text, uint32_t *out, char *err) {
  struct in_addr in;

  if (inet_pton(AF_INET, text, &in) != 1)
    return bw_fail(err, BW_EINVAL, "'%.60s' is not an IPv4 address", text);
  *out = ntohl(in.s_addr);
  return BW_OK;
}

enum bw_err zone_parse_range(const char *text, uint32_t *lo, uint32_t *hi,
                             char *err) {
  char buf[64];
  char *dash;
  enum bw_err rc;

  if (strlen(text) >= sizeof(buf))
    return bw_fail(err, BW_EINVAL, "'%.60s' is not an address range", text);
  memcpy(buf, text, strlen(text) + 1);
  dash = strchr(buf, '-');
  if (dash != NULL)
    *dash = '\0';
  rc = parse_ip4(buf, lo, err);
  if (rc == BW_OK)
    rc = dash != NULL ? parse_ip4(dash + 1, hi, err) : BW_OK;
  if (rc != BW_OK)
    return rc;
  if (dash == NULL)
    *hi = *lo;
  if (*hi < *lo)
    return bw_fail(err, BW_EINVAL, "range %.60s ends before it starts",
                   text);
  return BW_OK;
}

/* "ADDR[-ADDR] meaning" -> a code entry appended to *arr. */
static enum bw_err add_code(struct zone_code **arr, size_t *n, char *value,
                            char *err) {
  size_t len = strcspn(value, " \t");
  char *meaning = ini_trim(value + len);
  struct zone_code c, *grown;
  enum bw_err rc;

  value[len] = '\0';
  rc = zone_parse_range(value, &c.lo, &c.hi, err);
  if (rc != BW_OK)
    return rc;
  if ((c.lo >> 24) != 127 || (c.hi >> 24) != 127)
    return bw_fail(err, BW_EINVAL, "%s is outside 127.0.0.0/8", value);
  c.meaning = strdup(*meaning != '\0' ? meaning : "listed");
  grown = realloc(*arr, (*n + 1) * sizeof(**arr));
  if (c.meaning == NULL || grown == NULL) {
    free(c.meaning);
    if (grown != NULL)
      *arr = grown;
    return bw_fail(err, BW_ENOMEM, "out of memory");
  }
  *arr = grown;
  (*arr)[(*n)++] = c;
  return BW_OK;
}

static enum bw_err add_bit(struct zone *z, char *value, char *err) {
  size_t len = strcspn(value, " \t");
  char *meaning = ini_trim(value + len);
  struct zone_bit *grown;
  uint64_t mask;
  enum bw_err rc;

  value[len] = '\0';
  rc = ini_uint(value, 255, &mask, err);
  if (rc != BW_OK)
    return rc;
  if (mask == 0)
    return bw_fail(err, BW_EINVAL, "bitmask value must be 1 to 255");
  if (*meaning == '\0')
    return bw_fail(err, BW_EINVAL, "bitmask %s lacks a meaning", value);
  grown = realloc(z->bits, (z->nbits + 1) * sizeof(*z->bits));
  if (grown == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  z->bits = grown;
  z->bits[z->nbits].mask = (uint8_t)mask;
  z->bits[z->nbits].meaning = strdup(meaning);
  if (z->bits[z->nbits].meaning == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  z->nbits++;
  return BW_OK;
}

static enum bw_err add_kind(void *arg, char *item, char *err) {
  static const struct {
    const char *name;
    unsigned bit;
  } kinds[] = {{"ip4", ZONE_IP4}, {"ip6", ZONE_IP6}, {"domain", ZONE_DOMAIN}};
  struct zone *z = arg;

  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    if (strcasecmp(item, kinds[i].name) == 0) {
      z->kinds |= kinds[i].bit;
      return BW_OK;
    }
  }
  return bw_fail(err, BW_EINVAL,
                 "unknown kind '%.40s' (expected ip4, ip6 or domain)", item);
}

static enum bw_err set_bool(bool *slot, const char *v, char *err) {
  return ini_bool(v, slot, err);
}

/* One key of a zone section. */
static enum bw_err zone_key(struct zone *z, const char *key, char *value,
                            char *err) {
  if (strcmp(key, "name") == 0)
    return set_str(&z->name, value, err);
  if (strcmp(key, "zone") == 0) {
    if (!qname_valid(value))
      return bw_fail(err, BW_EINVAL, "'%.60s' is not a valid zone name",
                     value);
    return set_str(&z->zone, value, err);
  }
  if (strcmp(key, "kind") == 0) {
    z->kinds = 0;
    return ini_split(value, add_kind, z, err);
  }
  if (strcmp(key, "code") == 0)
    return add_code(&z->codes, &z->ncodes, value, err);
  if (strcmp(key, "refusal") == 0)
    return add_code(&z->refusals, &z->nrefusals, value, err);
  if (strcmp(key, "bitmask") == 0)
    return add_bit(z, value, err);
  if (strcmp(key, "delist") == 0)
    return set_str(&z->delist, value, err);
  if (strcmp(key, "default") == 0)
    return set_bool(&z->is_default, value, err);
  if (strcmp(key, "testpoints") == 0)
    return set_bool(&z->testpoints, value, err);
  if (strcmp(key, "dqs") == 0) {
    if (!qname_valid(value))
      return bw_fail(err, BW_EINVAL, "'%.60s' is not a valid zone name",
                     value);
    return set_str(&z->dqs, value, err);
  }
  if (strcmp(key, "max_daily") == 0)
    return ini_uint(value, UINT32_MAX, &z->max_daily, err);
  if (strcmp(key, "limit_group") == 0) {
    if (!valid_id(value))
      return bw_fail(err, BW_EINVAL, "limit_group '%.60s' must be lowercase "
                     "letters, digits, '-'", value);
    return set_str(&z->limit_group, value, err);
  }
  return bw_fail(err, BW_EINVAL, "unknown key '%s' in zone [%s]", key, z->id);
}

static bool valid_id(const char *s) {
  if (*s == '\0' || strlen(s) > 63)
    return false;
  for (; *s != '\0'; s++)
    if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
        *s != '-' && *s != '_')
      return false;
  return true;
}

static enum bw_err new_zone(struct load_state *st, const struct ini_entry *e,
                            char *err) {
  struct zone *grown;

  if (e->subname[0] != '\0')
    return bw_fail(err, BW_ESYNTAX, "zone sections are [id], not [%s \"%s\"]",
                   e->section, e->subname);
  if (!valid_id(e->section))
    return bw_fail(err, BW_EINVAL,
                   "zone id '%s' must be lowercase letters, digits, '-'",
                   e->section);
  if (zone_find(st->cat, e->section) != NULL)
    return bw_fail(err, BW_EINVAL, "zone [%s] is defined twice", e->section);
  grown = realloc(st->cat->zones, (st->cat->n + 1) * sizeof(*grown));
  if (grown == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  st->cat->zones = grown;
  st->cur = &grown[st->cat->n++];
  memset(st->cur, 0, sizeof(*st->cur));
  st->cur->line = e->line;
  st->cur->id = strdup(e->section);
  st->cur->file = strdup(st->path);
  if (st->cur->id == NULL || st->cur->file == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  return BW_OK;
}

static enum bw_err catalog_entry(void *arg, const struct ini_entry *e,
                                 char *err) {
  struct load_state *st = arg;

  if (e->key == NULL)
    return new_zone(st, e, err);
  return zone_key(st->cur, e->key, e->value, err);
}

/* Checks what a section must have once it is complete. */
static enum bw_err zone_validate(struct zone *z, char *err) {
  const char *missing = NULL;

  if (z->zone == NULL)
    missing = "zone";
  else if (z->kinds == 0)
    missing = "kind";
  if (missing != NULL)
    return bw_fail(err, BW_EINVAL, "%s:%d: zone [%s] lacks '%s'", z->file,
                   z->line, z->id, missing);
  if (z->ncodes > 0 && z->nbits > 0)
    return bw_fail(err, BW_EINVAL,
                   "%s:%d: zone [%s] has both 'code' and 'bitmask' lines",
                   z->file, z->line, z->id);
  if (z->name == NULL && set_str(&z->name, z->id, err) != BW_OK)
    return BW_ENOMEM;
  if (set_str(&z->query_zone, z->zone, err) != BW_OK)
    return BW_ENOMEM;
  return BW_OK;
}

/* Moves the zones of src into dst, replacing zones with the same id. */
static enum bw_err catalog_merge(struct catalog *dst, struct catalog *src,
                                 char *err) {
  struct zone *grown;
  size_t added = 0;

  grown = realloc(dst->zones, (dst->n + src->n) * sizeof(*grown));
  if (grown == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  dst->zones = grown;
  for (size_t i = 0; i < src->n; i++) {
    struct zone *old = zone_find(dst, src->zones[i].id);
    if (old != NULL) {
      zone_free(old);
      *old = src->zones[i];
    } else {
      dst->zones[dst->n + added++] = src->zones[i];
    }
  }
  dst->n += added;
  free(src->zones);
  src->zones = NULL;
  src->n = 0;
  return BW_OK;
}

enum bw_err zone_catalog_load(struct catalog *cat, const char *path,
                              char *err) {
  struct catalog fresh = {0};
  struct load_state st = {.cat = &fresh, .path = path};
  enum bw_err rc;

  rc = ini_parse(path, catalog_entry, &st, err);
  for (size_t i = 0; rc == BW_OK && i < fresh.n; i++)
    rc = zone_validate(&fresh.zones[i], err);
  if (rc == BW_OK && fresh.n == 0)
    rc = bw_fail(err, BW_EINVAL, "%s: no zones defined", path);
  if (rc == BW_OK)
    rc = catalog_merge(cat, &fresh, err);
  zone_catalog_free(&fresh);
  return rc;
}

enum bw_err zone_catalog_apply_dqs(struct catalog *cat, const char *key,
                                   char *err) {
  char name[QNAME_MAX + 1];

  for (size_t i = 0; i < cat->n; i++) {
    struct zone *z = &cat->zones[i];
    if (z->dqs == NULL)
      continue;
    if (qname_join(name, sizeof(name), key, z->dqs) != 0)
      return bw_fail(err, BW_EINVAL, "DQS key makes zone name too long");
    if (set_str(&z->query_zone, name, err) != BW_OK)
      return BW_ENOMEM;
  }
  return BW_OK;
}
