/*
 * strset.h - a set of strings (open addressing), for spotting duplicate keys
 * in an import of a million rows without asking the store each time.
 */
#ifndef CD_UTIL_STRSET_H
#define CD_UTIL_STRSET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct strset strset_t;

strset_t *strset_new(void);
void strset_free(strset_t *s);
/* Adds key; returns 1 if added, 0 if it was there, -1 out of memory. */
int strset_add(strset_t *s, const char *key);
bool strset_has(const strset_t *s, const char *key);
/* Like strset_add but remembers a value (an int) with the key; *old receives
 * the value already stored when the key was there. */
int strset_put(strset_t *s, const char *key, long value, long *old);
/* Replaces the value of a key that is in the set; returns false if it is not. */
bool strset_set(strset_t *s, const char *key, long value);
/* The value of key, or -1 when absent. */
long strset_get(const strset_t *s, const char *key);
size_t strset_count(const strset_t *s);

#endif
