/* The eBPF relay path's loader (see bpf-relay.h): the programs come from
 * the skeleton bpftool generates at build time, the filters go on with
 * libbpf's tc API (clsact qdisc, direct action). */
#include "config.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf-relay.h"
#include "turn-channel.h"
#include "turn-channel.skel.h"

/* Ours among other filters on the device; fixed so that a new daemon
 * replaces what a killed one left. */
#define TC_HANDLE 0x57ce
#define TC_PRIORITY 0x57ce
#define MAX_DEVICES 16

struct device {
	int ifindex;
	bool own_qdisc; /* we created clsact: remove it again */
};

struct bpf_relay {
	struct turn_channel *skel;
	struct device devices[MAX_DEVICES];
	unsigned n_devices;
};

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

struct bpf_relay *bpf_relay_new(GError **error)
{
	struct bpf_relay *r;
	struct turn_channel *skel;

	libbpf_set_print(quiet_print);
	skel = turn_channel__open_and_load();
	if (!skel) {
		int e = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "cannot load the eBPF relay programs: %s",
			    g_strerror(e));
		return NULL;
	}
	r = g_new0(struct bpf_relay, 1);
	r->skel = skel;
	return r;
}

static int attach_one(int ifindex, enum bpf_tc_attach_point where, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY, .prog_fd = prog_fd,
			    .flags = BPF_TC_F_REPLACE);

	return bpf_tc_attach(&hook, &opts);
}

static void detach_one(int ifindex, enum bpf_tc_attach_point where)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY);

	(void)bpf_tc_detach(&hook, &opts);
}

static void detach(struct device *d)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = d->ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	detach_one(d->ifindex, BPF_TC_INGRESS);
	detach_one(d->ifindex, BPF_TC_EGRESS);
	if (d->own_qdisc)
		(void)bpf_tc_hook_destroy(&hook);
}

bool bpf_relay_attach(struct bpf_relay *r, int ifindex, GError **error)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	struct device *d;
	int e;

	for (unsigned i = 0; i < r->n_devices; i++)
		if (r->devices[i].ifindex == ifindex)
			return true;
	if (r->n_devices == MAX_DEVICES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "eBPF relay: too many devices");
		return false;
	}
	d = &r->devices[r->n_devices];
	*d = (struct device){ .ifindex = ifindex };
	e = bpf_tc_hook_create(&hook);
	if (e && e != -EEXIST)
		goto fail;
	d->own_qdisc = !e;
	e = attach_one(ifindex, BPF_TC_INGRESS, bpf_program__fd(r->skel->progs.turn_ingress));
	if (!e)
		e = attach_one(ifindex, BPF_TC_EGRESS, bpf_program__fd(r->skel->progs.turn_egress));
	if (e) {
		detach(d);
		goto fail;
	}
	r->n_devices++;
	return true;
fail:
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-e), "cannot attach the eBPF relay programs: %s",
		    g_strerror(-e));
	return false;
}

/* A device with a driver of its own (/sys/class/net/DEV/device) may
 * offload UDP checksums, which the rewritten packets cannot take. */
static bool virtual_device(const char *name)
{
	g_autofree char *path = g_strdup_printf("/sys/class/net/%s/device", name);

	return !g_file_test(path, G_FILE_TEST_EXISTS);
}

int bpf_relay_device_for(const struct in_addr *addr)
{
	struct ifaddrs *list, *i;
	int index = 0;

	if (getifaddrs(&list) < 0)
		return 0;
	for (i = list; i && !index; i = i->ifa_next) {
		const struct sockaddr_in *sin = (const void *)i->ifa_addr;

		if (sin && sin->sin_family == AF_INET && sin->sin_addr.s_addr == addr->s_addr)
			index = virtual_device(i->ifa_name) ? (int)if_nametoindex(i->ifa_name) : -1;
	}
	freeifaddrs(list);
	return index;
}

static struct tc_learn_key learn_key(const struct sockaddr_in *local)
{
	return (struct tc_learn_key){ .local_addr = local->sin_addr.s_addr, .local_port = local->sin_port };
}

bool bpf_relay_watch(struct bpf_relay *r, const struct sockaddr_in *local, GError **error)
{
	struct tc_learn_key key = learn_key(local);
	struct tc_learn_val val = { 0 };

	if (bpf_map__update_elem(r->skel->maps.learn, &key, sizeof(key), &val, sizeof(val), BPF_ANY) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "eBPF relay map: %s", g_strerror(errno));
		return false;
	}
	return true;
}

bool bpf_relay_learned(struct bpf_relay *r, const struct sockaddr_in *local, struct sockaddr_in *ret_turn,
		       uint16_t *ret_channel)
{
	struct tc_learn_key key = learn_key(local);
	struct tc_learn_val val;

	if (bpf_map__lookup_elem(r->skel->maps.learn, &key, sizeof(key), &val, sizeof(val), 0) < 0 || !val.channel)
		return false;
	*ret_turn = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = val.turn_port };
	ret_turn->sin_addr.s_addr = val.turn_addr;
	*ret_channel = val.channel;
	return true;
}

bool bpf_relay_set_peer(struct bpf_relay *r, const struct sockaddr_in *local, const struct sockaddr_in *turn,
			uint16_t channel, const struct sockaddr_in *remote, uint16_t wg_port, GError **error)
{
	struct tc_in_key ik = { turn->sin_addr.s_addr, turn->sin_port, local->sin_port };
	struct tc_in_val iv = { remote->sin_addr.s_addr, remote->sin_port, htons(wg_port), channel, 0 };
	struct tc_out_key ok = { remote->sin_addr.s_addr, remote->sin_port, htons(wg_port) };
	struct tc_out_val ov = { turn->sin_addr.s_addr, turn->sin_port, local->sin_port, channel, 0 };

	/* Ingress first: the peer's answers must not reach libnice once
	 * ours leave through the kernel. */
	if (bpf_map__update_elem(r->skel->maps.in, &ik, sizeof(ik), &iv, sizeof(iv), BPF_ANY) < 0 ||
	    bpf_map__update_elem(r->skel->maps.out, &ok, sizeof(ok), &ov, sizeof(ov), BPF_ANY) < 0) {
		int e = errno;

		(void)bpf_map__delete_elem(r->skel->maps.in, &ik, sizeof(ik), 0);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "eBPF relay map: %s", g_strerror(e));
		return false;
	}
	return true;
}

void bpf_relay_remove(struct bpf_relay *r, const struct sockaddr_in *local, const struct sockaddr_in *remote,
		      uint16_t wg_port)
{
	struct tc_learn_key lk = learn_key(local);
	struct tc_learn_val lv;

	if (remote) {
		struct tc_out_key ok = { remote->sin_addr.s_addr, remote->sin_port, htons(wg_port) };

		(void)bpf_map__delete_elem(r->skel->maps.out, &ok, sizeof(ok), 0);
	}
	if (bpf_map__lookup_elem(r->skel->maps.learn, &lk, sizeof(lk), &lv, sizeof(lv), 0) == 0) {
		struct tc_in_key ik = { lv.turn_addr, lv.turn_port, local->sin_port };

		(void)bpf_map__delete_elem(r->skel->maps.in, &ik, sizeof(ik), 0);
	}
	(void)bpf_map__delete_elem(r->skel->maps.learn, &lk, sizeof(lk), 0);
}

void bpf_relay_get_stats(struct bpf_relay *r, struct bpf_relay_stats *ret)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sums[TC_STAT_MAX] = { 0 };

	for (uint32_t k = 0; ncpu > 0 && k < TC_STAT_MAX; k++) {
		g_autofree uint64_t *v = g_new0(uint64_t, (size_t)ncpu);

		if (bpf_map__lookup_elem(r->skel->maps.stats, &k, sizeof(k), v, sizeof(*v) * (size_t)ncpu, 0) < 0)
			continue;
		for (int c = 0; c < ncpu; c++)
			sums[k] += v[c];
	}
	*ret = (struct bpf_relay_stats){ sums[TC_STAT_OUT_PACKETS], sums[TC_STAT_OUT_BYTES], sums[TC_STAT_IN_PACKETS],
					 sums[TC_STAT_IN_BYTES], sums[TC_STAT_ERRORS] };
}

void bpf_relay_free(struct bpf_relay *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->n_devices; i++)
		detach(&r->devices[i]);
	turn_channel__destroy(r->skel);
	g_free(r);
}
