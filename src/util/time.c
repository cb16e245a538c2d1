/* time.c - wall and monotonic clocks, RFC 3339 timestamps. */
#define _POSIX_C_SOURCE 200809L
#include "util/time.h"
#include "util/buf.h"
#include "util/err.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void time_format_rfc3339(int64_t ms, char *out, size_t outsz)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void time_format_rfc3339_ms(int64_t ms, char *out, size_t outsz)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outsz, "%s.%03dZ", base, (int)(ms % 1000));
}

/* days_from_civil converts a proleptic Gregorian date to days since 1970. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

static int read_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int time_parse_rfc3339(const char *s, int64_t *ms)
{
	int Y, M, D, h, m, sec, frac = 0, fdig = 0;
	int64_t off = 0, days, t;
	const char *p = s;

	if (read_digits(&p, 4, &Y) || *p++ != '-' || read_digits(&p, 2, &M) ||
	    *p++ != '-' || read_digits(&p, 2, &D))
		return ERR_INVAL;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return ERR_INVAL;
	p++;
	if (read_digits(&p, 2, &h) || *p++ != ':' || read_digits(&p, 2, &m) ||
	    *p++ != ':' || read_digits(&p, 2, &sec))
		return ERR_INVAL;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return ERR_INVAL;
		while (isdigit((unsigned char)*p)) {
			if (fdig < 3) {
				frac = frac * 10 + (*p - '0');
				fdig++;
			}
			p++;
		}
		while (fdig < 3) {
			frac *= 10;
			fdig++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, sign = *p == '-' ? -1 : 1;

		p++;
		if (read_digits(&p, 2, &oh) || *p++ != ':' || read_digits(&p, 2, &om) || oh > 23 ||
		    om > 59)
			return ERR_INVAL;
		off = sign * ((int64_t)oh * 3600 + om * 60);
	} else {
		return ERR_INVAL;
	}
	if (*p || M < 1 || M > 12 || D < 1 || D > days_in_month(Y, M) || h > 23 || m > 59 ||
	    sec > 60)
		return ERR_INVAL;
	days = days_from_civil(Y, (unsigned)M, (unsigned)D);
	t = days * 86400 + h * 3600 + m * 60 + sec - off;
	*ms = t * 1000 + frac;
	return 0;
}

void time_sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

void time_put_member(struct buf *b, const char *key, int64_t ms)
{
	char t[40];

	if (!ms)
		return;
	time_format_rfc3339_ms(ms, t, sizeof(t));
	buf_printf(b, ",\"%s\":\"%s\"", key, t);
}
