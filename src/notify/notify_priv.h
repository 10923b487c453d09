/*
 * notify_priv.h - what the mail templates of src/notify share (not for
 * other stages): the display name as the body greets it, dates as a
 * customer reads them.
 */
#ifndef CD_NOTIFY_PRIV_H
#define CD_NOTIFY_PRIV_H

#include <stddef.h>

/* A display name for the body: every control (CR and LF first) becomes a
 * space, runs of spaces one, at most outsz - 1 bytes (cut at a character). */
const char *notify_plain_name(const char *in, char *out, size_t outsz);
/* "2026年11月25日" / "November 25, 2026" from cd_tz_format's "2026-11-25 ..." */
void notify_date_ja(const char buf[17], char *out, size_t outsz);
void notify_date_en(const char buf[17], char *out, size_t outsz);

#endif
