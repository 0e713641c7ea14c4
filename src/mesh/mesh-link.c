/* The mesh interface (mesh-link.h): adopt, or create with the kernel's
 * WireGuard, or with wireguard-go; address, route, and undo it all.
 *
 * What was found is never destroyed: an adopted interface keeps living
 * after wice, and only the addresses and routes that wice added to it
 * (not those that were there already) are taken back.  An interface made
 * here goes away whole, and its addresses and routes with it. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gio/gio.h>
#include <net/if.h>
#include <stdarg.h>
#include <string.h>

#include "mesh-link.h"
#include "mesh-rtnl.h"
#include "mesh-wggo.h"
#include "wg/wg-uapi.h"
#include "wg/wg.h"

enum link_origin {
	LINK_ADOPTED,
	LINK_KERNEL,
	LINK_WIREGUARD_GO,
};

/* An address or route that wice added, to take back from an adopted
 * interface. */
struct link_entry {
	bool route;
	int family;
	uint8_t addr[sizeof(struct in6_addr)];
	unsigned prefix_len;
};

struct mesh_link {
	char name[IFNAMSIZ];
	unsigned ifindex;
	enum link_origin origin;
	bool userspace; /* served by wireguard-go (ours or adopted) */
	GPid wggo_pid;
	GArray *added; /* struct link_entry */
};

static size_t addr_len(int family)
{
	return family == AF_INET ? sizeof(struct in_addr) : family == AF_INET6 ? sizeof(struct in6_addr) : 0;
}

G_GNUC_PRINTF(4, 5)
static bool fail_rtnl(GError **error, int r, const struct mesh_rtnl_msg *msg, const char *fmt, ...)
{
	g_autofree char *what = NULL;
	va_list ap;

	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (msg && msg->text[0])
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r), "%s: %s (%s)", what, msg->text,
			    g_strerror(-r));
	else
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r), "%s: %s", what, g_strerror(-r));
	return false;
}

/* "10.1.2.3/16" for messages. */
static void format_prefix(char *buf, size_t size, int family, const void *addr, unsigned prefix_len)
{
	char text[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family, addr, text, sizeof(text));
	g_snprintf(buf, size, "%s/%u", text, prefix_len);
}

static bool check_prefix(int family, unsigned prefix_len, GError **error)
{
	size_t len = addr_len(family);

	if (!len) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "address family %d is neither IPv4 nor IPv6",
			    family);
		return false;
	}
	if (prefix_len > len * 8) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "prefix length %u is over %zu", prefix_len,
			    len * 8);
		return false;
	}
	return true;
}

/* ---- what wice added ------------------------------------------------------ */

static struct link_entry entry_of(bool route, int family, const void *addr, unsigned prefix_len)
{
	struct link_entry e = { .route = route, .family = family, .prefix_len = prefix_len };

	memcpy(e.addr, addr, addr_len(family));
	return e;
}

static bool entry_equal(const struct link_entry *a, const struct link_entry *b)
{
	return a->route == b->route && a->family == b->family && a->prefix_len == b->prefix_len &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static void remember(struct mesh_link *link, const struct link_entry *e)
{
	g_array_append_val(link->added, *e);
}

static void forget(struct mesh_link *link, const struct link_entry *e)
{
	for (guint i = link->added->len; i-- > 0;)
		if (entry_equal(&g_array_index(link->added, struct link_entry, i), e))
			g_array_remove_index(link->added, i);
}

static bool gone_already(int r)
{
	return r == -ENOENT || r == -ESRCH || r == -EADDRNOTAVAIL || r == -ENODEV;
}

/* Removes one entry from the interface; a missing one is fine. */
static int take_back(const struct mesh_link *link, const struct link_entry *e, struct mesh_rtnl_msg *msg)
{
	int r = e->route ? mesh_rtnl_route(false, link->ifindex, e->family, e->addr, e->prefix_len, msg)
			 : mesh_rtnl_address(false, link->ifindex, e->family, e->addr, e->prefix_len, msg);

	return gone_already(r) ? 0 : r;
}

static void take_back_all(struct mesh_link *link)
{
	for (guint i = link->added->len; i-- > 0;) {
		const struct link_entry *e = &g_array_index(link->added, struct link_entry, i);
		struct mesh_rtnl_msg msg;
		int r = take_back(link, e, &msg);
		char text[INET6_ADDRSTRLEN + 8];

		if (r < 0) {
			format_prefix(text, sizeof(text), e->family, e->addr, e->prefix_len);
			g_warning("%s: cannot remove %s %s: %s%s%s", link->name, e->route ? "route" : "address", text,
				  g_strerror(-r), msg.text[0] ? ": " : "", msg.text);
		}
	}
	g_array_set_size(link->added, 0);
}

/* ---- opening ----------------------------------------------------------------- */

static bool link_adopt(struct mesh_link *link, GError **error)
{
	if (!wg_is_device(link->name)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "interface '%s' exists and is not a WireGuard interface",
			    link->name);
		return false;
	}
	link->origin = LINK_ADOPTED;
	link->userspace = wg_uapi_exists(link->name);
	g_message("%s: using the existing %s interface", link->name, mesh_link_kind(link));
	return true;
}

/* The kernel has no WireGuard: wireguard-go's turn. */
static bool link_create_userspace(struct mesh_link *link, const char *kernel_said, GError **error)
{
	g_autoptr(GError) why = NULL;
	g_autofree char *path = mesh_wggo_find(&why);

	if (!path || !mesh_wggo_start(path, link->name, &link->wggo_pid, &why)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "cannot create WireGuard interface '%s': the kernel has no WireGuard (%s), and %s", link->name,
			    kernel_said, why->message);
		return false;
	}
	link->origin = LINK_WIREGUARD_GO;
	link->userspace = true;
	return true;
}

static bool link_create(struct mesh_link *link, GError **error)
{
	g_autofree char *kernel_said = NULL;
	struct mesh_rtnl_msg msg;
	int r = mesh_rtnl_link_add_wireguard(link->name, &msg);

	if (r == 0) {
		link->origin = LINK_KERNEL;
		g_message("%s: created a kernel WireGuard interface", link->name);
		return true;
	}
	if (r != -EOPNOTSUPP)
		return fail_rtnl(error, r, &msg, "cannot create WireGuard interface '%s'", link->name);
	kernel_said = msg.text[0] ? g_strdup_printf("it said: %s", msg.text) : g_strdup(g_strerror(-r));
	return link_create_userspace(link, kernel_said, error);
}

static bool link_up(struct mesh_link *link, GError **error)
{
	struct mesh_rtnl_msg msg;
	int r;

	/* By index from here on: a name can be taken by another interface
	 * after this one is gone. */
	link->ifindex = if_nametoindex(link->name);
	if (!link->ifindex)
		return fail_rtnl(error, -ENODEV, NULL, "interface '%s' vanished", link->name);
	r = mesh_rtnl_link_up(link->ifindex, &msg);
	if (r < 0)
		return fail_rtnl(error, r, &msg, "cannot bring up '%s'", link->name);
	return true;
}

struct mesh_link *mesh_link_open(const char *ifname, GError **error)
{
	struct mesh_link *link;
	bool ok;

	if (!wg_ifname_valid(ifname)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "invalid interface name '%s' (1 to 15 bytes, no white space, '/' or ':')", ifname);
		return NULL;
	}
	link = g_new0(struct mesh_link, 1);
	g_strlcpy(link->name, ifname, sizeof(link->name));
	link->added = g_array_new(FALSE, FALSE, sizeof(struct link_entry));
	link->origin = LINK_ADOPTED; /* until something is made: free must not destroy */
	ok = if_nametoindex(ifname) ? link_adopt(link, error) : link_create(link, error);
	if (!ok || !link_up(link, error)) {
		mesh_link_free(link);
		return NULL;
	}
	return link;
}

/* ---- closing ----------------------------------------------------------------- */

static void link_delete_kernel(struct mesh_link *link)
{
	struct mesh_rtnl_msg msg = { "" };
	int r;

	if (!link->ifindex)
		link->ifindex = if_nametoindex(link->name);
	r = link->ifindex ? mesh_rtnl_link_del(link->ifindex, &msg) : -ENODEV;
	if (r < 0 && r != -ENODEV)
		g_warning("%s: cannot delete the interface: %s%s%s", link->name, g_strerror(-r), msg.text[0] ? ": " : "",
			  msg.text);
}

void mesh_link_free(struct mesh_link *link)
{
	if (!link)
		return;
	switch (link->origin) {
	case LINK_ADOPTED:
		take_back_all(link);
		break;
	case LINK_KERNEL:
		link_delete_kernel(link);
		break;
	case LINK_WIREGUARD_GO:
		/* Its interface goes with it. */
		mesh_wggo_stop(link->wggo_pid, link->name);
		break;
	}
	g_array_unref(link->added);
	g_free(link);
}

const char *mesh_link_name(const struct mesh_link *link)
{
	return link->name;
}

unsigned mesh_link_ifindex(const struct mesh_link *link)
{
	return link->ifindex;
}

const char *mesh_link_kind(const struct mesh_link *link)
{
	return link->userspace ? "wireguard-go" : "kernel";
}

/* ---- addresses and routes ----------------------------------------------------- */

/* Adds (idempotently) or removes an address or route. */
static bool link_change(struct mesh_link *link, bool add, bool route, int family, const void *addr,
			unsigned prefix_len, GError **error)
{
	struct link_entry e;
	struct mesh_rtnl_msg msg;
	char text[INET6_ADDRSTRLEN + 8];
	int r;

	if (!check_prefix(family, prefix_len, error))
		return false;
	e = entry_of(route, family, addr, prefix_len);
	r = route ? mesh_rtnl_route(add, link->ifindex, family, addr, prefix_len, &msg)
		  : mesh_rtnl_address(add, link->ifindex, family, addr, prefix_len, &msg);
	if (add && r == 0)
		remember(link, &e);
	if (!add)
		forget(link, &e);
	/* There already (and not ours to take back), or gone already. */
	if (add ? r == -EEXIST : gone_already(r))
		r = 0;
	if (r == 0)
		return true;
	format_prefix(text, sizeof(text), family, addr, prefix_len);
	return fail_rtnl(error, r, &msg, "cannot %s %s %s %s '%s'", add ? "add" : "remove", route ? "route" : "address",
			 text, add ? "to" : "from", link->name);
}

bool mesh_link_address_add(struct mesh_link *link, int family, const void *addr, unsigned prefix_len, GError **error)
{
	return link_change(link, true, false, family, addr, prefix_len, error);
}

bool mesh_link_address_del(struct mesh_link *link, int family, const void *addr, unsigned prefix_len, GError **error)
{
	return link_change(link, false, false, family, addr, prefix_len, error);
}

bool mesh_link_route_add(struct mesh_link *link, int family, const void *dst, unsigned prefix_len, GError **error)
{
	return link_change(link, true, true, family, dst, prefix_len, error);
}

bool mesh_link_route_del(struct mesh_link *link, int family, const void *dst, unsigned prefix_len, GError **error)
{
	return link_change(link, false, true, family, dst, prefix_len, error);
}
