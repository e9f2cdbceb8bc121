#!/usr/bin/env python3
"""Independent implementation of authelia-secrets' derivation contract v1 (README).

Usage: derive_v1.py SEED NAMESPACE SECRET_NAME KEY ROTATION DESCRIPTOR
Prints the derived value for `random;...` descriptors, and the private scalar in lower-case hex
for `ecdsa;curve=...` descriptors. RSA is not covered (it depends on rand_chacha and rsa).
"""
import hashlib
import hmac
import sys

VERSION = b"authelia-secrets/v1"
ALPHABETS = {
    "alphanumeric": b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "hex": b"0123456789abcdef",
    "rfc3986": b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~",
    "ascii": bytes(range(0x21, 0x7F)),
}
# Group orders of the NIST curves.
ORDERS = {
    "P-256": (32, 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551),
    "P-384": (48, 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973),
    "P-521": (66, 0x01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409),
}


def okm(seed: bytes, info: bytes, length: int = 8160) -> bytes:
    prk = hmac.new(VERSION, seed, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def main() -> None:
    seed, namespace, secret_name, key, rotation, descriptor = sys.argv[1:7]
    info = b"\0".join(
        part.encode() for part in (VERSION.decode(), namespace, secret_name, key, rotation, descriptor)
    )
    stream = okm(seed.encode(), info)
    kind, *params = descriptor.split(";")
    params = dict(p.split("=", 1) for p in params)
    if kind == "random":
        alphabet = ALPHABETS[params["charset"]]
        n, length = len(alphabet), int(params["length"])
        limit = 256 - 256 % n
        out = bytearray()
        for b in stream:
            if len(out) == length:
                break
            if b < limit:
                out.append(alphabet[b % n])
        print(out.decode())
    elif kind == "ecdsa":
        size, order = ORDERS[params["curve"]]
        for i in range(0, len(stream) - size + 1, size):
            chunk = bytearray(stream[i : i + size])
            if params["curve"] == "P-521":
                chunk[0] &= 0x01
            scalar = int.from_bytes(chunk, "big")
            if 0 < scalar < order:
                print(format(scalar, "0%dx" % (size * 2)))
                return
        sys.exit("no valid scalar")
    else:
        sys.exit("unsupported descriptor " + descriptor)


if __name__ == "__main__":
    main()
