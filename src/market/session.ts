/**
 * The trading-session rule, mirrored by `lua/includes/session.lua`: a tick belongs to the
 * session of its IST date, and before 09:15 IST it is pre-open (ignored by session VWAP).
 */
import { IST_OFFSET_MS } from "./istClock.js";

const DAY_MS = 86_400_000;
/** 09:15 IST as minutes after midnight. */
export const SESSION_OPEN_MINUTE = 9 * 60 + 15;

/** The session of an instant: days since 1970-01-01 on the IST calendar, and whether VWAP counts it. */
export function sessionOf(epochMs: number): { session: number; open: boolean } {
  const ist = epochMs + IST_OFFSET_MS;
  const session = Math.floor(ist / DAY_MS);
  const minute = Math.floor((ist - session * DAY_MS) / 60_000);
  return { session, open: minute >= SESSION_OPEN_MINUTE };
}
