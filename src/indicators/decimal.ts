import { Decimal } from "decimal.js";

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
