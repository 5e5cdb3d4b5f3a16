/* lock: the IN-USE registry (see lock.h).
 *
 * A flat array: the number of concurrently open POP3 sessions is small (a
 * few per user who polls), and a linear scan over a few hundred int64s is
 * cheaper than any hash table would be to get right. */
#include "proto/pop3/lock.h"

#include <stdlib.h>

static int64_t *held;
static size_t nheld, capheld;

bool pop3_lock_acquire(int64_t account_id)
{
	for (size_t i = 0; i < nheld; i++)
		if (held[i] == account_id)
			return false;
	if (nheld == capheld) {
		size_t cap = capheld ? capheld * 2 : 16;
		int64_t *p = realloc(held, cap * sizeof *p);
		if (!p)
			return false;
		held = p;
		capheld = cap;
	}
	held[nheld++] = account_id;
	return true;
}

void pop3_lock_release(int64_t account_id)
{
	for (size_t i = 0; i < nheld; i++) {
		if (held[i] == account_id) {
			held[i] = held[--nheld];
			return;
		}
	}
}

size_t pop3_lock_count(void)
{
	return nheld;
}
