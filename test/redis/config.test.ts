import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { ReplyError } from "ioredis";
import { ConfigurationError, ConnectionError } from "../../src/core/errors.js";
import { addressOf, connectionFailureOf, connectionOptions, type RedisConfigInput, resolveRedisConfig, toConnectionError } from "../../src/redis/config.js";
import { thrown } from "../support/thrown.js";

describe("redis configuration", () => {
  it("defaults to 127.0.0.1:6379 with the canonical DB map", () => {
    const config = resolveRedisConfig({}, {});
    expect(config).toMatchObject({ host: "127.0.0.1", port: 6379, tls: false, commandTimeoutMs: 1000 });
    expect(config.databases.patterns).toBe(10);
  });

  it("reads REDIS_URL and the documented variables; options win", () => {
    const env = { REDIS_URL: "rediss://ops:s3cret@redis.internal:6380", MATHD_DB_PATTERNS: "12", MATHD_COMMAND_TIMEOUT_MS: "250" };
    expect(resolveRedisConfig({}, env)).toMatchObject({
      host: "redis.internal",
      port: 6380,
      username: "ops",
      password: "s3cret",
      tls: {},
      commandTimeoutMs: 250,
      databases: expect.objectContaining({ patterns: 12, news: 11 }),
    });
    expect(resolveRedisConfig({ url: "redis://10.0.0.5:7000", databases: { patterns: 9 } }, env)).toMatchObject({
      host: "10.0.0.5",
      port: 7000,
      tls: false,
      databases: expect.objectContaining({ patterns: 9 }),
    });
    expect(resolveRedisConfig({}, { REDIS_HOST: "cache", REDIS_PORT: "6390", REDIS_TLS: "true" })).toMatchObject({ host: "cache", port: 6390, tls: {} });
  });

  it("takes nothing from REDIS_URL when a server is named (url, host, port or cluster): its port, credentials and TLS belong to another server", () => {
    const env = { REDIS_URL: "rediss://alice:pw@127.0.0.1:7202" };
    const named: [RedisConfigInput, { cluster?: boolean }, object][] = [
      [{ url: "redis://10.9.9.9" }, {}, { host: "10.9.9.9", port: 6379 }],
      [{ host: "10.9.9.9", port: 7000 }, {}, { host: "10.9.9.9", port: 7000 }],
      [{ host: "10.9.9.9" }, {}, { host: "10.9.9.9", port: 6379 }],
      [{ port: 7000 }, {}, { host: "127.0.0.1", port: 7000 }],
      [{}, { cluster: true }, { host: "127.0.0.1", port: 6379 }],
    ];
    for (const [input, target, address] of named) {
      const config = resolveRedisConfig(input, env, target);
      expect(config, JSON.stringify(input)).toMatchObject({ ...address, tls: false });
      expect(config).not.toHaveProperty("username");
      expect(config).not.toHaveProperty("password");
    }
    // the variables of their own still apply (a password kept out of the URL)
    expect(resolveRedisConfig({ url: "redis://10.9.9.9" }, { REDIS_PASSWORD: "pw" })).toMatchObject({ host: "10.9.9.9", password: "pw" });
  });

  it.each([
    [{}, { REDIS_PORT: "http" }, "REDIS_PORT"],
    [{}, { REDIS_PORT: "70000" }, "REDIS_PORT"],
    [{}, { REDIS_URL: "http://x" }, "REDIS_URL"],
    [{}, { REDIS_URL: "not a url" }, "REDIS_URL"],
    [{}, { REDIS_TLS: "yes" }, "REDIS_TLS"],
    [{}, { MATHD_DB_NEWS: "16" }, "MATHD_DB_NEWS"],
    [{ port: 0 }, {}, "port"],
    [{ databases: { alerts: -1 } }, {}, "databases.alerts"],
    [{ commandTimeoutMs: 0 }, {}, "commandTimeoutMs"],
    [{ password: "" }, {}, "password"],
    [{ tls: { ca: "/nonexistent/ca.pem" } }, {}, "tls.ca"],
    [{}, { REDIS_TLS_CA_FILE: "/nonexistent/ca.pem" }, "REDIS_TLS_CA_FILE"],
    [{ tls: { ca: [Buffer.from("x"), "/nonexistent/b.pem"] } }, {}, "tls.ca[1]"],
    [{ tls: { cert: Buffer.from("c") } }, {}, "tls.cert"],
    [{}, { REDIS_TLS_KEY_FILE: "/nonexistent/key.pem" }, "REDIS_TLS_KEY_FILE"],
    [{ tls: false }, { REDIS_TLS_SERVERNAME: "redis.internal" }, "tls"],
    [{ tls: { servername: "" } }, {}, "tls.servername"],
    [{ url: "redis://:p%zz@127.0.0.1:6379" }, {}, "url"],
    [{}, { REDIS_URL: "redis://us%er:x@127.0.0.1" }, "REDIS_URL"],
    [{ url: "redis://127.0.0.1:6379/3" }, {}, "url"],
    [{}, { REDIS_URL: "redis://127.0.0.1:6379/0" }, "REDIS_URL"],
    [{ url: "redis://127.0.0.1:6379" }, { REDIS_TLS: "maybe" }, "REDIS_TLS"],
  ])("fails at start-up naming the setting: %j %j", (options, env, setting) => {
    const error = thrown(() => resolveRedisConfig(options as never, env));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).setting).toBe(setting);
  });

  it("never quotes a malformed URL's user or password: they are masked, a path other than a number not shown", () => {
    const cases: [RedisConfigInput, NodeJS.ProcessEnv, string][] = [
      [{ url: "redis://mathd:S3CRET#pw@127.0.0.1:7510" }, {}, 'url: is not a URL: "redis://***@127.0.0.1:7510"'],
      [{}, { REDIS_URL: "mathd:S3CRETpw@127.0.0.1:7510" }, 'REDIS_URL: must start with redis:// or rediss://, got "***@127.0.0.1:7510" (write redis://***@127.0.0.1:7510)'],
      [{ url: "redis://mathd:12/S3CRETpw@127.0.0.1:7510" }, {}, "url: names a database (a path after the host): leave it off; each key family has its database in the DB map (MATHD_DB_<NAME>, or the databases option)"],
      [{ url: "http://mathd:S3CRETpw@127.0.0.1:7510" }, {}, "url: must start with redis:// or rediss://, got http://"],
    ];
    for (const [options, env, message] of cases) expect((thrown(() => resolveRedisConfig(options, env)) as Error).message).toBe(message);
    // what holds no secret is still shown as given
    expect((thrown(() => resolveRedisConfig({ url: "redis://127.0.0.1:6379/3" }, {})) as Error).message).toMatch(/^url: names a database \(\/3\)/);
  });

  it("refuses a URL with a query or a fragment, naming the setting and quoting neither: nothing of them is taken", () => {
    const cases: [RedisConfigInput, NodeJS.ProcessEnv, string, string][] = [
      [{ url: "redis://127.0.0.1:6379?db=3" }, {}, "url", "a query (after '?')"],
      [{ url: "redis://127.0.0.1:6379?" }, {}, "url", "a query (after '?')"],
      [{}, { REDIS_URL: "rediss://mathd:pw@127.0.0.1:6379#S3CRET" }, "REDIS_URL", "a fragment (after '#')"],
      // a '?' in a password ends the host: this would be host mathd, port 1234, no credentials
      [{ url: "redis://mathd:1234?S3CRET@127.0.0.1:6379" }, {}, "url", "a query (after '?')"],
      [{ url: "redis://127.0.0.1:6379?password=S3CRET" }, {}, "url", "a query (after '?')"],
    ];
    for (const [options, env, setting, part] of cases) {
      const error = thrown(() => resolveRedisConfig(options, env));
      expect(error, JSON.stringify([options, env])).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({ setting, message: `${setting}: has ${part}, which is not taken: write a '?' or '#' of a password as %3F or %23; a database comes from the DB map (MATHD_DB_<NAME>, or the databases option)` });
    }
    // a URL that does not parse is quoted without its query either
    expect((thrown(() => resolveRedisConfig({ url: "redis://127.0.0.1:99999?password=S3CRET" }, {})) as Error).message).toBe('url: is not a URL: "redis://127.0.0.1:99999?***"');
    // escaped, they are a password's
    expect(resolveRedisConfig({ url: "redis://mathd:12%3FS3%23CRET@127.0.0.1:6379" }, {})).toMatchObject({ host: "127.0.0.1", username: "mathd", password: "12?S3#CRET" });
  });

  it("shows the value it refused as given: NaN as NaN (JSON would say null), text quoted", () => {
    const messageOf = (run: () => unknown) => (thrown(run) as Error).message;
    expect(messageOf(() => resolveRedisConfig({ commandTimeoutMs: Number.NaN }))).toBe("commandTimeoutMs: must be an integer in 1..600000, got NaN");
    expect(messageOf(() => resolveRedisConfig({}, { MATHD_DB_NEWS: "16" }))).toBe('MATHD_DB_NEWS: must be an integer in 0..15, got "16"');
  });
});

describe("TLS configuration", () => {
  const dir = mkdtempSync(join(tmpdir(), "mathd-tls-config-"));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it("reads CA, certificate and key from files or takes buffers, and always verifies the server", () => {
    const block = (kind: string, body: string) => `-----BEGIN ${kind}-----\n${body}\n-----END ${kind}-----\n`;
    const [caPem, certPem, keyPem] = [block("CERTIFICATE", "CA"), block("CERTIFICATE", "CERT"), block("EC PRIVATE KEY", "KEY")];
    const ca = file("ca.pem", caPem);
    const env = { REDIS_TLS_CA_FILE: ca, REDIS_TLS_CERT_FILE: file("c.pem", certPem), REDIS_TLS_KEY_FILE: file("k.pem", keyPem), REDIS_TLS_SERVERNAME: "redis.test" };
    const fromEnv = resolveRedisConfig({ url: "redis://10.0.0.5:6380" }, env);
    expect(fromEnv.tls).toEqual({ ca: [Buffer.from(caPem)], cert: Buffer.from(certPem), key: Buffer.from(keyPem), servername: "redis.test" });
    // a file that holds the other kind of block is refused at start-up, naming the setting
    for (const [name, wrong] of [["REDIS_TLS_CA_FILE", "k.pem"], ["REDIS_TLS_KEY_FILE", "c.pem"]] as const) {
      const error = thrown(() => resolveRedisConfig({}, { ...env, [name]: join(dir, wrong) }));
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).setting).toBe(name);
    }
    expect(connectionOptions(fromEnv).tls).toMatchObject({ servername: "redis.test", rejectUnauthorized: true });
    // options win over the environment, setting by setting
    const mixed = resolveRedisConfig({ tls: { ca: [Buffer.from("A"), ca], servername: "other.test" } }, env);
    expect(mixed.tls).toMatchObject({ ca: [Buffer.from("A"), Buffer.from(caPem)], servername: "other.test", cert: Buffer.from(certPem) });
  });

  it("refuses PEM text where a path belongs, in one line naming the setting and never quoting it", () => {
    const keyPem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIKEYSECRETKEYSECRETKEYSECRET\n-----END PRIVATE KEY-----\n";
    const certPem = "-----BEGIN CERTIFICATE-----\nCERTBODY\n-----END CERTIFICATE-----\n";
    const cert = file("pem-text-c.pem", certPem);
    const key = file("pem-text-k.pem", keyPem);
    const cases: [RedisConfigInput, NodeJS.ProcessEnv, string][] = [
      [{ tls: { cert: Buffer.from(certPem), key: keyPem } }, {}, "tls.key"],
      [{ tls: { cert: certPem, key } }, {}, "tls.cert"],
      [{ tls: { ca: [Buffer.from(certPem), certPem] } }, {}, "tls.ca[1]"],
      [{}, { REDIS_TLS_CERT_FILE: cert, REDIS_TLS_KEY_FILE: keyPem }, "REDIS_TLS_KEY_FILE"],
      [{}, { REDIS_TLS_CA_FILE: certPem }, "REDIS_TLS_CA_FILE"],
    ];
    for (const [options, env, setting] of cases) {
      const error = thrown(() => resolveRedisConfig(options, env)) as ConfigurationError;
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.message).toBe(`${setting}: holds PEM text, not a file path: give the file's path, or the PEM as a Buffer`);
    }
    // a path with a line break is not quoted either: the lines after it would follow in a log
    const error = thrown(() => resolveRedisConfig({}, { REDIS_TLS_CA_FILE: "/nonexistent/ca.pem\nSECRET" })) as ConfigurationError;
    expect(error.message).toBe("REDIS_TLS_CA_FILE: cannot read the path given (it holds a line break): ENOENT");
  });

  it("reads an IPv6 address, a bare trailing slash and %-escaped credentials from a URL", () => {
    expect(resolveRedisConfig({ url: "redis://[::1]:7000" }, {})).toMatchObject({ host: "::1", port: 7000 });
    expect(resolveRedisConfig({ url: "redis://u%40x:p%25w@127.0.0.1:7000/" }, {})).toMatchObject({ username: "u@x", password: "p%w" });
  });

  it("turns TLS on with rediss://, REDIS_TLS or any TLS setting, and leaves it off otherwise", () => {
    // a redis:// URL does not quietly turn off the TLS the environment asks for
    expect(resolveRedisConfig({ url: "redis://h:1" }, { REDIS_TLS: "true" }).tls).toEqual({});
    expect(resolveRedisConfig({ url: "rediss://h:1" }, { REDIS_TLS: "false" }).tls).toEqual({});
    expect(resolveRedisConfig({ url: "rediss://h:1", tls: false }, {}).tls).toBe(false); // the option decides
    expect(resolveRedisConfig({ url: "rediss://h:1" }, {}).tls).toEqual({});
    expect(resolveRedisConfig({ tls: { servername: "x.test" } }, {}).tls).toEqual({ servername: "x.test" });
    expect(resolveRedisConfig({}, {}).tls).toBe(false);
    expect(connectionOptions(resolveRedisConfig({}, {}))).not.toHaveProperty("tls");
    expect(connectionOptions(resolveRedisConfig({ tls: true }, {})).tls).toEqual({ rejectUnauthorized: true });
  });

  it("prints and serializes a config with its password and client key masked, and still connects with them", () => {
    const key = Buffer.from("-----BEGIN PRIVATE KEY-----\nS3CRETkey\n-----END PRIVATE KEY-----\n");
    const config = resolveRedisConfig({ url: "rediss://ops:S3CRETpw@redis.internal:6380", tls: { cert: Buffer.from("cert"), key } }, {});
    for (const shown of [JSON.stringify(config), JSON.stringify({ held: config }), inspect(config, { depth: Infinity }), inspect({ held: config }, { depth: Infinity })]) {
      expect(shown).not.toContain("S3CRETpw");
      expect(shown).toContain("***");
    }
    expect(JSON.parse(JSON.stringify(config))).toMatchObject({ host: "redis.internal", username: "ops", password: "***", tls: { key: "***" } });
    expect(inspect(config)).not.toContain(inspect(key)); // the key's bytes, as inspect shows a Buffer
    // the settings themselves are untouched: the connection logs in with them
    expect(config.password).toBe("S3CRETpw");
    expect(connectionOptions(config)).toMatchObject({ password: "S3CRETpw", tls: { key } });
    expect(Object.keys(config)).toEqual(["host", "port", "username", "password", "tls", "databases", "commandTimeoutMs"]);
  });

  it("names a server as host:port", () => {
    expect(addressOf({ host: "127.0.0.1", port: 6379 })).toBe("127.0.0.1:6379");
    expect(addressOf({ host: "::1", port: 6380 })).toBe("[::1]:6380");
  });
});

describe("connection failures", () => {
  const errno = (code: string, message: string) => Object.assign(new Error(message), { code });
  it.each([
    [errno("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:6379"), "refused"],
    [errno("ETIMEDOUT", "connect ETIMEDOUT"), "timeout"],
    [errno("EHOSTUNREACH", "connect EHOSTUNREACH 10.0.0.9:6379"), "unreachable"],
    [new Error("WRONGPASS invalid username-password pair or user is disabled."), "auth"],
    [errno("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "unable to verify the first certificate"), "tls"],
    [errno("ERR_TLS_CERT_ALTNAME_INVALID", "Hostname/IP does not match certificate's altnames"), "tls"],
    [new Error("NOPERM this user has no permissions to run the 'scan' command"), "denied"],
    [new Error("Connection is closed."), "closed"],
    [Object.assign(new Error("Command aborted due to connection close"), { name: "AbortError" }), "closed"], // ioredis 6, the rest of a cut pipeline
    [new Error("WRONGTYPE Operation against a key holding the wrong kind of value"), undefined],
    // a server's reply is judged by its code: its text may name a key or a symbol with TLS in it
    [new ReplyError("NOGROUP No such key 'ticks:XTLS' or consumer group 'mathd' in XREADGROUP with GROUP option"), undefined],
    [new ReplyError("ERR timeout is negative"), undefined],
    [new ReplyError("MATHD_INVALID symbol: must match ..., got 'CERT SSL'"), undefined],
    [new ReplyError("WRONGPASS invalid username-password pair or user is disabled."), "auth"],
    [new ReplyError("NOAUTH Authentication required."), "auth"],
    [new ReplyError("NOPERM this user has no permissions to run the 'xadd' command"), "denied"],
  ])("%s is %s", (error, failure) => {
    expect(connectionFailureOf(error)).toBe(failure);
  });

  it("a ConnectionError names the server and keeps the cause", () => {
    const cause = errno("ECONNREFUSED", "connect ECONNREFUSED");
    const error = toConnectionError({ host: "127.0.0.1", port: 6390 }, cause);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ address: "127.0.0.1:6390", failure: "refused", cause });
    expect(toConnectionError({ host: "h", port: 1 }, error)).toBe(error);
  });

  it("a plain connection closed before any answer asks whether the port requires TLS; one closed after answers does not", () => {
    const reset = () => errno("ECONNRESET", "read ECONNRESET");
    const plain = { host: "127.0.0.1", port: 6390, tls: false as const };
    expect(toConnectionError(plain, reset(), undefined, undefined, { neverAnswered: true }).message).toBe(
      "Redis at 127.0.0.1:6390: closed: read ECONNRESET (TLS is off: does this port require TLS, rediss://? A server at maxclients closes so too)",
    );
    expect(toConnectionError(plain, reset()).message).toBe("Redis at 127.0.0.1:6390: closed: read ECONNRESET");
    expect(toConnectionError({ ...plain, tls: {} }, reset(), undefined, undefined, { neverAnswered: true }).message).not.toContain("TLS is off");
    expect(toConnectionError(plain, errno("ECONNREFUSED", "connect ECONNREFUSED"), undefined, undefined, { neverAnswered: true }).message).not.toContain("TLS is off");
  });
});
