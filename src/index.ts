/**
 * math-dispatcher: indicator and risk math as versioned Redis Lua scripts, a decimal.js
 * reference of every formula, and the Redis control plane around them.
 */
export {
  MathDispatcher,
  type BatchCall,
  type BatchOutcome,
  type FunctionName,
  type FunctionTypes,
  type MathDispatcherOptions,
  type ConnectOptions,
  type ConnectTarget,
  type SingleFunctionMethods,
  type AnyResult,
  type ResultOf,
  type BatchOutcomes,
  SCRIPT_FUNCTIONS,
} from "./dispatcher/MathDispatcher.js";
export type { Signal, Decision, InputSource } from "./dispatcher/dispatch.js";
export type { StopLossInput, StopLossResult, StopLossSettings } from "./dispatcher/stopLoss.js";
export type { PositionSizeInput, PositionSizeResult, AccountSettings } from "./dispatcher/positionSize.js";
export type { NewsBoostInput, NewsBoostResult, NewsItemInput, NewsSettings } from "./dispatcher/newsBoost.js";
export type { ConfidenceInput, ConfidenceResult, ConfidenceSettings } from "./dispatcher/confidence.js";
export type { AtrInput, AtrResult } from "./dispatcher/atr.js";
export type { RsiInput, RsiResult } from "./dispatcher/rsi.js";
export { RsiReference, rsiReference } from "./indicators/rsi.js";
export type { VwapInput, VwapResult, VwapTick, VwapBar, VwapBandResult } from "./dispatcher/vwap.js";
export type { ResultMeta, ValidatedFunction, ScriptFunction, NamedArgs } from "./dispatcher/scriptFunction.js";
export type { FunctionsLibrary, LibraryFunction } from "./build/functionsLibrary.js";
export type { ResultTierOptions } from "./dispatcher/resultTier.js";
export type { CacheStatus } from "./dispatcher/reply.js";
export { ScriptRunner, type ScriptCall, type ScriptCallOptions, type Settled, type ScriptRunnerOptions } from "./dispatcher/scriptRunner.js";
export { READ_ONLY_SUFFIX, type ScriptManifestEntry, type ArgSpec, type ArgType } from "./core/manifest.js";
export { SCRIPTS } from "./generated/scripts.js";
export {
  MathDispatcherError,
  InvalidInputError,
  ScriptExecutionError,
  UpdateOvertakenError,
  UpdateHeldBackError,
  ScriptIntegrityError,
  ConfigurationError,
  ReplyFormatError,
  StoredDataError,
  ConnectionError,
  ClientClosedError,
  type ConnectionFailure,
  CircuitOpenError,
  CommandTimeoutError,
  OfflineQueueFullError,
  RedisCommandError,
  ServerBusyError,
  ServerOutOfMemoryError,
} from "./core/errors.js";
export { PRICE_UNITS, type PriceInput } from "./core/units.js";
export { MAX_POINTS, MAX_PRICE, MAX_VOLUME, MAX_POINTS_PER_CALL, MAX_SERIES_POINTS_PER_CALL, MAX_ATR_PERIOD, MAX_RSI_PERIOD, MAX_NEWS_ITEMS, MAX_DISPATCH_BARS, MAX_STREAM_UPDATES_PER_CALL, MIN_EPOCH_MS, MAX_EPOCH_MS, MAX_RISK } from "./dispatcher/limits.js";
export { LIMITS, ARG_NAMES, type ScriptArgs, type ScriptName } from "./generated/scripts.js";
export { AtrReference, atrReference, type HlcBar } from "./indicators/atr.js";
export { VwapReference, vwapOfTicks, vwapOfBars, type Tick, type VolumeBar, type VwapBand } from "./indicators/vwap.js";
export { stopLossReference, type StopLossParams, type StopLossReference, type Side } from "./indicators/stopLoss.js";
export { positionSizeReference, type PositionSizeParams, type PositionSizeReference } from "./indicators/positionSize.js";
export { newsBoostReference, type NewsBoostParams, type NewsBoostReference, type NewsItem } from "./indicators/newsBoost.js";
export { confidenceReference, type ConfidenceParams, type ConfidenceReference } from "./indicators/confidence.js";
export { GRID_SNAP } from "./indicators/grid.js";
export { Dec, type Numeric } from "./indicators/decimal.js";
export { SYMBOL_PATTERN, type KeyOptions } from "./keys/symbol.js";
export { KEY_FAMILIES, buildKey, parseKey, familyOf, keyFamily, KeyGrammarError, type KeyFamily, type ParsedKey, type Segment, type FieldKind } from "./keys/grammar.js";
export { patternCacheKey } from "./keys/patternCache.js";
export { newsLatestKey, volumeBaselineKey } from "./keys/marketData.js";
export {
  DATABASES,
  DEFAULT_TTL_SECONDS,
  getDatabaseForDataType,
  UnknownDataTypeError,
  type DatabaseName,
  type DatabaseSpec,
} from "./redis/databases.js";
export { startLocalRedis, LocalRedisError, type LocalRedisServer } from "./redis/localServer.js";
export {
  StreamingIndicators,
  type StreamingOptions,
  type StreamUpdateInput,
  type StreamUpdateResult,
  type IndicatorSnapshot,
} from "./dispatcher/streaming.js";
export { TickConsumer, defaultConsumerName, type TickConsumerOptions, type ConsumerStats, type ConsumerCounters, type StreamLostEvent, type ConsumerWaitingEvent } from "./streaming/tickConsumer.js";
export { StreamingReference, type MarketUpdate } from "./indicators/streaming.js";
export { type AtrStatus, type VwapStatus, type SizeBound, STOP_LOSS_DEFAULTS, NEWS_BOOST_DEFAULTS, CONFIDENCE_DEFAULTS, DEFAULT_CONFIDENCE_FLOOR, STREAM_CLOCK_SKEW_MS } from "./core/defaults.js";
export { sessionOf, SESSION_OPEN_MINUTE } from "./market/session.js";
export { indicatorKey } from "./keys/indicator.js";
export { tickStreamKey, deadLetterKey } from "./keys/marketData.js";
export { resolveRedisConfig, type RedisConfig, type RedisConfigInput, type TlsInput, type TlsMaterial, type TlsSettings } from "./redis/config.js";
export {
  ResilientRedis,
  isTransient,
  classifyError,
  type ErrorClass,
  type CallOptions,
  type CallContext,
  type ResilientRedisOptions,
  type CircuitStateName,
  type NotNow,
} from "./redis/ResilientRedis.js";
export * from "./cluster/index.js";
export { storeByDataType, retrieveByDataType } from "./redis/dataStore.js";
export { encodeJson, decodeJson, JsonEncodingError } from "./redis/jsonCodec.js";
export {
  collectHealth,
  exitCodeOf,
  HEALTH_SCHEMA,
  type HealthReport,
  type HealthOptions,
  type DeniedCheck, type IncompleteCheck,
  type TtlAuditRow,
  type StreamHealth,
  type GroupHealth,
  type HealthScriptTime,
} from "./health/healthReport.js";
export type { ScriptTime } from "./core/scriptTime.js";
export { renderHealth } from "./health/renderHealth.js";
export {
  renderSessionChart,
  sessionSeries,
  renderRatioChart,
  type SessionPoint,
  type SessionSeries,
  type SessionChartOptions,
  type RatioRow,
  type RatioChartOptions,
} from "./chart/index.js";
