"""``/docs``: Swagger UI served from a local package, asking for the token in the page.

The page and its assets hold no data, so they are open; ``/openapi.json`` and
every data endpoint still need the bearer token. The page asks for the token,
keeps it in this tab's ``sessionStorage`` and adds it to every request Swagger
UI makes, the schema's included. Nothing is fetched from the internet: the
assets come from the ``swagger-ui-bundle-v2`` wheel and the online validator is off.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path

__all__ = ["DOCS_PATH", "STATIC_PREFIX", "router"]

DOCS_PATH = "/docs"
STATIC_PREFIX = "/docs/static/"
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>nls API</title>
  <link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/static/swagger-ui.css">
  <style>
    body { margin: 0; font-family: sans-serif; }
    #token-form { max-width: 32rem; margin: 4rem auto; padding: 0 1rem; }
    #token-form input { width: 100%; padding: .5rem; margin: .5rem 0; box-sizing: border-box; }
    #token-error { color: #b00020; min-height: 1.2em; }
    #bar { text-align: right; padding: .5rem 1rem; }
  </style>
</head>
<body>
  <form id="token-form" hidden>
    <h1>nls API</h1>
    <label for="token">API token (the server's <code>NLS_API_TOKEN</code>)</label>
    <input id="token" name="token" type="password" autocomplete="off" required>
    <button id="open-docs" type="submit">Open the docs</button>
    <p id="token-error" role="alert"></p>
    <p>The token stays in this browser tab (sessionStorage) and is sent only to this server.</p>
  </form>
  <div id="bar" hidden><button id="forget" type="button">Forget the token</button></div>
  <div id="swagger-ui"></div>
  <script src="/docs/static/swagger-ui-bundle.js"></script>
  <script src="/docs/static/nls-docs.js"></script>
</body>
</html>
"""

_SCRIPT = """(function () {
  "use strict";
  var KEY = "nls.api.token";
  var form = document.getElementById("token-form");
  var input = document.getElementById("token");
  var error = document.getElementById("token-error");
  var bar = document.getElementById("bar");

  function ask(message) {
    form.hidden = false;
    bar.hidden = true;
    error.textContent = message || "";
    input.focus();
  }

  function show(spec, token) {
    form.hidden = true;
    bar.hidden = false;
    var ui = SwaggerUIBundle({
      spec: spec,
      dom_id: "#swagger-ui",
      deepLinking: true,
      validatorUrl: null,
      requestInterceptor: function (req) {
        req.headers.Authorization = "Bearer " + token;
        return req;
      }
    });
    // Shows the lock as closed; the interceptor sends the token either way.
    try { ui.preauthorizeApiKey("HTTPBearer", token); } catch (e) { /* older UI */ }
  }

  function load(token) {
    // The schema is fetched here, with the token, so a wrong one asks again.
    fetch("/openapi.json", { headers: { Authorization: "Bearer " + token } })
      .then(function (r) {
        if (r.status === 401) {
          sessionStorage.removeItem(KEY);
          ask("The server refused that token.");
          return null;
        }
        if (!r.ok) {
          ask("The server answered " + r.status + " for /openapi.json.");
          return null;
        }
        return r.json().then(function (spec) { show(spec, token); });
      })
      .catch(function (e) { ask("Could not reach the server: " + e); });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var token = input.value.trim();
    if (!token) { return; }
    sessionStorage.setItem(KEY, token);
    load(token);
  });
  document.getElementById("forget").addEventListener("click", function () {
    sessionStorage.removeItem(KEY);
    window.location.reload();
  });
  var saved = sessionStorage.getItem(KEY);
  if (saved) { load(saved); } else { ask(""); }
})();
"""


@router.get(DOCS_PATH, response_class=HTMLResponse)
async def docs_page() -> HTMLResponse:
    return HTMLResponse(_PAGE, headers={"Cache-Control": "no-store"})


@router.get(STATIC_PREFIX + "nls-docs.js")
async def docs_script() -> Response:
    return Response(_SCRIPT, media_type="text/javascript")


@router.get(STATIC_PREFIX + "{name}")
async def docs_asset(name: str) -> FileResponse:
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, f"no docs asset {name!r}")
    return FileResponse(Path(str(swagger_ui_path)) / name, media_type=media_type)
