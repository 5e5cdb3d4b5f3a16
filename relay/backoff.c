/* backoff: see backoff.h. */
#include "relay/backoff.h"

int64_t retry_backoff(int64_t first, int64_t max, int64_t n)
{
	int64_t d = first;
	for (int64_t i = 1; i < n && d < max; i++)
		d *= 2;
	return d < max ? d : max;
}
