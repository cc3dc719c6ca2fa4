"""What the pages share, by concept; no page lives here (Streamlit lists only ``pages/*.py``).

``choices`` (the sidebar's settings as pages read them), ``routing`` (the page's address and header),
``links`` (which page's link carries what), ``loaders`` (the cached encoder, corpus and corpus map), ``jobs``
(the one polling panel), ``errors`` (how a failure is shown) and ``shell`` (the HTML that ``serve.py`` serves
at each page's path). :mod:`pages.common` re-exports the names
most pages use.
"""
