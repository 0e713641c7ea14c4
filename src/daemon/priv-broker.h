/* What a daemon that became [daemon] user= still needs root's file access
 * for, done by a small process that stayed root (priv-broker.c). */
#pragma once

#include <stdbool.h>

/* Forks the broker, which keeps uid 0 but no capability.  It opens, for
 * the daemon, userspace WireGuard's UAPI sockets and @config_path, and
 * removes @socket_path (the control socket) once the daemon is gone.
 * Call it while still root, before changing users.  Returns false with
 * errno set when it could not start. */
bool priv_broker_start(const char *config_path, const char *socket_path);
/* A connected socket to /var/run/wireguard/IFNAME.sock, or -errno.  Safe
 * from any thread (WireGuard I/O runs on one worker per interface). */
int priv_broker_uapi(const char *ifname);
/* The configuration file opened for reading, or -errno; -ENOSYS when no
 * broker runs. */
int priv_broker_config(void);
