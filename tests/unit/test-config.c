/* wice.conf parsing: defaults, every key, and errors that say where. */
#include <criterion/criterion.h>
#include <string.h>

#include "wice-config.h"

static struct wice_config *parse(const char *text, GError **error)
{
	return wice_config_parse("test.conf", text, strlen(text), error);
}

static void expect_error(const char *text, const char *needle)
{
	g_autoptr(GError) error = NULL;
	struct wice_config *cfg = parse(text, &error);

	cr_assert_null(cfg, "accepted:\n%s", text);
	cr_assert_not_null(error);
	cr_assert(strstr(error->message, needle), "error '%s' lacks '%s'", error->message, needle);
}

Test(config, empty_file_gives_defaults)
{
	g_autoptr(wice_config) cfg = parse("", NULL);

	cr_assert_not_null(cfg);
	cr_assert_str_eq(cfg->signaling_urls[0], "mcast://");
	cr_assert_null(cfg->signaling_urls[1]);
	cr_assert_eq(cfg->n_ice_servers, 0);
	cr_assert_eq(cfg->candidate_types, WICE_CAND_ALL);
	cr_assert_eq(cfg->proxy_mode, WICE_PROXY_AUTO);
	cr_assert(wice_config_manages(cfg, "wg0"));
	cr_assert_not(wice_config_gather_excluded(cfg, "eth0"));
}

Test(config, every_key)
{
	static const char text[] =
		"# comment\n"
		"[signaling]\n"
		"urls = mcast://, http://10.99.0.2:8080\n"
		"[ice]\n"
		"urls = stun:stun.example.org:3478; turn:[2001:db8::1]?transport=tcp, turns:turn.example.org\n"
		"username = alice\n"
		"password = secret\n"
		"turn-secret = shared\n"
		"candidate-types = host,relay\n"
		"port-range = 40000-40100\n"
		"interfaces-exclude = docker*, veth*\n"
		"[proxy]\n"
		"mode = user\n"
		"[daemon]\n"
		"interfaces = wg0 wg1\n";
	g_autoptr(wice_config) cfg = parse(text, NULL);

	cr_assert_not_null(cfg);
	cr_assert_str_eq(cfg->signaling_urls[1], "http://10.99.0.2:8080");
	cr_assert_eq(cfg->n_ice_servers, 3);
	cr_assert_eq(cfg->ice_servers[0].scheme, WICE_ICE_STUN);
	cr_assert_str_eq(cfg->ice_servers[0].host, "stun.example.org");
	cr_assert_eq(cfg->ice_servers[1].scheme, WICE_ICE_TURN);
	cr_assert_str_eq(cfg->ice_servers[1].host, "2001:db8::1");
	cr_assert_eq(cfg->ice_servers[1].port, 3478);
	cr_assert_eq(cfg->ice_servers[1].transport, WICE_ICE_TRANSPORT_TCP);
	cr_assert_eq(cfg->ice_servers[2].scheme, WICE_ICE_TURNS);
	cr_assert_eq(cfg->ice_servers[2].port, 5349);
	cr_assert_str_eq(cfg->turn_username, "alice");
	cr_assert_str_eq(cfg->turn_secret, "shared");
	cr_assert_eq(cfg->candidate_types, WICE_CAND_HOST | WICE_CAND_RELAY);
	cr_assert_eq(cfg->port_min, 40000);
	cr_assert_eq(cfg->port_max, 40100);
	cr_assert(wice_config_gather_excluded(cfg, "veth12"));
	cr_assert_not(wice_config_gather_excluded(cfg, "eth0"));
	cr_assert_eq(cfg->proxy_mode, WICE_PROXY_USER);
	cr_assert(wice_config_manages(cfg, "wg1"));
	cr_assert_not(wice_config_manages(cfg, "wg2"));
}

Test(config, errors_quote_file_line_and_value)
{
	expect_error("[ice]\n\nport-range = 5-1\n", "test.conf:3: [ice] port-range: invalid value '5-1'");
	expect_error("[proxy]\nmode=fast\n", "test.conf:2: [proxy] mode: invalid value 'fast'");
	expect_error("[ice]\nurls=stun:a:1,stun:b:99999\n", "'stun:b:99999'");
	expect_error("[ice]\nurls=http://x\n", "'http://x'");
	expect_error("[ice]\nurls=stun:x?transport=tcp\n", "'stun:x?transport=tcp'");
	expect_error("[ice]\nurls=turn:x?transport=sctp\n", "'turn:x?transport=sctp'");
	expect_error("[ice]\ncandidate-types=host,nat\n", "'nat'");
	expect_error("[signaling]\nurls=ftp://x\n", "'ftp://x'");
	expect_error("[signaling]\nurls=http://x:0\n", "'http://x:0'");
	expect_error("[signaling]\nurls=\n", "[signaling] urls");
	expect_error("[ice]\nport_range=1-2\n", "test.conf:2: [ice] port_range: invalid value 'port_range': unknown key");
	expect_error("[stun]\nx=1\n", "unknown section '[stun]'");
	expect_error("[ice\n", "test.conf");
	expect_error("no group\n", "test.conf");
	expect_error("[daemon]\ninterfaces=averyveryverylongname\n", "'averyveryverylongname'");
}

Test(config, nul_bytes_rejected)
{
	g_autoptr(GError) error = NULL;

	cr_assert_null(wice_config_parse("t", "[ice]\0x", 7, &error));
}

Test(config, ice_uri_forms)
{
	struct wice_ice_server s;

	cr_assert(wice_ice_server_parse("stun:192.0.2.1", &s, NULL));
	cr_assert_eq(s.port, 3478);
	g_free(s.host);
	cr_assert(wice_ice_server_parse("turn:192.0.2.1:1234?transport=udp", &s, NULL));
	cr_assert_eq(s.port, 1234);
	g_free(s.host);
	cr_assert_not(wice_ice_server_parse("stun:", &s, NULL));
	cr_assert_not(wice_ice_server_parse("stun:[::1", &s, NULL));
	cr_assert_not(wice_ice_server_parse("stun:a:b:c", &s, NULL));
	cr_assert_not(wice_ice_server_parse("stun:user@host", &s, NULL));
}
