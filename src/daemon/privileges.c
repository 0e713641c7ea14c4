/* Least privilege for the daemon, also when started by hand or from
 * wg-quick as plain root (wice.service bounds it already).
 *
 * Once the control socket is bound and the nftables table exists, the
 * daemon needs CAP_NET_ADMIN for WireGuard (generic netlink), nftables and
 * forced receive buffers, and CAP_CHOWN to hand the control socket to a
 * group a reload names.  It stays uid 0: userspace WireGuard's UAPI
 * sockets and /run/wice are root's, and as their owner it needs no
 * CAP_DAC_OVERRIDE for them.  Everything else goes, so a bug in a parser
 * of network input can no longer load modules, read other users' files,
 * trace processes or change the clock.  no-new-privileges keeps it so
 * across exec. */
#include "config.h"

#include <cap-ng.h>
#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/prctl.h>

#include "privileges.h"

static int keep_only_ours(capng_select_t sets)
{
	unsigned types = CAPNG_EFFECTIVE | CAPNG_PERMITTED;

	if (sets == CAPNG_SELECT_BOTH)
		types |= CAPNG_BOUNDING_SET;
	capng_clear(sets);
	capng_updatev(CAPNG_ADD, (capng_type_t)types, CAP_NET_ADMIN, CAP_CHOWN, -1);
	return capng_apply(sets);
}

bool privileges_drop(void)
{
	int r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		g_warning("cannot set no-new-privileges: %s", g_strerror(errno));
	capng_get_caps_process();
	/* Bounding the set takes CAP_SETPCAP; a daemon started bounded
	 * already (wice.service) keeps the bounds it was given.  Emptying
	 * the inheritable set also empties the ambient one. */
	r = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP) ? keep_only_ours(CAPNG_SELECT_BOTH) : -1;
	if (r < 0) {
		capng_get_caps_process();
		r = keep_only_ours(CAPNG_SELECT_CAPS);
	}
	if (r < 0) {
		g_warning("cannot drop capabilities (libcap-ng error %d); running with those it was given", r);
		return false;
	}
	return true;
}
