/*
 * verify.h - proving a certificate live: a TLS handshake to the hosting
 * server's address and TLS port with SNI for each name; the leaf served must
 * be the expected certificate (serial and SHA-256 fingerprint) and the chain
 * served must verify, for that name, to the given roots (DESIGN.md §2 verify;
 * §3.3 invariant 1 rests on it).
 *
 * Settings ([verify]): timeout_ms (one connection and handshake), attempts
 * and retry_ms (brief retries: a reload takes a moment to reach every
 * worker), roots (a PEM file of trusted roots, used when the caller gives
 * none).
 */
#ifndef CD_VERIFY_VERIFY_H
#define CD_VERIFY_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "util/config.h"
#include "util/err.h"

#define VERIFY_MAX_NAMES  16
#define VERIFY_DETAIL_MAX 512

struct verify_options {
	long timeout_ms; /* per handshake; 0 = 5000 */
	long attempts;	 /* tries per name; 0 = 1 */
	long retry_ms;	 /* pause between tries */
};

/* The [verify] settings (roots_out may be NULL; it gets "" when unset). */
int verify_options_load(const cd_config_t *cfg, struct verify_options *out, char *roots_out,
			size_t roots_sz, struct cd_err *err);

/* What one name showed. */
struct verify_name {
	char name[254];
	bool ok;
	char served_serial[80]; /* upper-case hex, "" when nothing was served */
	char served_sha256[65];
	char detail[VERIFY_DETAIL_MAX]; /* "served serial X, expected Y", "connection refused" */
};

struct verify_report {
	bool ok; /* every name served the expected certificate with a good chain */
	size_t n_names;
	struct verify_name names[VERIFY_MAX_NAMES];
	/* the first failure, naming the name ("" when ok) */
	char detail[VERIFY_DETAIL_MAX];
};

/* Probes addr:port (an IP literal) once per name, retrying each failing name
 * up to opt->attempts times. expected_pem is the expected leaf (the first
 * certificate in it; a full chain is fine); roots_file is a PEM file of
 * trusted roots. Returns 0 when the probes ran (the verdict is in *out) and
 * a negative code only when they could not (bad arguments, unreadable
 * roots or expected certificate). */
int verify_live(const struct verify_options *opt, const char *addr, int port,
		const char *const *names, size_t n_names, const char *expected_pem,
		size_t expected_len, const char *roots_file, struct verify_report *out,
		struct cd_err *err);

#endif
