-- Strict argument parsing. Redis's tonumber accepts 'inf', 'nan', '0x10' and ' 5 '; every number
-- here must first match a plain decimal form, then be finite.
-- @include "errors"
-- @include "epoch"

local function is_finite(x)
  return x == x and x ~= math.huge and x ~= -math.huge
end

-- @limit MAX_ARG_TEXT 256 bytes of any argument that is not binary: a number, bands, a chunk's state
-- Every such argument is checked against it before any pattern reads it: a pattern costs Lua
-- tens of instructions a byte, so a megabyte of leading zeros held Redis for 15-90 ms, and the
-- cache's hit check compares same-length arguments in place, which a long one made quadratic.

-- '12', '-12', '12.5' (one find, the common case), or with an exponent: '1e-5', '1.5E+3'.
local function is_plain_decimal(s)
  if string.find(s, '^-?%d+%.?%d*$') then return string.byte(s, -1) ~= 46 end -- not '12.'
  return string.find(s, '^-?%d+[eE][-+]?%d+$') ~= nil or string.find(s, '^-?%d+%.%d+[eE][-+]?%d+$') ~= nil
end

local function parse_decimal(s, field)
  if not is_plain_decimal(s) then invalid(field, 'not a plain decimal number: ' .. shown(s)) end
  local x = tonumber(s)
  if not is_finite(x) then invalid(field, 'not a finite number: ' .. shown(s)) end
  return x
end

local function text_too_long(field, s)
  invalid(field, 'must be at most ' .. MAX_ARG_TEXT .. ' bytes, got ' .. #s .. ': ' .. shown(s))
end

local function arg_string(index, field)
  local s = ARGV[index]
  if s == nil then invalid(field, 'missing (ARGV[' .. index .. '])') end
  if #s > MAX_ARG_TEXT then text_too_long(field, s) end
  return s
end

-- A raw caller's extra arguments would be ignored by the checks but stored with a cached result.
local function check_arg_count(count)
  if #ARGV > count then invalid('ARGV[' .. (count + 1) .. ']', 'this script takes ' .. count .. ' arguments') end
end

-- A number; the caller checks its range (the allowed intervals differ: open, closed, half-open).
local function arg_number(index, field)
  return parse_decimal(arg_string(index, field), field)
end

-- An optional number: the empty string stands for 'not given'.
local function arg_optional_number(index, field)
  local s = arg_string(index, field)
  if s == '' then return nil end
  return parse_decimal(s, field)
end

local function arg_integer(index, field, min, max)
  local s = arg_string(index, field)
  if not string.find(s, '^-?%d+$') then invalid(field, 'not an integer: ' .. shown(s)) end
  local x = tonumber(s)
  if x < min or x > max then invalid(field, 'must be an integer in ' .. min .. '..' .. max .. ', got ' .. s) end
  return x
end

local function arg_flag(index, field)
  local s = arg_string(index, field)
  if s ~= '0' and s ~= '1' then invalid(field, "must be '0' or '1', got " .. shown(s)) end
  return s == '1'
end

local function arg_choice(index, field, choices)
  local s = arg_string(index, field)
  for _, choice in ipairs(choices) do
    if s == choice then return s end
  end
  invalid(field, 'must be one of ' .. table.concat(choices, ', ') .. ', got ' .. shown(s))
end

-- Binary little-endian doubles, `width` per point: returns the point count.
local function check_packed(s, field, width, max_points)
  local point_bytes = 8 * width
  if #s == 0 or #s % point_bytes ~= 0 then
    invalid(field, 'must be ' .. width .. ' little-endian doubles per point (a multiple of ' .. point_bytes .. ' bytes), got ' .. #s .. ' bytes')
  end
  local count = #s / point_bytes
  if count > max_points then invalid(field, 'at most ' .. max_points .. ' points per call, got ' .. count) end
  return count
end

local function check_epoch_ms(field, t)
  if not (t >= MIN_EPOCH_MS and t <= MAX_EPOCH_MS and t == math.floor(t)) then
    local unit = (t >= 0 and t < MIN_EPOCH_MS) and ' (a time in seconds?)' or (t > MAX_EPOCH_MS and t < math.huge) and ' (a time in microseconds?)' or ''
    invalid(field, 'must be whole epoch milliseconds in ' .. MIN_EPOCH_MS .. '..' .. MAX_EPOCH_MS .. ', got ' .. string.format('%.17g', t) .. unit)
  end
end

-- One band multiplier k in (0, 10], in any decimal form, named `field`.
local function band_multiplier(text, field)
  local k = parse_decimal(text, field)
  if not (k > 0 and k <= 10) then invalid(field, 'must be in (0, 10]') end
  return k
end

-- Band multipliers k from comma-separated decimals in (0, 10], one to five of them. The common
-- form ('1', '2.5') is read inline; anything else (an exponent, a bad number) goes through
-- band_multiplier, and only then is the field name ('bands[1]') built.
local function parse_bands(s, name)
  local multipliers, n, find, byte = {}, 0, string.find, string.byte
  for text in string.gmatch(s .. ',', '([^,]*),') do
    if n == 5 then invalid(name, 'at most 5 multipliers') end
    local k = find(text, '^%d+%.?%d*$') and byte(text, -1) ~= 46 and tonumber(text)
    if not (k and k > 0 and k <= 10) then k = band_multiplier(text, name .. '[' .. n .. ']') end
    n = n + 1
    multipliers[n] = k
  end
  return multipliers
end
