/* wireguard-go as a child of wice: the mesh interface when the kernel has
 * no WireGuard.
 *
 * It runs in the foreground, so that its pid is the process that owns the
 * interface, with its output on our stderr (the journal under systemd).
 * Starting it waits, bounded, for the interface and its UAPI socket; this
 * happens once when the daemon starts, before the main loop runs. */
#pragma once

#include <glib.h>
#include <stdbool.h>

/* The program to run: $WICE_WIREGUARD_GO if set (it must be executable),
 * else wireguard-go on PATH.  NULL with @error saying what was looked for. */
char *mesh_wggo_find(GError **error);

/* Starts @path for @ifname and waits until the interface exists and its
 * UAPI socket answers.  On failure nothing is left running and @error says
 * why (exit status, or that it timed out). */
bool mesh_wggo_start(const char *path, const char *ifname, GPid *ret_pid, GError **error);

/* SIGTERM, a bounded wait, then SIGKILL; reaps @pid and removes the UAPI
 * socket if the process could not. */
void mesh_wggo_stop(GPid pid, const char *ifname);
