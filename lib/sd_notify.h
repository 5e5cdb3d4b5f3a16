/* sd_notify: tell a service manager how `tern serve` is doing, the way
 * systemd's sd_notify(3) does, without linking libsystemd.
 *
 * When $NOTIFY_SOCKET names an AF_UNIX datagram socket (a path, or
 * "@name" for the abstract namespace), each call sends one datagram of
 * newline-separated VAR=value lines to it (READY=1, RELOADING=1,
 * STOPPING=1, STATUS=..., MONOTONIC_USEC=...). Without it every call does
 * nothing. Sending never blocks and never fails the caller: a full or
 * vanished socket only costs the message (logged at debug). */
#ifndef TERN_SD_NOTIFY_H
#define TERN_SD_NOTIFY_H

/* Send the lines in text ("READY=1\nSTATUS=..."). 1 sent, 0 no
 * $NOTIFY_SOCKET, -1 not sent. */
int sd_notify_send(const char *text);

/* Printf-style sd_notify_send. */
int sd_notify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "RELOADING=1" with "MONOTONIC_USEC=<CLOCK_MONOTONIC now>", which systemd
 * 253 and later want beside it (Type=notify-reload), and a STATUS line. */
int sd_notify_reloading(const char *status);

#endif
