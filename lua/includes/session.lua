-- The trading-session rule, mirrored by src/market/session.ts: a tick belongs to the session of
-- its IST date (IST is UTC+05:30 all year), and before 09:15 IST it is pre-open.
local IST_OFFSET_MS = 19800000
local DAY_MS = 86400000
local SESSION_OPEN_MINUTE = 555 -- 09:15

-- The session (days since 1970-01-01 in IST) and whether the market is open for VWAP.
local function session_of(ts)
  local ist = ts + IST_OFFSET_MS
  local day = math.floor(ist / DAY_MS)
  local minute = math.floor((ist - day * DAY_MS) / 60000)
  return day, minute >= SESSION_OPEN_MINUTE
end
