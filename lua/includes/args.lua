-- ARGV read by name against ARGS, the table the build writes from the script's header
-- (src/build/argSpec.ts): one row per argument in ARGV order, { name, kind, optional, bounds }.
-- Every type and range is checked here, once, from the header; the includes check only what
-- ties arguments together (an entry on its tick grid, min below max). An optional argument sent
-- as '' reads as nil. The header is the one place an argument's position or limits are written.
-- @include "validate"
-- @include "units"

local function bound_text(x)
  if x == math.huge then return 'inf' end
  return string.format('%.17g', x)
end

local function read_args(spec)
  local n = #spec
  if #ARGV > n then invalid('ARGV[' .. (n + 1) .. ']', 'this script takes ' .. n .. ' arguments') end
  local a = {}
  for i = 1, n do
    local row = spec[i]
    local name, kind = row[1], row[2]
    local s = ARGV[i]
    if s == nil then invalid(name, 'missing (ARGV[' .. i .. '])') end
    if s ~= '' or not row[3] then
      if kind == 'int' then
        if not string.find(s, '^-?%d+$') then invalid(name, 'not an integer: ' .. shown(s)) end
        local x = tonumber(s)
        if x < row[4] or x > row[5] then
          invalid(name, 'must be an integer in ' .. bound_text(row[4]) .. '..' .. bound_text(row[5]) .. ', got ' .. s)
        end
        a[name] = x
      elseif kind == 'num' then
        local x = parse_decimal(s, name)
        local lo, hi = row[4], row[5]
        if (row[6] and x <= lo or x < lo) or (row[7] and x >= hi or x > hi) then
          invalid(name, 'must be in ' .. (row[6] and '(' or '[') .. bound_text(lo) .. ', ' .. bound_text(hi) .. (row[7] and ')' or ']'))
        end
        a[name] = x
      elseif kind == 'price' then
        a[name] = arg_price(i, name)
      elseif kind == 'epoch_ms' then
        local t = parse_decimal(s, name)
        check_epoch_ms(name, t)
        a[name] = t
      elseif kind == 'flag' then
        if s ~= '0' and s ~= '1' then invalid(name, "must be '0' or '1', got " .. shown(s)) end
        a[name] = s == '1'
      elseif kind == 'enum' then
        for _, choice in ipairs(row[4]) do
          if s == choice then a[name] = s end
        end
        if not a[name] then invalid(name, 'must be one of ' .. table.concat(row[4], ', ') .. ', got ' .. shown(s)) end
      elseif kind == 'bands' then
        a[name] = parse_bands(s, name)
      elseif kind == 'packed' then
        local point_bytes = 8 * row[4]
        if #s % point_bytes ~= 0 then
          invalid(name, 'must be ' .. row[4] .. ' little-endian doubles per point (a multiple of ' .. point_bytes .. ' bytes), got ' .. #s .. ' bytes')
        end
        local count = #s / point_bytes
        if count < row[5] or count > row[6] then
          invalid(name, 'must hold ' .. bound_text(row[5]) .. '..' .. bound_text(row[6]) .. ' points per call, got ' .. count)
        end
        a[name], a[name .. '_count'] = s, count
      else -- text: the script checks it
        a[name] = s
      end
    end
  end
  return a
end
