/**
 * A consumer of the packed package: it imports every public export (coverage.cjs fails the check
 * when an export is missing here), type-checks with skipLibCheck off against the consumer's own
 * ioredis, and runs against a throwaway redis-server. The same text is compiled as ESM under
 * NodeNext, as ESM under Bundler resolution and as CommonJS, so no top-level await.
 */
import { Redis } from "ioredis";
import {
  AtrReference, CircuitOpenError, CommandTimeoutError, ConfigurationError, DATABASES, DEFAULT_TTL_SECONDS, Dec,
  GRID_SNAP, HEALTH_SCHEMA, InvalidInputError, JsonEncodingError, KEY_FAMILIES, KeyGrammarError, LocalRedisError,
  MAX_POINTS, MAX_PRICE, MAX_VOLUME, MathDispatcher, MathDispatcherError, OfflineQueueFullError, PRICE_UNITS,
  ReplyFormatError, ResilientRedis, SCRIPTS, SCRIPT_FUNCTIONS, SESSION_OPEN_MINUTE, SYMBOL_PATTERN, ScriptExecutionError,
  ScriptIntegrityError, ScriptRunner, StoredDataError, StreamingIndicators, StreamingReference, TickConsumer,
  UnknownDataTypeError, UpdateOvertakenError, UpdateHeldBackError, VwapReference, atrReference, buildKey, collectHealth, confidenceReference, deadLetterKey,
  decodeJson, encodeJson, exitCodeOf, familyOf, getDatabaseForDataType, indicatorKey, isTransient, keyFamily,
  newsBoostReference, newsLatestKey, parseKey, patternCacheKey, positionSizeReference, renderHealth,
  resolveRedisConfig, retrieveByDataType, sessionOf, startLocalRedis, stopLossReference, storeByDataType,
  tickStreamKey, volumeBaselineKey, vwapOfBars, vwapOfTicks, CONFIDENCE_DEFAULTS, DEFAULT_CONFIDENCE_FLOOR,
  NEWS_BOOST_DEFAULTS, STOP_LOSS_DEFAULTS, classifyError, ConnectionError, ClientClosedError, RedisCommandError, ServerBusyError, ServerOutOfMemoryError,
  type CallContext, type CallOptions, type ConnectOptions, type ConnectionFailure, type ErrorClass,
  type SingleFunctionMethods, type SizeBound, defaultConsumerName, type ConsumerCounters, type ConsumerStats, type StreamLostEvent, type ConsumerWaitingEvent, STREAM_CLOCK_SKEW_MS,
  type DeniedCheck, type IncompleteCheck, type TlsInput, type TlsMaterial, type TlsSettings,
  type AccountSettings, type AtrInput, type AtrResult, type AtrStatus, type BatchCall, type BatchOutcome,
  type CacheStatus, type CircuitStateName, type ConfidenceInput, type ConfidenceParams,
  type ConfidenceResult, type ConfidenceSettings, type DatabaseName, type DatabaseSpec, type Decision,
  type FunctionName, type FunctionTypes, type HealthOptions, type HealthReport, type HlcBar, type IndicatorSnapshot,
  type InputSource, type KeyFamily, type KeyOptions, type LocalRedisServer, type MarketUpdate,
  type MathDispatcherOptions, type NewsBoostInput, type NewsBoostParams, type NewsBoostResult, type NewsItem,
  type NewsItemInput, type NewsSettings, type Numeric, type ParsedKey, type PositionSizeInput,
  type PositionSizeParams, type PositionSizeResult, type PriceInput, type RedisConfig, type RedisConfigInput,
  type ResilientRedisOptions, type ResultMeta, type ScriptCall, type ScriptManifestEntry, type Settled, type Side,
  type Signal, type StopLossInput, type StopLossParams, type StopLossResult, type StopLossSettings,
  type StreamUpdateInput, type StreamUpdateResult, type StreamingOptions, type Tick, type TickConsumerOptions,
  type VolumeBar, type VwapBand, type VwapBandResult, type VwapBar, type VwapInput, type VwapResult,
  type VwapStatus, type VwapTick,
  RsiReference, rsiReference, MAX_POINTS_PER_CALL, MAX_SERIES_POINTS_PER_CALL, MAX_ATR_PERIOD, MAX_RSI_PERIOD, MAX_NEWS_ITEMS, MAX_DISPATCH_BARS, MAX_STREAM_UPDATES_PER_CALL, MIN_EPOCH_MS, MAX_EPOCH_MS, MAX_RISK, LIMITS,
  ARG_NAMES, renderSessionChart, sessionSeries, renderRatioChart, ClusterScriptTransport, StandaloneScriptTransport,
  runKeyed, librariesOnNode, loadLibraries, pruneLibraries, loadScripts, clusterReady, groupBySlotOwner, masters, nodeAddress, replicas,
  slotOf, CLUSTER_NODES_ENV, clusterNodesFromEnv, refuseDatabaseSettings, clusterHealth, READ_ONLY_SUFFIX,
  type ConnectTarget, type AnyResult, type ResultOf, type BatchOutcomes, type RsiInput, type RsiResult, type ValidatedFunction, type ScriptFunction,
  type NamedArgs, type FunctionsLibrary, type LibraryFunction, type ResultTierOptions, type ScriptRunnerOptions, type ScriptCallOptions,
  type ArgSpec, type ArgType, type ScriptArgs, type ScriptName, type StopLossReference, type PositionSizeReference,
  type NewsBoostReference, type ConfidenceReference, type Segment, type FieldKind, type TtlAuditRow,
  type StreamHealth, type GroupHealth, type HealthScriptTime, type ScriptTime, type SessionPoint, type SessionSeries, type SessionChartOptions, type RatioRow,
  type RatioChartOptions, type ScriptMode, type ScriptTransport, type TransportOptions, type Command,
  type KeyedCommand, type Outcome, type RoundTrip, type CallGroup, type StartupNode, type ClusterHealth,
  type ClusterNodeHealth, type LibrariesOnNode, type ClusterHealthOptions, type NotNow, type ReadFrom, SCRIPT_MODES, READ_FROM,
} from "math-dispatcher";

/** Every exported type must resolve (an unresolved one is an error with skipLibCheck off). */
export type EveryType = [
  AccountSettings, AtrInput, AtrResult, AtrStatus, BatchCall, BatchOutcome<unknown>, CacheStatus,
  CircuitStateName, ConfidenceInput, ConfidenceParams, ConfidenceResult, ConfidenceSettings, DatabaseName,
  DatabaseSpec, Decision, FunctionName, FunctionTypes, HealthOptions, HealthReport, HlcBar, IndicatorSnapshot,
  InputSource, KeyFamily, KeyOptions, LocalRedisServer, MarketUpdate, MathDispatcherOptions, NewsBoostInput,
  NewsBoostParams, NewsBoostResult, NewsItem, NewsItemInput, NewsSettings, Numeric, ParsedKey, PositionSizeInput,
  PositionSizeParams, PositionSizeResult, PriceInput, RedisConfig, RedisConfigInput, ResilientRedisOptions,
  ResultMeta, ScriptCall, ScriptManifestEntry, Settled, Side, Signal, StopLossInput, StopLossParams, StopLossResult,
  StopLossSettings, StreamUpdateInput, StreamUpdateResult, StreamingOptions, Tick, TickConsumerOptions, VolumeBar,
  VwapBand, VwapBandResult, VwapBar, VwapInput, VwapResult, VwapStatus, VwapTick, CallContext, CallOptions,
  ConnectOptions, ConnectionFailure, ErrorClass, SingleFunctionMethods, SizeBound, ConsumerCounters, ConsumerStats, StreamLostEvent, ConsumerWaitingEvent,
  DeniedCheck, IncompleteCheck, TlsInput, TlsMaterial, TlsSettings,
  ConnectTarget, AnyResult, ResultOf<"atr">, BatchOutcomes<BatchCall[]>, RsiInput, RsiResult, ValidatedFunction<never, unknown>, ScriptFunction<{ symbol: string }, unknown>,
  NamedArgs, FunctionsLibrary, LibraryFunction, ResultTierOptions, ScriptRunnerOptions, ScriptCallOptions, ArgSpec, ArgType, ScriptArgs<"atr">,
  ScriptName, StopLossReference, PositionSizeReference, NewsBoostReference, ConfidenceReference, Segment, FieldKind,
  TtlAuditRow, StreamHealth, GroupHealth, HealthScriptTime, ScriptTime, SessionPoint, SessionSeries, SessionChartOptions, RatioRow, RatioChartOptions,
  ScriptMode, ScriptTransport, TransportOptions, Command, KeyedCommand, Outcome, RoundTrip, CallGroup<ScriptCall>, StartupNode,
  ClusterHealth, ClusterNodeHealth, LibrariesOnNode, ClusterHealthOptions, NotNow, ReadFrom,
];

/** Fails to compile when T is `any`: the reference's results must stay typed. */
type NotAny<T> = 0 extends 1 & T ? never : T;
const typed = <T>(value: NotAny<T>): T => value;

function check(condition: unknown, what: string): void {
  if (!condition) throw new Error(`consumer check failed: ${what}`);
}

const bars: (VwapBar & HlcBar & VolumeBar & { high: number; low: number; close: number; volume: number })[] = Array.from({ length: 30 }, (_, i) => ({
  high: 24_360 + i, low: 24_340 + i, close: 24_350 + i, volume: 1_000 + i,
}));

async function main(): Promise<void> {
  // The decimal.js reference: constructable, and its results are Dec, not any.
  const one = typed(new Dec("1.5"));
  check(one.plus(1).toString() === "2.5", "new Dec()");
  const ref = atrReference(bars, 14);
  const atrRef: InstanceType<typeof Dec> = typed(ref.atr);
  const live = new AtrReference(14);
  for (const bar of bars) live.update(bar);
  check(live.value?.equals(atrRef), "AtrReference matches atrReference");
  const vwapRef = typed(vwapOfBars(bars).vwap);
  const tickVwap = new VwapReference();
  tickVwap.update(100, 2);
  check(vwapOfTicks([{ price: 100, volume: 2 }]).vwap.equals(tickVwap.vwap), "VwapReference");
  const streamingRef = new StreamingReference(14);
  check(streamingRef.atrPeriod === 14, "StreamingReference");
  const stop = stopLossReference({ side: "long", entry: 24_350.05, atr: 45, tick: 0.05, rewardRatio: 2 } satisfies StopLossParams);
  const size = positionSizeReference({ capital: 2_000_000, risk: 0.01, entry: 24_350.05, stop: 24_282.55, lotSize: 75 } satisfies PositionSizeParams);
  const boost = newsBoostReference({ side: "long", now: 600_000, items: [{ sentiment: 0.8, relevance: 0.9, publishedAt: 0 } satisfies NewsItem] } satisfies NewsBoostParams);
  const conf = confidenceReference({ base: 0.62, volumeRatio: 1.8, boost: 0.05 } satisfies ConfidenceParams);
  check(stop && size && boost && conf, "risk references");
  const closes = bars.map((b) => b.close);
  const rsiRef = typed(rsiReference(closes, 14).rsi);
  const liveRsi = new RsiReference(14);
  for (const close of closes) liveRsi.update(close);
  check(liveRsi.value?.equals(rsiRef), "RsiReference matches rsiReference");

  // Limits and argument names from the script headers; charts; the cluster building blocks.
  check(MAX_POINTS_PER_CALL > 0 && MAX_SERIES_POINTS_PER_CALL > 0 && MAX_NEWS_ITEMS > 0 && MAX_DISPATCH_BARS > 0 && MAX_ATR_PERIOD === LIMITS.MAX_ATR_PERIOD && MAX_RSI_PERIOD === LIMITS.MAX_RSI_PERIOD && MAX_STREAM_UPDATES_PER_CALL === LIMITS.MAX_STREAM_UPDATES && MIN_EPOCH_MS === LIMITS.MIN_EPOCH_MS && MAX_EPOCH_MS === LIMITS.MAX_EPOCH_MS && MAX_RISK === LIMITS.MAX_RISK, "limits");
  check(ARG_NAMES.atr.includes("period"), "ARG_NAMES");
  check(SCRIPTS.some((s) => s.name === `atr${READ_ONLY_SUFFIX}` && s.flags.includes("no-writes")), "read-only variants");
  const svg = renderSessionChart(sessionSeries("NIFTY", bars.map((b, i) => ({ ts: Date.UTC(2026, 10, 25, 4, i), seq: i, ...b }))));
  check(svg.startsWith("<svg") && renderRatioChart([{ name: "r", median: 1, floor: 0.5 }]).startsWith("<svg"), "charts");
  check(CLUSTER_NODES_ENV === "MATHD_CLUSTER_NODES" && clusterNodesFromEnv({}) === undefined && slotOf("{NIFTY}") >= 0, "cluster config");
  check(SCRIPT_MODES.includes("functions") && READ_FROM.includes("replica"), "script modes and read choices");
  check(
    [ClusterScriptTransport, StandaloneScriptTransport, runKeyed, librariesOnNode, loadLibraries, pruneLibraries, loadScripts, clusterReady,
      groupBySlotOwner, masters, nodeAddress, replicas, refuseDatabaseSettings, clusterHealth].every((f) => typeof f === "function"),
    "cluster functions",
  );

  // Keys, databases, configuration, JSON codec, session.
  check(parseKey(buildKey("patterns", { pattern: "breakout", symbol: "NIFTY" })).family === "patterns", "buildKey/parseKey");
  check(familyOf(indicatorKey("atr14", "NIFTY"))?.family === keyFamily("indicator").family, "indicatorKey");
  check([patternCacheKey("atr", "1.0.0", "NIFTY", "0".repeat(40)), newsLatestKey("NIFTY"), volumeBaselineKey("NIFTY", 9, 15),
    tickStreamKey("NIFTY"), deadLetterKey("NIFTY")].every((key) => familyOf(key) !== undefined), "named key builders");
  check(KEY_FAMILIES.length > 0 && SYMBOL_PATTERN.test("NIFTY"), "KEY_FAMILIES");
  check(getDatabaseForDataType("pattern_alerts").db === DATABASES.patterns.db && DEFAULT_TTL_SECONDS > 0, "DB map");
  check(resolveRedisConfig({ url: "redis://127.0.0.1:1" }).port === 1, "resolveRedisConfig");
  check((decodeJson(encodeJson({ d: new Dec("0.1") })) as { d: unknown }).d !== undefined, "JSON codec");
  check(sessionOf(Date.UTC(2026, 10, 25, 4, 0)).open && SESSION_OPEN_MINUTE === 555, "sessionOf");
  check(STOP_LOSS_DEFAULTS && NEWS_BOOST_DEFAULTS && CONFIDENCE_DEFAULTS && DEFAULT_CONFIDENCE_FLOOR > 0 && STREAM_CLOCK_SKEW_MS > 0, "defaults");
  check(classifyError(new Error("ECONNREFUSED")) === "connection", "classifyError");
  check(PRICE_UNITS > 0 && MAX_PRICE > 0 && MAX_VOLUME > 0 && MAX_POINTS > 0 && GRID_SNAP > 0, "units");
  check(isTransient(new Error("ECONNRESET")) !== undefined && HEALTH_SCHEMA.length > 0, "isTransient, HEALTH_SCHEMA");
  check(isTransient(new ServerBusyError("BUSY")) && new ServerBusyError("BUSY") instanceof RedisCommandError, "ServerBusyError");
  check(!isTransient(new ServerOutOfMemoryError("OOM")) && new ServerOutOfMemoryError("OOM") instanceof RedisCommandError, "ServerOutOfMemoryError");
  const errors = [MathDispatcherError, InvalidInputError, ScriptExecutionError, ScriptIntegrityError, ConfigurationError,
    ReplyFormatError, StoredDataError, CircuitOpenError, CommandTimeoutError, OfflineQueueFullError, KeyGrammarError,
    UnknownDataTypeError, LocalRedisError, JsonEncodingError, ConnectionError, ClientClosedError, RedisCommandError, ServerBusyError, ServerOutOfMemoryError, UpdateOvertakenError, UpdateHeldBackError];
  check(errors.every((E) => E.prototype instanceof Error), "error classes");

  // Against Redis: a throwaway server, the dispatcher through the resilient client and on the
  // consumer's own ioredis instance (its Redis type must be accepted: 5.x or 6.x).
  const server: LocalRedisServer = await startLocalRedis();
  const urlLikeAnEnvValue = (): string | undefined => server.url; // README's form, { url: process.env.REDIS_URL }
  const client = new ResilientRedis({ config: { url: urlLikeAnEnvValue() } } satisfies ResilientRedisOptions);
  const own = new Redis(server.url, { db: DATABASES.patterns.db });
  const math = MathDispatcher.connect(server.url);
  const mine = new MathDispatcher(own);
  try {
    check(SCRIPTS.length >= Object.keys(SCRIPT_FUNCTIONS).length, "SCRIPTS");
    await math.load();
    const atr: AtrResult & ResultMeta = await math.atr({ symbol: "NIFTY", period: 14, bars });
    const rsi: RsiResult & ResultMeta = await math.rsi({ symbol: "NIFTY", period: 14, closes });
    check(Math.abs(rsi.rsi - rsiRef.toNumber()) < 1e-9, `rsi ${rsi.rsi} vs reference ${rsiRef.toString()}`);
    check(Math.abs(atr.atr - atrRef.toNumber()) < 1e-9, `atr ${atr.atr} vs reference ${atrRef.toString()}`);
    const vwap = await mine.vwap({ symbol: "NIFTY", bars, bands: [1] });
    check(Math.abs(vwap.vwap - vwapRef.toNumber()) < 1e-9 && vwap.cache === "miss", "vwap on the consumer's ioredis");
    const outcomes = await math.batch([{ fn: "atr", input: { symbol: "NIFTY", period: 14, bars } }]);
    // typed by its call's fn: the first outcome's value is an ATR result, no narrowing needed
    check(outcomes[0].ok && outcomes[0].value.atr > 0 && (await mine.atr({ symbol: "NIFTY", period: 14, bars })).cache === "hit", "batch and cache");
    const unstored: ScriptCallOptions = { store: false, deadlineMs: 2_000 };
    check((await math.atr({ symbol: "NOSTORE", period: 14, bars }, unstored)).cache === "miss" && (await own.keys("pattern_cache:atr:*:NOSTORE:*")).length === 0, "store: false");
    try {
      await math.atr({ symbol: "NIFTY", period: 0, bars });
      check(false, "period 0 must be refused");
    } catch (error) {
      check(error instanceof InvalidInputError && error.field === "period", "InvalidInputError.field");
    }
    const runner = new ScriptRunner(client, SCRIPTS);
    check(runner.scripts.length === SCRIPTS.length, "ScriptRunner");
    const streaming: StreamingIndicators = math.streaming({ atrPeriod: 14 });
    const update = await streaming.update({ symbol: "NIFTY", ts: Date.UTC(2026, 10, 25, 4, 0), seq: 1, price: 24_350.05, volume: 75 });
    check(update.vwapStatus === "applied", "streaming update");
    const ticks = new Redis(server.url, { db: DATABASES.continuous_market.db });
    const consumer = new TickConsumer(ticks, streaming, { symbols: ["NIFTY"], consumer: defaultConsumerName() });
    consumer.stop(); // constructed only: its group would create ticks:NIFTY without a TTL
    ticks.disconnect();
    await storeByDataType(client, "pattern_alerts", "patterns:breakout:NIFTY", { stop: new Dec("24282.55") });
    check(await retrieveByDataType(client, "pattern_alerts", "patterns:breakout:NIFTY"), "dataStore");
    const report = await collectHealth({ url: server.url });
    check(exitCodeOf(report) === 0, `health: ${renderHealth(report)}`);
  } finally {
    await Promise.all([math.close(), mine.close(), client.close()]);
    own.disconnect(); // a connection we passed in stays ours to close
    await server.stop();
  }
  console.log(`consumer ok: atr ${atrRef.toFixed(4)}, ${SCRIPTS.length} scripts`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
