"""One chart style for every figure: sentence-case titles that never clip, theme-friendly backgrounds.

Each ``make_*_figure`` ends with ``return finish(fig)``. Backgrounds are transparent so the
app's light or dark theme (``.streamlit/config.toml``, applied to plotly by ``st.plotly_chart``)
shows through; titles are sentence case, left-aligned, wrapped at :data:`TITLE_CHARS`
characters, and given room by ``automargin`` so a long one is never cut off.
"""

from __future__ import annotations

import plotly.graph_objects as go

TITLE_CHARS = 64
TITLE_SIZE = 15


def sentence_case(text: str) -> str:
    """First letter upper case, the rest as written (names such as ``AUC`` or ``D_e`` stay).

    >>> sentence_case("reference coverage vs budget")
    'Reference coverage vs budget'
    """
    return text[:1].upper() + text[1:] if text else text


def wrap_title(text: str, width: int = TITLE_CHARS) -> str:
    """Break ``text`` with ``<br>`` at spaces so no line is longer than ``width`` characters.

    >>> wrap_title("Estimated vs true loss (popularity, strength 1.5); bars ± 1 sd over seeds", 40)
    'Estimated vs true loss (popularity,<br>strength 1.5); bars ± 1 sd over seeds'
    """
    if "<br>" in text:
        return text
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "<br>".join(lines + [line])


def finish(fig: go.Figure) -> go.Figure:
    """Apply the shared style to ``fig`` in place and return it."""
    title = fig.layout.title.text
    if title:
        fig.update_layout(title=dict(text=wrap_title(sentence_case(title)), x=0, xanchor="left", automargin=True,
                                     font=dict(size=TITLE_SIZE)))
    fig.update_layout(paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
    return fig
