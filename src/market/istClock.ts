/**
 * India Standard Time without a time-zone database: IST is UTC+05:30 all year (no daylight
 * saving), so the wall clock is the epoch shifted by 330 minutes.
 */
export const IST_OFFSET_MS = 330 * 60_000;
const DAY_MS = 86_400_000;

/** IST hour and minute of an epoch-ms instant. */
export function istTime(epochMs: number): { hour: number; minute: number } {
  const minuteOfDay = Math.floor((((epochMs + IST_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS / 60_000);
  return { hour: Math.floor(minuteOfDay / 60), minute: minuteOfDay % 60 };
}

/** Two-digit text, as the key grammar writes hours and minutes. */
export function twoDigits(n: number): string {
  return String(n).padStart(2, "0");
}
