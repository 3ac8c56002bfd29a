"""gunicorn settings for the load test (bench/load/run.py passes workers and bind on the command
line). A production node can start from the same file:

    .venv/bin/gunicorn -c bench/load/gunicorn_conf.py -w 5 -b 127.0.0.1:8000 wsgi:app

- `preload_app`: the application is imported once in the master, then forked, so the workers
  share its memory and none pays the start-up on its first request.
- `when_ready` (in the master, after the preload, before the fork) loads the Chinese segmenter
  with the domain dictionary and the traditional->simplified converter, so the first search of
  every worker does not wait for them and the dictionary pages are shared copy-on-write.
- `post_fork` drops any database connection the master may have opened while loading (a forked
  connection shared by two processes corrupts both), as SQLAlchemy documents for forking servers,
  then warms the worker with one search (index readers, facet columns, the title lexicon).
- the access log stays off (the load test's own figures are the record); errors go to stderr."""

from __future__ import annotations

preload_app = True
worker_class = "sync"
timeout = 60
graceful_timeout = 10
accesslog = None
errorlog = "-"
loglevel = "info"


def when_ready(server) -> None:
    from search_index.analysis import normalize, query_tokens

    query_tokens(normalize("預熱分詞詞典"))  # loads rjieba + the domain words, and OpenCC
    server.log.info("segmenter and converter loaded in the master before forking")


def post_fork(server, worker) -> None:
    from marketplace.extensions import db

    app = getattr(server.app, "callable", None)
    if app is None:
        return
    with app.app_context():
        db.engine.dispose(close=False)
    # Warm this worker before it takes traffic: open the index (segment readers, facet columns)
    # and read the title lexicon that "did you mean" uses (a word found nowhere), about 1-2 s at
    # 200,000 documents, which the worker's first visitors would otherwise wait for. The word is a
    # dictionary term found in no title of the load world, so the lexicon is read.
    response = app.test_client().get("/search", query_string={"q": "交替方向乘子法"})
    server.log.info("worker %s warmed up (search %s)", worker.pid, response.status_code)
