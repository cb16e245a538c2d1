/* progress.c - the progress bar on a terminal, plain progress lines otherwise. */
#include "cli/cli.h"
#include "util/buf.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void progress_init(struct progress *p, bool enabled)
{
	const char *iv = getenv("BARGE_PROGRESS_INTERVAL_MS");

	p->enabled = enabled;
	p->tty = isatty(STDERR_FILENO) == 1;
	/* The first report waits a full interval: short jobs print none. */
	p->last_ms = time_mono_ms();
	p->drawn = false;
	/* Lines for logs are sparse; a bar can redraw often. */
	p->interval_ms = p->tty ? 200 : 5000;
	if (iv && atoi(iv) > 0)
		p->interval_ms = atoi(iv);
}

static void fmt_eta(char *out, size_t n, double secs)
{
	long s = (long)(secs + 0.5);

	if (secs < 0 || secs > 1e7)
		snprintf(out, n, "--:--");
	else if (s >= 3600)
		snprintf(out, n, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(out, n, "%ld:%02ld", s / 60, s % 60);
}

void progress_update(void *ud, const struct run_progress *rp)
{
	struct progress *p = ud;
	int64_t now = time_mono_ms();
	double secs = rp->elapsed_ms / 1000.0;
	double rate, tokrate, eta;
	char done[32], total[32], etas[16];

	if (!p->enabled || now - p->last_ms < p->interval_ms)
		return;
	p->last_ms = now;
	/* Rates count this run's work only, so that a resume's ETA is right. */
	rate = secs > 0 ? (double)(rp->c.processed - rp->base.processed) / secs : 0;
	tokrate = secs > 0 ? (double)(rp->c.input_tokens + rp->c.output_tokens -
				       rp->base.input_tokens - rp->base.output_tokens) / secs
			   : 0;
	eta = rate > 0 ? (double)(rp->c.total - rp->c.processed) / rate : -1;
	buf_fmt_int(done, sizeof(done), rp->c.processed);
	buf_fmt_int(total, sizeof(total), rp->c.total);
	fmt_eta(etas, sizeof(etas), eta);
	if (rp->backend_down) {
		if (p->tty)
			fprintf(stderr, "\r\033[K%s/%s records  backend %s unreachable: paused, probing",
				done, total, rp->backend);
		else
			fprintf(stderr, "progress: %s/%s records, backend %s unreachable: paused, probing\n",
				done, total, rp->backend);
		p->drawn = p->tty;
	} else if (p->tty) {
		char bar[31];
		int fill = rp->c.total > 0 ? (int)(30.0 * (double)rp->c.processed / (double)rp->c.total) : 0;

		for (int i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[30] = '\0';
		fprintf(stderr, "\r\033[K[%s] %s/%s records  %lld errors  %.0f rec/s  %.0f tok/s  ETA %s",
			bar, done, total, (long long)rp->c.errors, rate, tokrate, etas);
		p->drawn = true;
	} else {
		fprintf(stderr,
			"progress: %s/%s records, %lld errors, %.0f records/s, %.0f tokens/s, %lld in "
			"flight (limit %d), ETA %s\n",
			done, total, (long long)rp->c.errors, rate, tokrate, (long long)rp->in_flight,
			rp->limit, etas);
	}
	fflush(stderr);
}

void progress_end(struct progress *p)
{
	if (p->tty && p->drawn) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
	p->drawn = false;
}
