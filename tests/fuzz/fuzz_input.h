/*
 * fuzz_input.h - what the fuzz targets over text parsers share: the input as a
 * NUL-terminated string, refused (NULL) when longer than the parser accepts.
 */
#ifndef CD_FUZZ_INPUT_H
#define CD_FUZZ_INPUT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A malloc'd NUL-terminated copy of data, or NULL when size > max. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size, size_t max)
{
	char *s;

	if (size > max || !(s = malloc(size + 1)))
		return NULL;
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
