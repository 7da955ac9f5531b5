-- wrk script for tests/cluster/e2e.sh: GETs through the Ingress with the
-- Ingress host and the bearer token. Arguments after `--`: host, token, paths.
-- Answers are counted by kind: 429 is the API's per-user rate limit doing
-- its job (a fast machine reads faster than one user may), anything else
-- but 200 is a failure, like a socket error.
local threads = {}
local host, token
local paths = {}
local n = 0
limited = 0
failed = 0

setup = function(thread)
    table.insert(threads, thread)
end

init = function(args)
    host = args[1]
    token = args[2]
    for i = 3, #args do
        paths[#paths + 1] = args[i]
    end
end

request = function()
    n = n + 1
    return wrk.format("GET", paths[(n % #paths) + 1],
        { ["Host"] = host, ["Authorization"] = "Bearer " .. token })
end

response = function(status, headers, body)
    if status == 429 then
        limited = limited + 1
    elseif status ~= 200 then
        failed = failed + 1
    end
end

done = function(summary, latency, requests)
    local l, f = 0, 0
    for _, t in ipairs(threads) do
        l = l + t:get("limited")
        f = f + t:get("failed")
    end
    io.write(string.format("READS requests=%d failed=%d connect=%d read=%d write=%d timeout=%d limited=%d\n",
        summary.requests, f, summary.errors.connect, summary.errors.read,
        summary.errors.write, summary.errors.timeout, l))
end
