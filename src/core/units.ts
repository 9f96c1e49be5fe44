/**
 * The wire format of prices: whole numbers of price units (1 unit = 0.0001 rupee), the same
 * convention as `lua/includes/units.lua`. Exact, because decimal text with at most four decimals
 * converts to a whole number of units with no rounding.
 */
import { Buffer } from "node:buffer"; // the global Buffer is a getter, called on every use
import { Decimal } from "decimal.js";

/** Exact decimal arithmetic for unit conversion (20 digits hold any price in range exactly). */
const Dec = Decimal.clone({ precision: 40 });

/** Price units per rupee: prices travel as whole numbers of 0.0001 rupee. */
export const PRICE_UNITS = 10_000;
export const PRICE_DECIMALS = 4;

const PRICE_TEXT = /^\d+(\.\d+)?$/;

/** A price as a JS number or as decimal text (`"24350.05"`). */
export type PriceInput = number | string;

/**
 * How far, relative, a JS number may sit from a price of four decimals and still be that price:
 * 2^-46, 64 units in the last place. Arithmetic on prices in doubles lands a few of those off
 * (`24000 + 7 * 0.05` is 24000.350000000002), while a real fifth decimal is at least 10^-5 rupee,
 * about 10^5 times more at the largest price.
 */
export const PRICE_SNAP = 2 ** -46;

/**
 * Parses a price (0 < price <= `maxPrice`) into units, or returns why it cannot be one. A number
 * within {@link PRICE_SNAP} of a price of four decimals is that price; decimal text must be exact.
 */
export function priceToUnits(value: unknown, maxPrice: number): number | string {
  // Fast path, small enough to be inlined into the loops over bars: x has at most four decimals
  // exactly when it is the double nearest to round(x * 10^4) / 10^4 (integer division by 10^4
  // rounds correctly), or lies within PRICE_SNAP of it. NaN and the infinities fail the range test.
  if (typeof value === "number") {
    const units = Math.round(value * PRICE_UNITS);
    const price = units / PRICE_UNITS;
    if (value > 0 && value <= maxPrice && (price === value || Math.abs(price - value) <= value * PRICE_SNAP)) return units;
  }
  return exactPriceToUnits(value, maxPrice);
}

/** Decimal text, and every value the fast path leaves: exact decimal arithmetic, or why it is no price. */
function exactPriceToUnits(value: unknown, maxPrice: number): number | string {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return `must be a finite number, got ${value}`;
  } else if (typeof value === "string") {
    if (!PRICE_TEXT.test(value)) return `must be decimal text like "24350.05", got ${JSON.stringify(value)}`;
  } else {
    return `must be a number or decimal text, got ${typeof value}`;
  }
  const price = new Dec(value);
  if (price.lte(0)) return `must be positive, got ${value}`;
  if (price.gt(maxPrice)) return `must be at most ${maxPrice}, got ${value}`;
  if (price.decimalPlaces() > PRICE_DECIMALS) return `must have at most ${PRICE_DECIMALS} decimals, got ${value}`;
  return price.times(PRICE_UNITS).toNumber();
}

/** Exact decimal text of a whole number of units (`519800500` -> `"51980.05"`). */
export function unitsToText(units: number): string {
  // integer arithmetic for whole units, as every price argument is: decimal.js took 0.85 us a call
  if (!Number.isSafeInteger(units) || units < 0) return new Dec(units).div(PRICE_UNITS).toFixed();
  const fraction = units % PRICE_UNITS;
  const whole = (units - fraction) / PRICE_UNITS;
  if (fraction === 0) return String(whole);
  return `${whole}.${String(fraction).padStart(PRICE_DECIMALS, "0").replace(/0+$/, "")}`;
}

/**
 * Packs the named fields of each point, in that order, as little-endian doubles: the layout the
 * scripts unpack (`'<ddd'` for `["high", "low", "close"]`). Straight from the points, without an
 * array per point.
 */
export function packFields<Field extends PropertyKey>(points: readonly Readonly<Record<Field, number>>[], fields: readonly Field[]): Buffer {
  const width = fields.length;
  const count = points.length * width;
  // a small Buffer is a slice of Node's shared pool: no ArrayBuffer of its own to allocate
  const buffer = Buffer.allocUnsafe(count * 8);
  if (LITTLE_ENDIAN && buffer.byteOffset % 8 === 0) {
    // a typed array over it writes in the host's byte order: little-endian here, as struct.unpack('<d') reads
    const doubles = new Float64Array(buffer.buffer, buffer.byteOffset, count);
    let k = 0;
    for (const point of points) for (let j = 0; j < width; j++) doubles[k++] = point[fields[j] as Field];
  } else {
    let at = 0;
    for (const point of points) for (let j = 0; j < width; j++) at = buffer.writeDoubleLE(point[fields[j] as Field], at);
  }
  return buffer;
}

/**
 * Points already laid out as a script unpacks them: `width` doubles per point, in the order of
 * the script's header (`'<ddd'`: high, low, close). The input schemas validate points straight
 * into one, so a call allocates no object per point.
 */
export interface PackedPoints {
  readonly count: number;
  readonly width: number;
  /** `count * width` values. */
  readonly data: Float64Array;
}

/** The points from `from` to `to` (exclusive): a view, nothing copied. */
export function slicePoints(points: PackedPoints, from: number, to: number): PackedPoints {
  const end = Math.min(to, points.count);
  return { count: end - from, width: points.width, data: points.data.subarray(from * points.width, end * points.width) };
}

/** The bytes of packed points as a script argument: a view of the same memory on a little-endian host. */
export function pointBytes(points: PackedPoints): Buffer {
  const { data } = points;
  if (LITTLE_ENDIAN) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const buffer = Buffer.allocUnsafe(data.byteLength);
  data.forEach((x, i) => buffer.writeDoubleLE(x, 8 * i));
  return buffer;
}

/** Packs rows of `width` numbers each into the layout the scripts unpack. */
export function packDoubles(points: readonly (readonly number[])[], width: number): Buffer {
  return packFields(points, Array.from({ length: width }, (_, j) => j));
}

const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;
