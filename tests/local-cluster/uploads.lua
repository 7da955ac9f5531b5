-- wrk script: every request uploads a new 4 KiB text file (a different mix
-- of words each time, so the taggers have real work). Arguments after `--`:
-- the bearer token, and a name prefix (default "load") that keeps another
-- run's names apart. Answers other than 201 are counted per thread and
-- reported by done().
local words = { "river", "mountain", "glacier", "invoice", "contract", "budget",
  "meeting", "harbour", "satellite", "orchard", "lecture", "recipe", "voyage",
  "telescope", "violin", "tractor", "festival", "archive", "lantern", "quarry" }
local threads = {}
local counter = 0

setup = function(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

init = function(args)
  token = args[1]
  prefix = args[2] or "load"
  n = 0
  failed = 0
end

request = function()
  n = n + 1
  local parts = {}
  local len = 0
  local k = n
  while len < 4096 do
    local w = words[(k * 7 + #parts * 13) % #words + 1]
    parts[#parts + 1] = w
    len = len + #w + 1
    k = k + 1
  end
  local body = string.sub(table.concat(parts, " "), 1, 4096)
  return wrk.format("POST", "/api/v1/files?name=" .. prefix .. "-" .. id .. "-" .. n .. ".txt",
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "text/plain" }, body)
end

response = function(status)
  if status ~= 201 then
    failed = failed + 1
  end
end

done = function(summary)
  local failed_total = 0
  for _, t in ipairs(threads) do
    failed_total = failed_total + t:get("failed")
  end
  io.write(string.format("UPLOADS %d %d %.3f\n", summary.requests, failed_total,
    summary.duration / 1e6))
end
