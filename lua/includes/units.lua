-- Prices travel and are computed as integer numbers of price units (1 unit = 0.0001 rupee), so
-- differences, tick grids and sums of prices are exact in doubles; only divisions round.
-- @include "validate"

local PRICE_UNITS = 10000
-- @limit MAX_PRICE_UNITS 1e12 Rs 100,000,000 in units: keeps sums of 500 ranges far below 2^53
-- @limit MAX_VOLUME 1e10 per point; 100,000 points then total below 2^53, so total volume is exact
-- @limit MAX_HISTORY 100000 points in one series, over all the chunks of a chunked run
-- @limit MAX_POINTS 500 per call: keeps every call under 2 ms of server time on a slow, shared core (bench/)
-- @limit MAX_SERIES_POINTS 250 per ATR or RSI call that returns the series: each %.17g value doubles a bar's cost

local function check_price_units(field, x)
  if not (x >= 1 and x <= MAX_PRICE_UNITS and x == math.floor(x)) then
    invalid(field, 'must be a positive price with at most 4 decimals, up to 100000000')
  end
end

-- A chunked run (docs/FORMULAS.md, "Long inputs") reads at most MAX_HISTORY points over all its
-- chunks: `seen` before this call, `count` in it.
local function check_history(field, seen, count)
  if seen + count > MAX_HISTORY then
    invalid(field, 'the series would pass ' .. MAX_HISTORY .. ' points over its chunks (' .. seen .. ' before this call)')
  end
end

-- A number of a chunk's state (the text a previous call replied): in [0, max], whole when `whole`.
local function check_state_number(field, x, max, whole)
  if not (x >= 0 and x <= max and (not whole or x % 1 == 0)) then
    invalid(field, 'must be ' .. (whole and 'a whole number' or 'a number') .. ' in 0..' .. string.format('%.17g', max))
  end
end

local function check_volume(field, x)
  if not (x >= 0 and x <= MAX_VOLUME and x == math.floor(x)) then
    invalid(field, 'must be a whole number in 0..' .. string.format('%d', MAX_VOLUME))
  end
end

-- `field` prefixes the names ('bars[3]' gives 'bars[3].high'); '' names them plainly ('high').
-- The hot loops (atr_run, vwap_run) test the same conditions in one inline chain and call this
-- only once it fails, to name the field.
local function check_bar(field, high, low, close)
  local prefix = field == '' and '' or field .. '.'
  check_price_units(prefix .. 'high', high)
  check_price_units(prefix .. 'low', low)
  check_price_units(prefix .. 'close', close)
  if high < low then invalid(prefix .. 'high', 'is below low') end
  if close < low or close > high then invalid(prefix .. 'close', 'lies outside [low, high]') end
end

-- A price given as decimal text in rupees ('100.05'), parsed exactly into units: the whole
-- rupees times 10000 plus the decimals scaled to four places (digit strings coerce to numbers).
local function parse_price(s, field)
  local whole, fraction = string.match(s, '^(%d+)%.?(%d*)$')
  local n = fraction and #fraction
  local units
  if n == 0 and #whole == #s then units = whole * PRICE_UNITS
  elseif n == 1 then units = whole * PRICE_UNITS + fraction * 1000
  elseif n == 2 then units = whole * PRICE_UNITS + fraction * 100
  elseif n == 3 then units = whole * PRICE_UNITS + fraction * 10
  elseif n == 4 then units = whole * PRICE_UNITS + fraction end
  if not units then invalid(field, 'must be a decimal price with at most 4 decimals: ' .. shown(s)) end
  check_price_units(field, units)
  return units
end

local function arg_price(index, field)
  return parse_price(arg_string(index, field), field)
end

-- Exact decimal text of a whole number of price units: 1000500 -> '100.05'. One string.format
-- whose precision drops the fraction's trailing zeros (a price field costs one format call).
local function fmt_units(units)
  local sign = ''
  if units < 0 then sign, units = '-', -units end
  local fraction = units % PRICE_UNITS
  local whole = (units - fraction) / PRICE_UNITS
  if fraction == 0 then return string.format('%s%d', sign, whole)
  elseif fraction % 1000 == 0 then return string.format('%s%d.%d', sign, whole, fraction / 1000)
  elseif fraction % 100 == 0 then return string.format('%s%d.%02d', sign, whole, fraction / 100)
  elseif fraction % 10 == 0 then return string.format('%s%d.%03d', sign, whole, fraction / 10)
  end
  return string.format('%s%d.%04d', sign, whole, fraction)
end
