/* Least privilege for the daemon, also when started by hand or from
 * wg-quick as plain root (wice.service bounds it already).
 *
 * Once the control socket is bound and the nftables table exists, the
 * daemon needs CAP_NET_ADMIN for WireGuard (generic netlink), nftables and
 * forced receive buffers, and CAP_CHOWN to hand the control socket to a
 * group a reload names, and, when the configuration asks for the eBPF
 * relay path (`[proxy] relay-path = bpf`), CAP_BPF to load its tc programs
 * when the first relay pair comes (bpf-relay.h).  It stays uid 0:
 * userspace WireGuard's UAPI
 * sockets and /run/wice are root's, and as their owner it needs no
 * CAP_DAC_OVERRIDE for them.  Everything else goes, so a bug in a parser
 * of network input can no longer load modules, read other users' files,
 * trace processes or change the clock.  no-new-privileges keeps it so
 * across exec. */
#include "config.h"

#include <cap-ng.h>
#include <errno.h>
#include <gio/gio.h>
#include <grp.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "privileges.h"

static int keep_only_ours(capng_select_t sets, bool bpf)
{
	unsigned types = CAPNG_EFFECTIVE | CAPNG_PERMITTED;

	if (sets == CAPNG_SELECT_BOTH)
		types |= CAPNG_BOUNDING_SET;
	capng_clear(sets);
	capng_updatev(CAPNG_ADD, (capng_type_t)types, CAP_NET_ADMIN, CAP_CHOWN, -1);
	if (bpf)
		capng_update(CAPNG_ADD, (capng_type_t)types, CAP_BPF);
	return capng_apply(sets);
}

bool privileges_drop(bool bpf)
{
	int r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		g_warning("cannot set no-new-privileges: %s", g_strerror(errno));
	capng_get_caps_process();
	/* Bounding the set takes CAP_SETPCAP; a daemon started bounded
	 * already (wice.service) keeps the bounds it was given.  Emptying
	 * the inheritable set also empties the ambient one. */
	r = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP) ? keep_only_ours(CAPNG_SELECT_BOTH, bpf) : -1;
	if (r < 0) {
		capng_get_caps_process();
		r = keep_only_ours(CAPNG_SELECT_CAPS, bpf);
	}
	if (r < 0) {
		g_warning("cannot drop capabilities (libcap-ng error %d); running with those it was given", r);
		return false;
	}
	return true;
}

/* [daemon] user=: the uid that owns the system's files is given up, too.
 * CAP_CHOWN goes with it (a non-root owner of CAP_CHOWN could take any
 * file), so the control socket is handed to the user beforehand and a
 * reload may move it only to the user's own groups.  KEEPCAPS carries the
 * permitted set across setresuid() for this thread; glibc changes the ids
 * of every thread, and threads without KEEPCAPS lose all capabilities. */
static int switch_ids(const char *user, uid_t uid, gid_t gid)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || initgroups(user, gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return -errno;
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	return 0;
}

bool privileges_become(const char *user, uid_t uid, gid_t gid, GError **error)
{
	int r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		g_warning("cannot set no-new-privileges: %s", g_strerror(errno));
	capng_get_caps_process();
	if (capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP)) {
		capng_clear(CAPNG_SELECT_BOUNDS);
		capng_update(CAPNG_ADD, CAPNG_BOUNDING_SET, CAP_NET_ADMIN);
		if ((r = capng_apply(CAPNG_SELECT_BOUNDS)) < 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
				    "cannot bound the capabilities (libcap-ng error %d)", r);
			return false;
		}
	}
	r = switch_ids(user, uid, gid);
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r),
			    "cannot become user '%s': %s (it takes CAP_SETUID and CAP_SETGID)", user, g_strerror(-r));
		return false;
	}
	capng_clear(CAPNG_SELECT_CAPS);
	capng_update(CAPNG_ADD, (capng_type_t)(CAPNG_EFFECTIVE | CAPNG_PERMITTED), CAP_NET_ADMIN);
	if ((r = capng_apply(CAPNG_SELECT_CAPS)) < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			    "user '%s' could not keep CAP_NET_ADMIN (libcap-ng error %d)", user, r);
		return false;
	}
	return true;
}
