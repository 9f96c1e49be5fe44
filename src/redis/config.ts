/**
 * Connection settings from an options object or the environment, validated at start-up: a bad
 * value fails with a ConfigurationError that names the option or the environment variable.
 *
 * Environment: REDIS_URL (redis:// or rediss:// for TLS), REDIS_HOST, REDIS_PORT, REDIS_USERNAME,
 * REDIS_PASSWORD, REDIS_TLS (true/false), REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE,
 * REDIS_TLS_KEY_FILE, REDIS_TLS_SERVERNAME, MATHD_COMMAND_TIMEOUT_MS, and MATHD_DB_<NAME> to move a
 * database of the map (MATHD_DB_PATTERNS=10). Options win over the environment, which wins over
 * the defaults (127.0.0.1:6379, no TLS, 1,000 ms); an explicit setting wins over a URL's part.
 * REDIS_URL applies only when the caller names no server (no url, host, port or cluster).
 * TLS is on when any of them asks for it (rediss://, REDIS_TLS=true, a TLS file or server name)
 * unless the `tls` option says false. A URL names no database: each key family's comes from the
 * DB map. A URL with a query or a fragment is refused, since nothing of them is taken.
 *
 * TLS always verifies the server's certificate (there is no switch to turn that off): give the CA
 * that signed it when it is not in Node's trust store, and a client certificate and key when the
 * server asks for one (mutual TLS). Files are read here, at start-up, so a missing or unreadable
 * file is a ConfigurationError naming the setting rather than a handshake failure later.
 */
import { readFileSync } from "node:fs";
import { inspect, type InspectOptionsStylized } from "node:util";
import type { Redis, RedisOptions } from "ioredis";
import { ConfigurationError, ConnectionError, type ConnectionFailure, isNotNowReply } from "../core/errors.js";
import { DATABASES, type DatabaseName } from "./databases.js";
import { optionNames, refuseUnknownOptions } from "../core/options.js";
import { endedBeforeAnyAnswer } from "./socketErrors.js";

/** PEM material for TLS: a file path, or the PEM bytes themselves. */
export type TlsMaterial = string | Buffer;

/** TLS settings; giving any of them turns TLS on. */
export interface TlsInput {
  /** CA certificate(s) that signed the server's certificate, when Node's trust store lacks it. */
  ca?: TlsMaterial | readonly TlsMaterial[];
  /** Client certificate, for a server that requires one (`tls-auth-clients yes`); needs `key`. */
  cert?: TlsMaterial;
  /** The client certificate's private key; needs `cert`. */
  key?: TlsMaterial;
  /** Name the server's certificate must carry (SNI and verification), when it differs from the host. */
  servername?: string;
}

/** Resolved TLS settings: PEM bytes, read once at start-up. */
export interface TlsSettings {
  ca?: Buffer[];
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
}

/**
 * What a caller may set; everything is optional, and `undefined` is the same as absent (so
 * `{ url: process.env.REDIS_URL }` type-checks under `exactOptionalPropertyTypes`).
 */
export interface RedisConfigInput {
  url?: string | undefined;
  host?: string | undefined;
  port?: number | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** `true` for TLS with Node's trust store, or the CA, client certificate and server name to use. */
  tls?: boolean | TlsInput;
  /** Per-database overrides of the map, e.g. `{ patterns: 12 }` on a shared test server. */
  databases?: Partial<Record<DatabaseName, number>>;
  /** Per-command timeout. */
  commandTimeoutMs?: number;
}

const REDIS_CONFIG_SETTINGS = optionNames<RedisConfigInput>({ url: true, host: true, port: true, username: true, password: true, tls: true, databases: true, commandTimeoutMs: true });
const TLS_SETTINGS = optionNames<TlsInput>({ ca: true, cert: true, key: true, servername: true });
/** How the connection settings refuse a name they do not have (a typo in plain JavaScript). */
const settingsCheck = (name: string, bare = false) => ({ name, bare, kind: "setting", error: ConfigurationError });

/**
 * Validated settings. As {@link resolveRedisConfig} returns them, `JSON.stringify` and
 * `util.inspect` show the password and the client key's bytes as `***` (a copy made with a
 * spread is a plain object again, and shows them).
 */
export interface RedisConfig {
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** `false`, or the TLS settings (an empty object: TLS with Node's trust store). */
  tls: false | TlsSettings;
  databases: Record<DatabaseName, number>;
  commandTimeoutMs: number;
}

type Source = { value: unknown; setting: string };

/** A setting's value in a message: text quoted (the environment's "16"), a number as JS shows it (NaN, not JSON's null). */
function shownSetting(value: unknown): string {
  return typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value));
}

/**
 * A whole-number setting in `min..max` (digit text too, as the environment gives it), or
 * `fallback` when it is not given; a ConfigurationError names the setting otherwise.
 */
export function integer(source: Source | undefined, min: number, max: number, fallback: number): number {
  if (!source) return fallback;
  const n = typeof source.value === "string" && /^\d+$/.test(source.value) ? Number(source.value) : source.value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigurationError(source.setting, `must be an integer in ${min}..${max}, got ${shownSetting(source.value)}`);
  }
  return n;
}

function boolean(source: Source | undefined, fallback: boolean): boolean {
  if (!source) return fallback;
  if (typeof source.value === "boolean") return source.value;
  if (source.value === "true" || source.value === "1") return true;
  if (source.value === "false" || source.value === "0") return false;
  throw new ConfigurationError(source.setting, `must be true or false, got ${shownSetting(source.value)}`);
}

function text(source: Source | undefined): string | undefined {
  if (!source) return undefined;
  if (typeof source.value !== "string" || source.value === "") throw new ConfigurationError(source.setting, "must be a non-empty string");
  return source.value;
}

/**
 * URL text as a message may quote it: the user and password masked, and a query or fragment
 * (`?password=...`). A URL that does not parse may have its userinfo anywhere before the host,
 * so everything before the last '@' goes.
 */
function maskedUrl(text: string): string {
  const at = text.lastIndexOf("@");
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0] ?? "";
  return (at === -1 ? text : `${scheme}***${text.slice(at)}`).replace(/([?#]).*$/s, "$1***");
}

function parseUrl(source: Source): { host: string; port?: number; username?: string; password?: string; tls: boolean } {
  const shown = (text: string) => JSON.stringify(maskedUrl(text));
  let url: URL;
  try {
    url = new URL(String(source.value));
  } catch {
    throw new ConfigurationError(source.setting, `is not a URL: ${typeof source.value === "string" ? shown(source.value) : shownSetting(source.value)}`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    // a host and port alone ("localhost:6379") parse as a scheme "localhost:": say what was given
    const text = maskedUrl(String(source.value));
    const given = text.includes("://") ? `${url.protocol}//` : `${JSON.stringify(text)} (write redis://${text})`;
    throw new ConfigurationError(source.setting, `must start with redis:// or rediss://, got ${given}`);
  }
  // nothing of a query or a fragment is taken (?db=3 would be dropped), and a '?' or '#' in a
  // password ends the host early: redis://u:12?pw@host:6379 is host u, port 12, no password. Refused,
  // and not quoted: what follows the '?' or '#' may be that password
  const delimiter = /[?#]/.exec(String(source.value))?.[0];
  if (delimiter !== undefined) {
    const part = delimiter === "?" ? "a query (after '?')" : "a fragment (after '#')";
    throw new ConfigurationError(
      source.setting,
      `has ${part}, which is not taken: write a '?' or '#' of a password as %3F or %23; a database comes from the DB map (MATHD_DB_<NAME>, or the databases option)`,
    );
  }
  // the scripts and the tick consumer use several databases, each from the DB map: a URL's one
  // database would be silently ignored, so it is refused
  if (url.pathname !== "" && url.pathname !== "/") {
    // a path other than a number may be the rest of a password with a '/' in it: not quoted
    const path = /^\/\d+$/.test(url.pathname) ? url.pathname : "a path after the host";
    throw new ConfigurationError(source.setting, `names a database (${path}): leave it off; each key family has its database in the DB map (MATHD_DB_<NAME>, or the databases option)`);
  }
  const decoded = (part: "username" | "password") => {
    try {
      return decodeURIComponent(url[part]);
    } catch {
      throw new ConfigurationError(source.setting, `has a ${part} with a malformed %-escape (write % as %25)`);
    }
  };
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"), // an IPv6 address comes bracketed: [::1]
    ...(url.port ? { port: Number(url.port) } : {}),
    ...(url.username ? { username: decoded("username") } : {}),
    ...(url.password ? { password: decoded("password") } : {}),
    tls: url.protocol === "rediss:",
  };
}

/** The PEM block a file of each TLS setting must hold: a certificate (CA or client), or a private key. */
const PEM_BLOCK = { certificate: /-----BEGIN (TRUSTED )?CERTIFICATE-----/, key: /-----BEGIN ([A-Z]+ )*PRIVATE KEY-----/ } as const;

/**
 * A TLS setting's PEM: bytes given as they are, or a file's, which must hold the `kind` of block
 * it is for (a key given as the CA, say, is refused here, not at the handshake).
 */
function pem(source: { value: unknown; setting: string }, kind: keyof typeof PEM_BLOCK): Buffer {
  if (Buffer.isBuffer(source.value)) return source.value;
  const path = text(source) as string;
  // PEM text where a path belongs may be a private key: refused without quoting it, as is a
  // path with a line break (logs would show the lines after it)
  if (path.includes("-----BEGIN")) throw new ConfigurationError(source.setting, "holds PEM text, not a file path: give the file's path, or the PEM as a Buffer");
  const shown = /[\r\n]/.test(path) ? "the path given (it holds a line break)" : path;
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch (error) {
    throw new ConfigurationError(source.setting, `cannot read ${shown}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!PEM_BLOCK[kind].test(content.toString("latin1"))) throw new ConfigurationError(source.setting, `${shown} holds no PEM ${kind === "key" ? "private key" : "certificate"}`);
  return content;
}

function resolveTls(input: RedisConfigInput, env: NodeJS.ProcessEnv, enabled: boolean): false | TlsSettings {
  const given: TlsInput = typeof input.tls === "object" ? input.tls : {};
  const pick = (key: keyof TlsInput, envName: string) =>
    given[key] !== undefined ? { value: given[key], setting: `tls.${key}` } : env[envName] ? { value: env[envName], setting: envName } : undefined;
  const ca = pick("ca", "REDIS_TLS_CA_FILE");
  const cert = pick("cert", "REDIS_TLS_CERT_FILE");
  const key = pick("key", "REDIS_TLS_KEY_FILE");
  const servername = pick("servername", "REDIS_TLS_SERVERNAME");
  const anyGiven = [ca, cert, key, servername].find((s) => s !== undefined);
  if (!anyGiven) return enabled ? {} : false;
  if (input.tls === false) throw new ConfigurationError("tls", `is false, but ${anyGiven.setting} is set`);
  if (!cert !== !key) throw new ConfigurationError((cert ?? key)!.setting, "a client certificate needs its key and a key its certificate");
  const settings: TlsSettings = {};
  if (ca) {
    const list = Array.isArray(ca.value) ? ca.value : [ca.value];
    settings.ca = list.map((value, i) => pem({ value, setting: list.length > 1 ? `${ca.setting}[${i}]` : ca.setting }, "certificate"));
  }
  if (cert && key) {
    settings.cert = pem(cert, "certificate");
    settings.key = pem(key, "key");
  }
  if (servername) settings.servername = text(servername);
  return settings;
}

/**
 * Whether TLS is on: the `tls` option decides when given; otherwise any source that asks for TLS
 * turns it on (a rediss:// URL, REDIS_TLS=true, or a TLS file or server name, see resolveTls), so
 * a redis:// URL never quietly turns off the TLS the environment asks for. REDIS_TLS is checked
 * whichever source decides.
 */
function tlsWanted(input: RedisConfigInput, url: { tls: boolean } | undefined, env: NodeJS.ProcessEnv): boolean {
  const fromEnv = boolean(env.REDIS_TLS ? { value: env.REDIS_TLS, setting: "REDIS_TLS" } : undefined, false);
  if (input.tls !== undefined) return input.tls !== false;
  return (url?.tls ?? false) || fromEnv;
}

/** Shown in place of a secret setting when a config is printed or serialized. */
const MASKED = "***";

/** A config as a log may show it: the password and the client key masked, the rest as it is. */
function masked(config: RedisConfig): Record<string, unknown> {
  const shown: Record<string, unknown> = { ...config };
  if (config.password !== undefined) shown.password = MASKED;
  if (config.tls && config.tls.key) shown.tls = { ...config.tls, key: MASKED };
  return shown;
}

/**
 * Gives a config a `toJSON` and a `util.inspect` form without its secrets: a service that logs
 * its client's settings (or an object holding them) would otherwise log the password. Both are
 * non-enumerable, so that comparing configs, or spreading one, sees only the settings.
 */
function withMaskedSecrets(config: RedisConfig): RedisConfig {
  return Object.defineProperties(config, {
    toJSON: { value: () => masked(config) },
    [inspect.custom]: { value: (_depth: number, options: InspectOptionsStylized, show: typeof inspect) => show(masked(config), options) },
  });
}

/**
 * Resolves and validates the settings; throws ConfigurationError naming the bad setting.
 * `target.cluster`: the settings are for a cluster's startup nodes, named elsewhere, so REDIS_URL
 * (another server's address) does not apply. The config's JSON and `util.inspect` forms show
 * the password and the client key as `***`.
 */
export function resolveRedisConfig(input: RedisConfigInput = {}, env: NodeJS.ProcessEnv = process.env, target: { cluster?: boolean } = {}): RedisConfig {
  refuseUnknownOptions(input, REDIS_CONFIG_SETTINGS, settingsCheck("config", true));
  refuseUnknownOptions(input.databases, Object.keys(DATABASES), settingsCheck("databases"));
  if (typeof input.tls !== "boolean") refuseUnknownOptions(input.tls, TLS_SETTINGS, settingsCheck("tls"));
  // each setting: the option, the option URL, the environment variable, the environment URL, a default
  const optionUrl = input.url === undefined ? undefined : parseUrl({ value: input.url, setting: "url" });
  // REDIS_URL names a server: it applies only when the caller names none, so that its port,
  // credentials and TLS never reach another server
  const namesServer = input.url !== undefined || input.host !== undefined || input.port !== undefined || target.cluster === true;
  const envUrl = !namesServer && env.REDIS_URL ? parseUrl({ value: env.REDIS_URL, setting: "REDIS_URL" }) : undefined;
  const fromEnv = (name: string): Source | undefined => (env[name] ? { value: env[name], setting: name } : undefined);
  const setting = <K extends "host" | "port" | "username" | "password">(key: K, envName: string): Source | undefined => {
    if (input[key] !== undefined) return { value: input[key], setting: key };
    if (optionUrl?.[key] !== undefined) return { value: optionUrl[key], setting: "url" };
    return fromEnv(envName) ?? (envUrl?.[key] === undefined ? undefined : { value: envUrl[key], setting: "REDIS_URL" });
  };
  const databases = {} as Record<DatabaseName, number>;
  for (const name of Object.keys(DATABASES) as DatabaseName[]) {
    const envName = `MATHD_DB_${name.toUpperCase()}`;
    const source = input.databases?.[name] !== undefined ? { value: input.databases[name], setting: `databases.${name}` } : fromEnv(envName);
    databases[name] = integer(source, 0, 15, DATABASES[name].db);
  }
  const username = text(setting("username", "REDIS_USERNAME"));
  const password = text(setting("password", "REDIS_PASSWORD"));
  const timeout = input.commandTimeoutMs !== undefined ? { value: input.commandTimeoutMs, setting: "commandTimeoutMs" } : fromEnv("MATHD_COMMAND_TIMEOUT_MS");
  return withMaskedSecrets({
    host: text(setting("host", "REDIS_HOST")) ?? "127.0.0.1",
    port: integer(setting("port", "REDIS_PORT"), 1, 65_535, 6379),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    tls: resolveTls(input, env, tlsWanted(input, optionUrl ?? envUrl, env)),
    databases,
    commandTimeoutMs: integer(timeout, 1, 600_000, 1000),
  });
}

/**
 * The ioredis connection settings (address, credentials, TLS) of a resolved config. The server's
 * certificate is always verified (`rejectUnauthorized` is Node's default, true).
 */
export function connectionOptions(config: RedisConfig): Pick<RedisOptions, "host" | "port" | "username" | "password" | "tls"> {
  const { host, port, username, password, tls } = config;
  return { host, port, username, password, ...(tls ? { tls: { ...tls, rejectUnauthorized: true } } : {}) };
}

/** `host:port` of a config, as errors and logs name the server. */
export function addressOf(config: Pick<RedisConfig, "host" | "port">): string {
  return config.host.includes(":") ? `[${config.host}]:${config.port}` : `${config.host}:${config.port}`;
}

const FAILURES: [RegExp, ConnectionFailure][] = [
  [/NOPERM/, "denied"],
  [/WRONGPASS|NOAUTH|invalid username-password|AUTH failed/i, "auth"],
  [/ERR_TLS|ERR_SSL|CERT|certificate|SSL|TLS|self[- ]signed|UNABLE_TO_VERIFY|Hostname\/IP does not match/i, "tls"],
  [/ECONNREFUSED/, "refused"],
  [/ETIMEDOUT|timed? ?out/i, "timeout"],
  // a Cluster that reaches none of its nodes says so in its own words
  [/EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|None of startup nodes is available/, "unreachable"],
  // ioredis with maxRetriesPerRequest 0: a command in flight when the socket dropped; ioredis 6
  // aborts the rest of a half-answered pipeline (an AbortError) the same way
  [/ECONNRESET|EPIPE|Connection is closed|Stream isn't writeable|connection is down|max retries per request|aborted due to connection close/i, "closed"],
];

/** The reply codes that are connection failures: the client may not, or is not known. */
const REPLY_FAILURES: Partial<Record<string, ConnectionFailure>> = { NOPERM: "denied", WRONGPASS: "auth", NOAUTH: "auth" };

/**
 * The kind of connection failure an error shows (refused, TLS, authentication, ...), or
 * undefined when it is no connection failure (a WRONGTYPE, a script error).
 */
export function connectionFailureOf(error: unknown): ConnectionFailure | undefined {
  if (error instanceof ConnectionError) return error.failure;
  if (!(error instanceof Error)) return undefined;
  // a server's reply says so by its code alone: its text may quote anything (NOGROUP of a stream
  // named ticks:XTLS, a script's refusal of a symbol), which the patterns below would misread
  if (error.name === "ReplyError") return REPLY_FAILURES[error.message.split(" ", 1)[0] as string];
  const text = `${(error as NodeJS.ErrnoException).code ?? ""} ${error.message}`;
  return FAILURES.find(([pattern]) => pattern.test(text))?.[1];
}

/**
 * Masks the credentials an ioredis error carries: the reply error of a refused AUTH or HELLO
 * keeps its command's args, the password among them, where util.inspect or a logger prints
 * them. Masked in place, so that every holder of the error (an event's listener too) sees it
 * masked; returns the error.
 */
export function withoutCredentials<T>(error: T): T {
  const command = error instanceof Error ? (error as Error & { command?: { name?: unknown; args?: unknown } }).command : undefined;
  if (command && typeof command.name === "string" && /^(auth|hello)$/i.test(command.name) && Array.isArray(command.args)) {
    command.args = command.args.map(() => "***");
  }
  return error;
}

/**
 * A connection failure as a {@link ConnectionError} naming the server (`address`: by default the
 * config's host and port; a cluster's client names its nodes), with the error as its cause.
 * `connection.neverAnswered`: the server has not answered on this connection yet, so a close may
 * be a TLS port hanging up on a plain client, and the message says so; by default, whether the
 * error ended a guarded socket the server had sent nothing on (socketErrors.ts).
 */
export function toConnectionError(
  config: Pick<RedisConfig, "host" | "port"> & { tls?: RedisConfig["tls"] },
  error: unknown,
  failure?: ConnectionFailure,
  address = addressOf(config),
  connection: { neverAnswered?: boolean } = {},
): ConnectionError {
  if (error instanceof ConnectionError) return error;
  withoutCredentials(error);
  const kind = failure ?? connectionFailureOf(error) ?? (isNotNowReply(error) ? "busy" : "closed");
  const message = error instanceof Error ? error.message : String(error);
  const hint = connectionHint(config.tls, kind, connection.neverAnswered ?? endedBeforeAnyAnswer(error));
  return new ConnectionError(address, kind, message + hint, { cause: error });
}

/**
 * What a connection failure of `kind` may mean under the config's `tls`, as a note to append to
 * its message ('' when none): a server without TLS never answers a TLS handshake, so the client
 * sees only a timeout; a TLS port resets a plain client's connection before any answer
 * (`neverAnswered`). A close after answers is neither.
 */
export function connectionHint(tls: RedisConfig["tls"] | undefined, kind: ConnectionFailure, neverAnswered: boolean): string {
  if (kind === "timeout" && tls) return " (TLS is on: does the server speak TLS on this port?)";
  if (kind === "closed" && tls === false && neverAnswered) return " (TLS is off: does this port require TLS, rediss://? A server at maxclients closes so too)";
  return "";
}

/** A server that refuses the SELECT of a database: a setting is wrong, and the SDK never falls back to DB 0. */
export function refusedDatabase(database: DatabaseName, db: number, address: string, error: unknown): ConfigurationError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ConfigurationError(`databases.${database}`, `SELECT ${db} was refused at ${address} (${reason}); the SDK never falls back to DB 0`, { cause: error });
}

/**
 * SELECTs a connection's database again, and checks the answer. ioredis selects the `db` option
 * itself on connecting, but a refusal there only emits an 'error' and leaves the connection on
 * DB 0, ready. A refusal is {@link refusedDatabase}; a connection failure (NOPERM included) or a
 * "not now" (BUSY: another client's long script) is thrown as it came.
 */
export async function selectDatabase(redis: Redis, database: DatabaseName, db: number, address: string): Promise<void> {
  try {
    await redis.select(db);
  } catch (error) {
    throw connectionFailureOf(error) === undefined && !isNotNowReply(error) ? refusedDatabase(database, db, address, error) : error;
  }
}
