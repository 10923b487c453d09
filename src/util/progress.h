/*
 * progress.h - one progress bar on stderr for long operator commands (import).
 *
 * The bar is drawn only when stderr is a terminal, and redrawn at most ten
 * times a second; otherwise every call does nothing, so callers never check.
 * One bar at a time per process; the calls are safe from several threads.
 *
 *   import members  [##########..........]  50%  5000/10000  1234/s
 */
#ifndef CD_UTIL_PROGRESS_H
#define CD_UTIL_PROGRESS_H

#include <stdint.h>

enum progress_unit {
	PROGRESS_ITEMS, /* counts shown as numbers, rate per second */
	PROGRESS_BYTES, /* counts shown as KiB/MiB/GiB, rate in bytes per second */
};

/* Starts a bar; total 0 means unknown (no bar, no percent). The label is
 * copied (at most 40 bytes are shown). A bar already running is finished. */
void progress_start(const char *label, uint64_t total, enum progress_unit unit);

/* Sets the amount done so far (not an increment). */
void progress_update(uint64_t done);

/* Draws the final state and ends the line. Nothing happens without a bar. */
void progress_finish(void);

#endif
