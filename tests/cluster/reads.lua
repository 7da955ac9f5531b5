-- wrk script for tests/cluster/e2e.sh: GETs through the Ingress with the
-- Ingress host and the bearer token. Arguments after `--`: host, token, paths.
local host, token
local paths = {}
local n = 0

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

-- Any status but 200 counts as a failure, like a socket error.
done = function(summary, latency, requests)
    io.write(string.format("READS requests=%d non2xx=%d connect=%d read=%d write=%d timeout=%d status=%d\n",
        summary.requests, summary.errors.status, summary.errors.connect, summary.errors.read,
        summary.errors.write, summary.errors.timeout, summary.errors.status))
end
