"""Calling math-dispatcher's Lua scripts from Python, with redis-py.

The Lua scripts are the single source of truth for the math: this client computes nothing.
It reads the manifest (`mathd scripts manifest --out manifest.json`), lays out KEYS and ARGV as
each script's header declares them, and calls EVALSHA (loading the script on NOSCRIPT), so
it gets the very values the TypeScript SDK gets (the script's reply fields, by their snake_case
names, each number a float: 75.0 where the SDK says 75), including its cache entries in DB 10:
the cache key is pattern_cache:<name>:v<version>:<SYMBOL>:<sha1 of ARGV>, and ARGV text
formatted as the SDK formats it gives the same key.

    python3 examples/python/mathd_client.py --url redis://127.0.0.1:6379 \
        --manifest manifest.json --session examples/data/banknifty-5m.json

prints the ATR(14) of the sample session and a stop-loss from it, as JSON.
Needs redis-py (Debian: apt-get install python3-redis).
"""

import argparse
import hashlib
import json
import struct
import sys
from decimal import Decimal

import redis

PRICE_UNITS = 10_000  # prices travel as whole numbers of 0.0001 rupee


def js_text(value):
    """A number as JavaScript's String() writes it (45, not 45.0), so ARGV matches the SDK's."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def price_text(price):
    """Exact decimal text of a price, as the SDK sends it ("24350.05")."""
    return format(Decimal(str(price)).normalize(), "f")


def price_units(price):
    units = Decimal(str(price)) * PRICE_UNITS
    if units != units.to_integral_value():
        raise ValueError(f"{price}: at most 4 decimals")
    return float(units)


def inputs_digest(args):
    """SHA1 over ARGV, each argument prefixed by its byte length and ':' (src/dispatcher/inputsDigest.ts)."""
    digest = hashlib.sha1()
    for arg in args:
        data = arg if isinstance(arg, bytes) else arg.encode("utf-8")
        digest.update(f"{len(data)}:".encode())
        digest.update(data)
    return digest.hexdigest()


def decode(text):
    """A reply value: %.17g text becomes a float (the very double the script computed)."""
    try:
        return float(text)
    except ValueError:
        return text


class MathScripts:
    """The manifest's scripts on one connection to the cache database (DB 10)."""

    def __init__(self, client, manifest):
        self.redis = client
        self.scripts = {s["name"]: s for s in manifest["scripts"]}

    def call(self, name, symbol, args):
        script = self.scripts[name]
        key = f"pattern_cache:{name}:v{script['version']}:{symbol}:{inputs_digest(args)}"
        try:
            reply = self.redis.evalsha(script["sha1"], 1, key, *args)
        except redis.exceptions.NoScriptError:
            # the script cache is volatile (restart, failover, SCRIPT FLUSH): load and call again
            sha1 = self.redis.script_load(script["source"])
            if sha1 != script["sha1"]:
                raise RuntimeError(f"{name}: SCRIPT LOAD returned {sha1}, manifest says {script['sha1']}")
            reply = self.redis.evalsha(script["sha1"], 1, key, *args)
        # one text: a field or a value per line; a list is one value, comma-separated
        lines = reply.decode("utf-8").split("\n")
        fields = dict(zip(lines[0::2], (decode(v) for v in lines[1::2])))
        fields["scriptVersion"] = script["version"]
        return fields

    def atr(self, symbol, period, bars):
        """ATR (TA-Lib) of bars [{high, low, close}]: ARGV period, series, state, packed bars."""
        packed = b"".join(struct.pack("<ddd", price_units(b["high"]), price_units(b["low"]), price_units(b["close"])) for b in bars)
        return self.call("atr", symbol, [str(period), "0", "", packed])

    def stop_loss(self, symbol, side, entry, atr, multiplier=1.5, tick="0.05", reward_ratio=None):
        """Stop and target on the tick grid; ARGV in the order lua/stop_loss.lua declares."""
        args = [side, price_text(entry), js_text(atr), js_text(multiplier), price_text(tick), "", "",
                "" if reward_ratio is None else js_text(reward_ratio)]
        return self.call("stop_loss", symbol, args)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--session", required=True)
    options = parser.parse_args()
    with open(options.manifest) as f:
        manifest = json.load(f)
    with open(options.session) as f:
        session = json.load(f)
    client = redis.Redis.from_url(options.url, db=manifest["cacheDb"])
    math = MathScripts(client, manifest)
    symbol, bars = session["symbol"], session["updates"]
    atr = math.atr(symbol, 14, bars)
    stop = math.stop_loss(symbol, "long", bars[-1]["close"], atr["atr"], reward_ratio=2)
    json.dump({"atr": atr, "stop_loss": stop}, sys.stdout, indent=2)
    print()
    client.close()


if __name__ == "__main__":
    main()
