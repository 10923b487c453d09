/*
 * strset.c - open-addressing string set with linear probing; keys are copied.
 */
#include "util/strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	char *key;
	long value;
	uint64_t hash;
};

struct strset {
	struct slot *slots;
	size_t cap, n;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

strset_t *strset_new(void)
{
	strset_t *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cap = 1024;
	s->slots = calloc(s->cap, sizeof(*s->slots));
	if (!s->slots) {
		free(s);
		return NULL;
	}
	return s;
}

void strset_free(strset_t *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i].key);
	free(s->slots);
	free(s);
}

static struct slot *find(const strset_t *s, const char *key, uint64_t h)
{
	for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		struct slot *sl = &s->slots[i];

		if (!sl->key || (sl->hash == h && strcmp(sl->key, key) == 0))
			return sl;
	}
}

static int grow(strset_t *s)
{
	struct slot *old = s->slots;
	size_t oldcap = s->cap;

	s->slots = calloc(oldcap * 2, sizeof(*s->slots));
	if (!s->slots) {
		s->slots = old;
		return -1;
	}
	s->cap = oldcap * 2;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			*find(s, old[i].key, old[i].hash) = old[i];
	free(old);
	return 0;
}

int strset_put(strset_t *s, const char *key, long value, long *old)
{
	uint64_t h = fnv1a(key);
	struct slot *sl;

	if ((s->n + 1) * 4 > s->cap * 3 && grow(s) != 0)
		return -1;
	sl = find(s, key, h);
	if (sl->key) {
		if (old)
			*old = sl->value;
		return 0;
	}
	sl->key = strdup(key);
	if (!sl->key)
		return -1;
	sl->hash = h;
	sl->value = value;
	s->n++;
	return 1;
}

int strset_add(strset_t *s, const char *key)
{
	return strset_put(s, key, 0, NULL);
}

bool strset_has(const strset_t *s, const char *key)
{
	return find(s, key, fnv1a(key))->key != NULL;
}

bool strset_set(strset_t *s, const char *key, long value)
{
	struct slot *sl = find(s, key, fnv1a(key));

	if (!sl->key)
		return false;
	sl->value = value;
	return true;
}

long strset_get(const strset_t *s, const char *key)
{
	const struct slot *sl = find(s, key, fnv1a(key));

	return sl->key ? sl->value : -1;
}

size_t strset_count(const strset_t *s)
{
	return s->n;
}
