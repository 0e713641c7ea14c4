/* WireGuard interface watcher: rtnetlink link events for kernel devices, a
 * GFileMonitor on the UAPI socket directory for userspace ones.
 *
 * The watcher keeps its own table of the interfaces it has reported, so
 * that the many RTM_NEWLINK messages of one device (up, down, MTU, address
 * changes) give one "added", and so that a removal seen two ways (the socket
 * deleted and the tun interface gone) gives one "removed".  Renames are
 * matched by interface index.  When the kernel drops link events because
 * our socket overflowed, the table is brought in line with a fresh listing. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "util/source-util.h"
#include "wg/wg-netlink.h"
#include "wg/wg-uapi.h"
#include "wg-watch.h"

#define WATCH_RECV_SIZE 32768
/* Room for a burst of link events (a container starting many veths). */
#define WATCH_RCVBUF (1 << 20)

struct known_if {
	char name[IFNAMSIZ];
	uint32_t ifindex;
	enum wg_backend_kind kind;
};

struct wg_watch {
	wg_watch_fn fn;
	void *user_data;
	GMainContext *context;
	struct mnl_socket *nl;
	GSource *nl_source;
	GSource *start_source;
	GFileMonitor *monitor;
	GHashTable *known; /* name -> struct known_if */
	uint8_t *buf;
};

/* ---- the table of reported interfaces ----------------------------------- */

static void report_added(struct wg_watch *w, const char *name, uint32_t ifindex, enum wg_backend_kind kind)
{
	struct known_if *k;

	if (strlen(name) >= IFNAMSIZ || g_hash_table_contains(w->known, name))
		return;
	k = g_new0(struct known_if, 1);
	g_strlcpy(k->name, name, sizeof(k->name));
	k->ifindex = ifindex;
	k->kind = kind;
	g_hash_table_insert(w->known, k->name, k);
	w->fn(k->name, true, kind, w->user_data);
}

static void report_removed(struct wg_watch *w, const char *name)
{
	struct known_if *k = g_hash_table_lookup(w->known, name);
	char copy[IFNAMSIZ];
	enum wg_backend_kind kind;

	if (!k)
		return;
	/* @name may point into the entry that is about to be freed. */
	g_strlcpy(copy, k->name, sizeof(copy));
	kind = k->kind;
	g_hash_table_remove(w->known, copy);
	w->fn(copy, false, kind, w->user_data);
}

static struct known_if *find_by_ifindex(struct wg_watch *w, uint32_t ifindex)
{
	GHashTableIter iter;
	gpointer value;

	if (ifindex == 0)
		return NULL;
	g_hash_table_iter_init(&iter, w->known);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		if (((struct known_if *)value)->ifindex == ifindex)
			return value;
	return NULL;
}

/* ---- listing: at start and after lost events ---------------------------- */

static void remove_vanished(struct wg_watch *w, const struct wg_names *kernel, const struct wg_names *user)
{
	g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter iter;
	gpointer key;

	g_hash_table_iter_init(&iter, w->known);
	while (g_hash_table_iter_next(&iter, &key, NULL))
		if (!wg_names_contains(kernel, key) && !wg_names_contains(user, key))
			g_ptr_array_add(gone, g_strdup(key));
	for (guint i = 0; i < gone->len; i++)
		report_removed(w, g_ptr_array_index(gone, i));
}

/* Brings the table in line with what exists now.  The UAPI directory alone
 * cannot tell a kernel device from a userspace one, so kernel listing wins. */
static void sync_with_listing(struct wg_watch *w)
{
	struct wg_names kernel = { 0 }, user = { 0 };
	int r = wg_netlink_list(&kernel);

	if (r < 0)
		g_warning("wg-watch: cannot list kernel WireGuard interfaces: %s", g_strerror(-r));
	else
		r = wg_uapi_list(&user);
	if (r < 0) {
		if (r != -ENOENT)
			g_warning("wg-watch: cannot list WireGuard interfaces: %s", g_strerror(-r));
		goto out;
	}
	remove_vanished(w, &kernel, &user);
	for (size_t i = 0; i < kernel.n; i++)
		report_added(w, kernel.name[i], if_nametoindex(kernel.name[i]), WG_BACKEND_KERNEL);
	for (size_t i = 0; i < user.n; i++)
		if (!wg_names_contains(&kernel, user.name[i]))
			report_added(w, user.name[i], if_nametoindex(user.name[i]), WG_BACKEND_USERSPACE);
out:
	wg_names_clear(&kernel);
	wg_names_clear(&user);
}

static gboolean on_start(gpointer data)
{
	struct wg_watch *w = data;

	g_clear_pointer(&w->start_source, g_source_unref);
	sync_with_listing(w);
	return G_SOURCE_REMOVE;
}

/* ---- rtnetlink link events ---------------------------------------------- */

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type == IFLA_IFNAME || type == IFLA_LINKINFO)
		tb[type] = attr;
	return MNL_CB_OK;
}

bool wg_watch_parse_link(const struct nlmsghdr *nlh, struct wg_link_event *ret)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)) ||
	    mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, tb) != MNL_CB_OK)
		return false;
	if (!tb[IFLA_IFNAME] || mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) < 0 ||
	    mnl_attr_get_payload_len(tb[IFLA_IFNAME]) > IFNAMSIZ || ifi->ifi_index <= 0)
		return false;
	ret->ifindex = (uint32_t)ifi->ifi_index;
	ret->name = mnl_attr_get_str(tb[IFLA_IFNAME]);
	ret->wireguard = wg_netlink_link_is_wireguard(tb[IFLA_LINKINFO]);
	return true;
}

static void on_newlink(struct wg_watch *w, const struct wg_link_event *ev)
{
	struct known_if *k = find_by_ifindex(w, ev->ifindex);

	/* A rename: the old name is gone.  A renamed kernel device comes back
	 * under its new name below; a renamed userspace device does not, as
	 * its UAPI socket still carries the old name. */
	if (k && strcmp(k->name, ev->name) != 0)
		report_removed(w, k->name);
	if (ev->wireguard)
		report_added(w, ev->name, ev->ifindex, WG_BACKEND_KERNEL);
}

static void on_dellink(struct wg_watch *w, const struct wg_link_event *ev)
{
	struct known_if *k = find_by_ifindex(w, ev->ifindex);

	report_removed(w, k ? k->name : ev->name);
}

static int link_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct wg_link_event ev;

	if ((nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) || !wg_watch_parse_link(nlh, &ev))
		return MNL_CB_OK; /* not ours or not understood: skip */
	if (nlh->nlmsg_type == RTM_NEWLINK)
		on_newlink(data, &ev);
	else
		on_dellink(data, &ev);
	return MNL_CB_OK;
}

/* The kernel dropped events.  What is still queued predates the loss and
 * replayed after a listing would resurrect deleted interfaces, so it is
 * discarded; the listing then tells the present state. */
static void resync_after_overflow(struct wg_watch *w)
{
	while (mnl_socket_recvfrom(w->nl, w->buf, WATCH_RECV_SIZE) > 0 || errno == EINTR || errno == ENOBUFS)
		;
	sync_with_listing(w);
}

static gboolean on_netlink_readable(gint fd, GIOCondition condition, gpointer data)
{
	struct wg_watch *w = data;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(w->nl, w->buf, WATCH_RECV_SIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return G_SOURCE_CONTINUE;
		if (n < 0 && errno == ENOBUFS) {
			resync_after_overflow(w);
			continue;
		}
		if (n <= 0) {
			g_warning("wg-watch: rtnetlink socket failed: %s", n < 0 ? g_strerror(errno) : "closed");
			g_clear_pointer(&w->nl_source, g_source_unref);
			return G_SOURCE_REMOVE;
		}
		mnl_cb_run(w->buf, wg_netlink_msgs_len(w->buf, (size_t)n), 0, 0, link_msg_cb, w);
	}
}

static int open_link_events(struct wg_watch *w)
{
	unsigned int group = RTNLGRP_LINK;
	int rcvbuf = WATCH_RCVBUF;

	w->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!w->nl)
		return -errno;
	if (mnl_socket_bind(w->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(w->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
		return -errno;
	/* Best effort: the overflow path copes when this is not enough. */
	setsockopt(mnl_socket_get_fd(w->nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	w->nl_source = source_attach(g_unix_fd_source_new(mnl_socket_get_fd(w->nl), G_IO_IN), w->context,
				     G_SOURCE_FUNC(on_netlink_readable), w);
	return 0;
}

/* ---- UAPI sockets ------------------------------------------------------- */

/* "NAME.sock" -> NAME; false for anything else. */
static bool socket_ifname(GFile *file, char name[IFNAMSIZ])
{
	g_autofree char *base = file ? g_file_get_basename(file) : NULL;
	size_t len = base ? strlen(base) : 0;

	if (len <= 5 || len - 5 >= IFNAMSIZ || strcmp(base + len - 5, ".sock") != 0)
		return false;
	memcpy(name, base, len - 5);
	name[len - 5] = '\0';
	return true;
}

static void on_socket_created(struct wg_watch *w, GFile *file)
{
	char name[IFNAMSIZ];
	unsigned ifindex;

	if (!socket_ifname(file, name))
		return;
	/* wireguard-go creates its tun before its socket, so a socket without
	 * an interface belongs to another network namespace. */
	ifindex = if_nametoindex(name);
	if (ifindex)
		report_added(w, name, ifindex, WG_BACKEND_USERSPACE);
}

static void on_socket_deleted(struct wg_watch *w, GFile *file)
{
	struct known_if *k;
	char name[IFNAMSIZ];

	if (!socket_ifname(file, name))
		return;
	k = g_hash_table_lookup(w->known, name);
	if (k && k->kind == WG_BACKEND_USERSPACE)
		report_removed(w, name);
}

static void on_uapi_dir_changed(GFileMonitor *monitor, GFile *file, GFile *other, GFileMonitorEvent event,
				gpointer data)
{
	switch (event) {
	case G_FILE_MONITOR_EVENT_CREATED:
	case G_FILE_MONITOR_EVENT_MOVED_IN:
		on_socket_created(data, file);
		break;
	case G_FILE_MONITOR_EVENT_DELETED:
	case G_FILE_MONITOR_EVENT_MOVED_OUT:
		on_socket_deleted(data, file);
		break;
	case G_FILE_MONITOR_EVENT_RENAMED:
		on_socket_deleted(data, file);
		on_socket_created(data, other);
		break;
	default:
		break;
	}
}

static int watch_uapi_dir(struct wg_watch *w)
{
	g_autoptr(GFile) dir = g_file_new_for_path(WG_UAPI_DIR);
	g_autoptr(GError) error = NULL;

	/* inotify needs the directory to exist (wireguard-go would create it
	 * with the same mode).  Without the right to create it, GLib still
	 * watches for it to appear, only less promptly. */
	if (g_mkdir_with_parents(WG_UAPI_DIR, 0755) < 0)
		g_debug("wg-watch: cannot create %s: %s", WG_UAPI_DIR, g_strerror(errno));
	w->monitor = g_file_monitor_directory(dir, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);
	if (!w->monitor)
		return error->domain == G_IO_ERROR && error->code == G_IO_ERROR_PERMISSION_DENIED ? -EACCES : -EIO;
	g_signal_connect(w->monitor, "changed", G_CALLBACK(on_uapi_dir_changed), w);
	return 0;
}

/* ---- lifetime ----------------------------------------------------------- */

void wg_watch_free(struct wg_watch *w)
{
	if (!w)
		return;
	source_clear(&w->start_source);
	source_clear(&w->nl_source);
	if (w->monitor) {
		g_signal_handlers_disconnect_by_data(w->monitor, w);
		g_file_monitor_cancel(w->monitor);
		g_clear_object(&w->monitor);
	}
	if (w->nl)
		mnl_socket_close(w->nl);
	g_clear_pointer(&w->known, g_hash_table_destroy);
	g_clear_pointer(&w->context, g_main_context_unref);
	g_free(w->buf);
	g_free(w);
}

int wg_watch_new(wg_watch_fn fn, void *user_data, struct wg_watch **ret_watch)
{
	struct wg_watch *w = g_new0(struct wg_watch, 1);
	GSource *start;
	int r;

	w->fn = fn;
	w->user_data = user_data;
	w->context = g_main_context_ref_thread_default();
	w->known = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	w->buf = g_malloc(WATCH_RECV_SIZE);
	/* Subscribe first, list second: nothing can slip between the two. */
	r = open_link_events(w);
	if (r == 0)
		r = watch_uapi_dir(w);
	if (r < 0) {
		wg_watch_free(w);
		return r;
	}
	/* Ahead of the event sources, so that the existing interfaces come
	 * before any change to them. */
	start = g_idle_source_new();
	g_source_set_priority(start, G_PRIORITY_HIGH);
	w->start_source = source_attach(start, w->context, on_start, w);
	*ret_watch = w;
	return 0;
}
