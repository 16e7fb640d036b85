-- berth's edge. Every route lives in the shared dict berth_routes, so a deploy's switch, a new
-- or destroyed app, a domain or a certificate is a write to memory and never an nginx reload: a
-- reload makes nginx close its idle keep-alive client connections, and a client that sends its
-- next request on one at that moment gets a reset.
--
-- berth writes the whole route table to a file (src/proxy/route-table.ts has the format), which
-- the master loads at every start, and sends the same text to the admin socket for a change.
-- The table is plain lines read with Lua patterns (no JSON module needed): berth checks every
-- field against a pattern without spaces, so a field cannot run into the next one.
--
-- Dict keys: host:NAME -> app; app:APP -> "RELEASE REDIRECT HSTS IP:PORT,..." (or "hold=SECONDS"
-- while a stop-first deploy has no release running, see M.route); sni:NAME -> the
-- id of the certificate served for it; cert:ID and key:ID -> PEM; challenge:TOKEN -> the ACME
-- key authorization.

local balancer = require "ngx.balancer"
local ssl = require "ngx.ssl"

local routes = ngx.shared.berth_routes
local M = {}

local CHALLENGE_PATH = "/.well-known/acme-challenge/"
local HSTS = "max-age=31536000"
-- How often a held request looks whether its app is routed again: a read of the shared dict.
local HOLD_POLL_SECONDS = 0.02
local HOLD_RETRY_AFTER = "5"
local settings = { https_suffix = "", not_found = "" }

-- Per worker, parsed once per value: each app's containers and options, each host name's certificate.
local apps = {}
local certificates = {}
local turn = 0

local function split(field)
  local items = {}
  if field ~= "-" then
    for item in field:gmatch("[^,]+") do items[#items + 1] = item end
  end
  return items
end

-- The dict entries the table holds. Certificates come first, so a host name is never given a
-- certificate id whose PEM is not there yet. A certificate is served only for the host names
-- of its own app. Refuses the whole table on any line it cannot read, before anything changes;
-- the message names the line, never its content (which may be a key).
local function entries(text)
  local first, rest, hosts, certs = {}, {}, {}, {}
  local number = 0
  for line in text:gmatch("[^\n]+") do
    number = number + 1
    local kind = line:match("^(%S+)")
    if kind == "app" then
      local app, release, redirect, hsts, upstreams, names = line:match("^app (%S+) (%S+) redirect%-https=(%a+) hsts=(%a+) (%S+) (%S+)$")
      if not app then error("line " .. number .. ": malformed app record", 0) end
      rest["app:" .. app] = table.concat({ release, redirect, hsts, upstreams }, " ")
      for _, host in ipairs(split(names)) do hosts[host] = app end
    elseif kind == "certificate" then
      local app, id, names, cert, key = line:match("^certificate (%S+) (%x+) (%S+) (%S+) (%S+)$")
      cert, key = cert and ngx.decode_base64(cert), key and ngx.decode_base64(key)
      if not (app and cert and key) then error("line " .. number .. ": malformed certificate record", 0) end
      first["cert:" .. id], first["key:" .. id] = cert, key
      certs[#certs + 1] = { app = app, id = id, names = split(names) }
    elseif kind == "challenge" then
      local token, answer = line:match("^challenge (%S+) (%S+)$")
      if not token then error("line " .. number .. ": malformed challenge record", 0) end
      rest["challenge:" .. token] = answer
    elseif kind ~= "#" then
      error("line " .. number .. ": unknown record", 0)
    end
  end
  for host, app in pairs(hosts) do rest["host:" .. host] = app end
  for _, cert in ipairs(certs) do
    for _, host in ipairs(cert.names) do
      if hosts[host] == cert.app then rest["sni:" .. host] = cert.id end
    end
  end
  return first, rest
end

local function store(wanted)
  for key, value in pairs(wanted) do
    if routes:get(key) ~= value then
      -- safe_set: never evict another route to make room.
      local ok, err = routes:safe_set(key, value)
      if not ok then error("cannot store a route: " .. err, 0) end
    end
  end
end

-- Makes the dict hold exactly the table: what changed is written, what is gone is deleted.
local function load(text)
  local first, rest = entries(text)
  store(first)
  store(rest)
  for _, key in ipairs(routes:get_keys(0)) do
    if first[key] == nil and rest[key] == nil then routes:delete(key) end
  end
end

function M.init(file, https_port, domain)
  settings.https_suffix = https_port == 443 and "" or ":" .. https_port
  settings.not_found = "No berth app answers to this host name. Apps answer at APP." .. domain .. "\n"
  local handle = io.open(file, "r")
  if not handle then return end
  local text = handle:read("*a")
  handle:close()
  load(text)
end

-- PUT /routes on the admin socket: the whole table. The dict is shared, so once this answers,
-- every worker routes by the new table.
function M.admin()
  if ngx.req.get_method() ~= "PUT" then return ngx.exit(ngx.HTTP_NOT_ALLOWED) end
  ngx.req.read_body()
  local ok, err = pcall(load, ngx.req.get_body_data() or "")
  if not ok then
    ngx.status = ngx.HTTP_BAD_REQUEST
    ngx.say(err)
    return ngx.exit(ngx.HTTP_BAD_REQUEST)
  end
  ngx.say("ok")
end

local function app_route(name)
  local raw = routes:get("app:" .. name)
  local cached = apps[name]
  if cached and cached.raw == raw then return cached end
  if not raw then
    apps[name] = nil
    return nil
  end
  local _, redirect, hsts, upstreams = raw:match("^(%S+) (%a+) (%a+) (%S+)$")
  local peers = {}
  for ip, port in upstreams:gmatch("([%d.]+):(%d+)") do peers[#peers + 1] = { ip, tonumber(port) } end
  cached = { raw = raw, redirect = redirect == "on", hsts = hsts == "on", peers = peers, hold = tonumber(upstreams:match("^hold=(%d+)$")) }
  apps[name] = cached
  return cached
end

local function answer(status, text)
  ngx.status = status
  ngx.header["Content-Type"] = "text/plain"
  ngx.print(text)
  return ngx.exit(status)
end

-- A stop-first deploy stopped the app's old release and its new one is not routed yet: the
-- request waits here, in the access phase (which may sleep; the balancer may not), before nginx
-- has read its body or opened any upstream connection, until the app is routed again or until
-- `seconds` after the request arrived. Returns the app's route, nil when the app went away, or
-- false when the time is up.
local function wait_for_release(name, seconds)
  local deadline = ngx.req.start_time() + seconds
  while ngx.now() < deadline do
    ngx.sleep(HOLD_POLL_SECONDS)
    local app = app_route(name)
    if not app then return nil end
    if not app.hold then return app end
  end
  return false
end

local function held_too_long(name, seconds)
  ngx.header["Retry-After"] = HOLD_RETRY_AFTER
  return answer(ngx.HTTP_SERVICE_UNAVAILABLE, name .. " is being deployed (stop-first) and its new release was not serving within " .. seconds .. " s; try again shortly\n")
end

-- access phase: an ACME challenge first (before any redirect), then the app of the host name.
-- A challenge berth did not ask for goes to the app over plain HTTP too, never redirected: the
-- app may be answering one of its own.
function M.route()
  local uri = ngx.var.uri
  local challenge = uri:sub(1, #CHALLENGE_PATH) == CHALLENGE_PATH
  if challenge then
    local authorization = routes:get("challenge:" .. uri:sub(#CHALLENGE_PATH + 1))
    if authorization then return answer(ngx.HTTP_OK, authorization) end
  end
  local host = ngx.var.host
  local name = routes:get("host:" .. host)
  local app = name and app_route(name)
  if app and app.hold then
    local seconds = app.hold
    app = wait_for_release(name, seconds)
    if app == false then return held_too_long(name, seconds) end
  end
  if not app or #app.peers == 0 then return answer(ngx.HTTP_NOT_FOUND, settings.not_found) end
  if ngx.var.scheme == "https" then
    if app.hsts then ngx.var.berth_hsts = HSTS end
  elseif app.redirect and not challenge and routes:get("sni:" .. host) then
    return ngx.redirect("https://" .. host .. settings.https_suffix .. ngx.var.request_uri, 308)
  end
  ngx.ctx.berth_peers = app.peers
end

-- Round robin over the app's containers; a failed connection tries the next one, as nginx's own
-- upstream would.
function M.balance()
  local ctx = ngx.ctx
  local peers = ctx.berth_peers
  local index = ctx.berth_peer
  if index then
    index = index % #peers + 1
  else
    turn = turn + 1
    index = turn % #peers + 1
    if #peers > 1 then balancer.set_more_tries(#peers - 1) end
  end
  ctx.berth_peer = index
  local ok, err = balancer.set_current_peer(peers[index][1], peers[index][2])
  if not ok then
    ngx.log(ngx.ERR, "berth: cannot route to ", peers[index][1], ": ", err)
    return ngx.exit(ngx.ERROR)
  end
end

local function parsed_certificate(name, id)
  local cached = certificates[name]
  if cached and cached.id == id then return cached end
  local cert = ssl.parse_pem_cert(routes:get("cert:" .. id) or "")
  local key = ssl.parse_pem_priv_key(routes:get("key:" .. id) or "")
  if not (cert and key) then return nil end
  cached = { id = id, cert = cert, key = key }
  certificates[name] = cached
  return cached
end

function M.certificate()
  local name = ssl.server_name()
  name = name and name:lower()
  local id = name and routes:get("sni:" .. name)
  if not id then
    if name then certificates[name] = nil end
    return ngx.exit(ngx.ERROR)
  end
  local chosen = parsed_certificate(name, id)
  if not chosen then
    ngx.log(ngx.ERR, "berth: the certificate for ", name, " cannot be read")
    return ngx.exit(ngx.ERROR)
  end
  ssl.clear_certs()
  local ok, err = ssl.set_cert(chosen.cert)
  if ok then ok, err = ssl.set_priv_key(chosen.key) end
  if not ok then
    ngx.log(ngx.ERR, "berth: cannot serve the certificate for ", name, ": ", err)
    return ngx.exit(ngx.ERROR)
  end
end

return M
