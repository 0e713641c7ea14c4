#!/usr/bin/env python3
"""The mesh test vectors of docs/PROTOCOL.md section 10.5 and
tests/unit/test-mesh-secret.c, computed from the specification with
Python's hashlib and the cryptography package, independently of the C code.

    python3 tests/unit/mesh-vectors.py
"""
import base64
import hashlib
import ipaddress
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PREFIX = b"wice mesh v1 "
P = 2**255 - 19


def h(key, label, data=b"", n=32):
    """Shorter values are the first n bytes of the 32-byte hash."""
    return hashlib.blake2b(PREFIX + label.encode() + data, key=key, digest_size=32).digest()[:n]


def ed25519_public(seed):
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def x25519_private(seed):
    d = bytearray(hashlib.sha512(seed).digest()[:32])
    d[0] &= 248
    d[31] &= 127
    d[31] |= 64
    return bytes(d)


def montgomery_u(ed_public):
    """u = (1 + y) / (1 - y) mod p: the birational map of RFC 7748."""
    y = int.from_bytes(ed_public, "little") & ((1 << 255) - 1)
    u = (1 + y) * pow(1 - y, P - 2, P) % P
    return u.to_bytes(32, "little")


def x25519_public(private):
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def show(name, value):
    print(f"{name:24} {value.hex() if isinstance(value, bytes) else value}")


secret = bytes(range(32))
seed = bytes(range(0x20, 0x40))
other = bytes(range(0x40, 0x60))
timestamp = 1700000000
hour = timestamp // 3600

show("secret", "wice://v1/" + base64.urlsafe_b64encode(secret).decode().rstrip("="))
keys = {label: h(secret, label) for label in ("membership", "announce", "psk", "address", "rendezvous")}
show("network-id", h(secret, "network-id", n=8))
for label, key in keys.items():
    show(label, key)
v = h(secret, "listen-port", n=4)
show("listen-port", 51821 + struct.unpack(">H", v[:2])[0] % 4000)
v = h(secret, "lan", n=4)
show("lan-group4", f"239.255.{v[0]}.{v[1]}")
show("lan-group6", str(ipaddress.IPv6Address(bytes.fromhex("ff120000000000006d657368") + v)))
show("lan-port", 61821 + struct.unpack(">H", v[2:])[0] % 3000)
show("net4", f"10.{h(secret, 'ipv4-net', n=1)[0]}.0.0/16")
net6 = b"\xfd" + h(secret, "ipv6-net", n=5)
show("net6", str(ipaddress.IPv6Address(net6 + bytes(10))) + "/48")

sign_pk = ed25519_public(seed)
wg_private = x25519_private(seed)
wg_public = montgomery_u(sign_pk)
assert wg_public == x25519_public(wg_private)
show("host sign_pk", sign_pk)
show("host wg_private", wg_private)
show("host wg_public", wg_public)

net4 = h(secret, "ipv4-net", n=1)[0]
for counter in (0, 1):
    v = h(keys["address"], "ipv4-host", wg_public + bytes([counter]), n=4)
    host = 1 + struct.unpack(">I", v)[0] % 65534
    show(f"address4 counter {counter}", f"10.{net4}.{host >> 8}.{host & 0xff}")
    iid = h(keys["address"], "ipv6-iid", wg_public + bytes([counter]), n=8)
    assert iid != bytes(8)
    show(f"address6 counter {counter}", str(ipaddress.IPv6Address(net6 + bytes(2) + iid)))

a, b = seed, other  # as 32-byte strings; a < b
show("pair-psk", h(keys["psk"], "pair-psk", a + b))
show("proof", h(keys["membership"], "proof", sign_pk + struct.pack(">Q", timestamp)))
rv_seed = h(keys["rendezvous"], "hour", struct.pack(">Q", hour))
show("rendezvous hour", hour)
show("rendezvous seed", rv_seed)
show("rendezvous id", ed25519_public(rv_seed))
inbox_seed = h(keys["rendezvous"], "inbox", wg_public)
show("inbox seed", inbox_seed)
show("inbox id", ed25519_public(inbox_seed))
