"""The web console: the platform's events shown for people, inside the API app at /console.

Server-rendered pages (Jinja2) with a little plain JavaScript that polls live
fragments; nothing is built or fetched at run time. People sign in once with
the API token (``signin``); a signed session cookie is checked on every page
and action (``gate``, ``session``) and every form carries a CSRF token
(``core``). Pages: Generate (lessons), Courses, Drills (with boards drawn from
GNU Backgammon position ids: ``board``, ``board_svg``), Learners and
Operations (dead letters and their replay, projector lag, model usage, and the
workflow view over ``projections.workflows``). ``mount`` wires it into
``create_app``.
"""

__all__: list[str] = []
