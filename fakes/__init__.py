"""Loopback fakes: servers that speak the wire formats of Slack, OpenAI and Gemini on 127.0.0.1.

Nothing here imports the bot (``bot``, ``handlers``, ``storage``); ``tests/test_import_boundaries.py``
holds that line. Tests, benchmarks and the bot's playground point real clients at these servers.

- :mod:`fakes.asgi`: run any ASGI app with uvicorn inside the current event loop.
- :mod:`fakes.faults`: the one fault-injection API all fakes share.
- :mod:`fakes.slack`: a stateful Slack (Web API, signed delivery to the app, the playground page).
- :mod:`fakes.openai`, :mod:`fakes.gemini`: the image APIs the bot's providers call.
"""
