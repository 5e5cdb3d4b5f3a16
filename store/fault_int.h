/* fault_int: the hooks store/fault.h's injections go through, inside the
 * store (TERN_FAULTS builds only). */
#ifndef TERN_STORE_FAULT_INT_H
#define TERN_STORE_FAULT_INT_H

#include <stdbool.h>
#include <sqlite3.h>

#ifdef TERN_FAULTS
/* sqlite3_step through the step counter: store_int.h maps every
 * sqlite3_step of the store onto it. */
int store_fault_step(sqlite3_stmt *st);
/* The write connection: its steps are the ones counted. */
void store_fault_note_writer(sqlite3 *db);
/* For a WAL flush of len bytes: 0 (write it all), or how much to write
 * before failing with SQLITE_FULL (0 < cut < len: a short write), or -1:
 * nothing, SQLITE_FULL (ENOSPC). */
long store_fault_wal_write(long len, bool *fail);
/* For an fdatasync of the WAL: true when it is to fail with EIO. */
bool store_fault_sync(void);
#endif

#endif
