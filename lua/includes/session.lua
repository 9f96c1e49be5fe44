-- The trading-session rule, mirrored by src/market/session.ts: a tick belongs to the session of
-- its IST date (IST is UTC+05:30 all year), and before 09:15 IST it is pre-open.
-- @include "epoch"
local IST_OFFSET_MS = 19800000
local DAY_MS = 86400000
local SESSION_OPEN_MINUTE = 555 -- 09:15
-- The sessions of the times taken (MIN_EPOCH_MS..MAX_EPOCH_MS): a stored VWAP state's lies among
-- them. Whole days by % (a Functions library's load sees no `math`), exact on whole numbers.
local MIN_SESSION = (MIN_EPOCH_MS + IST_OFFSET_MS - (MIN_EPOCH_MS + IST_OFFSET_MS) % DAY_MS) / DAY_MS
local MAX_SESSION = (MAX_EPOCH_MS + IST_OFFSET_MS - (MAX_EPOCH_MS + IST_OFFSET_MS) % DAY_MS) / DAY_MS

-- The session (days since 1970-01-01 in IST) and whether the market is open for VWAP.
local function session_of(ts)
  local ist = ts + IST_OFFSET_MS
  local day = math.floor(ist / DAY_MS)
  local minute = math.floor((ist - day * DAY_MS) / 60000)
  return day, minute >= SESSION_OPEN_MINUTE
end
