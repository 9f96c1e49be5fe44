import { Decimal } from "decimal.js";
import { PRICE_UNITS, priceToUnits } from "../core/units.js";

/**
 * The reference's number type: decimal.js with 60 significant digits, far beyond a double's 17,
 * so the reference's own rounding never shows in a comparison with the Lua.
 */
export const Dec = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_EVEN });
export type Dec = InstanceType<typeof Dec>;

/** A number or decimal text accepted by the reference. */
export type Numeric = number | string | Dec;

export function dec(value: Numeric): Dec {
  return new Dec(value);
}

/**
 * A price as the SDK reads it: a number within `PRICE_SNAP` of a price of four decimals is that
 * price (`priceToUnits`), so `245.3 * 3` (735.9000000000001) is 735.9 here as in the scripts.
 * Anything else is taken as it is, for the reference's own checks to judge.
 */
export function decPrice(value: Numeric): Dec {
  if (typeof value !== "number") return dec(value);
  const units = priceToUnits(value, Number.MAX_VALUE);
  return typeof units === "number" ? dec(units).div(PRICE_UNITS) : dec(value);
}
