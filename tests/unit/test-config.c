/* wice.conf parsing: defaults, every key, and errors that say where. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/wice-config.h"

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
	cr_assert_eq(cfg->defaults.n_ice_servers, 0);
	cr_assert_eq(cfg->defaults.candidate_types, WICE_CAND_ALL);
	cr_assert_eq(cfg->defaults.proxy_mode, WICE_PROXY_AUTO);
	cr_assert_eq(wice_config_iface(cfg, "wg0"), &cfg->defaults);
	cr_assert_null(cfg->control_group);
	cr_assert_null(cfg->admin_group);
	cr_assert_null(cfg->user);
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
		"liveness = consent\n"
		"interfaces-exclude = docker*, veth*\n"
		"[proxy]\n"
		"mode = user\n"
		"[daemon]\n"
		"interfaces = wg0 wg1\n"
		"user = nobody\n"
		"[control]\n"
		"group = root\n"
		"admin-group = root\n";
	g_autoptr(wice_config) cfg = parse(text, NULL);
	const struct wice_iface_settings *s;

	cr_assert_not_null(cfg);
	s = &cfg->defaults;
	cr_assert_str_eq(cfg->signaling_urls[1], "http://10.99.0.2:8080");
	cr_assert_eq(s->n_ice_servers, 3);
	cr_assert_eq(s->ice_servers[0].scheme, WICE_ICE_STUN);
	cr_assert_str_eq(s->ice_servers[0].host, "stun.example.org");
	cr_assert_eq(s->ice_servers[1].scheme, WICE_ICE_TURN);
	cr_assert_str_eq(s->ice_servers[1].host, "2001:db8::1");
	cr_assert_eq(s->ice_servers[1].port, 3478);
	cr_assert_eq(s->ice_servers[1].transport, WICE_ICE_TRANSPORT_TCP);
	cr_assert_eq(s->ice_servers[2].scheme, WICE_ICE_TURNS);
	cr_assert_eq(s->ice_servers[2].port, 5349);
	cr_assert_str_eq(s->turn_username, "alice");
	cr_assert_str_eq(s->turn_secret, "shared");
	cr_assert_eq(s->candidate_types, WICE_CAND_HOST | WICE_CAND_RELAY);
	cr_assert_eq(s->port_min, 40000);
	cr_assert_eq(s->port_max, 40100);
	cr_assert_eq(s->liveness, WICE_LIVENESS_CONSENT);
	cr_assert(wice_config_gather_excluded(cfg, "veth12"));
	cr_assert_not(wice_config_gather_excluded(cfg, "eth0"));
	cr_assert_eq(s->proxy_mode, WICE_PROXY_USER);
	cr_assert(wice_config_manages(cfg, "wg1"));
	cr_assert_not(wice_config_manages(cfg, "wg2"));
	cr_assert_str_eq(cfg->control_group, "root");
	cr_assert_eq(cfg->control_gid, 0);
	cr_assert_str_eq(cfg->admin_group, "root");
	cr_assert_str_eq(cfg->user, "nobody");
	cr_assert_eq(cfg->user_uid, 65534);
}

Test(config, errors_quote_file_line_and_value)
{
	expect_error("[ice]\n\nport-range = 5-1\n", "test.conf:3: [ice] port-range: invalid value '5-1'");
	expect_error("[ice]\nliveness = sometimes\n", "test.conf:2: [ice] liveness: invalid value 'sometimes'");
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
	expect_error("[daemon]\ninterfaces=wg0,a/b\n", "'a/b'");
	expect_error("# x\n[stun]\nx=1\n", "test.conf:2: unknown section '[stun]'");
	expect_error("[control]\ngroup = no-such-group-wice\n",
		     "test.conf:2: [control] group: invalid value 'no-such-group-wice': no such group");
	expect_error("[control]\n\nadmin-group = no-such-group-wice\n",
		     "test.conf:3: [control] admin-group: invalid value 'no-such-group-wice'");
	expect_error("[control]\ngroup =\n", "[control] group: invalid value ''");
	expect_error("[daemon]\nuser = no-such-user-wice\n",
		     "test.conf:2: [daemon] user: invalid value 'no-such-user-wice': no such user");
	expect_error("[daemon]\nuser = root\n", "[daemon] user: invalid value 'root'");
	expect_error("[daemon]\nuser =\n", "[daemon] user: invalid value ''");
	expect_error("[control]\nsocket = /x\n", "[control] socket: invalid value 'socket': unknown key");
}

/* [interface NAME] sections: overrides on top of the global settings, one
 * lookup for every interface. */
Test(config, interface_overrides)
{
	static const char text[] =
		"[ice]\n"
		"urls = stun:192.0.2.1\n"
		"username = alice\n"
		"port-range = 40000-40100\n"
		"[interface wg1]\n"
		"ice-urls = turn:192.0.2.2?transport=tcp, stun:192.0.2.3\n"
		"ice-candidate-types = relay\n"
		"proxy-mode = user\n"
		"[proxy]\n"
		"mode = nft\n"
		"[interface wg2]\n"
		"ice-port-range = 50000-50010\n"
		"ice-liveness = consent\n"
		"ice-password = secret\n";
	g_autoptr(wice_config) cfg = parse(text, NULL);
	const struct wice_iface_settings *wg0, *wg1, *wg2;

	cr_assert_not_null(cfg);
	cr_assert_eq(cfg->n_ifaces, 2);
	wg0 = wice_config_iface(cfg, "wg0");
	wg1 = wice_config_iface(cfg, "wg1");
	wg2 = wice_config_iface(cfg, "wg2");
	cr_assert_eq(wg0, &cfg->defaults);
	cr_assert_eq(wice_config_iface(cfg, NULL), &cfg->defaults);
	cr_assert_eq(wg0->proxy_mode, WICE_PROXY_NFT);
	cr_assert_eq(wg0->liveness, WICE_LIVENESS_WIREGUARD);
	cr_assert_eq(wice_config_iface(cfg, "wg2")->liveness, WICE_LIVENESS_CONSENT);
	cr_assert_eq(wg0->n_ice_servers, 1);
	/* wg1: its own servers, types and proxy mode; the rest inherited */
	cr_assert_eq(wg1->n_ice_servers, 2);
	cr_assert_eq(wg1->ice_servers[0].scheme, WICE_ICE_TURN);
	cr_assert_eq(wg1->ice_servers[0].transport, WICE_ICE_TRANSPORT_TCP);
	cr_assert_str_eq(wg1->ice_servers[1].host, "192.0.2.3");
	cr_assert_eq(wg1->candidate_types, WICE_CAND_RELAY);
	cr_assert_eq(wg1->proxy_mode, WICE_PROXY_USER);
	cr_assert_str_eq(wg1->turn_username, "alice");
	cr_assert_eq(wg1->port_min, 40000);
	/* wg2: the global [proxy] comes after [interface wg1] in the file but
	 * still counts: globals first, then the sections */
	cr_assert_eq(wg2->proxy_mode, WICE_PROXY_NFT);
	cr_assert_eq(wg2->port_min, 50000);
	cr_assert_eq(wg2->port_max, 50010);
	cr_assert_str_eq(wg2->turn_password, "secret");
	cr_assert_null(cfg->defaults.turn_password);
	cr_assert_str_eq(wg2->ice_servers[0].host, "192.0.2.1");
	cr_assert_neq(wg2->ice_servers, cfg->defaults.ice_servers); /* a copy, freed on its own */
	cr_assert(wice_config_wants_nft(cfg));
}

/* [ice] advertise: literal addresses, a port only with a single-port
 * range (the port a forward goes to), overridden per interface. */
Test(config, advertise)
{
	static const char text[] =
		"[ice]\n"
		"advertise = 203.0.113.5, [2001:db8::5]:40000 2001:db8::6\n"
		"port-range = 41000-41000\n"
		"[interface wg1]\n"
		"ice-advertise = 198.51.100.7\n"
		"ice-port-range = 42000-42009\n"
		"[interface wg2]\n"
		"ice-port-range = 43000-43000\n";
	static const uint8_t v4[4] = { 203, 0, 113, 5 }, v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 5 };
	g_autoptr(wice_config) cfg = parse(text, NULL);
	const struct wice_iface_settings *s, *wg1, *wg2;

	cr_assert_not_null(cfg);
	s = &cfg->defaults;
	cr_assert_eq(s->n_advertise, 3);
	cr_assert_eq(s->advertise[0].family, AF_INET);
	cr_assert_arr_eq(s->advertise[0].addr, v4, 4);
	cr_assert_eq(s->advertise[0].port, 0);
	cr_assert_eq(s->advertise[1].family, AF_INET6);
	cr_assert_arr_eq(s->advertise[1].addr, v6, 16);
	cr_assert_eq(s->advertise[1].port, 40000);
	cr_assert_eq(s->advertise[2].family, AF_INET6);
	cr_assert_eq(s->advertise[2].port, 0);
	wg1 = wice_config_iface(cfg, "wg1");
	cr_assert_eq(wg1->n_advertise, 1);
	cr_assert_eq(wg1->advertise[0].addr[0], 198);
	wg2 = wice_config_iface(cfg, "wg2");
	cr_assert_eq(wg2->n_advertise, 3, "inherited");
	cr_assert_eq(wg2->port_min, 43000);
	cr_assert_eq(cfg->defaults.turn_credential_lifetime, 24 * 3600);
}

Test(config, advertise_errors_quote_the_bad_entry)
{
	expect_error("[ice]\nadvertise = 203.0.113.5, turn.example.org\n",
		     "test.conf:2: [ice] advertise: invalid value 'turn.example.org': expected ADDRESS[:PORT]");
	expect_error("[ice]\nadvertise = 203.0.113.5:0\n", "'203.0.113.5:0'");
	expect_error("[ice]\nadvertise = 203.0.113.5:65536\n", "'203.0.113.5:65536'");
	expect_error("[ice]\nadvertise = 203.0.113.5:x\n", "'203.0.113.5:x'");
	expect_error("[ice]\nadvertise = 0.0.0.0\n", "'0.0.0.0'");
	expect_error("[ice]\nadvertise = 127.0.0.1\n", "'127.0.0.1'");
	expect_error("[ice]\nadvertise = 224.0.0.1\n", "'224.0.0.1'");
	expect_error("[ice]\nadvertise = ::\n", "'::'");
	expect_error("[ice]\nadvertise = [::1]:5\n", "'[::1]:5'");
	expect_error("[ice]\nadvertise = ff02::1\n", "'ff02::1'");
	expect_error("[ice]\nadvertise = [2001:db8::1\n", "'[2001:db8::1'");
	expect_error("[ice]\nadvertise = 2001:db8::1:40000x\n", "'2001:db8::1:40000x'");
	expect_error("[ice]\nadvertise = 1.2.3.4/24\n", "'1.2.3.4/24'");
	expect_error("[ice]\nadvertise = 1,2,3,4,5,6,7,8,9\n", "at most 8 addresses");
	/* a port with no port-range, or a range of more than one port */
	expect_error("[ice]\nadvertise = 203.0.113.5:40000\n",
		     "test.conf:2: [ice] advertise: invalid value '203.0.113.5:40000': an advertised port needs a "
		     "port-range of one port");
	expect_error("[ice]\nadvertise = [2001:db8::5]:40000\nport-range = 41000-41001\n", "'[2001:db8::5]:40000'");
	/* an interface that widens the range of an inherited advertised port */
	expect_error("[ice]\nadvertise = 203.0.113.5:40000\nport-range = 41000-41000\n"
		     "[interface wg0]\nice-port-range = 41000-41009\n",
		     "[interface wg0] ice-advertise: invalid value '203.0.113.5:40000'");
	expect_error("[interface wg0]\nice-advertise = 198.51.100.7:1\n", "[interface wg0] ice-advertise");
}

Test(config, turn_credential_lifetime)
{
	g_autoptr(wice_config) cfg =
		parse("[ice]\nturn-credential-lifetime = 20\n[interface wg1]\nice-turn-credential-lifetime = 3600\n", NULL);

	cr_assert_not_null(cfg);
	cr_assert_eq(cfg->defaults.turn_credential_lifetime, 20);
	cr_assert_eq(wice_config_iface(cfg, "wg1")->turn_credential_lifetime, 3600);
	expect_error("[ice]\nturn-credential-lifetime = 9\n", "test.conf:2: [ice] turn-credential-lifetime: invalid value '9'");
	expect_error("[ice]\nturn-credential-lifetime = 2592001\n", "'2592001'");
	expect_error("[ice]\nturn-credential-lifetime = -20\n", "'-20'");
	expect_error("[ice]\nturn-credential-lifetime = 20s\n", "'20s'");
	expect_error("[ice]\nturn-credential-lifetime = 99999999999999999999\n", "'99999999999999999999'");
	expect_error("[ice]\nturn-credential-lifetime =\n", "turn-credential-lifetime: invalid value ''");
}

Test(config, nft_wanted_if_any_interface_may_use_it)
{
	g_autoptr(wice_config) all_user = parse("[proxy]\nmode=user\n[interface wg0]\nproxy-mode=user\n", NULL);
	g_autoptr(wice_config) one_auto = parse("[proxy]\nmode=user\n[interface wg0]\nproxy-mode=auto\n", NULL);

	cr_assert_not(wice_config_wants_nft(all_user));
	cr_assert(wice_config_wants_nft(one_auto));
}

Test(config, interface_section_errors)
{
	expect_error("[interface wg0]\nurls = stun:x\n", "test.conf:2: [interface wg0] urls: invalid value 'urls': unknown key");
	expect_error("[interface wg0]\n\nproxy-mode = fast\n",
		     "test.conf:3: [interface wg0] proxy-mode: invalid value 'fast'");
	expect_error("[ice]\nurls=stun:a\n[interface wg0]\nice-port-range = 9-1\n",
		     "test.conf:4: [interface wg0] ice-port-range: invalid value '9-1'");
	expect_error("[interface wg0]\nice-urls = stun:ok, ftp:x\n", "'ftp:x'");
	expect_error("[interface wg0]\nice-candidate-types = srflx,nat\n", "'nat'");
	expect_error("# c\n[interface]\n", "test.conf:2: invalid section '[interface]'");
	expect_error("[interface a/b]\n", "invalid section '[interface a/b]'");
	expect_error("[interface averyveryverylongname]\n", "'[interface averyveryverylongname]'");
	expect_error("[interface wg0]\n[interface  wg0]\n", "test.conf:2: invalid section '[interface  wg0]': a second");
	expect_error("[interfaces]\n", "unknown section '[interfaces]'");
}

Test(config, too_many_interface_sections)
{
	GString *text = g_string_new(NULL);
	g_autoptr(GError) error = NULL;

	for (int i = 0; i <= WICE_CONFIG_MAX_IFACES; i++)
		g_string_append_printf(text, "[interface wg%d]\nproxy-mode = user\n", i);
	cr_assert_null(wice_config_parse("t", text->str, text->len, &error));
	cr_assert(strstr(error->message, "more than 256"), "%s", error->message);
	g_string_free(text, TRUE);
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

/* A bracket belongs around an IPv6 literal, never inside a host: "[[r]"
 * was taken as the host "[r", which no spelling of a URI gives back. */
Test(config, ice_uri_brackets)
{
	struct wice_ice_server s;

	cr_assert(wice_ice_server_parse("turn:[2001:db8::1]:3479", &s, NULL));
	cr_assert_str_eq(s.host, "2001:db8::1");
	cr_assert_eq(s.port, 3479);
	g_free(s.host);
	cr_assert_not(wice_ice_server_parse("stun:[[r]", &s, NULL));
	cr_assert_not(wice_ice_server_parse("stun:[a[b]:1", &s, NULL));
	cr_assert_not(wice_ice_server_parse("stun:a]b:1", &s, NULL));
	cr_assert_not(wice_ice_server_parse("stun:a[b", &s, NULL));
	expect_error("[signaling]\nurls = http://[[x]:8080\n", "invalid value");
}

Test(config, secrets_readable_by_others_are_reported)
{
	static const char *const with_secret[] = {
		"[ice]\nturn-secret = s3cret\n",
		"[ice]\nusername = u\npassword = p\n",
		"[interface wg0]\nice-turn-secret = s3cret\n",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(with_secret); i++) {
		g_autoptr(GError) error = NULL;
		struct wice_config *cfg = parse(with_secret[i], &error);

		cr_assert_not_null(cfg, "%s: %s", with_secret[i], error ? error->message : "");
		cr_expect(wice_config_exposes_secrets(cfg, 0100644), "%s", with_secret[i]);
		cr_expect(wice_config_exposes_secrets(cfg, 0100640), "%s", with_secret[i]);
		cr_expect(wice_config_exposes_secrets(cfg, 0100602), "%s", with_secret[i]);
		cr_expect(!wice_config_exposes_secrets(cfg, 0100600), "%s", with_secret[i]);
		cr_expect(!wice_config_exposes_secrets(cfg, 0100400), "%s", with_secret[i]);
		wice_config_free(cfg);
	}
	{
		struct wice_config *cfg = parse("[ice]\nurls = stun:192.0.2.1\n", NULL);

		cr_assert_not_null(cfg);
		cr_expect(!wice_config_exposes_secrets(cfg, 0100644), "no secret, nothing to report");
		wice_config_free(cfg);
	}
}

#define TEST_SECRET "wice://v1/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

Test(config, mesh_defaults_and_keys)
{
	g_autoptr(wice_config) none = parse("", NULL);
	g_autoptr(wice_config) cfg = parse("[mesh]\nsecret-file = /etc/wice/mesh.secret\n", NULL);
	g_autoptr(wice_config) all = parse("[mesh]\nsecret = " TEST_SECRET "\ninterface = mesh1\n"
					   "state-dir = /tmp/wice-state\nhostname = db-1\n"
					   "hosts-file = /etc/hosts\nadvertise-routes = 192.168.50.0/24, fd01::/64\n",
					   NULL);

	cr_assert_not(none->mesh.enabled);
	cr_assert(cfg->mesh.enabled);
	cr_assert_str_eq(cfg->mesh.ifname, "wgmesh0");
	cr_assert_str_eq(cfg->mesh.state_dir, "/var/lib/wice");
	cr_assert_str_eq(cfg->mesh.secret_file, "/etc/wice/mesh.secret");
	cr_assert_null(cfg->mesh.hostname);
	cr_assert_null(cfg->mesh.advertise_routes[0]);
	cr_assert_not_null(all);
	cr_assert_str_eq(all->mesh.secret, TEST_SECRET);
	cr_assert_str_eq(all->mesh.ifname, "mesh1");
	cr_assert_str_eq(all->mesh.hostname, "db-1");
	cr_assert_str_eq(all->mesh.hosts_file, "/etc/hosts");
	cr_assert_str_eq(all->mesh.advertise_routes[1], "fd01::/64");
	cr_assert(wice_config_exposes_secrets(all, 0644));
	cr_assert_not(wice_config_exposes_secrets(all, 0600));
	cr_assert_not(wice_config_exposes_secrets(cfg, 0644));
}

Test(config, mesh_errors_never_quote_the_secret)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(wice_config) cfg = parse("[mesh]\nsecret = wice://v1/not-a-secret-but-close\n", &error);

	cr_assert_null(cfg);
	cr_assert(strstr(error->message, "test.conf:2: [mesh] secret"), "%s", error->message);
	cr_assert_null(strstr(error->message, "not-a-secret"), "%s", error->message);
	expect_error("[mesh]\n", "set exactly one of secret and secret-file");
	expect_error("[mesh]\nsecret = " TEST_SECRET "\nsecret-file = /x\n", "set exactly one");
	expect_error("[mesh]\nsecret-file = mesh.secret\n", "'mesh.secret': not an absolute path");
	expect_error("[mesh]\nsecret-file = /s\ninterface = a/b\n", "'a/b'");
	expect_error("[mesh]\nsecret-file = /s\nhostname = a b\n", "'a b'");
	expect_error("[mesh]\nsecret-file = /s\nadvertise-routes = 10.1.2.3/16\n", "'10.1.2.3/16': the address has bits");
	expect_error("[mesh]\nsecret-file = /s\nadvertise-routes = 10.1.0.0\n", "'10.1.0.0': expected ADDRESS/LENGTH");
	expect_error("[mesh]\nsecret-file = /s\nstate-dir = var\n", "'var': not an absolute path");
	expect_error("[mesh]\nsecret-file = /s\npeers = 3\n", "unknown key");
}

Test(config, link_addresses_per_interface)
{
	g_autoptr(wice_config) cfg = parse("[interface wg0]\nlink-addresses = yes\n[interface wg1]\nlink-addresses = no\n",
					   NULL);

	cr_assert_not_null(cfg);
	cr_assert_eq(wice_config_iface(cfg, "wg0")->link_addresses, WICE_YES);
	cr_assert_eq(wice_config_iface(cfg, "wg1")->link_addresses, WICE_NO);
	cr_assert_eq(wice_config_iface(cfg, "wg2")->link_addresses, WICE_DEFAULT);
	expect_error("[interface wg0]\nlink-addresses = maybe\n", "'maybe': expected yes or no");
	expect_error("[ice]\nlink-addresses = yes\n", "unknown key");
}

Test(config, metrics_listen)
{
	g_autoptr(wice_config) none = parse("", NULL);
	g_autoptr(wice_config) v4 = parse("[metrics]\nlisten = 127.0.0.1\n", NULL);
	g_autoptr(wice_config) v6 = parse("[metrics]\nlisten = [::1]:9999\n", NULL);

	cr_assert_eq(none->metrics_port, 0);
	cr_assert_str_eq(v4->metrics_host, "127.0.0.1");
	cr_assert_eq(v4->metrics_port, 9586);
	cr_assert_str_eq(v6->metrics_host, "::1");
	cr_assert_eq(v6->metrics_port, 9999);
	expect_error("[metrics]\nlisten = localhost:9586\n", "'localhost:9586': expected ADDRESS[:PORT]");
	expect_error("[metrics]\nlisten = 127.0.0.1:0\n", "'127.0.0.1:0'");
}

/* [ice] port-mapping: every protocol by default, none, or those named;
 * per interface as ice-port-mapping. */
Test(config, port_mapping)
{
	static const char text[] = "[ice]\n"
				   "port-mapping = natpmp, upnp\n"
				   "[interface wg1]\n"
				   "ice-port-mapping = no\n"
				   "[interface wg2]\n"
				   "ice-port-mapping = yes\n";
	g_autoptr(wice_config) defaults = parse("", NULL);
	g_autoptr(wice_config) cfg = parse(text, NULL);

	cr_assert_not_null(defaults);
	cr_assert_eq(defaults->defaults.port_mapping, WICE_PORTMAP_ALL);
	cr_assert_not_null(cfg);
	cr_assert_eq(wice_config_iface(cfg, "wg0")->port_mapping, WICE_PORTMAP_NATPMP | WICE_PORTMAP_UPNP);
	cr_assert_eq(wice_config_iface(cfg, "wg1")->port_mapping, 0);
	cr_assert_eq(wice_config_iface(cfg, "wg2")->port_mapping, WICE_PORTMAP_ALL);
	expect_error("[ice]\nport-mapping = pcp, igd\n", "test.conf:2: [ice] port-mapping: invalid value 'igd'");
	expect_error("[ice]\nport-mapping = maybe\n", "'maybe'");
	expect_error("[ice]\nport-mapping = ,\n", "[ice] port-mapping");
}

/* An etcd URL lists its members with the commas that also separate URLs. */
Test(config, etcd_urls_keep_their_hosts)
{
	g_autoptr(wice_config) cfg = parse("[signaling]\n"
					   "urls = mcast://, etcd://10.0.0.1:2379,10.0.0.2,[fd00::3]:2379/fleet, "
					   "etcds://e1:2379,e2:2379 http://s:8080\n"
					   "etcd-cacert = /etc/wice/ca.pem\n"
					   "etcd-cert = /etc/wice/client.pem\n"
					   "etcd-key = /etc/wice/client.key\n",
					   NULL);

	cr_assert_not_null(cfg);
	cr_assert_str_eq(cfg->signaling_urls[0], "mcast://");
	cr_assert_str_eq(cfg->signaling_urls[1], "etcd://10.0.0.1:2379,10.0.0.2,[fd00::3]:2379/fleet");
	cr_assert_str_eq(cfg->signaling_urls[2], "etcds://e1:2379,e2:2379");
	cr_assert_str_eq(cfg->signaling_urls[3], "http://s:8080");
	cr_assert_null(cfg->signaling_urls[4]);
	cr_assert_str_eq(cfg->signaling_tls_ca, "/etc/wice/ca.pem");
	cr_assert_str_eq(cfg->signaling_tls_cert, "/etc/wice/client.pem");
	cr_assert_str_eq(cfg->signaling_tls_key, "/etc/wice/client.key");
}

Test(config, etcd_errors_quote_the_input)
{
	expect_error("[signaling]\nurls=etcd://a:2379,b:99999/x\n", "'etcd://a:2379,b:99999/x'");
	expect_error("[signaling]\nurls=etcd://\n", "'etcd://'");
	expect_error("[signaling]\netcd-cacert = ca.pem\n", "[signaling] etcd-cacert: invalid value 'ca.pem'");
	expect_error("[signaling]\netcd-cert = /c.pem\n", "'/c.pem': etcd-cert and etcd-key go together");
}

/* Found by fuzz-config: a piece that only starts like an etcd URL. */
Test(config, etcd_lookalikes_are_refused)
{
	expect_error("[signaling]\nurls=etcd,x\n", "'etcd'");
	expect_error("[signaling]\nurls=etcdx://a b\n", "'etcdx://a'");
}

/* A file exactly at the limit loads; one byte more is refused by size,
 * and a FIFO (which could stream forever) is not read at all. */
static GError *load_file_of(size_t size, char fill)
{
	char path[] = "/tmp/test-config-XXXXXX";
	int fd = mkstemp(path);
	g_autofree char *text = g_malloc(size);
	GError *error = NULL;
	struct wice_config *cfg;

	cr_assert_geq(fd, 0);
	memset(text, fill, size);
	cr_assert_eq(write(fd, text, size), (ssize_t)size);
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	cfg = wice_config_load_fd(path, fd, &error);
	unlink(path);
	wice_config_free(cfg);
	return error;
}

Test(config, size_limit)
{
	GError *error = load_file_of(WICE_CONFIG_MAX_SIZE, '\n');

	cr_expect_null(error, "%s", error ? error->message : "");
	g_clear_error(&error);
	error = load_file_of(WICE_CONFIG_MAX_SIZE + 1, '\n');
	cr_assert_not_null(error);
	cr_expect(strstr(error->message, "larger than 1048576 bytes"), "%s", error->message);
	g_clear_error(&error);
}
