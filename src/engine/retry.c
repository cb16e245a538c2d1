/* retry.c - which failures are retried, how long to wait, what code remains. */
#include "engine/engine.h"

/*
 * The retryable set of reference/model-families.md: transport failures,
 * timeouts, throttling and the server errors that usually pass.
 */
bool retry_is_retryable(int status, enum net_error net)
{
	if (net != NET_NONE)
		return true;
	switch (status) {
	case 408:
	case 429:
	case 500:
	case 502:
	case 503:
	case 504:
	case 529:
		return true;
	default:
		return false;
	}
}

int64_t retry_backoff_ms(int attempt, int base_ms, int max_ms, int64_t retry_after_ms,
			 struct rng *rng)
{
	int64_t ceiling = base_ms;
	int64_t wait;

	/* attempt 2 waits up to base, attempt 3 up to 2*base, and so on. */
	for (int i = 2; i < attempt && ceiling < max_ms; i++)
		ceiling *= 2;
	if (ceiling > max_ms)
		ceiling = max_ms;
	wait = ceiling > 0 ? (int64_t)(rng_unit(rng) * (double)(ceiling + 1)) : 0;
	if (retry_after_ms > wait)
		wait = retry_after_ms;
	return wait;
}

int retry_error_code(int status, enum net_error net, bool malformed)
{
	if (net == NET_TIMEOUT)
		return 408;
	if (net != NET_NONE)
		return 503;
	if (malformed)
		return 502;
	return status ? status : 500;
}
