/* first_start: what `tern serve` does on a fresh data directory, and the
 * one trace it leaves. */
#ifndef TERN_FIRST_START_H
#define TERN_FIRST_START_H

#include <stdbool.h>

struct config;
struct store;

/* Where the postmaster password of a first start is kept when there was no
 * terminal to show it on: <data_dir>/postmaster.password, mode 0600. */
#define FIRST_START_PASSWORD_FILE "postmaster.password"

/* The primary domain and, if the store has no account yet,
 * postmaster@<domain> with a random password. The password is printed
 * when stdout is a terminal; otherwise it goes to the password file and
 * the log says where (never the password itself). 0, or -1 (logged). */
int first_start(const struct config *cfg, struct store *store);

/* `tern user passwd ADDRESS` changed a password: when ADDRESS is the
 * first start's postmaster, its password file is out of date and goes.
 * Returns true if a file was removed. */
bool first_start_password_changed(const struct config *cfg, const char *address);

#endif
