/* The signal server without HTTP: the mailbox store (sequence numbers,
 * replay, caps, per-poster quotas, expiry, subscribers), subscription
 * challenges (good, wrong key, wrong mailbox, replayed, expired, forged)
 * and the wire pieces (ids, frames). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sodium.h>

#include "signaling/server/challenge.h"
#include "signaling/server/mailbox.h"
#include "signaling/relay-proto.h"

#define SEC G_USEC_PER_SEC
#define T0 (1000 * SEC)

/* What a subscriber saw, in order. */
struct seen {
	uint64_t seq[256];
	char body[256][64];
	size_t n;
	size_t refuse_after; /* deliver() returns false from this many on */
	int evicted;
};

static bool record_deliver(void *user, GBytes *frame, uint64_t seq)
{
	struct seen *s = user;
	gsize len;
	const uint8_t *data = g_bytes_get_data(frame, &len);
	const uint8_t *body;
	uint64_t fseq;
	size_t blen;

	if (s->refuse_after && s->n >= s->refuse_after)
		return false;
	cr_assert_eq(relay_frame_parse(data, len, 1 << 20, &fseq, &body, &blen), (ssize_t)len);
	cr_assert_eq(fseq, seq);
	cr_assert_lt(s->n, 256);
	cr_assert_lt(blen, 64);
	s->seq[s->n] = seq;
	memcpy(s->body[s->n], body, blen);
	s->body[s->n][blen] = '\0';
	s->n++;
	return true;
}

static void record_evicted(void *user)
{
	((struct seen *)user)->evicted++;
}

static const struct mailbox_sub_ops record_ops = {
	.deliver = record_deliver,
	.evicted = record_evicted,
};

static const struct mailbox_limits default_limits = {
	.max_message = 64,
	.max_queue = 4,
	.max_mailboxes = 3,
	.max_subscribers = 2,
	.max_bytes = 1 << 20,
	.max_age = 60 * SEC,
	.max_mailboxes_per_poster = 3,
	.max_bytes_per_poster = 1 << 20,
};

/* Posters are addresses to the server; here a byte tells them apart. */
static const uint8_t *poster(uint8_t n)
{
	static uint8_t keys[256][MAILBOX_POSTER_LEN];

	keys[n][MAILBOX_POSTER_LEN - 1] = n;
	return keys[n];
}

static void make_id(uint8_t id[RELAY_ID_LEN], uint8_t n)
{
	memset(id, 0, RELAY_ID_LEN);
	id[0] = n;
}

static int try_post_from(struct mailbox_store *st, uint8_t who, uint8_t box, const char *text,
			 int64_t now)
{
	uint8_t id[RELAY_ID_LEN];
	uint64_t seq = 0;
	int r;

	make_id(id, box);
	r = mailbox_store_post(st, id, poster(who), text, strlen(text), now, &seq);
	return r < 0 ? r : (int)seq;
}

static uint64_t post(struct mailbox_store *st, uint8_t box, const char *text, int64_t now)
{
	int r = try_post_from(st, 0, box, text, now);

	cr_assert_gt(r, 0);
	return r;
}

static struct mailbox_sub *subscribe(struct mailbox_store *st, uint8_t box, uint64_t after,
				     struct seen *seen, int64_t now)
{
	uint8_t id[RELAY_ID_LEN];
	struct mailbox_sub *sub = NULL;

	make_id(id, box);
	cr_assert_eq(mailbox_store_subscribe(st, id, after, &record_ops, seen, now, &sub), 0);
	cr_assert_not_null(sub);
	return sub;
}

static void setup(void)
{
	cr_assert_geq(sodium_init(), 0);
}

TestSuite(mailbox, .init = setup);

Test(mailbox, sequence_numbers_are_store_wide_and_increasing)
{
	struct mailbox_store *st = mailbox_store_new(&default_limits);

	cr_assert_eq(post(st, 1, "a", T0), 1);
	cr_assert_eq(post(st, 2, "b", T0), 2);
	cr_assert_eq(post(st, 1, "c", T0), 3);
	cr_assert_eq(mailbox_store_last_seq(st), 3);
	cr_assert_eq(mailbox_store_n_messages(st), 3);
	cr_assert_eq(mailbox_store_n_bytes(st), 3);
	mailbox_store_free(st);
}

Test(mailbox, subscriber_gets_queued_after_cursor_then_live)
{
	struct mailbox_store *st = mailbox_store_new(&default_limits);
	struct seen seen = { 0 };
	struct mailbox_sub *sub;

	post(st, 1, "one", T0);
	post(st, 2, "other box", T0);
	post(st, 1, "two", T0);
	post(st, 1, "three", T0);
	sub = subscribe(st, 1, 1, &seen, T0);
	cr_assert_eq(seen.n, 2);
	cr_assert_eq(seen.seq[0], 3);
	cr_assert_str_eq(seen.body[0], "two");
	cr_assert_eq(seen.seq[1], 4);
	post(st, 2, "not mine", T0);
	post(st, 1, "four", T0);
	cr_assert_eq(seen.n, 3);
	cr_assert_eq(seen.seq[2], 6);
	cr_assert_str_eq(seen.body[2], "four");
	mailbox_store_unsubscribe(st, sub);
	post(st, 1, "after unsubscribe", T0);
	cr_assert_eq(seen.n, 3);
	mailbox_store_free(st);
}

/* A reconnecting subscriber passes the last sequence number it saw and
 * gets neither a gap nor a duplicate. */
Test(mailbox, resubscribe_with_cursor_neither_loses_nor_repeats)
{
	struct mailbox_store *st = mailbox_store_new(&default_limits);
	struct seen first = { 0 }, second = { 0 };
	struct mailbox_sub *sub;

	sub = subscribe(st, 1, 0, &first, T0);
	post(st, 1, "a", T0);
	post(st, 1, "b", T0);
	mailbox_store_unsubscribe(st, sub);
	post(st, 1, "c", T0); /* while the client reconnects */
	sub = subscribe(st, 1, first.seq[first.n - 1], &second, T0);
	post(st, 1, "d", T0);
	cr_assert_eq(first.n, 2);
	cr_assert_eq(second.n, 2);
	cr_assert_str_eq(second.body[0], "c");
	cr_assert_str_eq(second.body[1], "d");
	cr_assert_eq(second.seq[0], first.seq[1] + 1);
	mailbox_store_unsubscribe(st, sub);
	mailbox_store_free(st);
}

Test(mailbox, queue_cap_drops_oldest)
{
	struct mailbox_store *st = mailbox_store_new(&default_limits);
	struct seen seen = { 0 };
	char text[8];

	for (int i = 1; i <= 6; i++) {
		g_snprintf(text, sizeof(text), "m%d", i);
		post(st, 1, text, T0);
	}
	cr_assert_eq(mailbox_store_n_messages(st), 4);
	mailbox_store_unsubscribe(st, subscribe(st, 1, 0, &seen, T0));
	cr_assert_eq(seen.n, 4);
	cr_assert_str_eq(seen.body[0], "m3");
	cr_assert_str_eq(seen.body[3], "m6");
	mailbox_store_free(st);
}

Test(mailbox, message_size_cap)
{
	struct mailbox_store *st = mailbox_store_new(&default_limits);
	uint8_t id[RELAY_ID_LEN], big[65] = { 0 };
	uint64_t seq = 77;

	make_id(id, 1);
	cr_assert_eq(mailbox_store_post(st, id, poster(0), big, 64, T0, &seq), 0);
	cr_assert_eq(mailbox_store_post(st, id, poster(0), big, 65, T0, &seq), -EMSGSIZE);
	cr_assert_eq(mailbox_store_post(st, id, poster(0), big, 0, T0, &seq), -ENODATA);
	cr_assert_eq(seq, 1, "a failed post leaves ret_seq alone");
	cr_assert_eq(mailbox_store_n_messages(st), 1);
	mailbox_store_free(st);
}

Test(mailbox, mailbox_cap_and_freed_mailboxes_make_room)
{
	struct mailbox_store *st = mailbox_store_new(&default_limits);
	struct seen seen = { 0 };
	struct mailbox_sub *sub = NULL;
	uint8_t id[RELAY_ID_LEN];
	uint64_t seq;

	post(st, 1, "a", T0);
	post(st, 2, "b", T0);
	sub = subscribe(st, 3, 0, &seen, T0); /* a subscriber holds a mailbox too */
	cr_assert_eq(mailbox_store_n_mailboxes(st), 3);
	make_id(id, 4);
	cr_assert_eq(mailbox_store_post(st, id, poster(0), "c", 1, T0, &seq), -ENOSPC);
	cr_assert_eq(mailbox_store_subscribe(st, id, 0, &record_ops, &seen, T0, &sub), -ENOSPC);
	post(st, 1, "more for an existing mailbox", T0);
	mailbox_store_unsubscribe(st, sub);
	cr_assert_eq(mailbox_store_n_mailboxes(st), 2);
	cr_assert_eq(mailbox_store_post(st, id, poster(0), "c", 1, T0, &seq), 0);
	mailbox_store_free(st);
}

Test(mailbox, messages_expire)
{
	struct mailbox_store *st = mailbox_store_new(&default_limits);
	struct seen seen = { 0 };

	cr_assert_eq(mailbox_store_expire(st, T0), INT64_MAX);
	post(st, 1, "old", T0);
	post(st, 2, "newer", T0 + 10 * SEC);
	cr_assert_eq(mailbox_store_expire(st, T0 + 59 * SEC), T0 + 60 * SEC);
	cr_assert_eq(mailbox_store_expire(st, T0 + 60 * SEC), T0 + 70 * SEC);
	cr_assert_eq(mailbox_store_n_messages(st), 1);
	cr_assert_eq(mailbox_store_n_mailboxes(st), 1, "an empty mailbox is freed");
	/* Subscribing expires first: nothing stale is replayed. */
	mailbox_store_unsubscribe(st, subscribe(st, 2, 0, &seen, T0 + 70 * SEC));
	cr_assert_eq(seen.n, 0);
	cr_assert_eq(mailbox_store_n_messages(st), 0);
	cr_assert_eq(mailbox_store_n_mailboxes(st), 0);
	cr_assert_eq(mailbox_store_expire(st, T0 + 70 * SEC), INT64_MAX);
	mailbox_store_free(st);
}

Test(mailbox, byte_cap_drops_oldest_of_any_mailbox)
{
	struct mailbox_limits limits = default_limits;
	struct mailbox_store *st;
	struct seen seen = { 0 };

	limits.max_bytes = 10;
	st = mailbox_store_new(&limits);
	post(st, 1, "aaaa", T0);
	post(st, 2, "bbbb", T0);
	post(st, 3, "cccc", T0); /* 12 bytes: "aaaa" goes */
	cr_assert_eq(mailbox_store_n_bytes(st), 8);
	cr_assert_eq(mailbox_store_n_mailboxes(st), 2);
	mailbox_store_unsubscribe(st, subscribe(st, 2, 0, &seen, T0));
	cr_assert_eq(seen.n, 1);
	cr_assert_str_eq(seen.body[0], "bbbb");
	mailbox_store_free(st);
}

Test(mailbox, subscriber_cap_evicts_oldest)
{
	struct mailbox_store *st = mailbox_store_new(&default_limits);
	struct seen a = { 0 }, b = { 0 }, c = { 0 };
	struct mailbox_sub *sb, *sc;

	subscribe(st, 1, 0, &a, T0);
	sb = subscribe(st, 1, 0, &b, T0);
	sc = subscribe(st, 1, 0, &c, T0);
	cr_assert_eq(a.evicted, 1);
	cr_assert_eq(b.evicted + c.evicted, 0);
	post(st, 1, "x", T0);
	cr_assert_eq(a.n, 0);
	cr_assert_eq(b.n, 1);
	cr_assert_eq(c.n, 1);
	mailbox_store_unsubscribe(st, sb);
	mailbox_store_unsubscribe(st, sc);
	mailbox_store_free(st);
}

Test(mailbox, refusing_subscriber_is_dropped)
{
	struct mailbox_store *st = mailbox_store_new(&default_limits);
	struct seen slow = { .refuse_after = 1 }, fine = { 0 };
	uint8_t id[RELAY_ID_LEN];
	struct mailbox_sub *sub = NULL;

	subscribe(st, 1, 0, &slow, T0);
	subscribe(st, 1, 0, &fine, T0);
	post(st, 1, "a", T0);
	post(st, 1, "b", T0); /* slow refuses: dropped, fine still served */
	post(st, 1, "c", T0);
	cr_assert_eq(slow.n, 1);
	cr_assert_eq(fine.n, 3);
	cr_assert_eq(slow.evicted, 0);
	/* A refused replay fails the subscription and leaves no trace. */
	struct seen refuse = { .refuse_after = 1 };
	make_id(id, 2);
	post(st, 2, "x", T0);
	post(st, 2, "y", T0);
	cr_assert_eq(mailbox_store_subscribe(st, id, 0, &record_ops, &refuse, T0, &sub), -ENOBUFS);
	cr_assert_null(sub);
	mailbox_store_free(st); /* frees the remaining subscription too */
}

/* A poster makes at most its quota of mailboxes; posting to a mailbox
 * that exists, made by another or by a subscriber, makes none. */
Test(mailbox, poster_mailbox_quota)
{
	struct mailbox_limits limits = default_limits;
	struct mailbox_store *st;
	struct seen seen = { 0 };
	struct mailbox_sub *sub;

	limits.max_mailboxes = 10;
	limits.max_mailboxes_per_poster = 2;
	st = mailbox_store_new(&limits);
	cr_assert_gt(try_post_from(st, 1, 1, "a1", T0), 0);
	cr_assert_gt(try_post_from(st, 1, 2, "a2", T0), 0);
	cr_assert_eq(try_post_from(st, 1, 3, "a3", T0), -EDQUOT);
	cr_assert_gt(try_post_from(st, 2, 3, "b3", T0), 0, "another poster is not held back");
	cr_assert_gt(try_post_from(st, 1, 3, "a3", T0), 0, "b made mailbox 3");
	cr_assert_gt(try_post_from(st, 1, 1, "a1 again", T0), 0);
	sub = subscribe(st, 4, 0, &seen, T0);
	cr_assert_gt(try_post_from(st, 1, 4, "a4", T0), 0, "a subscriber made mailbox 4");
	cr_assert_eq(mailbox_store_n_mailboxes(st), 4);
	/* Its mailboxes gone, the poster may make new ones. */
	mailbox_store_expire(st, T0 + 60 * SEC);
	cr_assert_gt(try_post_from(st, 1, 5, "a5", T0 + 60 * SEC), 0);
	cr_assert_gt(try_post_from(st, 1, 6, "a6", T0 + 60 * SEC), 0);
	cr_assert_eq(try_post_from(st, 1, 7, "a7", T0 + 60 * SEC), -EDQUOT);
	mailbox_store_unsubscribe(st, sub);
	mailbox_store_free(st);
}

/* Over its byte quota a poster loses its own oldest messages, whatever
 * their mailbox, and nobody else's. */
Test(mailbox, poster_byte_quota_drops_its_own_oldest)
{
	struct mailbox_limits limits = default_limits;
	struct mailbox_store *st;
	struct seen one = { 0 }, two = { 0 };

	limits.max_bytes = 16;
	limits.max_bytes_per_poster = 8;
	st = mailbox_store_new(&limits);
	cr_assert_gt(try_post_from(st, 2, 1, "bbbb", T0), 0);
	cr_assert_gt(try_post_from(st, 1, 2, "aaaa", T0), 0);
	cr_assert_gt(try_post_from(st, 1, 2, "AAAA", T0), 0);
	cr_assert_gt(try_post_from(st, 1, 3, "xxxx", T0), 0); /* "aaaa" goes */
	cr_assert_gt(try_post_from(st, 1, 1, "yyyy", T0), 0); /* "AAAA" goes */
	cr_assert_eq(mailbox_store_n_bytes(st), 12);
	cr_assert_eq(mailbox_store_n_mailboxes(st), 2, "mailbox 2 emptied and freed");
	mailbox_store_unsubscribe(st, subscribe(st, 1, 0, &one, T0));
	cr_assert_eq(one.n, 2);
	cr_assert_str_eq(one.body[0], "bbbb");
	cr_assert_str_eq(one.body[1], "yyyy");
	mailbox_store_unsubscribe(st, subscribe(st, 2, 0, &two, T0));
	cr_assert_eq(two.n, 0);
	mailbox_store_free(st);
}

/* A poster is remembered only while it holds something: refused posts
 * and expired messages leave nothing behind. */
Test(mailbox, posters_are_forgotten)
{
	struct mailbox_limits limits = default_limits;
	struct mailbox_store *st;

	limits.max_mailboxes = 2;
	limits.max_mailboxes_per_poster = 1;
	st = mailbox_store_new(&limits);
	cr_assert_gt(try_post_from(st, 1, 1, "a", T0), 0);
	cr_assert_eq(try_post_from(st, 1, 2, "a", T0), -EDQUOT);
	cr_assert_gt(try_post_from(st, 2, 2, "b", T0), 0);
	cr_assert_eq(try_post_from(st, 3, 3, "c", T0), -ENOSPC);
	cr_assert_eq(mailbox_store_n_posters(st), 2);
	cr_assert_gt(try_post_from(st, 2, 1, "b", T0 + 30 * SEC), 0);
	mailbox_store_expire(st, T0 + 60 * SEC);
	cr_assert_eq(mailbox_store_n_posters(st), 2, "a made the mailbox that b's message keeps");
	cr_assert_eq(mailbox_store_n_mailboxes(st), 1);
	mailbox_store_expire(st, T0 + 90 * SEC);
	cr_assert_eq(mailbox_store_n_posters(st), 0);
	cr_assert_eq(mailbox_store_n_mailboxes(st), 0);
	mailbox_store_free(st);
}

/* Sequence numbers never repeat, even for a mailbox freed and made anew:
 * a subscriber's cursor from before stays meaningful. */
Test(mailbox, freed_mailbox_does_not_restart_numbers)
{
	struct mailbox_store *st = mailbox_store_new(&default_limits);
	struct seen seen = { 0 };
	uint64_t first;

	first = post(st, 1, "a", T0);
	mailbox_store_expire(st, T0 + 61 * SEC);
	cr_assert_eq(mailbox_store_n_mailboxes(st), 0);
	post(st, 1, "b", T0 + 62 * SEC);
	mailbox_store_unsubscribe(st, subscribe(st, 1, first, &seen, T0 + 62 * SEC));
	cr_assert_eq(seen.n, 1);
	cr_assert_str_eq(seen.body[0], "b");
	cr_assert_gt(seen.seq[0], first);
	mailbox_store_free(st);
}

/* --- challenges ---------------------------------------------------------- */

struct keypair {
	uint8_t pk[RELAY_ID_LEN];
	uint8_t sk[RELAY_SECRET_KEY_LEN];
};

static void keypair(struct keypair *kp)
{
	crypto_sign_keypair(kp->pk, kp->sk);
}

TestSuite(challenge, .init = setup);

Test(challenge, good_proof_is_accepted_once)
{
	struct challenger *c = challenger_new(30 * SEC, 100);
	uint8_t ch[RELAY_CHALLENGE_LEN], sig[RELAY_SIGNATURE_LEN];
	struct keypair kp;

	keypair(&kp);
	challenger_issue(c, T0, ch);
	relay_proof_sign(sig, kp.pk, ch, kp.sk);
	cr_assert_eq(challenger_redeem(c, kp.pk, ch, sig, T0 + SEC), 0);
	cr_assert_eq(challenger_redeem(c, kp.pk, ch, sig, T0 + 2 * SEC), -EALREADY);
	cr_assert_eq(challenger_n_redeemed(c), 1);
	challenger_free(c);
}

Test(challenge, wrong_key_is_refused)
{
	struct challenger *c = challenger_new(30 * SEC, 100);
	uint8_t ch[RELAY_CHALLENGE_LEN], sig[RELAY_SIGNATURE_LEN];
	struct keypair owner, other;

	keypair(&owner);
	keypair(&other);
	challenger_issue(c, T0, ch);
	relay_proof_sign(sig, owner.pk, ch, other.sk);
	cr_assert_eq(challenger_redeem(c, owner.pk, ch, sig, T0), -EPERM);
	/* A refused proof does not spend the challenge. */
	relay_proof_sign(sig, owner.pk, ch, owner.sk);
	cr_assert_eq(challenger_redeem(c, owner.pk, ch, sig, T0), 0);
	challenger_free(c);
}

Test(challenge, proof_for_another_mailbox_is_refused)
{
	struct challenger *c = challenger_new(30 * SEC, 100);
	uint8_t ch[RELAY_CHALLENGE_LEN], sig[RELAY_SIGNATURE_LEN];
	struct keypair a, b;

	keypair(&a);
	keypair(&b);
	challenger_issue(c, T0, ch);
	relay_proof_sign(sig, a.pk, ch, a.sk);
	cr_assert_eq(challenger_redeem(c, b.pk, ch, sig, T0), -EPERM);
	challenger_free(c);
}

Test(challenge, proof_over_another_challenge_is_refused)
{
	struct challenger *c = challenger_new(30 * SEC, 100);
	uint8_t ch1[RELAY_CHALLENGE_LEN], ch2[RELAY_CHALLENGE_LEN], sig[RELAY_SIGNATURE_LEN];
	struct keypair kp;

	keypair(&kp);
	challenger_issue(c, T0, ch1);
	challenger_issue(c, T0, ch2);
	cr_assert_neq(memcmp(ch1, ch2, sizeof(ch1)), 0);
	relay_proof_sign(sig, kp.pk, ch1, kp.sk);
	cr_assert_eq(challenger_redeem(c, kp.pk, ch2, sig, T0), -EPERM);
	challenger_free(c);
}

Test(challenge, expired_and_future_challenges_are_refused)
{
	struct challenger *c = challenger_new(30 * SEC, 100);
	uint8_t ch[RELAY_CHALLENGE_LEN], sig[RELAY_SIGNATURE_LEN];
	struct keypair kp;

	keypair(&kp);
	challenger_issue(c, T0, ch);
	relay_proof_sign(sig, kp.pk, ch, kp.sk);
	cr_assert_eq(challenger_redeem(c, kp.pk, ch, sig, T0 + 30 * SEC), -ETIMEDOUT);
	cr_assert_eq(challenger_redeem(c, kp.pk, ch, sig, T0 - 1), -ETIMEDOUT);
	cr_assert_eq(challenger_redeem(c, kp.pk, ch, sig, T0 + 30 * SEC - 1), 0);
	challenger_free(c);
}

Test(challenge, forged_or_foreign_challenges_are_refused)
{
	struct challenger *c = challenger_new(30 * SEC, 100);
	struct challenger *other = challenger_new(30 * SEC, 100);
	uint8_t ch[RELAY_CHALLENGE_LEN], sig[RELAY_SIGNATURE_LEN];
	struct keypair kp;

	keypair(&kp);
	/* Issued by another process (another secret). */
	challenger_issue(other, T0, ch);
	relay_proof_sign(sig, kp.pk, ch, kp.sk);
	cr_assert_eq(challenger_redeem(c, kp.pk, ch, sig, T0), -EBADMSG);
	/* Ours, with every byte flipped in turn: the time stamp cannot be
	 * moved forward, the MAC cannot be guessed. */
	for (size_t i = 0; i < RELAY_CHALLENGE_LEN; i++) {
		challenger_issue(c, T0, ch);
		ch[i] ^= 0x01;
		relay_proof_sign(sig, kp.pk, ch, kp.sk);
		cr_assert_eq(challenger_redeem(c, kp.pk, ch, sig, T0), -EBADMSG, "byte %zu", i);
	}
	challenger_free(other);
	challenger_free(c);
}

Test(challenge, redeemed_memory_is_capped_and_pruned)
{
	struct challenger *c = challenger_new(30 * SEC, 2);
	uint8_t ch[RELAY_CHALLENGE_LEN], sig[RELAY_SIGNATURE_LEN];
	struct keypair kp;

	keypair(&kp);
	for (int i = 0; i < 2; i++) {
		challenger_issue(c, T0, ch);
		relay_proof_sign(sig, kp.pk, ch, kp.sk);
		cr_assert_eq(challenger_redeem(c, kp.pk, ch, sig, T0), 0);
	}
	challenger_issue(c, T0, ch);
	relay_proof_sign(sig, kp.pk, ch, kp.sk);
	cr_assert_eq(challenger_redeem(c, kp.pk, ch, sig, T0), -ENOSPC);
	/* One ttl later the spent ones are forgotten (they have expired). */
	challenger_issue(c, T0 + 30 * SEC, ch);
	relay_proof_sign(sig, kp.pk, ch, kp.sk);
	cr_assert_eq(challenger_redeem(c, kp.pk, ch, sig, T0 + 30 * SEC), 0);
	cr_assert_eq(challenger_n_redeemed(c), 1);
	challenger_free(c);
}

/* --- wire pieces ---------------------------------------------------------- */

TestSuite(relay_proto, .init = setup);

Test(relay_proto, id_base64url_round_trip_and_strictness)
{
	uint8_t id[RELAY_ID_LEN], back[RELAY_ID_LEN];
	char s[RELAY_ID_STR_LEN];

	for (int i = 0; i < 100; i++) {
		randombytes_buf(id, sizeof(id));
		relay_b64_encode(s, sizeof(s), id, sizeof(id));
		cr_assert_eq(strlen(s), 43);
		cr_assert_null(strpbrk(s, "+/="));
		cr_assert(relay_b64_decode(back, sizeof(back), s, strlen(s)));
		cr_assert_eq(memcmp(id, back, sizeof(id)), 0);
	}
	memset(id, 0xff, sizeof(id));
	relay_b64_encode(s, sizeof(s), id, sizeof(id));
	cr_assert_str_eq(s, "__________________________________________8");
	/* The last character carries 4 spare bits: only 0 is canonical. */
	cr_assert_not(relay_b64_decode(back, sizeof(back), "__________________________________________9", 43));
	cr_assert_not(relay_b64_decode(back, sizeof(back), "__________________________________________8=", 44));
	cr_assert_not(relay_b64_decode(back, sizeof(back), "__________________________________________", 42));
	cr_assert_not(relay_b64_decode(back, sizeof(back), "+_________________________________________8", 43));
	cr_assert_not(relay_b64_decode(back, sizeof(back), "_________________________________________ 8", 43));
}

/* libsodium 1.0.18 reads a byte above 0x7f as a letter of the alphabet
 * (0xff as '_'): such a spelling must not name a mailbox. */
Test(relay_proto, id_base64url_refuses_bytes_above_ascii)
{
	uint8_t back[RELAY_ID_LEN];
	char s[RELAY_ID_STR_LEN] = "__________________________________________8";

	cr_assert(relay_b64_decode(back, sizeof(back), s, 43));
	for (int c = 0x80; c <= 0xff; c++) {
		s[5] = (char)c;
		cr_assert_not(relay_b64_decode(back, sizeof(back), s, 43), "took byte 0x%02x", c);
	}
}

Test(relay_proto, proof_message_layout)
{
	uint8_t id[RELAY_ID_LEN], ch[RELAY_CHALLENGE_LEN], proof[RELAY_PROOF_LEN];

	memset(id, 0xaa, sizeof(id));
	memset(ch, 0x55, sizeof(ch));
	relay_proof_message(proof, id, ch);
	cr_assert_eq(RELAY_PROOF_LEN, 24 + 32 + 32);
	cr_assert_eq(memcmp(proof, "wice-signal-v1 subscribe", 24), 0);
	cr_assert_eq(proof[24], 0xaa);
	cr_assert_eq(proof[24 + 31], 0xaa);
	cr_assert_eq(proof[56], 0x55);
	cr_assert_eq(proof[87], 0x55);
}

Test(relay_proto, frame_layout_and_truncation_sweep)
{
	static const uint8_t want[] = { 0, 0, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 3, 'a', 'b', 'c', 0xee };
	uint8_t buf[16];
	const uint8_t *body;
	uint64_t seq;
	size_t len;

	relay_frame_header(buf, 0x102, 3);
	memcpy(buf + 12, "abc", 3);
	buf[15] = 0xee; /* the start of the next frame */
	cr_assert_eq(memcmp(buf, want, sizeof(want)), 0);
	cr_assert_eq(relay_frame_parse(buf, sizeof(buf), 3, &seq, &body, &len), 15);
	cr_assert_eq(seq, 0x102);
	cr_assert_eq(len, 3);
	cr_assert_eq(body, buf + 12);
	for (size_t n = 0; n < 15; n++)
		cr_assert_eq(relay_frame_parse(buf, n, 3, &seq, &body, &len), 0, "prefix %zu", n);
	cr_assert_eq(relay_frame_parse(buf, sizeof(buf), 2, &seq, &body, &len), -EMSGSIZE);
	relay_frame_header(buf, 0, 0);
	cr_assert_eq(relay_frame_parse(buf, 12, 0, &seq, &body, &len), 12);
	cr_assert_eq(seq, 0, "keepalive");
	relay_frame_header(buf, 1, UINT32_MAX);
	cr_assert_eq(relay_frame_parse(buf, 12, 4096, &seq, &body, &len), -EMSGSIZE);
}

Test(relay_proto, batch_entry_layout_and_truncation_sweep)
{
	uint8_t id[RELAY_ID_LEN], buf[RELAY_BATCH_HEADER_LEN + 4];
	const uint8_t *got_id, *body;
	size_t len;

	for (size_t i = 0; i < sizeof(id); i++)
		id[i] = 0xa0 + i;
	relay_batch_header(buf, id, 3);
	memcpy(buf + RELAY_BATCH_HEADER_LEN, "abc", 3);
	buf[sizeof(buf) - 1] = 0xee; /* the start of the next entry */
	cr_assert_eq(memcmp(buf, id, sizeof(id)), 0, "the id comes first, raw");
	cr_assert_eq(memcmp(buf + 32, "\0\0\0\3abc", 7), 0, "then a big-endian u32 length and the body");
	cr_assert_eq(relay_batch_parse(buf, sizeof(buf), 3, &got_id, &body, &len), 39);
	cr_assert_eq(got_id, buf);
	cr_assert_eq(body, buf + 36);
	cr_assert_eq(len, 3);
	for (size_t n = 0; n < 39; n++)
		cr_assert_eq(relay_batch_parse(buf, n, 3, &got_id, &body, &len), 0, "prefix %zu", n);
	cr_assert_eq(relay_batch_parse(buf, sizeof(buf), 2, &got_id, &body, &len), -EMSGSIZE);
	relay_batch_header(buf, id, 0);
	cr_assert_eq(relay_batch_parse(buf, 36, 0, &got_id, &body, &len), 36, "empty entries parse");
	cr_assert_eq(len, 0);
	relay_batch_header(buf, id, UINT32_MAX);
	cr_assert_eq(relay_batch_parse(buf, 36, 4096, &got_id, &body, &len), -EMSGSIZE);
}
