-- wrk script: POST the JSON body in the file named by BENCH_BODY.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local file = assert(io.open(os.getenv("BENCH_BODY"), "r"))
wrk.body = file:read("*a")
file:close()
