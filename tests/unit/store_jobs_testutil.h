/* Shared by test_imap_store.c and test_imap_view_cache.c: the store's
 * mailbox jobs in the shape store_submit's callbacks take, so a test can
 * run each on the writer. */
#ifndef TERN_TEST_STORE_JOBS_UTIL_H
#define TERN_TEST_STORE_JOBS_UTIL_H

#include "store/entries.h"
#include "store/mail.h"

static inline int fn_flags(struct store_tx *tx, void *arg)
{
	return store_flags_job(tx, arg);
}
static inline int fn_copy(struct store_tx *tx, void *arg)
{
	return store_copy_job(tx, arg);
}
static inline int fn_expunge(struct store_tx *tx, void *arg)
{
	return store_expunge_job(tx, arg);
}
static inline int fn_append(struct store_tx *tx, void *arg)
{
	return store_append_job(tx, arg);
}

#endif
