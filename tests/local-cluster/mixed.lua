-- wrk script: a steady mix of read requests (list, search, get, download,
-- tags) with the bearer token. Arguments after `--`: the token, then paths.
local token
local paths = {}
local n = 0

init = function(args)
    token = args[1]
    for i = 2, #args do
        paths[#paths + 1] = args[i]
    end
end

request = function()
    n = n + 1
    local path = paths[(n % #paths) + 1]
    return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
