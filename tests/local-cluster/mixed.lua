-- wrk script: a steady mix of read requests (list, search, get, download,
-- tags, WebDAV) with the bearer token. Arguments after `--`: the token, then
-- paths; a path may start with its method ("PROPFIND /dav/files/"), else GET.
local token
local requests = {}
local n = 0

init = function(args)
    token = args[1]
    for i = 2, #args do
        local method, path = args[i]:match("^(%u+) (.+)$")
        if not method then
            method, path = "GET", args[i]
        end
        local headers = { ["Authorization"] = "Bearer " .. token }
        if method == "PROPFIND" then
            headers["Depth"] = "1"
        end
        requests[#requests + 1] = wrk.format(method, path, headers)
    end
end

request = function()
    n = n + 1
    return requests[(n % #requests) + 1]
end
