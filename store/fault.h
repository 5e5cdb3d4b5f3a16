/* fault: store failures injected on purpose, for the reliability suite's
 * fault driver (tests/reliability/faults.py), in builds configured with
 * -DTERN_FAULTS=ON. A plain build compiles the hooks out: the calls below
 * are then never made, and store_fault_arm() only says it is inert.
 *
 * TERN_FAULT="SITE:N[:KIND]" names the one failure of a run, counted from
 * store_fault_arm() (after the server listens, so that startup is not
 * what fails):
 *
 *   step:N:ioerr|full|busy  the N-th sqlite3_step on the write connection
 *                           returns SQLITE_IOERR, SQLITE_FULL or
 *                           SQLITE_BUSY without running (the statement is
 *                           left as if it had failed; BEGIN, COMMIT and the
 *                           savepoints count too)
 *   wal:N:short|enospc      the N-th write of WAL frames to the file
 *                           (store/wal_vfs.c's flush) writes half and
 *                           fails, or writes nothing: SQLITE_FULL, as the
 *                           unix VFS reports a short write
 *   sync:N                  the N-th fdatasync of the WAL by the syncer
 *                           (or store_exec) fails with EIO
 *
 * When the failure is injected the log says `store event=fault_injected`,
 * so the driver knows that step N existed; a run without that line means
 * the scenario has fewer than N such steps, and the sweep is over. */
#ifndef TERN_STORE_FAULT_H
#define TERN_STORE_FAULT_H

#include <stdbool.h>

/* Read TERN_FAULT and start counting. Logs what was armed; in a build
 * without TERN_FAULTS, a TERN_FAULT in the environment is refused with an
 * error line (the run would test nothing). */
void store_fault_arm(void);
/* At shutdown: `store event=fault_count site=S seen=N`, how many steps of
 * the armed site the run had (the driver's first run, with a huge N, learns
 * from it how far to sweep). */
void store_fault_summary(void);

#endif
