/* Signaling backends without a network: URL errors name the bad part,
 * publish refuses what no backend may carry, the HTTP queue is capped, and
 * both backends report their first state from the main loop (the HTTP one
 * against a loopback port where nothing listens). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "signaling/client/sig-backend.h"
#include "signaling/sig-envelope.h"
#include "util/source-util.h"

struct seen {
	int states;
	int excluded;
	bool up;
	char reason[256];
};

static void on_state(struct sig_backend *b, bool up, const char *reason, void *userdata)
{
	struct seen *s = userdata;

	s->states++;
	s->up = up;
	g_strlcpy(s->reason, up ? "" : reason, sizeof(s->reason));
}

static struct sig_backend *make(const char *url, struct seen *seen, GError **error)
{
	struct sig_backend_callbacks cb = { .state_changed = on_state, .userdata = seen };

	return sig_backend_new(url, &cb, error);
}

static void expect_error(const char *url, const char *needle)
{
	g_autoptr(GError) error = NULL;
	struct seen seen = { 0 };
	struct sig_backend *b = make(url, &seen, &error);

	cr_assert_null(b, "accepted '%s'", url);
	cr_assert_not_null(error);
	cr_assert(strstr(error->message, needle), "error '%s' lacks '%s'", error->message, needle);
	cr_assert(strstr(error->message, url), "error '%s' does not quote the URL", error->message);
}

static gboolean quit_loop(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

/* Runs the loop until the first state report, at most @seconds. */
static void wait_state(struct seen *seen, unsigned seconds)
{
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	GSource *t = source_timeout(seconds * 1000, quit_loop, loop);

	while (seen->states == 0 && !g_source_is_destroyed(t))
		g_main_context_iteration(NULL, TRUE);
	source_free(t);
}

Test(backend, unknown_scheme)
{
	expect_error("consul://127.0.0.1:8500", "'consul'");
	expect_error("udp://239.1.2.3:5000", "unknown signaling URL scheme");
}

Test(backend, no_scheme)
{
	expect_error("239.255.119.105:61820", "no scheme");
	expect_error("", "no scheme");
}

Test(backend, mcast_bad_port)
{
	expect_error("mcast://239.1.2.3:99999", "99999");
	expect_error("mcast://239.1.2.3:port", "port");
	expect_error("mcast://239.1.2.3:0", "'0'");
}

Test(backend, mcast_bad_group)
{
	expect_error("mcast://10.0.0.1:5000", "'10.0.0.1' is not a multicast group");
	expect_error("mcast://[fe80::1]:5000", "'fe80::1' is not a multicast group");
	expect_error("mcast://lan.example:5000", "'lan.example'");
	expect_error("mcast://ff12::1", "port"); /* IPv6 needs brackets */
}

Test(backend, mcast_extra_parts)
{
	expect_error("mcast://239.1.2.3:5000/path", "nothing else");
	expect_error("mcast://239.1.2.3:5000?x=1", "nothing else");
}

Test(backend, http_bad_urls)
{
	expect_error("http://", "no host");
	expect_error("https://signal.example:70000", "70000");
	expect_error("http://signal.example:0", "'0'");
	expect_error("http://user:pw@signal.example", "credentials");
	expect_error("http://signal.example/?a=b", "query");
}

Test(backend, http_keeps_url_and_starts_down)
{
	struct seen seen = { 0 };
	struct sig_backend *b = make("https://signal.example/wice/", &seen, NULL);

	cr_assert_not_null(b);
	cr_assert_str_eq(sig_backend_url(b), "https://signal.example/wice/");
	cr_assert_not(sig_backend_is_up(b));
	sig_backend_free(b);
	cr_assert_eq(seen.states, 0, "a callback ran after free");
}

static const uint8_t mailbox[RELAY_ID_LEN] = { 1 };

Test(backend, http_unreachable_server_goes_down_with_reason)
{
	struct seen seen = { 0 };
	struct sig_subscription sub = { .id = { 2 } };
	struct sig_backend *b = make("http://127.0.0.1:1", &seen, NULL);

	cr_assert_eq(sig_backend_subscribe(b, &sub), 0);
	cr_assert_eq(sig_backend_subscribe(b, &sub), 0);
	wait_state(&seen, 5);
	cr_assert_eq(seen.states, 1);
	cr_assert_not(seen.up);
	cr_assert(strstr(seen.reason, "onnect") || strstr(seen.reason, "refused"), "reason '%s'",
		  seen.reason);
	sig_backend_free(b);
}

Test(backend, etcd_bad_urls)
{
	expect_error("etcd://", "no host");
	expect_error("etcd:///wice", "no host");
	expect_error("etcd://a:2379,,b/wice", "HOST[:PORT]");
	expect_error("etcd://a:70000/wice", "HOST[:PORT]");
	expect_error("etcds://a:0", "HOST[:PORT]");
	expect_error("etcd://user@a:2379", "HOST[:PORT]");
	expect_error("etcd://a:2379/we ird", "prefix");
	expect_error("etcd://a:2379//x", "prefix");
	expect_error("etcd://a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", "more than 16 hosts");
}

Test(backend, etcd_unreachable_cluster_goes_down_with_reason)
{
	struct seen seen = { 0 };
	struct sig_subscription sub = { .id = { 2 } };
	struct sig_backend *b = make("etcd://127.0.0.1:1,[::1]:1/wice", &seen, NULL);

	cr_assert_not_null(b);
	cr_assert_eq(sig_backend_subscribe(b, &sub), 0);
	cr_assert_eq(sig_backend_publish(b, mailbox, (const uint8_t *)"x", 1, NULL), 0);
	wait_state(&seen, 5);
	cr_assert_eq(seen.states, 1);
	cr_assert_not(seen.up);
	cr_assert(strstr(seen.reason, "onnect") || strstr(seen.reason, "refused"), "reason '%s'", seen.reason);
	sig_backend_free(b);
	cr_assert_eq(seen.states, 1, "a callback ran after free");
}

Test(backend, publish_refuses_empty_and_oversized)
{
	static uint8_t big[SIG_ENVELOPE_MAX + 1];
	struct seen seen = { 0 };
	struct sig_backend *b = make("http://127.0.0.1:1", &seen, NULL);

	cr_assert_eq(sig_backend_publish(b, mailbox, big, 0, NULL), -EINVAL);
	cr_assert_eq(sig_backend_publish(b, mailbox, big, sizeof(big), NULL), -EMSGSIZE);
	cr_assert_eq(sig_backend_publish(b, mailbox, big, SIG_ENVELOPE_MAX, NULL), 0);
	sig_backend_free(b);
}

Test(backend, http_queue_is_capped)
{
	uint8_t env[200] = { 0 };
	struct seen seen = { 0 };
	struct sig_backend *b = make("http://127.0.0.1:1", &seen, NULL);
	int r = 0, n = 0;

	/* 1024: what a daemon that meets 49 peers at once publishes, with
	 * room (post-queue.c) */
	while (n < 5000 && (r = sig_backend_publish(b, mailbox, env, sizeof(env), NULL)) == 0)
		n++;
	cr_assert_eq(r, -ENOBUFS);
	cr_assert_eq(n, 1024, "queue took %d messages", n);
	cr_assert_eq(sig_backend_publish(b, mailbox, env, sizeof(env), NULL), -ENOBUFS, "a second refusal");
	sig_backend_free(b);
}

static bool exclude_all(const char *ifname, void *userdata)
{
	struct seen *s = userdata;

	s->excluded++;
	return true;
}

/* Every interface excluded (which also keeps this test off the host's
 * network): the backend lists the interfaces, asks about each usable one,
 * joins none and says why it is down. */
Test(backend, mcast_honours_exclusion)
{
	struct seen seen = { 0 };
	struct sig_backend_callbacks cb = {
		.state_changed = on_state,
		.exclude_interface = exclude_all,
		.userdata = &seen,
	};
	g_autoptr(GError) error = NULL;
	struct sig_backend *b = sig_backend_new("mcast://", &cb, &error);

	cr_assert_not_null(b, "%s", error ? error->message : "");
	cr_assert_str_eq(sig_backend_url(b), "mcast://");
	wait_state(&seen, 5);
	cr_assert_eq(seen.states, 1, "no state after the interface listing");
	cr_assert_not(seen.up);
	cr_assert_not(sig_backend_is_up(b));
	cr_assert_str_eq(seen.reason, "no usable multicast interface");
	cr_assert_eq(sig_backend_publish(b, mailbox, (const uint8_t *)"x", 1, NULL), -ENETDOWN);
	sig_backend_free(b);
}
