/*
 * progress.c - the stderr progress bar behind progress.h.
 *
 * The state is one process-wide bar under a mutex. Each redraw is built in a
 * buffer and written with one write(2): carriage return, the line, and "erase
 * to end of line", so a shorter line leaves no debris. The line is cut to the
 * terminal's width (label first, then the bar) so that it never wraps.
 */
#include "util/progress.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define LABEL_MAX	40
#define BAR_WIDTH	20
#define REDRAW_EVERY_NS 100000000LL /* 10 times a second */

static struct {
	pthread_mutex_t lock;
	bool active;
	char label[LABEL_MAX + 1];
	uint64_t total, done;
	enum progress_unit unit;
	int64_t started_ns, drawn_ns;
	int cols; /* terminal width when the bar started */
} bar = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int terminal_columns(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

/* Copies at most LABEL_MAX bytes of label, never cutting a UTF-8 character. */
static void set_label(const char *label)
{
	size_t n = label ? strlen(label) : 0;

	if (n > LABEL_MAX) {
		n = LABEL_MAX;
		while (n > 0 && ((unsigned char)label[n] & 0xC0) == 0x80)
			n--;
	}
	if (n)
		memcpy(bar.label, label, n);
	bar.label[n] = '\0';
}

/* "1234" for items, "12.3 MiB" for bytes. */
static void amount(char *buf, size_t size, double v, enum progress_unit unit)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	if (unit == PROGRESS_ITEMS) {
		snprintf(buf, size, "%.0f", v);
		return;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* Bytes of label that fit in `cols` terminal columns (East Asian characters take two). */
static size_t label_fit(const char *label, int cols)
{
	size_t i = 0, fit = 0;
	int used = 0;

	while (label[i]) {
		unsigned char c = (unsigned char)label[i];
		size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		int w = c < 0xE1 ? 1 : 2; /* U+1100 and up: close enough for a label */

		if (used + w > cols)
			break;
		used += w;
		i += n;
		fit = i;
	}
	return fit;
}

static void draw(int64_t now, bool final)
{
	char line[256], tail[160], done[32], total[32], rate[32], cells[BAR_WIDTH + 1];
	double secs = (double)(now - bar.started_ns) / 1e9;
	int n, room;

	amount(done, sizeof(done), (double)bar.done, bar.unit);
	amount(rate, sizeof(rate), secs > 0 ? (double)bar.done / secs : 0, bar.unit);
	if (bar.total) {
		double frac = bar.done < bar.total ? (double)bar.done / (double)bar.total : 1.0;
		int fill = (int)(frac * BAR_WIDTH);

		memset(cells, '#', (size_t)fill);
		memset(cells + fill, '.', (size_t)(BAR_WIDTH - fill));
		cells[BAR_WIDTH] = '\0';
		amount(total, sizeof(total), (double)bar.total, bar.unit);
		n = snprintf(tail, sizeof(tail), "[%s] %3d%%  %s/%s  %s/s", cells,
			     (int)(frac * 100), done, total, rate);
		if (n + 2 >= bar.cols) /* a narrow terminal: the bar goes first */
			n = snprintf(tail, sizeof(tail), "%3d%%  %s/%s  %s/s", (int)(frac * 100),
				     done, total, rate);
	} else {
		n = snprintf(tail, sizeof(tail), "%s  %s/s", done, rate);
	}
	/* the line must not wrap, or the carriage return no longer reaches its start */
	room = bar.cols - 1 - n - 2;
	n = snprintf(line, sizeof(line), "\r%.*s  %s\033[K%s",
		     room > 0 ? (int)label_fit(bar.label, room) : 0, bar.label, tail,
		     final ? "\n" : "");
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	/* a failed write only loses one frame of the bar */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
	bar.drawn_ns = now;
}

static void finish_locked(void)
{
	if (!bar.active)
		return;
	draw(now_ns(), true);
	bar.active = false;
}

void progress_start(const char *label, uint64_t total, enum progress_unit unit)
{
	pthread_mutex_lock(&bar.lock);
	finish_locked();
	if (isatty(STDERR_FILENO)) {
		set_label(label);
		bar.total = total;
		bar.done = 0;
		bar.unit = unit;
		bar.started_ns = now_ns();
		bar.cols = terminal_columns();
		bar.active = true;
		draw(bar.started_ns, false);
	}
	pthread_mutex_unlock(&bar.lock);
}

void progress_update(uint64_t done)
{
	int64_t now;

	pthread_mutex_lock(&bar.lock);
	if (bar.active) {
		bar.done = done;
		now = now_ns();
		if (now - bar.drawn_ns >= REDRAW_EVERY_NS)
			draw(now, false);
	}
	pthread_mutex_unlock(&bar.lock);
}

void progress_finish(void)
{
	pthread_mutex_lock(&bar.lock);
	finish_locked();
	pthread_mutex_unlock(&bar.lock);
}
