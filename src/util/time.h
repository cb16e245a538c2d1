/* time.h - wall and monotonic clocks, RFC 3339 timestamps. */
#ifndef BARGE_TIME_H
#define BARGE_TIME_H

#include <stddef.h>
#include <stdint.h>

/* time_now_ms returns wall-clock milliseconds since the Unix epoch. */
int64_t time_now_ms(void);
/* time_mono_ms returns a monotonic clock in milliseconds, for timers. */
int64_t time_mono_ms(void);
/*
 * time_format_rfc3339 writes ms as "2026-11-26T05:30:00Z" (UTC, whole
 * seconds, the form AWS SDKs parse) into out, which must hold 32 bytes.
 */
void time_format_rfc3339(int64_t ms, char *out, size_t outsz);
/* time_format_rfc3339_ms is the same with milliseconds: "2026-11-26T05:30:00.123Z". */
void time_format_rfc3339_ms(int64_t ms, char *out, size_t outsz);

struct buf;
/*
 * time_put_member appends ,"key":"<ms as time_format_rfc3339_ms>" to the
 * JSON object being built in b, or nothing when ms is 0 (no such time).
 * Milliseconds, as Bedrock gives them: List's time filters compare them.
 */
void time_put_member(struct buf *b, const char *key, int64_t ms);
/*
 * time_parse_rfc3339 reads "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM)" into ms.
 * Returns 0, or ERR_INVAL if s is not such a timestamp.
 */
int time_parse_rfc3339(const char *s, int64_t *ms);
/* time_sleep_ms sleeps for ms milliseconds, resuming after signals. */
void time_sleep_ms(int64_t ms);

#endif
