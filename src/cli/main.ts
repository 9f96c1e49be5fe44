/**
 * The `mathd` command line: commands, their options and help, the exit codes and the one-line
 * errors. `runMathd` takes the arguments and where output goes, and returns the exit code, so
 * tests run it in-process; src/cli/mathd.ts is the executable around it.
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import packageJson from "../../package.json";
import { ConfigurationError } from "../core/errors.js";
import { collectHealth, exitCodeOf } from "../health/healthReport.js";
import { renderHealth } from "../health/renderHealth.js";
import { chartSession } from "./chartCommand.js";
import { DEFAULT_CLAIM_IDLE_MS, MAX_CONSUMER_WAIT_MS } from "../streaming/tickConsumer.js";
import { describeError, EXIT, exitCodeFor, OutputError, stackOf, UsageError } from "./cliErrors.js";
import { SYMBOL_PATTERN } from "../keys/symbol.js";
import { consume } from "./consume.js";
import { listScripts, loadScripts, manifestDocument, pruneScriptLibraries, renderPruned, renderScripts } from "./scriptsCommand.js";
import { CLUSTER_NODES_ENV, clusterNodesFromEnv, type StartupNode } from "../cluster/config.js";
import { SCRIPT_MODES, type ScriptMode } from "../cluster/transport.js";
import { MAX_ATR_PERIOD, MAX_RSI_PERIOD } from "../dispatcher/limits.js";

/** Where `mathd` writes: stdout for results and help, stderr for errors. */
export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Stops a long-running command (`consume`) when aborted; without one, SIGINT and SIGTERM do. */
  signal?: AbortSignal;
}

type OptionSpec = { type: "string" | "boolean"; short?: string; help: string; value?: string };
type Values = Record<string, string | boolean | undefined>;

interface Command {
  summary: string;
  /** The usage line(s) after `mathd `. */
  usage: string[];
  options: Record<string, OptionSpec>;
  /** The exit codes, when the command's differ from {@link EXIT_HELP}. */
  exitHelp?: string[];
  /** With `--json` every line it prints is a JSON object (JSON Lines): so is the error it ends with. */
  jsonLines?: boolean;
  run(values: Values, positionals: string[], out: CliOutput): Promise<number>;
}

const URL_OPTION: OptionSpec = { type: "string", value: "URL", help: "Redis URL (default: REDIS_URL, then redis://127.0.0.1:6379; REDIS_HOST & co. apply)" };
const JSON_OPTION: OptionSpec = { type: "boolean", help: "print JSON instead of text" };
const COMMON: Record<string, OptionSpec> = {
  help: { type: "boolean", short: "h", help: "show this help" },
  verbose: { type: "boolean", short: "v", help: "print the stack of an error too" },
};

/** A whole number in [min, max] from an option, or a UsageError naming it. */
function wholeNumber(values: Values, name: string, fallback: number, min: number, max: number): number {
  const text = values[name];
  if (text === undefined) return fallback;
  if (typeof text !== "string" || !/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** Writes `--out`; a file that cannot be written exits 73, not 66 (which says an input is missing). */
async function writeOut(file: string, text: string): Promise<void> {
  try {
    await writeFile(file, text);
  } catch (error) {
    throw new OutputError(`cannot write --out ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/** --url; without it each command resolves REDIS_URL, REDIS_HOST & co. as the SDK does. */
const url = (values: Values) => values.url as string | undefined;

const CLUSTER_OPTION: OptionSpec = {
  type: "string",
  value: "HOST:PORT,...",
  help: "a Redis Cluster's startup nodes (as MATHD_CLUSTER_NODES): every key family in DB 0, hash tags on",
};

/** --cluster as startup nodes (the MATHD_CLUSTER_NODES syntax), or undefined. */
function clusterNodes(values: Values): StartupNode[] | undefined {
  const text = values.cluster;
  if (text === undefined) return undefined;
  try {
    return clusterNodesFromEnv({ [CLUSTER_NODES_ENV]: String(text) });
  } catch (error) {
    throw new UsageError(`--cluster: ${(error as Error).message.replace(`${CLUSTER_NODES_ENV}: `, "")}`);
  }
}

/** --script-mode: how the SDK runs the scripts, evalsha (the default) or functions. */
function scriptModeOf(values: Values): ScriptMode {
  const mode = values["script-mode"] ?? "evalsha";
  if (!(SCRIPT_MODES as readonly unknown[]).includes(mode)) throw new UsageError(`--script-mode must be ${SCRIPT_MODES.join(" or ")}, got ${JSON.stringify(mode)}`);
  return mode as ScriptMode;
}
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

const COMMANDS: Record<string, Command> = {
  health: {
    summary: "one look at Redis: ping, memory, keys per DB, TTL audit, scripts, streams",
    usage: ["health [--url URL | --cluster HOST:PORT,...] [--json] [--sample KEYS_PER_DB] [--timeout-ms N] [--script-mode evalsha|functions]"],
    options: {
      url: URL_OPTION,
      cluster: CLUSTER_OPTION,
      json: JSON_OPTION,
      sample: { type: "string", value: "N", help: "keys sampled per database for the TTL audit (SCAN), default 1000" },
      "timeout-ms": { type: "string", value: "N", help: "how long reaching Redis, and then each command, may take; default 1000" },
      "script-mode": { type: "string", value: "MODE", help: "how the SDK runs the scripts: evalsha (default) or functions (also report this build's mathd_* libraries; on a cluster a master without them is a problem, where missing scripts are a warning)" },
    },
    exitHelp: [
      "exit codes:",
      "  0 healthy",
      "  1 TTL policy violations (keys without a TTL or above their family's policy) or problems (memory full under noeviction; on a cluster, a node down, slots unserved, ...); wins over 3",
      "  (warnings, such as an eviction policy or keys evicted, leave the code alone)",
      "  2 Redis unreachable (refused, timeout, auth, tls, ...)",
      "  3 the report is incomplete: some checks were denied by the server's ACL, or not done (a slow server; a TTL or key check the server answered with an error, such as CLUSTERDOWN)",
      "  64 wrong command line (an unknown option, a bad value, a bad --url)",
      "  78 a bad setting in the environment (e.g. MATHD_DB_NEWS=16, REDIS_PORT=x, a missing REDIS_TLS_CA_FILE)",
      "  70 anything else (a bug: run with --verbose)",
    ],
    async run(values, _, out) {
      const sample = wholeNumber(values, "sample", 1000, 1, 10_000_000);
      const timeoutMs = wholeNumber(values, "timeout-ms", 1000, 1, 600_000);
      const cluster = clusterNodes(values);
      const scriptMode = scriptModeOf(values);
      const report = await collectHealth({ url: url(values), samplePerDb: sample, timeoutMs, scriptMode, ...(cluster ? { cluster } : {}) });
      out.stdout(values.json ? json(report) : `${renderHealth(report)}\n`);
      return exitCodeOf(report);
    },
  },
  consume: {
    summary: "apply the tick streams ticks:{SYMBOL} to the streaming indicators until SIGINT/SIGTERM",
    usage: [
      "consume --symbols NIFTY,BANKNIFTY [--url URL | --cluster HOST:PORT,...] [--group NAME] [--consumer NAME] [--atr-period N] [--rsi-period N] [--hash-tag]",
      "        [--claim-idle-ms N] [--stats-interval-ms N] [--json]",
    ],
    options: {
      symbols: { type: "string", value: "LIST", help: "comma-separated symbols (required)" },
      url: URL_OPTION,
      cluster: CLUSTER_OPTION,
      group: { type: "string", value: "NAME", help: "consumer group, default mathd" },
      consumer: {
        type: "string",
        value: "NAME",
        help: "this consumer's name in the group, default mathd@<host name>: the same across restarts, so a restart reads its own pending entries first",
      },
      "atr-period": { type: "string", value: "N", help: "ATR period, default 14" },
      "rsi-period": { type: "string", value: "N", help: "RSI period, default 14" },
      "hash-tag": { type: "boolean", help: "keys with Redis Cluster hash tags: ticks:{NIFTY}" },
      "claim-idle-ms": { type: "string", value: "N", help: `at start, wait while another consumer of the group read a stream less than this long ago, and claim other consumers' pending entries once idle this long (XAUTOCLAIM); default ${DEFAULT_CLAIM_IDLE_MS}` },
      "stats-interval-ms": { type: "string", value: "N", help: "print a statistics line this often, default 5000" },
      json: { type: "boolean", help: "print every line (start, statistics, claims, dead letters, problems, summary) as one JSON object" },
    },
    jsonLines: true,
    async run(values, _, out) {
      const symbols = String(values.symbols ?? "").split(",").filter(Boolean);
      if (symbols.length === 0) throw new UsageError("consume needs --symbols, e.g. --symbols NIFTY,BANKNIFTY");
      const bad = symbols.find((symbol) => !SYMBOL_PATTERN.test(symbol));
      if (bad !== undefined) throw new UsageError(`--symbols: ${JSON.stringify(bad)} is not a symbol (capitals, digits and &_.-, as NIFTY or M&M)`);
      const cluster = clusterNodes(values);
      await consume({
        url: url(values),
        ...(cluster ? { cluster } : {}),
        symbols,
        group: values.group as string | undefined,
        consumer: values.consumer as string | undefined,
        atrPeriod: wholeNumber(values, "atr-period", 14, 1, MAX_ATR_PERIOD),
        rsiPeriod: wholeNumber(values, "rsi-period", 14, 2, MAX_RSI_PERIOD),
        hashTag: values["hash-tag"] === true,
        claimIdleMs: wholeNumber(values, "claim-idle-ms", DEFAULT_CLAIM_IDLE_MS, 0, MAX_CONSUMER_WAIT_MS),
        statsIntervalMs: wholeNumber(values, "stats-interval-ms", 5000, 100, 86_400_000),
        json: values.json === true,
        log: (line, level) => (level === "error" ? out.stderr(`${line}\n`) : out.stdout(`${line}\n`)),
        ...(out.signal ? { signal: out.signal } : {}),
      });
      return EXIT.ok;
    },
  },
  scripts: {
    summary: "the Lua scripts: load them on a server, list what it holds, prune old libraries, print the manifest",
    usage: [
      "scripts load [--url URL] [--json] [--script-mode MODE]  SCRIPT LOAD every script (SHA1s checked), or FUNCTION LOAD the libraries",
      "scripts list [--url URL] [--json] [--script-mode MODE]  which of this build's scripts (or libraries) the server holds",
      "scripts prune [--url URL] [--json]                      delete the mathd_* (and old mathd) Functions libraries this build does not use",
      "scripts manifest [--out FILE]                           the manifest JSON for clients in other languages",
    ],
    options: {
      url: URL_OPTION,
      json: JSON_OPTION,
      "script-mode": { type: "string", value: "MODE", help: "load, list: how the SDK runs the scripts, evalsha (default: the script cache) or functions (the mathd_* libraries)" },
      out: { type: "string", value: "FILE", help: "manifest: write to FILE instead of stdout" },
    },
    async run(values, positionals, out) {
      const [action, ...extra] = positionals;
      if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
      if (action === "manifest") {
        const text = json(manifestDocument(packageJson.version));
        if (typeof values.out === "string") {
          await writeOut(values.out, text);
          out.stdout(values.json ? json({ out: values.out, scripts: manifestDocument(packageJson.version).scripts.length }) : `wrote ${values.out}\n`);
        } else out.stdout(text);
        return EXIT.ok;
      }
      if (action === "load" || action === "list") {
        const mode = scriptModeOf(values);
        const result = action === "load" ? await loadScripts(url(values), mode) : await listScripts(url(values), mode);
        out.stdout(values.json ? json(result) : `${renderScripts(result)}\n`);
        return EXIT.ok;
      }
      if (action === "prune") {
        const result = await pruneScriptLibraries(url(values));
        out.stdout(values.json ? json(result) : `${renderPruned(result.target, result.deleted)}\n`);
        return EXIT.ok;
      }
      throw new UsageError(action === undefined ? "scripts needs an action: load, list, prune or manifest" : `unknown scripts action ${JSON.stringify(action)}: use load, list, prune or manifest`);
    },
  },
  chart: {
    summary: "draw a session as SVG: price, VWAP with sigma bands, ATR below",
    usage: [
      "chart --input FILE [--symbol NAME] [--out FILE.svg] [--json] [--atr-period N] [--bands 1,2]",
      "chart --symbol NIFTY [--url URL] [--hash-tag] [--out FILE.svg] [--json] [--atr-period N] [--bands 1,2]",
    ],
    options: {
      input: { type: "string", value: "FILE", help: "bars or ticks, JSON or CSV (ts, price | high, low, close, volume)" },
      symbol: { type: "string", value: "NAME", help: "without --input: read ticks:{SYMBOL} and the live state from Redis" },
      url: URL_OPTION,
      out: { type: "string", value: "FILE", help: "write the SVG to FILE (default: stdout)" },
      json: { type: "boolean", help: "print the chart's series as JSON (with --out, a summary)" },
      "atr-period": { type: "string", value: "N", help: "ATR period, default 14" },
      bands: { type: "string", value: "K,K", help: "sigma band multipliers, default 1,2" },
      "hash-tag": { type: "boolean", help: "keys with Redis Cluster hash tags" },
    },
    async run(values, _, out) {
      if (values.input === undefined && values.symbol === undefined) throw new UsageError("chart needs --input FILE or --symbol NAME");
      const bands = String(values.bands ?? "1,2").split(",").map(Number);
      if (bands.some((k) => !(k > 0 && k <= 10))) throw new UsageError(`--bands must be numbers in (0, 10], got ${JSON.stringify(values.bands)}`);
      const chart = await chartSession({
        input: values.input as string | undefined,
        symbol: values.symbol as string | undefined,
        url: url(values),
        atrPeriod: wholeNumber(values, "atr-period", 14, 1, MAX_ATR_PERIOD),
        bands,
        hashTag: values["hash-tag"] === true,
      });
      const { symbol, atrPeriod, points } = chart.series;
      const summary = { symbol, source: chart.source, points: points.length, last: points.at(-1) ?? null };
      if (typeof values.out === "string") {
        await writeOut(values.out, chart.svg);
        out.stdout(values.json ? json({ ...summary, out: values.out }) : `wrote ${values.out}: ${symbol}, ${points.length} points from ${chart.source}, ATR(${atrPeriod})\n`);
      } else out.stdout(values.json ? json({ ...summary, bands, atrPeriod, series: points }) : chart.svg);
      return EXIT.ok;
    },
  },
};

function optionLines(options: Record<string, OptionSpec>): string[] {
  const entries = Object.entries({ ...options, ...COMMON }).map(([name, o]) => [`${o.short ? `-${o.short}, ` : "    "}--${name}${o.value ? ` ${o.value}` : ""}`, o.help] as const);
  const width = Math.max(...entries.map(([flag]) => flag.length));
  return entries.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`);
}

const EXIT_HELP = [
  "exit codes:",
  "  0 ok; health: 1 TTL policy violations or problems, 2 Redis unreachable (2 for every command that cannot reach Redis), 3 checks denied by ACL or not done in time",
  "  64 wrong command line, 65 bad input data, 66 input file missing, 73 output file not writable, 78 bad setting in the environment (MATHD_DB_*, REDIS_*),",
  "  70 anything else (a bug: run with --verbose)",
];

function topHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  return [
    `mathd ${packageJson.version}: indicator and risk math as versioned Redis Lua scripts`,
    "",
    "usage: mathd <command> [options]      mathd <command> --help      mathd --version",
    "",
    "commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    "",
    ...EXIT_HELP,
    "",
    "docs/CLI.md has examples of each command.",
    "",
  ].join("\n");
}

function commandHelp(name: string, command: Command): string {
  return [`mathd ${name}: ${command.summary}`, "", "usage:", ...command.usage.map((u) => (u.startsWith(" ") ? `        ${u}` : `  mathd ${u}`)), "", "options:", ...optionLines(command.options), "", ...(command.exitHelp ?? EXIT_HELP), ""].join("\n");
}

/** Runs `mathd` with `argv` (without node and the script); resolves to the exit code. */
export async function runMathd(argv: readonly string[], out: CliOutput): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const topic = name === "help" ? rest[0] : undefined;
    const command = topic === undefined ? undefined : COMMANDS[topic];
    if (topic !== undefined && !command) return usageError(`unknown command ${JSON.stringify(topic)}`, undefined, out);
    if (name === undefined) {
      out.stderr(topHelp()); // no command is a usage error: the help goes where errors go
      return EXIT.usage;
    }
    out.stdout(command ? commandHelp(topic as string, command) : topHelp());
    return EXIT.ok;
  }
  if (name === "--version" || name === "-V") {
    out.stdout(`mathd ${packageJson.version}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) return usageError(`unknown command ${JSON.stringify(name)}`, undefined, out);
  let values: Values = {};
  try {
    const parsed = parseArgs({ args: [...rest], options: { ...command.options, ...COMMON }, allowPositionals: name === "scripts", strict: true });
    values = parsed.values as Values;
    if (values.help) {
      out.stdout(commandHelp(name, command));
      return EXIT.ok;
    }
    return await command.run(values, parsed.positionals, out);
  } catch (error) {
    // JSON Lines asked for (even on a command line that did not parse): the failure is one line too
    const json = command.jsonLines === true && (values.json === true || rest.some((arg) => arg === "--json" || arg === "--json=true"));
    const parseError = (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    if (parseError || error instanceof UsageError) return usageError((error as Error).message, name, out, json);
    if (error instanceof ConfigurationError && error.setting === "url") return usageError(`--${error.message}`, name, out, json);
    const exitCode = exitCodeFor(error);
    const stack = values.verbose ? stackOf(error) : undefined;
    if (json) out.stderr(`${JSON.stringify(failedEvent(error, describeError(error, url(values)), exitCode, stack))}\n`);
    else out.stderr(`mathd ${name}: ${describeError(error, url(values))}\n${stack === undefined ? "" : `${stack}\n`}`);
    return exitCode;
  }
}

/** The last line of a JSON Lines command that failed: why, the exit code it ends with, and with --verbose the stack. */
function failedEvent(error: unknown, message: string, exitCode: number, stack?: string): Record<string, unknown> {
  const typed = (error ?? {}) as { address?: unknown; failure?: unknown; setting?: unknown };
  return {
    event: "failed",
    at: new Date().toISOString(),
    message,
    exitCode,
    ...(typeof typed.address === "string" ? { address: typed.address } : {}),
    ...(typeof typed.failure === "string" ? { failure: typed.failure } : {}),
    ...(typeof typed.setting === "string" ? { setting: typed.setting } : {}),
    ...(stack === undefined ? {} : { stack }),
  };
}

function usageError(message: string, name: string | undefined, out: CliOutput, json = false): number {
  const oneLine = message.replace(/\s*\n\s*/g, " ");
  if (json) out.stderr(`${JSON.stringify(failedEvent(undefined, `${oneLine}; run 'mathd ${name} --help' for usage`, EXIT.usage))}\n`);
  else out.stderr(`mathd${name ? ` ${name}` : ""}: ${oneLine}\nrun 'mathd ${name ? `${name} ` : ""}--help' for usage\n`);
  return EXIT.usage;
}
