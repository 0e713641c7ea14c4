/* Mailbox ids on a signal server, derived per ordered pair of peers.
 *
 * The server must let only the recipient read a mailbox, yet learn nothing
 * but opaque ids.  A mailbox named by a hash of the recipient's public key
 * cannot do both: proving ownership would mean showing the key.  So each
 * direction of each pair gets its own mailbox: an Ed25519 key pair seeded
 * from that direction's key (which only the two peers can compute, from
 * their WireGuard keys).  The public half is the id the sender posts to; the
 * recipient signs the server's challenge with the secret half.  The sender
 * could derive it too, but the only messages in that mailbox are its own. */
#pragma once

#include <stdint.h>

#include "relay-proto.h"
#include "sig-envelope.h"

/* The mailbox we post to when sending to @pair's peer. */
void sig_relay_send_id(const struct sig_pair *pair, uint8_t ret_id[RELAY_ID_LEN]);
/* The mailbox we read @pair's messages from, and the key proving it. */
void sig_relay_receive_id(const struct sig_pair *pair, uint8_t ret_id[RELAY_ID_LEN],
			  uint8_t ret_secret[RELAY_SECRET_KEY_LEN]);
